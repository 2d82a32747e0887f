"""Changes that make figures stale, caught where they are saved.

Single saves (a case moving on, a measure added, a warning dismissed, a household corrected)
mark their village; work done in bulk announces itself when it ends: a screening run marks
its region, a finished background job (imports, screenings from the web) its region. The
mark is written in the change's own transaction, so a rolled-back change leaves none.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from shouwang.insights import refresh  # noqa: F401  (registers the worker's housekeeping)
from shouwang.insights.refresh import mark_stale
from shouwang.jobs.models import Job, JobStatus
from shouwang.monitoring.models import Case, Measure, MonitoringRecord, Visit
from shouwang.registry.models import Household
from shouwang.screening.models import RunStatus, ScreeningRun, Warning


def _village_of_household(household_id: int | None) -> str | None:
    if household_id is None:
        return None
    return Household.objects.filter(pk=household_id).values_list("village_id", flat=True).first()


@receiver([post_save, post_delete], sender=Case)
def _case_changed(sender: Any, instance: Case, **kwargs: Any) -> None:
    mark_stale(instance.village_id)


@receiver([post_save, post_delete], sender=Household)
def _household_changed(sender: Any, instance: Household, **kwargs: Any) -> None:
    mark_stale(instance.village_id)


@receiver([post_save, post_delete], sender=Measure)
@receiver([post_save, post_delete], sender=Visit)
@receiver([post_save, post_delete], sender=MonitoringRecord)
@receiver([post_save, post_delete], sender=Warning)
def _household_fact_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    mark_stale(_village_of_household(instance.household_id))


@receiver(post_save, sender=ScreeningRun)
def _screening_finished(sender: Any, instance: ScreeningRun, **kwargs: Any) -> None:
    if instance.status == RunStatus.SUCCEEDED:
        mark_stale(instance.region_id)


@receiver(post_save, sender=Job)
def _job_finished(sender: Any, instance: Job, **kwargs: Any) -> None:
    if instance.status == JobStatus.SUCCEEDED and not instance.kind.startswith("insights."):
        mark_stale(instance.region_id)
