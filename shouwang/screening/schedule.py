"""Monthly screening of every county (定期筛查), enqueued by the job worker or by cron.

Every county that has households is screened once a month by default, on the 1st, for the
year of the month just ended (on 1 January that is the year before, whose feeds are then
complete); a county officer may choose another day (1–28, so no month lacks it) or switch it
off. The job worker looks every five minutes (`shouwang.jobs.runner.periodic`); cron may run
`shouwang schedule-screenings` instead. A month is screened once: `last_period` remembers it,
and a worker that was down on the day catches up on its next round. A county already being screened is not queued twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.functions import Substr
from django.utils.translation import gettext

from shouwang.core.audit import record_event
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import do_enqueue_job, periodic
from shouwang.regions.models import Level, Region
from shouwang.registry.models import Household
from shouwang.screening.jobs import JOB_KIND
from shouwang.screening.models import RunTrigger, ScreeningSchedule

DEFAULT_DAY = 1


class ScheduleError(ValueError):
    """A schedule setting that cannot be taken (Chinese text)."""


@dataclass(frozen=True)
class CountySchedule:
    region: Region
    enabled: bool
    day_of_month: int
    last_period: str

    def due(self, today: dt.date) -> bool:
        return self.enabled and today.day >= self.day_of_month and self.last_period < f"{today:%Y-%m}"

    def next_run(self, today: dt.date) -> dt.date | None:
        if not self.enabled:
            return None
        if self.last_period < f"{today:%Y-%m}":
            return max(today.replace(day=self.day_of_month), today)  # a missed day is caught up today
        first_of_next = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return first_of_next.replace(day=self.day_of_month)


def screening_year(today: dt.date) -> int:
    """The year of the month just ended."""
    return (today.replace(day=1) - dt.timedelta(days=1)).year


def counties_with_households() -> list[str]:
    return sorted(
        Household.objects.order_by()
        .annotate(county=Substr("village_id", 1, 6))
        .values_list("county", flat=True)
        .distinct()
    )


def schedule_of(region: Region) -> CountySchedule:
    row = ScreeningSchedule.objects.filter(region=region).first()
    if row is None:
        return CountySchedule(region=region, enabled=True, day_of_month=DEFAULT_DAY, last_period="")
    return CountySchedule(
        region=region, enabled=row.enabled, day_of_month=row.day_of_month, last_period=row.last_period
    )


@periodic("screening.schedule", every=300)
def enqueue_due_screenings(today: dt.date | None = None, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """Queue the screenings due today; returns what was (or, dry, would be) queued."""
    today = today or dt.date.today()
    queued: list[dict[str, Any]] = []
    counties = Region.objects.filter(code__in=counties_with_households(), level=Level.COUNTY).order_by("code")
    for region in counties:
        schedule = schedule_of(region)
        if not schedule.due(today):
            continue
        year = screening_year(today)
        busy = Job.objects.filter(
            kind=JOB_KIND, region=region, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).exists()
        entry = {"county": region.code, "name": region.name, "year": year, "period": f"{today:%Y-%m}"}
        if busy:
            continue  # a screening is already on its way; the next round takes the month
        if dry_run:
            queued.append(entry)
            continue
        with transaction.atomic():
            row, _ = ScreeningSchedule.objects.select_for_update().get_or_create(region=region)
            if row.last_period >= entry["period"]:
                continue  # another worker took it meanwhile
            row.last_period = entry["period"]
            row.save(update_fields=["last_period", "updated_at"])
            job = do_enqueue_job(
                JOB_KIND,
                region=region,
                params={"year": year, "engine": "duckdb", "trigger": RunTrigger.SCHEDULE},
            )
        queued.append({**entry, "job_id": job.pk})
    return queued


def do_set_schedule(region: Region, *, user: Any, enabled: bool, day_of_month: int, request: Any = None) -> Any:
    """A county officer's choice of day, or switching the monthly screening off; audited."""
    if region.level != Level.COUNTY:
        raise ScheduleError(gettext("定期筛查按县设定"))
    if not 1 <= int(day_of_month) <= 28:
        raise ScheduleError(gettext("每月筛查日应在 1 日至 28 日之间（每个月都有的日子）"))
    with transaction.atomic():
        row, _ = ScreeningSchedule.objects.select_for_update().get_or_create(region=region)
        before = {"enabled": row.enabled, "day_of_month": row.day_of_month}
        row.enabled, row.day_of_month, row.updated_by = bool(enabled), int(day_of_month), user
        row.save()
        record_event(
            "screening.schedule",
            actor=user,
            request=request,
            obj=row,
            region_code=region.code,
            before=before,
            after={"enabled": row.enabled, "day_of_month": row.day_of_month},
        )
    return row
