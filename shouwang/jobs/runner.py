"""Enqueueing, claiming and running jobs.

A job kind is a function `handler(job, report)` registered with `@job_handler("kind")`;
`report(progress, total, message)` saves progress at most every half second. Claiming uses a
conditional UPDATE (queued → running), which is atomic on SQLite and PostgreSQL alike, so
several workers never run one job twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone

from shouwang.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

Report = Callable[[int, int, str], None]
Handler = Callable[[Job, Report], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def do_enqueue_job(kind: str, *, region: Any, params: dict[str, Any] | None = None, user: Any = None) -> Job:
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    return Job.objects.create(kind=kind, region=region, params=params or {}, created_by=user)


def claim_next_job() -> Job | None:
    for job_id in (
        Job.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "id").values_list("id", flat=True)[:5]
    ):
        claimed = Job.objects.filter(id=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
        )
        if claimed:
            return Job.objects.get(id=job_id)
    return None


def run_job(job: Job) -> Job:
    """Run a claimed (or, in tests, a queued) job to its end; never raises."""
    if job.status == JobStatus.QUEUED:
        job.status, job.started_at = JobStatus.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    last_saved = 0.0

    def report(progress: int, total: int, message: str = "") -> None:
        nonlocal last_saved
        job.progress, job.total, job.message = progress, total, message[:200]
        now = time.monotonic()
        if now - last_saved >= 0.5 or progress >= total:
            Job.objects.filter(pk=job.pk).update(progress=progress, total=total, message=job.message)
            last_saved = now

    try:
        job.result = HANDLERS[job.kind](job, report) or {}
        job.status = JobStatus.SUCCEEDED
    except Exception as exc:  # a job's failure is its outcome, shown in the UI; the worker goes on
        log.exception("job %s (%s) failed", job.pk, job.kind)
        job.status = JobStatus.FAILED
        job.error = f"{type(exc).__name__}: {exc}"[:2000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "error", "finished_at", "progress", "total", "message"])
    return job


def work(*, once: bool = False, poll: float = 1.0, stop: Callable[[], bool] = lambda: False) -> int:
    """The worker loop; returns the number of jobs run."""
    done = 0
    while not stop():
        if not connection.in_atomic_block:
            # A long-lived worker must drop connections the server has closed meanwhile;
            # never inside a transaction (tests run the worker inside one).
            close_old_connections()
        job = claim_next_job()
        if job is None:
            if once:
                break
            time.sleep(poll)
            continue
        run_job(job)
        done += 1
    return done
