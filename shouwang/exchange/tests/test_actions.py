"""do_import_feed and do_withdraw_batch: dry runs, atomic commits, repeats, withdrawal."""

from __future__ import annotations

import pytest

from shouwang.core.models import AuditEvent
from shouwang.exchange.actions import WithdrawError, do_import_feed, do_withdraw_batch
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.exchange.tests.conftest import COUNTY, claims_csv, good_claims, idn

pytestmark = pytest.mark.django_db


def parquet_files(data_dir):
    return sorted(p.relative_to(data_dir).as_posix() for p in (data_dir / "feeds").rglob("*.parquet"))


def run(data, user, **kw):
    kw.setdefault("dry_run", False)
    kw.setdefault("channel", "api")
    return do_import_feed(data, filename="claims.csv", kind="medical_claims", county=COUNTY, user=user, **kw)


def test_a_dry_run_counts_everything_and_stores_no_rows(persona, data_dir):
    outcome = run(good_claims(3), persona("department_officer"), dry_run=True)
    d = outcome.as_dict()
    assert (d["total"], d["valid"], d["rejected"], d["duplicates"]) == (3, 3, 0, 0)
    assert d["ok"] and not d["committed"] and not d["already_imported"]
    assert d["status"] == "dry_run" and d["message"].startswith("预检通过")
    assert not (data_dir / "feeds").exists()
    assert FeedBatch.objects.get().status == BatchStatus.DRY_RUN
    assert not FeedBatch.objects.filter(status=BatchStatus.COMMITTED).exists()


def test_a_commit_stores_parquet_by_period_with_a_manifest(persona, data_dir):
    outcome = run(good_claims(3), persona("department_officer"))
    batch = outcome.batch
    assert outcome.committed and batch.status == BatchStatus.COMMITTED
    assert parquet_files(data_dir) == sorted(batch.storage_paths)
    assert {p.split("/")[3] for p in batch.storage_paths} == {"period=2025-01", "period=2025-02", "period=2025-03"}
    assert all(p.startswith("feeds/kind=medical_claims/county=522630/") for p in batch.storage_paths)
    manifest = (data_dir / batch.manifest_path).read_text()
    assert outcome.sha256 in manifest and "department_officer" in manifest
    assert batch.counts["stored"] == 3 and batch.periods == ["2025-01", "2025-02", "2025-03"]


def test_one_bad_row_and_nothing_is_stored(persona, data_dir):
    rows = [[idn(1), "甲", "2025-01-15", "门诊", "100", "30"], [idn(2), "乙", "2025-01-15", "门诊", "-1", "30"]]
    outcome = run(claims_csv(rows), persona("department_officer"))
    assert not outcome.committed and outcome.status == BatchStatus.REJECTED
    assert outcome.stats.rejected == 1 and "未导入任何数据" in outcome.message()
    assert not (data_dir / "feeds").exists()
    assert FeedBatch.objects.get().report_path


def test_valid_rows_only_stores_the_good_rows(persona, data_dir):
    rows = [[idn(1), "甲", "2025-01-15", "门诊", "100", "30"], [idn(2), "乙", "2025-01-15", "急诊", "100", "30"]]
    outcome = run(claims_csv(rows), persona("department_officer"), valid_rows_only=True)
    assert outcome.committed and outcome.stored_rows == 1 and outcome.stats.rejected == 1
    assert "1 行错误未导入" in outcome.message()
    assert len(parquet_files(data_dir)) == 1


def test_the_same_file_twice_imports_nothing_new(persona, data_dir):
    user = persona("department_officer")
    first = run(good_claims(3), user)
    files = parquet_files(data_dir)
    second = run(good_claims(3), user)
    d = second.as_dict()
    assert d["already_imported"] and d["batch_id"] == first.batch_id and d["total"] == 3
    assert "此前已导入" in d["message"]
    assert parquet_files(data_dir) == files
    assert FeedBatch.objects.filter(status=BatchStatus.COMMITTED).count() == 1


