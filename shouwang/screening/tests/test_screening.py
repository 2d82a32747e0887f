"""Screening from the app: the registry is snapshotted, screened, and warnings stored once.

The income rule needs no department data, so most tests screen 台江县 for 2025 with the
(assumed) Guizhou line of 8,500 yuan a head; one test lays a deaths feed in a temporary
data directory to see the feed batches in the evidence.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from engine.screening import RULES_BY_ID
from shouwang.core.models import AuditEvent
from shouwang.jobs.models import Job
from shouwang.jobs.runner import run_job
from shouwang.registry.models import AnnualAccount
from shouwang.screening.actions import ScreeningRequestError, do_dismiss, do_screen
from shouwang.screening.models import ScreeningRun, Warning
from shouwang.screening.text import SUMMARIES, summarize
from shouwang.testing.personas import COUNTY, TOWNSHIP, first_village, make_household, second_village

pytestmark = pytest.mark.django_db

INCOME = ["income_below_line"]


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def poor_household(village: str | None = None, per_head: int = 4000):
    household = make_household(village or first_village(TOWNSHIP), members=3)
    set_income(household, per_head * 3)
    return household


def set_income(household, wage: int) -> None:
    AnnualAccount.objects.filter(household=household, year=2025).update(
        wage_income=Decimal(wage), operating_income=0, operating_cost=0, property_income=0, transfer_income=0
    )


def comfortable_household(village: str | None = None):
    household = make_household(village or first_village(TOWNSHIP), members=3)
    set_income(household, 45000)  # 15,000 a head
    return household


def test_a_household_below_the_line_gets_an_open_red_warning_with_its_numbers(persona):
    poor, comfortable = poor_household(), comfortable_household()

    run = do_screen(COUNTY, 2025, user=persona("county_officer"), rules=INCOME)

    warning = Warning.objects.get(household=poor)
    assert (warning.rule_id, warning.period, warning.severity, warning.status) == (
        "income_below_line",
        "2025",
        "red",
        "open",
    )
    assert warning.evidence["per_capita_net_income"] == "4000.00"
    assert warning.evidence["parameters"] == {"monitoring_line": "8500"}
    assert summarize(warning.rule_id, warning.period, warning.evidence) == (
        "2025年人均纯收入 4,000.00 元，低于监测标准 8,500 元"
    )
    assert not Warning.objects.filter(household=comfortable).exists()
    assert (run.status, run.warnings_new, run.warnings_total) == ("succeeded", 1, 1)
    assert run.manifest["parameters"]["monitoring_line"]["grade"] == "assumption"
    assert AuditEvent.objects.filter(action="screening.run", object_id=str(run.pk)).exists()


def test_screening_a_county_twice_creates_no_new_warnings():
    poor_household(), poor_household(), comfortable_household()
    first = do_screen(COUNTY, 2025)
    before = list(Warning.objects.values_list("pk", "evidence_hash", "status", "updated_at"))

    second = do_screen(COUNTY, 2025)

    assert first.warnings_new == 2
    assert (second.warnings_new, second.warnings_unchanged, second.warnings_updated) == (0, 2, 0)
    assert list(Warning.objects.values_list("pk", "evidence_hash", "status", "updated_at")) == before
    assert set(Warning.objects.values_list("last_run", flat=True)) == {second.pk}


def test_a_dismissed_warning_does_not_come_back_for_the_same_evidence(persona):
    poor = poor_household()
    do_screen(COUNTY, 2025, rules=INCOME)
    do_dismiss(Warning.objects.get(household=poor), user=persona("village_cadre"), reason="外出务工收入未登记，已核实")

    again = do_screen(COUNTY, 2025, rules=INCOME)

    warning = Warning.objects.get(household=poor)
    assert warning.status == "dismissed"
    assert warning.dismissed_reason == "外出务工收入未登记，已核实"
    assert (again.warnings_new, again.warnings_suppressed, again.warnings_reopened) == (0, 1, 0)
    assert AuditEvent.objects.filter(action="screening.warning_dismiss", object_id=str(warning.pk)).exists()


def test_but_a_dismissed_warning_reopens_when_the_evidence_changes(persona):
    poor = poor_household()
    do_screen(COUNTY, 2025, rules=INCOME)
    do_dismiss(Warning.objects.get(household=poor), user=persona("village_cadre"), reason="收入已核实")
    set_income(poor, 9000)  # 3,000 a head now: new figures

    again = do_screen(COUNTY, 2025, rules=INCOME)

    warning = Warning.objects.get(household=poor)
    assert warning.status == "open"
    assert warning.evidence["per_capita_net_income"] == "3000.00"
    assert "重新打开" in warning.note and "收入已核实" in warning.note
    assert (again.warnings_reopened, again.warnings_suppressed, again.warnings_new) == (1, 0, 0)


def test_a_rule_without_a_parameter_for_the_region_is_skipped_and_the_run_says_why(client, persona):
    poor_household()  # no monitoring line for Guizhou in 2024 is shipped

    run = do_screen(COUNTY, 2024, rules=INCOME)

    assert run.status == "succeeded" and run.warnings_total == 0
    assert "monitoring_line" in run.skipped["income_below_line"]["reason"]
    assert "没有参数值" in run.skipped["income_below_line"]["reason_zh"]
    client.force_login(persona("county_officer"))
    page = client.get(reverse("screening:run_detail", args=[run.pk])).content.decode()
    assert "未运行的规则及原因" in page and "没有参数值" in page and "monitoring_line" in page


def test_rules_without_their_department_data_are_skipped_with_the_kind_named():
    poor_household()
    run = do_screen(COUNTY, 2025)
    assert "医保结算" in run.skipped["medical_oop_share"]["reason_zh"]
    assert "income_below_line" in run.manifest["counts"]


def test_a_village_cadre_sees_only_their_villages_warnings_and_another_county_gets_404(client, persona):
    mine = poor_household(first_village(TOWNSHIP))
    theirs = poor_household(second_village(TOWNSHIP))
    do_screen(COUNTY, 2025, rules=INCOME)
    mine_w, theirs_w = Warning.objects.get(household=mine), Warning.objects.get(household=theirs)

    client.force_login(persona("village_cadre"))
    page = client.get(reverse("screening:warning_list")).content.decode()
    assert mine.number in page and theirs.number not in page
    assert "4,000.00 元，低于监测标准 8,500 元" in page
    assert client.get(reverse("screening:warning_detail", args=[mine_w.pk])).status_code == 200
    assert client.get(reverse("screening:warning_detail", args=[theirs_w.pk])).status_code == 404

    client.force_login(persona("other_county_cadre"))
    assert client.get(reverse("screening:warning_detail", args=[mine_w.pk])).status_code == 404
    assert mine.number not in client.get(reverse("screening:warning_list")).content.decode()

    client.force_login(persona("department_officer"))
    assert client.get(reverse("screening:warning_list")).status_code == 403


def test_the_list_filters_and_counts_by_rule_and_colour(client, persona):
    poor_household()
    do_screen(COUNTY, 2025, rules=INCOME)
    client.force_login(persona("county_officer"))
    page = client.get(reverse("screening:warning_list"), {"severity": "red"}).content.decode()
    assert "红色 1" in page and "人均纯收入低于当年监测范围" in page
    page = client.get(reverse("screening:warning_list"), {"severity": "yellow"}).content.decode()
    assert "没有符合条件的预警线索" in page


def test_dismissing_on_the_web_needs_a_reason_and_is_audited(client, persona):
    poor = poor_household()
    do_screen(COUNTY, 2025, rules=INCOME)
    warning = Warning.objects.get(household=poor)
    client.force_login(persona("village_cadre"))
    url = reverse("screening:warning_dismiss", args=[warning.pk])

    client.post(url, {"reason": "  "})
    assert Warning.objects.get(pk=warning.pk).status == "open"

    client.post(url, {"reason": "入户核实：收入漏登"})
    warning.refresh_from_db()
    assert (warning.status, warning.dismissed_reason) == ("dismissed", "入户核实：收入漏登")
    assert AuditEvent.objects.filter(action="screening.warning_dismiss", actor__username="village_cadre").exists()


def test_a_county_officer_starts_a_screening_and_follows_its_progress(client, persona):
    poor_household()
    client.force_login(persona("county_officer"))

    response = client.post(reverse("screening:run_start"), {"year": "2025"})

    job = Job.objects.get(kind="screening")
    assert response["Location"] == reverse("screening:job", args=[job.pk])
    assert 'id="job-progress"' in client.get(response["Location"]).content.decode()
    run_job(job)
    done = client.get(reverse("screening:job", args=[job.pk]))
    run = ScreeningRun.objects.get(job=job)
    assert done["Location"] == reverse("screening:run_detail", args=[run.pk])
    assert run.created_by.username == "county_officer" and run.warnings_new == 1

    client.force_login(persona("township_officer"))
    assert client.post(reverse("screening:run_start"), {"year": "2025"}).status_code == 403


def test_the_cli_json_reports_counts():
    poor_household(), comfortable_household()
    out = StringIO()

    call_command("screen", "--region", COUNTY, "--year", "2025", "--json", stdout=out)

    summary = json.loads(out.getvalue())
    assert summary["counts"]["income_below_line"] == 1
    assert (summary["new"], summary["unchanged"], summary["suppressed"]) == (1, 0, 0)
    assert "医保结算" in summary["skipped"]["medical_oop_share"]
    assert summary["run_id"] == ScreeningRun.objects.get().pk and summary["seconds"] >= 0

    out = StringIO()
    call_command("screen", "--region", COUNTY, "--year", "2025", "--json", stdout=out)
    assert (json.loads(out.getvalue())["new"], json.loads(out.getvalue())["unchanged"]) == (0, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "999999", "--year", "2025"], "找不到区划"),
        (["--region", COUNTY, "--year", "1999"], "年度 1999 无效"),
        (["--region", COUNTY, "--year", "二〇二五"], "年度无效"),
        (["--region", COUNTY, "--year", "2025", "--rules", "income_below_line,nope"], "未知的筛查规则：nope"),
        (["--region", COUNTY, "--year", "2025", "--engine", "pandas"], "未知的计算引擎"),
        (["--region", "52", "--year", "2025"], "按县筛查"),
    ],
)
def test_the_cli_refuses_a_bad_request_in_chinese(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("screen", *args, "--json", stdout=StringIO())
    assert not ScreeningRun.objects.exists()


def test_a_province_wide_run_can_be_forced():
    poor_household()
    run = do_screen("52", 2025, rules=INCOME, force=True)
    assert run.warnings_new == 1
    with pytest.raises(ScreeningRequestError):
        do_screen("52", 2025, rules=INCOME)


def test_a_feed_death_is_warned_with_its_batch(data_dir, client, persona):
    household = make_household(first_village(TOWNSHIP), members=2)
    set_income(household, 45000)
    head = household.members.order_by("pk").first()
    part = data_dir / "feeds" / "kind=deaths" / f"county={COUNTY}" / "period=2025-03"
    part.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "member_key": pa.array([head.pk], pa.int64()),
                "household_key": pa.array([household.pk], pa.int64()),
                "death_date": pa.array([dt.date(2025, 3, 9)], pa.date32()),
                "batch_id": pa.array([7], pa.int64()),
            }
        ),
        part / "batch-7.parquet",
    )

    run = do_screen(COUNTY, 2025, rules=["labourer_death", "deceased_still_listed"])

    death = Warning.objects.get(household=household, rule_id="labourer_death")
    assert (death.member_id, death.period, death.evidence["feed_batches"]) == (head.pk, "2025-03", [7])
    assert Warning.objects.filter(household=household, rule_id="deceased_still_listed").exists()
    assert run.manifest["inputs"]["deaths"]["files"] == 1
    client.force_login(persona("county_officer"))
    page = client.get(reverse("screening:warning_detail", args=[death.pk])).content.decode()
    assert "2025-03-09 死亡" in page and "#7" in page


def test_every_rule_has_a_chinese_summary():
    assert set(SUMMARIES) == set(RULES_BY_ID)


def test_a_run_that_fails_in_the_engine_is_recorded_as_failed_and_writes_nothing(monkeypatch):
    import sys

    from engine.screening import ScreeningError

    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # a machine without the spark group
    poor_household()
    with pytest.raises(ScreeningError, match="PySpark"):
        do_screen(COUNTY, 2025, rules=INCOME, backend="spark")
    run = ScreeningRun.objects.get()
    assert run.status == "failed" and "PySpark" in run.error
    assert not Warning.objects.exists()
