"""The three channels — web upload (a job), the import-feed command, the action the REST API
calls — run the same pipeline and give the same outcome."""

from __future__ import annotations

import io
import json
import time
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from shouwang.api.models import ApiToken
from shouwang.core.models import AuditEvent
from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.jobs import UPLOADS
from shouwang.exchange.models import BatchStatus, Channel, FeedBatch
from shouwang.exchange.tests.conftest import COUNTY, claims_csv, counts_of, good_claims, idn, kind_of, planted_counts
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import run_job

pytestmark = pytest.mark.django_db

BAD = claims_csv(
    [[idn(1), "甲", "2025-01-15", "门诊", "100", "30"], [idn(2)[:17] + "0", "乙", "2025-01-15", "门诊", "1", "1"]]
)


def cli(tmp_path, data: bytes, *args: str, name: str = "claims.csv") -> tuple[dict, CommandError | None]:
    path = tmp_path / name
    path.write_bytes(data)
    out = StringIO()
    error = None
    try:
        call_command("import_feed", str(path), "--kind", "medical_claims", "--json", *args, stdout=out)
    except CommandError as exc:
        error = exc
    return json.loads(out.getvalue()), error


def test_the_cli_prints_one_json_object_and_commits(persona, data_dir, tmp_path):
    result, error = cli(tmp_path, good_claims(4), "--county", COUNTY)
    assert error is None
    assert {"total", "valid", "rejected", "duplicates", "already_imported", "batch_id", "links"} <= set(result)
    assert (result["total"], result["valid"], result["already_imported"]) == (4, 4, False)
    assert FeedBatch.objects.get(pk=result["batch_id"]).channel == Channel.CLI
    again, error = cli(tmp_path, good_claims(4), "--county", COUNTY)
    assert error is None and again["already_imported"] and again["batch_id"] == result["batch_id"]


def test_the_cli_takes_the_county_of_its_user_and_exits_non_zero_on_rejection(persona, data_dir, tmp_path):
    persona("department_officer")
    report = tmp_path / "errors.xlsx"
    result, error = cli(tmp_path, BAD, "--user", "department_officer", "--report", str(report))
    assert error is not None and "未导入任何数据" in str(error)
    assert result["county"] == COUNTY and result["rejected"] == 1 and not result["committed"]
    sheet = load_workbook(report).active
    values = [c.value for c in sheet[2]]
    assert values[0] == "3" and "校验位" in values[3] and idn(2)[:17] not in str(values[2])
    result, error = cli(tmp_path, BAD, "--user", "department_officer", "--valid-rows-only")
    assert error is None and result["committed"] and result["stored"] == 1


def test_the_cli_report_holds_every_error_when_the_outcome_keeps_the_first(
    persona, data_dir, tmp_path, settings, monkeypatch
):
    settings.FEED_PARSE_SANDBOX = False  # (so that the smaller limit reaches the parser)
    monkeypatch.setattr("engine.feeds.sinks.KEEP_ERRORS", 3)
    rows = [[idn(i), "甲", "2025-01-15", "门诊", "-1", "30"] for i in range(1, 13)]
    for name in ("errors.csv", "errors.xlsx"):
        report = tmp_path / name
        result, error = cli(tmp_path, claims_csv(rows), "--county", COUNTY, "--dry-run", "--report", str(report))
        assert error is not None and result["error_count"] == 12 and len(result["errors"]) == 3
        if name.endswith(".csv"):
            assert len(report.read_text(encoding="utf-8-sig").splitlines()) == 13
        else:
            assert load_workbook(report).active.max_row == 13


def test_the_cli_dry_run_and_its_arguments(persona, data_dir, tmp_path):
    result, error = cli(tmp_path, good_claims(2), "--county", COUNTY, "--dry-run")
    assert error is None and result["status"] == "dry_run"
    with pytest.raises(CommandError, match="--county"):
        call_command("import_feed", str(tmp_path / "claims.csv"), "--kind", "medical_claims")
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_feed", str(tmp_path / "none.csv"), "--kind", "medical_claims", "--county", COUNTY)
    out = StringIO()
    call_command(
        "import_feed", str(tmp_path / "claims.csv"), "--kind", "medical_claims", "--county", COUNTY, stdout=out
    )
    assert "共 2 行，有效 2 行" in out.getvalue() and "导入完成" in out.getvalue()


