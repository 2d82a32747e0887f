"""The background job of a web screening: `do_screen` for the job's region."""

from __future__ import annotations

from typing import Any

from shouwang.jobs.runner import Report, job_handler
from shouwang.screening.actions import do_screen

JOB_KIND = "screening"


@job_handler(JOB_KIND)
def screening_job(job: Any, report: Report) -> dict[str, Any]:
    """params: year, rules (optional list), engine (default duckdb)."""
    params = job.params or {}
    run = do_screen(
        job.region_id,
        int(params["year"]),
        user=job.created_by,
        rules=params.get("rules") or None,
        backend=params.get("engine", "duckdb"),
        report=report,
        job=job,
    )
    return run.summary()
