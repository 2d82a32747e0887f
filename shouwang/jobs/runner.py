"""Enqueueing, claiming and running jobs.

A job kind is a function `handler(job, report)` registered with `@job_handler("kind")`;
`report(progress, total, message)` saves progress at most every half second. Claiming uses a
conditional UPDATE (queued → running), which is atomic on SQLite and PostgreSQL alike, so
several workers never run one job twice.

A worker that dies (killed, a server restart) cannot mark its job failed, so the job would
stay "running" for ever. Each running job therefore names its worker (host and process) and
carries a heartbeat, renewed by a thread of the worker while the handler runs; a worker that
starts, and every worker from time to time, fails the running jobs whose process is gone from
this host or whose heartbeat has stopped (`fail_stale_jobs`).

Apps may also give the worker housekeeping to do every so often (`@periodic`): queueing the
monthly screenings that are due, say. A long-running worker does it; `work(once=True)`, which
tests and `run-worker --once` use to drain the queue, does not.

A failed job shows people a message in Chinese: the reason of a `BilingualError` (the one
shape of an error meant for users), or a generic one. The exception itself, whose text may
name server paths or internals, goes to the log only.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.errors import BilingualError
from shouwang.core.logging import mask_id_like
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


Periodic = Callable[[], Any]
PERIODIC: dict[str, tuple[float, Periodic]] = {}


def periodic(name: str, every: float) -> Callable[[Periodic], Periodic]:
    """Register housekeeping that a worker runs when it starts and then every `every` seconds."""

    def register(fn: Periodic) -> Periodic:
        PERIODIC[name] = (every, fn)
        return fn

    return register


def run_periodic(last_run: dict[str, float], now: float | None = None) -> list[str]:
    """Run the housekeeping that is due; a failing task is logged and tried again next time."""
    now = time.monotonic() if now is None else now
    ran = []
    for name, (every, fn) in sorted(PERIODIC.items()):
        if name in last_run and now - last_run[name] < every:
            continue
        last_run[name] = now
        try:
            fn()
        except Exception:
            log.exception("periodic task %s failed", name)
        ran.append(name)
    return ran


def do_enqueue_job(kind: str, *, region: Any, params: dict[str, Any] | None = None, user: Any = None) -> Job:
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    return Job.objects.create(kind=kind, region=region, params=params or {}, created_by=user)


def worker_id() -> str:
    """This process, as running jobs name it: host and process id (a fork gets its own)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_next_job() -> Job | None:
    for job_id in (
        Job.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "id").values_list("id", flat=True)[:5]
    ):
        now = timezone.now()
        claimed = Job.objects.filter(id=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker_id()
        )
        if claimed:
            return Job.objects.get(id=job_id)
    return None


def failure_message(job: Job, exc: Exception) -> str:
    if isinstance(exc, BilingualError):
        return mask_id_like(exc.reason_zh)
    return _(
        "任务因系统内部错误未能完成。技术细节已记入系统日志（任务 #%(id)s）；请稍后重试，如仍失败请联系系统管理员。"
    ) % {"id": job.pk}


def stale_message() -> str:
    return _("后台任务进程在任务运行中意外停止（如服务器重启或进程被结束），任务未能完成。请重新提交。")


class Heartbeat:
    """Renews the job's heartbeat from a thread of its own while the handler runs: a handler
    may spend minutes in one call (a DuckDB query) without reporting progress."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"job-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)  # a beat waiting for a busy database must not hold the job up

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOBS_HEARTBEAT_INTERVAL):
                try:
                    self.beat()
                except Exception:  # a busy database: the next beat tries again
                    log.warning("heartbeat of job %s not saved", self.job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    def beat(self) -> None:
        with transaction.atomic():
            # A row locked by the handler's own transaction is a sign of life already: skip it
            # rather than wait (PostgreSQL; SQLite has no row locks and ignores this).
            job = Job.objects.select_for_update(skip_locked=True).filter(pk=self.job_id, status=JobStatus.RUNNING)
            if job.exists():
                job.update(heartbeat_at=timezone.now())


def run_job(job: Job) -> Job:
    """Run a claimed (or, in tests, a queued) job to its end; never raises."""
    if job.status == JobStatus.QUEUED:
        job.status, job.started_at = JobStatus.RUNNING, timezone.now()
        job.heartbeat_at, job.worker = job.started_at, worker_id()
        job.save(update_fields=["status", "started_at", "heartbeat_at", "worker"])
    last_saved = 0.0

    def report(progress: int, total: int, message: str = "") -> None:
        nonlocal last_saved
        job.progress, job.total, job.message = progress, total, message[:200]
        now = time.monotonic()
        if now - last_saved >= 0.5 or progress >= total:
            Job.objects.filter(pk=job.pk).update(
                progress=progress, total=total, message=job.message, heartbeat_at=timezone.now()
            )
            last_saved = now

    try:
        with Heartbeat(job.pk):
            job.result = HANDLERS[job.kind](job, report) or {}
        job.status = JobStatus.SUCCEEDED
    except Exception as exc:  # a job's failure is its outcome, shown in the UI; the worker goes on
        log.exception("job %s (%s) failed", job.pk, job.kind)
        job.status = JobStatus.FAILED
        job.error = failure_message(job, exc)[:2000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "error", "finished_at", "progress", "total", "message"])
    return job


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return False


def fail_stale_jobs(*, now: dt.datetime | None = None) -> int:
    """Fail the running jobs whose worker is gone; returns how many."""
    now = now or timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.JOBS_STALE_AFTER)
    host = socket.gethostname()
    stale = []
    for job_id, worker, beat, started in Job.objects.filter(status=JobStatus.RUNNING).values_list(
        "id", "worker", "heartbeat_at", "started_at"
    ):
        worker_host, _sep, pid = worker.rpartition(":")
        dead_here = worker_host == host and pid.isdigit() and int(pid) != os.getpid() and _process_gone(int(pid))
        silent = (beat or started or now) < stale_before
        if dead_here or silent:
            stale.append(job_id)
    failed = 0
    for job_id in stale:
        # Conditional, like the claim: a job that finished meanwhile keeps its outcome.
        failed += Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=stale_message(), finished_at=now
        )
        log.warning("job %s failed: its worker stopped while it was running", job_id)
    return failed


def work(*, once: bool = False, poll: float = 1.0, stop: Callable[[], bool] = lambda: False) -> int:
    """The worker loop; returns the number of jobs run."""
    done = 0
    fail_stale_jobs()
    last_check = time.monotonic()
    housekeeping: dict[str, float] = {}
    while not stop():
        if not connection.in_atomic_block:
            # A long-lived worker must drop connections the server has closed meanwhile;
            # never inside a transaction (tests run the worker inside one).
            close_old_connections()
        if time.monotonic() - last_check >= settings.JOBS_HEARTBEAT_INTERVAL:
            fail_stale_jobs()
            last_check = time.monotonic()
        if not once:
            run_periodic(housekeeping)
        job = claim_next_job()
        if job is None:
            if once:
                break
            time.sleep(poll)
            continue
        run_job(job)
        done += 1
    return done