def upload(client, data: bytes, *, dry_run=True, valid_rows_only=False, kind="medical_claims"):
    payload = {"kind": kind, "file": SimpleUploadedFile("claims.csv", data, content_type="text/csv")}
    if dry_run:
        payload["dry_run"] = "on"
    if valid_rows_only:
        payload["valid_rows_only"] = "on"
    return client.post(reverse("exchange:upload"), payload)


def test_the_web_upload_runs_a_dry_run_job_then_commits_on_confirmation(client, persona, data_dir):
    client.force_login(persona("department_officer"))
    response = upload(client, good_claims(3))
    assert response.status_code == 302
    job = Job.objects.get(kind="feed_import")
    assert response["Location"] == reverse("exchange:job", args=[job.pk])
    assert client.get(response["Location"]).status_code == 200  # still queued: the progress page
    assert not list(data_dir.rglob("*.csv"))  # the upload is at rest encrypted only
    run_job(job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    batch = FeedBatch.objects.get()
    assert batch.status == BatchStatus.DRY_RUN and batch.channel == Channel.WEB
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0] == reverse("exchange:batch_detail", args=[batch.pk])
    assert "确认导入" in page.content.decode()
    assert UPLOADS.exists(batch.upload_token)
    token = batch.upload_token
    confirm = client.post(reverse("exchange:batch_commit", args=[batch.pk]))
    assert confirm.status_code == 302
    run_job(Job.objects.filter(kind="feed_import").order_by("-id").first())
    committed = FeedBatch.objects.get(status=BatchStatus.COMMITTED)
    assert committed.counts["stored"] == 3 and committed.created_by.username == "department_officer"
    assert not UPLOADS.exists(token)  # the raw upload is gone once imported
    # A second click finds nothing left to commit.
    client.post(reverse("exchange:batch_commit", args=[batch.pk]))
    assert Job.objects.filter(kind="feed_import").count() == 2


def test_a_web_upload_that_fails_deletes_the_upload_and_offers_the_report(client, persona, data_dir):
    client.force_login(persona("department_officer"))
    upload(client, BAD, dry_run=False)
    run_job(Job.objects.get(kind="feed_import"))
    batch = FeedBatch.objects.get()
    assert batch.status == BatchStatus.REJECTED and not batch.upload_token
    assert not list((data_dir / "uploads" / "feeds").iterdir())
    page = client.get(reverse("exchange:batch_detail", args=[batch.pk])).content.decode()
    assert "校验位" in page and idn(2)[:17] not in page
    csv_body = client.get(reverse("exchange:batch_report", args=[batch.pk, "csv"])).content.decode("utf-8-sig")
    assert "校验位" in csv_body and idn(2)[:17] not in csv_body
    xlsx = client.get(reverse("exchange:batch_report", args=[batch.pk, "xlsx"]))
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_api_channel_is_the_same_action(persona, data_dir):
    from shouwang.exchange.actions import do_import_feed

    outcome = do_import_feed(
        good_claims(2),
        filename="push.csv",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=False,
        channel="api",
    )
    d = outcome.as_dict()
    assert d["committed"] and d["batch_id"] and d["channel"] == "api" and d["links"]["with_id"] == 2
    assert FeedBatch.objects.get().channel == Channel.API


def test_the_upload_form_refuses_what_it_must(client, persona, data_dir):
    client.force_login(persona("department_officer"))
    assert upload(client, b"").status_code == 400
    assert upload(client, good_claims(1), kind="nope").status_code == 400
    assert not Job.objects.exists()


# -- each channel on a messy synthetic file -------------------------------------------------------


