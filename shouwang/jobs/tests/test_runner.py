import pytest

from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import HANDLERS, claim_next_job, do_enqueue_job, job_handler, run_job, work


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
        raise ValueError("文件无法解析")

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
    assert "文件无法解析" in failed.error
    ok.refresh_from_db()
    assert ok.status == JobStatus.SUCCEEDED


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
