"""Re-screen what a feed batch touched (数据更新后增量筛查).

When a department's batch is committed, the county is screened again for the years the batch
covers (those it has screened before), with only the rules that read its kind, and only for the households its rows were
linked to: a batch of 300 claims re-screens 300 households' medical rules, not the county.
A withdrawn batch re-screens the county for those rules (its rows are gone, so whoever they
touched is no longer known from them); warnings that only it had raised lapse.

The exchange app knows nothing of screening: this listens to its `FeedBatch` being saved. Jobs
for the same county and year that have not started yet are merged, so a department sending
twelve monthly files queues one re-screen, not twelve.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from engine.screening import ALL_RULES
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import do_enqueue_job
from shouwang.regions.models import Region
from shouwang.screening.actions import MIN_YEAR
from shouwang.screening.jobs import JOB_KIND
from shouwang.screening.models import RunTrigger

log = logging.getLogger(__name__)


def rules_reading(kind: str) -> list[str]:
    return [r.id for r in ALL_RULES if kind in r.inputs]


def batch_years(batch: FeedBatch) -> list[int]:
    """The years the batch covers that the county has screened: a year nobody screened has no
    warnings to bring up to date (a disability feed lists certificates of 2015 too)."""
    from shouwang.screening.models import RunStatus, ScreeningRun

    this_year = dt.date.today().year
    years = {int(p[:4]) for p in (batch.periods or []) if str(p)[:4].isdigit()}
    runs = ScreeningRun.objects.filter(region_id=batch.county_id, status=RunStatus.SUCCEEDED)
    screened = set(runs.values_list("year", flat=True))
    return sorted(y for y in years if MIN_YEAR <= y <= this_year and y in screened)


def touched_households(batch: FeedBatch) -> list[int]:
    """The registry households the batch's stored rows are linked to."""
    root = Path(settings.DATA_DIR)
    keys: set[int] = set()
    for relative in batch.storage_paths or []:
        path = root / relative
        if not path.exists():
            continue
        column = pq.read_table(path, columns=["household_key"]).column("household_key")
        keys.update(pc.unique(column.drop_null()).to_pylist())
    return sorted(keys)


def enqueue_rescreen(
    county_id: str, year: int, rules: list[str], household_keys: list[int] | None, batch_id: int
) -> Job:
    """One queued job per county and year: a new request joins the one not yet started."""
    with transaction.atomic():
        pending = (
            Job.objects.select_for_update()
            .filter(kind=JOB_KIND, region_id=county_id, status=JobStatus.QUEUED, params__trigger=RunTrigger.FEED_BATCH)
            .filter(params__year=year)
            .first()
        )
        if pending is None:
            return do_enqueue_job(
                JOB_KIND,
                region=Region.objects.get(pk=county_id),
                params={
                    "year": year,
                    "engine": "duckdb",
                    "trigger": RunTrigger.FEED_BATCH,
                    "rules": rules,
                    "household_keys": household_keys,
                    "feed_batches": [batch_id],
                },
            )
        params = dict(pending.params)
        params["rules"] = [r.id for r in ALL_RULES if r.id in set(params.get("rules") or []) | set(rules)]
        if params.get("household_keys") is None or household_keys is None:
            params["household_keys"] = None  # the whole county already, or now
        else:
            params["household_keys"] = sorted(set(params["household_keys"]) | set(household_keys))
        params["feed_batches"] = sorted(set(params.get("feed_batches") or []) | {batch_id})
        pending.params = params
        pending.save(update_fields=["params"])
        return pending


def _after_commit(batch_id: int, withdrawn: bool) -> None:
    batch = FeedBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return
    rules = rules_reading(batch.kind)
    if not rules:
        return
    households = None if withdrawn else touched_households(batch)
    if households == []:
        return  # nothing linked: no household's warnings can change
    for year in batch_years(batch):
        job = enqueue_rescreen(batch.county_id, year, rules, households, batch.pk)
        log.info(
            "feed batch %s (%s): re-screen of %s %s queued as job %s",
            batch.pk,
            batch.kind,
            batch.county_id,
            year,
            job.pk,
        )


@receiver(post_save, sender=FeedBatch, dispatch_uid="screening.rescreen_after_feed_batch")
def rescreen_after_feed_batch(sender: Any, instance: FeedBatch, update_fields: Any = None, **kwargs: Any) -> None:
    if not settings.SHOUWANG_RESCREEN_ON_FEED or not update_fields:
        return
    fields = set(update_fields)
    # Committed: the last save of a commit writes the stored files' paths. Withdrawn: the status.
    if instance.status == BatchStatus.COMMITTED and "storage_paths" in fields:
        transaction.on_commit(lambda: _after_commit(instance.pk, withdrawn=False))
    elif instance.status == BatchStatus.WITHDRAWN and "status" in fields:
        # The files are removed after the withdrawal commits; a county-wide re-screen needs none.
        transaction.on_commit(lambda: _after_commit(instance.pk, withdrawn=True))