def reference_counts(path, user) -> dict[str, int]:
    """What the action itself reports for the file (a dry run: it blocks nothing after it)."""
    outcome = do_import_feed(
        path, filename=path.name, kind=kind_of(path.name), county=COUNTY, user=user, dry_run=True, channel="cli"
    )
    return counts_of(outcome.as_dict())


def test_the_web_upload_imports_a_messy_workbook_with_the_actions_counts(client, persona, data_dir, synth_county):
    path = synth_county / "feeds" / "assistance_recipients_2025.xlsx"  # merged title row, totals row
    user = persona("department_officer")
    expected = reference_counts(path, user)
    assert expected == planted_counts(synth_county)[path.name]
    client.force_login(user)
    payload = {
        "kind": "assistance_recipients",
        "file": SimpleUploadedFile(path.name, path.read_bytes()),
        "valid_rows_only": "on",
    }
    assert client.post(reverse("exchange:upload"), payload).status_code == 302
    job = run_job(Job.objects.get(kind="feed_import"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["committed"] and job.result["sheet"] == "Sheet1"
    assert counts_of(job.result) == expected


def test_the_cli_imports_a_messy_csv_with_the_actions_counts(persona, data_dir, synth_county):
    path = synth_county / "feeds" / "school_enrolment_2025.csv"  # GB18030, two title rows, blank rows
    user = persona("department_officer")
    expected = reference_counts(path, user)
    assert expected == planted_counts(synth_county)[path.name] and expected["rejected"]
    out = StringIO()
    call_command(
        "import_feed",
        str(path),
        "--kind",
        "school_enrolment",
        "--user",
        user.username,
        "--valid-rows-only",
        "--json",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["committed"] and result["channel"] == "cli"
    assert counts_of(result) == expected


def test_the_api_imports_a_messy_csv_with_the_actions_counts(client, persona, data_dir, synth_county):
    path = synth_county / "feeds" / "disaster_losses_2025.csv"  # GBK, a title row, a totals row, a repeat
    user = persona("department_officer")
    expected = reference_counts(path, user)
    assert expected == planted_counts(synth_county)[path.name] and expected["duplicates"]
    token = ApiToken.issue(user, "县应急管理局灾情系统")[1]
    response = client.post(
        "/api/v1/feeds/disaster_losses",
        {"file": SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv"), "valid_rows_only": "true"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["committed"] and FeedBatch.objects.get(pk=result["batch_id"]).channel == Channel.API
    assert counts_of(result) == expected


# -- sheets ----------------------------------------------------------------------------------------


def quarters_workbook() -> bytes:
    """A blank 说明 sheet in front (skipped by default), then one sheet per quarter."""
    book = Workbook()
    book.active.title = "说明"
    for title, day, person in (("一季度", "2025-02-01", 1), ("二季度", "2025-05-01", 2)):
        sheet = book.create_sheet(title)
        sheet.append(["身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付"])
        sheet.append([idn(person), "张三", day, "门诊", 100, 30])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_cli_reads_the_sheet_it_is_told_and_each_sheet_is_its_own_import(persona, data_dir, tmp_path):
    book = quarters_workbook()
    second, error = cli(tmp_path, book, "--county", COUNTY, "--sheet", "二季度", name="q.xlsx")
    assert error is None and second["sheet"] == "二季度" and second["periods"] == ["2025-05"]
    first, error = cli(tmp_path, book, "--county", COUNTY, name="q.xlsx")
    assert error is None and first["sheet"] == "一季度" and first["committed"]
    again, error = cli(tmp_path, book, "--county", COUNTY, "--sheet", "一季度", name="q.xlsx")
    assert error is None and again["already_imported"] and again["batch_id"] == first["batch_id"]
    assert FeedBatch.objects.get(pk=second["batch_id"]).sheet == "二季度"
    unknown, error = cli(tmp_path, book, "--county", COUNTY, "--sheet", "三季度", name="q.xlsx")
    assert error is not None and "找不到工作表“三季度”；文件中的工作表：说明、一季度、二季度" in str(error)
    assert unknown["file_error"]["code"] == "sheet"


def test_the_web_upload_reads_the_named_sheet_and_its_confirmation_the_same(client, persona, data_dir):
    client.force_login(persona("department_officer"))
    payload = {"kind": "medical_claims", "file": SimpleUploadedFile("q.xlsx", quarters_workbook()), "dry_run": "on"}
    client.post(reverse("exchange:upload"), {**payload, "sheet": " 二季度 "})
    run_job(Job.objects.get(kind="feed_import"))
    batch = FeedBatch.objects.get()
    assert batch.status == BatchStatus.DRY_RUN and batch.sheet == "二季度"
    page = client.get(reverse("exchange:batch_detail", args=[batch.pk])).content.decode()
    assert "二季度" in page
    client.post(reverse("exchange:batch_commit", args=[batch.pk]))
    run_job(Job.objects.filter(kind="feed_import").order_by("-id").first())
    committed = FeedBatch.objects.get(status=BatchStatus.COMMITTED)
    assert committed.sheet == "二季度" and committed.periods == ["2025-05"]
    form = client.get(reverse("exchange:upload")).content.decode()
    assert 'name="sheet"' in form


# -- uploads kept for a confirmation ----------------------------------------------------------------


def test_a_dry_runs_upload_expires_if_never_confirmed(client, persona, data_dir, settings):
    from shouwang.exchange.jobs import purge_expired_uploads

    settings.FEED_UPLOAD_KEEP_HOURS = 24
    client.force_login(persona("department_officer"))
    upload(client, good_claims(2))
    run_job(Job.objects.get(kind="feed_import"))
    batch = FeedBatch.objects.get()
    token = batch.upload_token
    assert UPLOADS.exists(token)
    upload(client, good_claims(1, start=5))  # queued, not run yet: its upload is still needed
    queued = Job.objects.get(kind="feed_import", status=JobStatus.QUEUED).params["upload"]
    assert purge_expired_uploads(now=time.time() + 23 * 3600) == 0
    assert purge_expired_uploads(now=time.time() + 25 * 3600) == 1
    assert not UPLOADS.exists(token) and UPLOADS.exists(queued)
    batch.refresh_from_db()
    assert batch.upload_token == ""
    page = client.get(reverse("exchange:batch_detail", args=[batch.pk])).content.decode()
    assert reverse("exchange:batch_commit", args=[batch.pk]) not in page and 'id="upload-gone"' in page
    assert client.post(reverse("exchange:batch_commit", args=[batch.pk])).status_code == 302
    assert Job.objects.filter(kind="feed_import").count() == 2  # nothing left to confirm: no job
    assert AuditEvent.objects.get(action="exchange.purge_uploads").detail["count"] == 1


def test_purge_uploads_is_a_command_too(client, persona, data_dir):
    client.force_login(persona("department_officer"))
    upload(client, good_claims(2))
    run_job(Job.objects.get(kind="feed_import"))
    token = FeedBatch.objects.get().upload_token
    out = StringIO()
    call_command("purge_uploads", stdout=out)
    assert UPLOADS.exists(token) and "已删除 0 个" in out.getvalue()
    call_command("purge_uploads", "--hours", "0", stdout=out)
    assert not UPLOADS.exists(token) and "已删除 1 个" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("purge_uploads", "--hours", "-1")


def test_the_worker_purges_expired_uploads_as_its_housekeeping(client, persona, data_dir, settings):
    from shouwang.jobs.runner import PERIODIC

    every, housekeeping = PERIODIC["exchange.purge_uploads"]
    assert every == 3600
    settings.FEED_UPLOAD_KEEP_HOURS = 0
    client.force_login(persona("department_officer"))
    upload(client, good_claims(2))
    run_job(Job.objects.get(kind="feed_import"))
    token = FeedBatch.objects.get().upload_token
    assert UPLOADS.exists(token)
    housekeeping()  # as the worker calls it
    assert not UPLOADS.exists(token)
