"""The registry import in the browser: upload → dry run → confirm → import, scoped and masked."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from engine.ids import make_id_number, mask
from engine.schemas.registry import REGISTRY_MEMBERS
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import run_job
from shouwang.registry.importing import upload_dir
from shouwang.registry.models import Household, Member

pytestmark = pytest.mark.django_db

VILLAGE = "522630001001"
HEADER = ["户编号", "村代码", "户类型", "姓名", "身份证号", "与户主关系"]


def idn(n: int) -> str:
    return make_id_number("522630", dt.date(1985, 6, 1), n, "F")


def members_csv(rows) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


GOOD = [
    ["5226300001", VILLAGE, "一般农户", "张三", idn(1), "户主"],
    ["5226300001", VILLAGE, "一般农户", "李四", idn(2), "配偶"],
]


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def login(client, persona, name):
    user = persona(name)
    client.force_login(user)
    return user


def upload(client, data: bytes, *, dry_run=True, name="members.csv"):
    payload = {"file": SimpleUploadedFile(name, data, content_type="text/csv")}
    if dry_run:
        payload["dry_run"] = "on"
    return client.post(reverse("registry:import_start"), payload)


def last_job() -> Job:
    return Job.objects.filter(kind="registry_import").order_by("-id").first()


def everything_at_rest(data_dir) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())


def test_the_upload_page_offers_a_dry_run_by_default_and_the_templates(client, persona):
    login(client, persona, "county_officer")
    response = client.get(reverse("registry:import_start"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="dry_run"' in html and "checked" in html
    assert reverse("registry:import_template", args=["registry_members"]) in html
    assert reverse("registry:import_template", args=["registry_accounts"]) in html


def test_a_county_officer_uploads_checks_confirms_and_imports(client, persona, data_dir):
    officer = login(client, persona, "county_officer")
    response = upload(client, members_csv(GOOD))
    assert response.status_code == 302
    job = last_job()
    assert response["Location"] == reverse("registry:import_result", args=[job.pk])
    assert job.created_by == officer and job.params["dry_run"] is True

    # Before the worker runs, the page shows progress that polls the status URL.
    page = client.get(response["Location"]).content.decode()
    assert reverse("jobs:job_status", args=[job.pk]) in page

    # The upload waits encrypted; nothing readable is at rest.
    assert idn(1).encode() not in everything_at_rest(data_dir)

    job = run_job(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["ok"] and job.result["dry_run"] and not job.result["committed"]
    assert job.result["counts"]["members"]["created"] == 2
    assert Household.objects.count() == 0

    page = client.get(reverse("registry:import_result", args=[job.pk])).content.decode()
    assert "确认导入" in page and "预检通过" in page

    response = client.post(reverse("registry:import_commit", args=[job.pk]))
    assert response.status_code == 302
    commit = last_job()
    assert commit.pk != job.pk and commit.params["dry_run"] is False
    commit = run_job(commit)
    assert commit.status == JobStatus.SUCCEEDED, commit.error
    assert commit.result["committed"]
    assert Member.objects.count() == 2 and Household.objects.get().village_id == VILLAGE

    # The upload is deleted after the commit; a second click does not import twice.
    assert not list(upload_dir().glob("*.bin"))
    again = client.post(reverse("registry:import_commit", args=[job.pk]))
    assert again["Location"] == reverse("registry:import_result", args=[commit.pk])
    page = client.get(reverse("registry:import_result", args=[commit.pk])).content.decode()
    assert "导入完成" in page and "确认导入" not in page


def test_a_bad_file_shows_its_errors_masked_and_offers_the_report(client, persona, data_dir):
    login(client, persona, "county_officer")
    bad = idn(2)[:-1] + ("0" if idn(2)[-1] != "0" else "1")
    rows = [GOOD[0], [*GOOD[1][:4], bad, "配偶"], [*GOOD[1][:3], "=cmd|' /C calc'!A0", idn(3), "子"]]
    upload(client, members_csv(rows))
    job = run_job(last_job())
    assert not job.result["ok"]
    assert json.dumps(job.result, ensure_ascii=False).find(bad) == -1

    page = client.get(reverse("registry:import_result", args=[job.pk])).content.decode()
    assert mask(bad) in page and bad not in page
    assert "确认导入" not in page

    for fmt in ("csv", "xlsx"):
        response = client.get(reverse("registry:import_report", args=[job.pk, fmt]))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
    text = client.get(reverse("registry:import_report", args=[job.pk, "csv"])).content.decode("utf-8-sig")
    assert "行号/Line" in text and mask(bad) in text and bad not in text
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("registry:import_report", args=[job.pk, "xlsx"])).content)
    ).active
    assert [c.value for c in sheet[1]] == ["行号/Line", "列/Column", "值/Value", "原因/Reason", "Reason (English)"]
    assert sheet["A2"].value == "3" and sheet["C2"].value == mask(bad)
    assert bad.encode() not in everything_at_rest(data_dir)
    assert not list(upload_dir().glob("*.bin"))  # a rejected upload is not kept
    assert client.get(reverse("registry:import_report", args=[job.pk, "pdf"])).status_code == 404
    # The bad file cannot be confirmed: back to its page, nothing queued.
    response = client.post(reverse("registry:import_commit", args=[job.pk]))
    assert response["Location"] == reverse("registry:import_result", args=[job.pk])
    assert last_job().pk == job.pk


def test_garbage_is_rejected_with_a_clear_message_not_a_failure(client, persona):
    login(client, persona, "county_officer")
    upload(client, bytes(range(256)) * 10, name="photo.xlsx")
    job = run_job(last_job())
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["file_error"]["code"] == "binary"
    page = client.get(reverse("registry:import_result", args=[job.pk])).content.decode()
    assert "文件被拒绝" in page


def test_an_oversized_upload_is_refused_before_it_is_stored(client, persona, settings):
    settings.REGISTRY_UPLOAD_MAX_BYTES = 100
    login(client, persona, "county_officer")
    response = upload(client, members_csv(GOOD))
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()
    assert not Job.objects.exists()


def test_an_upload_never_touches_the_disk_in_plaintext(client, persona, settings, tmp_path):
    # Django would spool anything above this size to a temporary file.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    login(client, persona, "county_officer")
    assert upload(client, members_csv(GOOD)).status_code == 302
    assert not list(spool.iterdir())
    assert run_job(last_job()).result["ok"]


def test_an_upload_without_the_csrf_token_is_refused(persona):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, persona, "county_officer")
    assert upload(client, members_csv(GOOD)).status_code == 403
    assert not Job.objects.exists()


def test_a_village_cadre_may_not_import_nor_see_an_import(client, persona):
    login(client, persona, "county_officer")
    upload(client, members_csv(GOOD))
    job = run_job(last_job())
    client.logout()
    login(client, persona, "village_cadre")
    assert client.get(reverse("registry:import_start")).status_code == 403
    assert client.get(reverse("registry:import_template", args=["registry_members"])).status_code == 403
    assert upload(client, members_csv(GOOD)).status_code == 403
    assert Job.objects.count() == 1
    assert client.get(reverse("registry:import_result", args=[job.pk])).status_code == 404
    assert client.post(reverse("registry:import_commit", args=[job.pk])).status_code == 404


def test_another_countys_officer_cannot_see_or_confirm_the_job(client, persona):
    login(client, persona, "county_officer")
    upload(client, members_csv(GOOD))
    job = run_job(last_job())
    client.logout()
    login(client, persona, "other_county_cadre")
    assert client.get(reverse("registry:import_result", args=[job.pk])).status_code == 404
    assert client.post(reverse("registry:import_commit", args=[job.pk])).status_code == 404
    assert client.get(reverse("registry:import_report", args=[job.pk, "csv"])).status_code == 404
    assert client.get(reverse("registry:import_result", args=[999999])).status_code == 404


def test_the_template_has_chinese_headers_an_example_row_notes_and_drop_down_lists(client, persona):
    login(client, persona, "county_officer")
    response = client.get(reverse("registry:import_template", args=["registry_members"]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == [c.label for c in REGISTRY_MEMBERS.columns]
    assert sheet.cell(row=2, column=1).value == REGISTRY_MEMBERS.columns[0].example
    assert "填写说明" in book.sheetnames
    lists = {str(v.sqref).split(":")[0] for v in sheet.data_validations.dataValidation}
    relationship = [c.name for c in REGISTRY_MEMBERS.columns].index("relationship") + 1
    from openpyxl.utils import get_column_letter

    assert f"{get_column_letter(relationship)}2" in lists
    assert client.get(reverse("registry:import_template", args=["nonsense"])).status_code == 404


def test_the_filled_in_template_imports(client, persona, tmp_path):
    """The template's own extra sheets (code lists, notes) do not get in the way."""
    from shouwang.registry.importing import run_registry_import

    officer = login(client, persona, "county_officer")
    book = load_workbook(io.BytesIO(client.get(reverse("registry:import_template", args=["registry_members"])).content))
    sheet = book.worksheets[0]
    labels = [c.label for c in REGISTRY_MEMBERS.columns]
    sheet.delete_rows(2)
    row = {
        "户编号": "5226300001",
        "村代码": VILLAGE,
        "户类型": "一般农户",
        "姓名": "张三",
        "身份证号": idn(1),
        "与户主关系": "户主",
    }
    sheet.append([row.get(label) for label in labels])
    path = tmp_path / "filled.xlsx"
    book.save(path)
    outcome = run_registry_import(path, filename=path.name, user=officer, dry_run=False)
    assert outcome.ok, (outcome.file_error, outcome.errors)
    assert Member.objects.count() == 1
