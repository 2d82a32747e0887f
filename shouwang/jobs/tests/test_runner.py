import datetime as dt
import gc
import logging
import socket
import subprocess
import sys
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from engine.errors import BilingualError
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import HANDLERS, claim_next_job, do_enqueue_job, fail_stale_jobs, job_handler, run_job, work

SERVER_PATH = "/srv/shouwang/var/uploads/registry/4f1c.bin"


@pytest.fixture
def handlers():
    saved = dict(HANDLERS)

    @job_handler("test_count")
    def count(job, report):
        for i in range(1, job.params["n"] + 1):
            report(i, job.params["n"], f"第 {i} 步")
        return {"counted": job.params["n"]}

    @job_handler("test_fail")
    def fail(job, report):
        raise FileNotFoundError(2, "No such file or directory", SERVER_PATH)

    @job_handler("test_refuse")
    def refuse(job, report):
        raise BilingualError("encoding", "文件编码无法识别，请另存为 UTF-8 或 GBK 后重新上传", "unknown encoding")

    @job_handler("test_silent")
    def silent(job, report):
        time.sleep(0.6)  # one long call without a progress report (a DuckDB query, say)
        return {}

    yield
    HANDLERS.clear()
    HANDLERS.update(saved)


@pytest.mark.django_db
def test_a_job_runs_to_its_end_with_progress_and_result(handlers):
    job = do_enqueue_job("test_count", region=_county(), params={"n": 3})
    assert job.status == JobStatus.QUEUED
    assert work(once=True) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress, job.total, job.percent) == (3, 3, 100)
    assert job.result == {"counted": 3}
    assert job.finished_at is not None


@pytest.mark.django_db
def test_a_failing_job_records_its_error_and_the_worker_goes_on(handlers):
    do_enqueue_job("test_fail", region=_county())
    ok = do_enqueue_job("test_count", region=_county(), params={"n": 1})
    assert work(once=True) == 2
    failed = Job.objects.get(kind="test_fail")
    assert failed.status == JobStatus.FAILED
    ok.refresh_from_db()
    assert ok.status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_a_failed_job_tells_people_in_chinese_and_keeps_the_technical_detail_in_the_log(handlers, caplog, client):
    job = do_enqueue_job("test_fail", region=_county())
    with caplog.at_level(logging.ERROR, logger="shouwang.jobs.runner"):
        run_job(job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "系统内部错误" in job.error and f"#{job.pk}" in job.error
    assert "FileNotFoundError" not in job.error and SERVER_PATH not in job.error
    assert SERVER_PATH in caplog.text and "FileNotFoundError" in caplog.text

    from shouwang.testing.personas import make_persona

    client.force_login(make_persona("county_officer"))
    Job.objects.filter(pk=job.pk).update(created_by=None)
    page = client.get(reverse("jobs:job_detail", args=[job.pk])).content.decode()
    assert "系统内部错误" in page and SERVER_PATH not in page
    status = client.get(reverse("jobs:job_status", args=[job.pk])).json()
    assert "系统内部错误" in status["error"] and "FileNotFoundError" not in status["error"]


@pytest.mark.django_db
def test_a_refusal_meant_for_people_is_shown_with_its_chinese_reason(handlers):
    job = run_job(do_enqueue_job("test_refuse", region=_county()))
    assert job.error == "文件编码无法识别，请另存为 UTF-8 或 GBK 后重新上传"


# --- a worker that died ----------------------------------------------------------------------


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def running_job(worker: str, heartbeat_ago: float) -> Job:
    beat = timezone.now() - dt.timedelta(seconds=heartbeat_ago)
    return Job.objects.create(
        kind="test_count", region=_county(), status=JobStatus.RUNNING, started_at=beat, heartbeat_at=beat, worker=worker
    )


@pytest.mark.django_db
def test_a_job_left_running_by_a_dead_worker_is_failed_when_a_worker_starts(handlers):
    host = socket.gethostname()
    orphan = running_job(f"{host}:{dead_pid()}", heartbeat_ago=5)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        try:
            busy = running_job(f"{host}:{alive.pid}", heartbeat_ago=5)
            assert work(once=True) == 0
        finally:
            alive.kill()
    orphan.refresh_from_db()
    busy.refresh_from_db()
    assert orphan.status == JobStatus.FAILED and orphan.finished_at is not None
    assert "意外停止" in orphan.error and "请重新提交" in orphan.error
    assert busy.status == JobStatus.RUNNING  # its worker is alive and beating


@pytest.mark.django_db
def test_a_job_whose_heartbeat_stopped_is_failed_whichever_host_ran_it(handlers, settings):
    settings.JOBS_STALE_AFTER = 300
    silent = running_job("another-host:4242", heartbeat_ago=301)
    beating = running_job("another-host:4243", heartbeat_ago=60)
    assert fail_stale_jobs() == 1
    silent.refresh_from_db()
    beating.refresh_from_db()
    assert (silent.status, beating.status) == (JobStatus.FAILED, JobStatus.RUNNING)
    assert "意外停止" in silent.error


@pytest.mark.django_db
def test_a_finished_job_is_never_failed_as_stale(handlers):
    done = running_job("another-host:1", heartbeat_ago=10_000)
    Job.objects.filter(pk=done.pk).update(status=JobStatus.SUCCEEDED)
    assert fail_stale_jobs() == 0


# Django never closes a connection to an in-memory SQLite database (closing would drop it), so
# the heartbeat thread's one is left to the garbage collector here; a database file is closed.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_is_renewed_while_a_handler_runs_without_reporting(handlers, settings):
    from shouwang.regions.loading import load_divisions

    load_divisions("522630")  # transactional tests start from an empty database
    settings.JOBS_HEARTBEAT_INTERVAL = 0.1
    job = do_enqueue_job("test_silent", region=_county())
    claimed = claim_next_job()
    assert claimed is not None
    run_job(claimed)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.heartbeat_at - job.started_at >= dt.timedelta(seconds=0.3)
    gc.collect()


@pytest.mark.django_db
def test_a_job_is_claimed_once(handlers):
    do_enqueue_job("test_count", region=_county(), params={"n": 1})
    first = claim_next_job()
    assert first is not None and first.status == JobStatus.RUNNING
    assert claim_next_job() is None
    run_job(first)


def test_an_unknown_kind_is_refused(handlers):
    with pytest.raises(ValueError, match="unknown job kind"):
        do_enqueue_job("no_such_kind", region=None)


def _county():
    from shouwang.regions.models import Region

    return Region.objects.get(code="522630")