def test_a_failure_mid_commit_leaves_no_half_batch(persona, data_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("shouwang.exchange.actions.write_manifest", broken)
    with pytest.raises(OSError):
        run(good_claims(3), persona("department_officer"))
    assert not FeedBatch.objects.exists()
    assert parquet_files(data_dir) == []


def test_a_failure_while_the_rows_are_written_leaves_nothing(persona, data_dir, monkeypatch):
    from engine.feeds.storage import BatchWriter

    real = BatchWriter.write
    calls = []

    def flaky(self, table):
        calls.append(1)
        real(self, table)
        raise OSError("disk full")

    monkeypatch.setattr(BatchWriter, "write", flaky)
    with pytest.raises(OSError):
        run(good_claims(3), persona("department_officer"))
    assert calls and not FeedBatch.objects.exists()
    assert [p for p in data_dir.rglob("*") if p.is_file()] == []
    assert not (data_dir / "feed-staging").exists()


def test_a_file_with_more_errors_than_are_kept_reports_them_all(persona, data_dir, settings, monkeypatch):
    from shouwang.core.uploads import read_report_rows

    settings.FEED_PARSE_SANDBOX = False  # (so that the smaller limit reaches the parser)
    monkeypatch.setattr("engine.feeds.sinks.KEEP_ERRORS", 5)
    rows = [[idn(i), "甲", "2025-01-15", "门诊", "-1" if i % 2 else "100", "30"] for i in range(1, 41)]
    outcome = run(claims_csv(rows), persona("department_officer"), dry_run=True)
    assert outcome.stats.rejected == 20 and len(outcome.errors) == 5
    assert outcome.error_count == 20 and outcome.errors_truncated
    report = read_report_rows(data_dir / outcome.batch.report_path)
    assert len(report) == 20 and [r[0] for r in report] == [str(i + 1) for i in range(1, 41, 2)]
    assert outcome.batch.counts["error_count"] == 20
    assert not (data_dir / "feed-staging").exists()


def test_withdrawal_by_the_uploader_removes_the_files_and_is_audited(persona, data_dir):
    user = persona("department_officer")
    batch = run(good_claims(3), user).batch
    withdrawn = do_withdraw_batch(batch, user, "数据有误，重新报送")
    assert withdrawn.status == BatchStatus.WITHDRAWN and withdrawn.withdrawn_by == user
    assert parquet_files(data_dir) == []
    event = AuditEvent.objects.get(action="exchange.withdraw")
    assert event.detail["reason"] == "数据有误，重新报送" and event.object_id == str(batch.pk)
    with pytest.raises(WithdrawError):
        do_withdraw_batch(withdrawn, user, "again")
    # Withdrawn, the same file may be sent again.
    again = run(good_claims(3), user)
    assert again.committed and not again.already_imported


def test_a_county_officer_may_withdraw_and_nobody_else(persona, data_dir):
    batch = run(good_claims(2), persona("department_officer")).batch
    for who in ("village_cadre", "township_officer", "other_county_cadre", "system_admin"):
        with pytest.raises(PermissionError):
            do_withdraw_batch(batch, persona(who), "x")
    assert do_withdraw_batch(batch, persona("county_officer"), "县级撤回").status == BatchStatus.WITHDRAWN


def test_a_user_may_import_for_their_own_county_only(persona, data_dir):
    for who, county in (("department_officer", "522631"), ("county_officer", COUNTY), ("village_cadre", COUNTY)):
        outcome = do_import_feed(
            good_claims(1),
            filename="c.csv",
            kind="medical_claims",
            county=county,
            user=persona(who),
            dry_run=True,
            channel="api",
        )
        assert outcome.file_error and outcome.file_error["code"] == "forbidden", who
    unknown = do_import_feed(
        good_claims(1), filename="c.csv", kind="nope", county=COUNTY, user=None, dry_run=True, channel="cli"
    )
    assert unknown.file_error["code"] == "kind"
    not_county = do_import_feed(
        good_claims(1),
        filename="c.csv",
        kind="medical_claims",
        county="522630001",
        user=None,
        dry_run=True,
        channel="cli",
    )
    assert not_county.file_error["code"] == "county"
    assert not FeedBatch.objects.exists()
