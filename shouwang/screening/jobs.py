"""The background job of a screening: `do_screen` for the job's region.

Three things enqueue one: a county officer (web), the monthly schedule (`schedule.py`) and a
feed batch committed or withdrawn (`rescreen.py`), which names the rules that read its kind
and, for a new batch, the households it touched.
"""

from __future__ import annotations

from typing import Any

from shouwang.jobs.runner import Report, job_handler
from shouwang.screening.actions import do_screen
from shouwang.screening.models import RunTrigger

JOB_KIND = "screening"


@job_handler(JOB_KIND)
def screening_job(job: Any, report: Report) -> dict[str, Any]:
    """params: year, rules (optional list), engine (default duckdb), trigger, household_keys
    (optional: only these households), feed_batches (the batches that asked for it)."""
    params = job.params or {}
    run = do_screen(
        job.region_id,
        int(params["year"]),
        user=job.created_by,
        rules=params.get("rules") or None,
        backend=params.get("engine", "duckdb"),
        report=report,
        job=job,
        household_keys=params.get("household_keys"),
        trigger=params.get("trigger", RunTrigger.MANUAL),
        feed_batches=params.get("feed_batches", ()),
    )
    return run.summary()
