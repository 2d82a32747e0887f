"""Report tables (统计报表): fixed layouts whose totals are the records' own counts, built in the
background, downloadable as XLSX and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from shouwang.insights.refresh import refresh
from shouwang.insights.reports import ReportError, default_period, parse_period, report_path
from shouwang.insights.tests.conftest import TODAY
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import work
from shouwang.monitoring.models import Measure, MonitoringRecord
from shouwang.registry.models import Household, Member
from shouwang.testing.personas import COUNTY, SIBLING_TOWNSHIP, TOWNSHIP

pytestmark = pytest.mark.django_db


def build(client, persona, period: str, public: bool = False, who: str = "county_officer") -> Job:
    client.force_login(persona(who))
    data = {"period": period, **({"public": "1"} if public else {})}
    assert client.post(reverse("insights:reports"), data).status_code == 302
    work(once=True)
    job = Job.objects.filter(kind="insights.report").latest("pk")
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def sheet_rows(job: Job, client, sheet: str) -> dict[str, tuple]:
    response = client.get(reverse("insights:report_download", args=[job.pk, "xlsx"]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book[sheet].iter_rows(values_only=True))
    header = rows[2]
    return {"header": header, **{r[0]: r for r in rows[3:] if r[0]}}


def test_periods_are_months_or_quarters():
    assert parse_period("2026-05").months == ("2026-05",)
    assert parse_period("2026-Q2").months == ("2026-04", "2026-05", "2026-06")
    assert parse_period("2026-Q2").title == "2026年第2季度"
    with pytest.raises(ReportError, match="2025-Q2"):
        parse_period("2026-13")
    assert default_period("month", dt.date(2026, 1, 10)) == "2025-12"
    assert default_period("quarter", dt.date(2026, 2, 10)) == "2025-Q4"
    assert default_period("quarter", dt.date(2026, 8, 1)) == "2026-Q2"


def test_the_monthly_table_totals_are_the_records_own_counts(client, persona, county):
    refresh(COUNTY, TODAY)
    job = build(client, persona, "2026-05")
    rows = sheet_rows(job, client, "表1 监测对象")
    header = list(rows["header"])
    col = {name: header.index(name) for name in header}
    total = rows[COUNTY]
    assert total[1].endswith("（合计）")
    households = Household.objects.filter(village__pk__startswith=COUNTY)
    assert total[col["农户数（户）"]] == households.count()
    living = Member.objects.filter(household__in=households, death_date__isnull=True)
    assert total[col["农户人口（人）"]] == living.count()
    assert total[col["脱贫户数（户）"]] == households.filter(household_type="脱贫户").count()
    end = dt.date(2026, 5, 31)
    records = MonitoringRecord.objects.filter(household__in=households)
    monitored_at_end = records.filter(identified_on__lte=end).exclude(eliminated_on__lte=end).count()
    # A's 因病 household and B's; A's other one left on 20 May.
    assert total[col["期末监测户合计（户）"]] == monitored_at_end == 2
    assert total[col["本期新识别（户）"]] == records.filter(identified_on__range=(dt.date(2026, 5, 1), end)).count()
    assert total[col["本期风险消除（户）"]] == 1  # eliminated on 20 May


def test_every_subtotal_is_the_sum_of_its_parts_and_the_total_of_the_subtotals(client, persona, county):
    refresh(COUNTY, TODAY)
    job = build(client, persona, "2026-Q2")
    for sheet in ("表1 监测对象", "表2 风险类型", "表3 帮扶措施"):
        rows = sheet_rows(job, client, sheet)
        codes = [c for c in rows if c != "header"]
        subtotals = [c for c in codes if len(c) == 9]
        assert {TOWNSHIP, SIBLING_TOWNSHIP} <= set(subtotals)  # every township of the county, data or not
        width = len(rows["header"])
        for j in range(2, width):
            for sub in subtotals:
                parts = [c for c in codes if len(c) == 12 and c.startswith(sub)]
                assert rows[sub][j] == sum(rows[c][j] for c in parts), (sheet, rows["header"][j], sub)
            assert rows[COUNTY][j] == sum(rows[s][j] for s in subtotals), (sheet, rows["header"][j])


def test_the_measures_table_counts_the_measures_registered(client, persona, county):
    refresh(COUNTY, TODAY)
    job = build(client, persona, "2026-05")
    rows = sheet_rows(job, client, "表3 帮扶措施")
    header = list(rows["header"])
    assert rows[COUNTY][header.index("措施合计（项）")] == Measure.objects.count() == 1
    assert rows[COUNTY][header.index("健康帮扶")] == 1
    assert rows[COUNTY][header.index("投入资金（元）")] == 3000


def test_the_csv_carries_the_same_figures_for_machines(client, persona, county):
    refresh(COUNTY, TODAY)
    job = build(client, persona, "2026-05")
    text = b"".join(client.get(reverse("insights:report_download", args=[job.pk, "csv"])).streaming_content)
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
    county_row = next(r for r in rows if r["region_code"] == COUNTY and r["table"] == "表1 监测对象")
    assert county_row["row_kind"] == "total" and county_row["农户数（户）"] == "11"
    assert county_row["period"] == "2026-05"


def test_a_report_for_other_levels_shows_small_counts_as_under_five(client, persona, county):
    refresh(COUNTY, TODAY)
    job = build(client, persona, "2026-05", public=True)
    rows = sheet_rows(job, client, "表1 监测对象")
    header = list(rows["header"])
    assert rows[COUNTY][header.index("农户数（户）")] == 11
    assert rows[SIBLING_TOWNSHIP][header.index("农户数（户）")] == "<5"
    assert rows[COUNTY][header.index("期末监测户合计（户）")] == "<5"


def test_a_township_sees_its_reports_not_the_countys(client, persona, county):
    refresh(COUNTY, TODAY)
    job = build(client, persona, "2026-05")
    client.force_login(persona("township_officer"))
    assert client.get(reverse("insights:report_download", args=[job.pk, "xlsx"])).status_code == 404
    # (the county's report is not listed: its link is not on the page — a bare pk could be any "6")
    listing = client.get(reverse("insights:reports")).content.decode()
    assert reverse("insights:report_download", args=[job.pk, "xlsx"]) not in listing
    own = build(client, persona, "2026-05", who="township_officer")
    assert own.region_id == TOWNSHIP
    assert report_path(own, "xlsx").exists()


def test_a_wrong_period_is_refused_with_the_reason(client, persona, county):
    client.force_login(persona("county_officer"))
    response = client.post(reverse("insights:reports"), {"period": "2026年5月"}, follow=True)
    assert "无法识别" in response.content.decode()
    assert not Job.objects.filter(kind="insights.report").exists()
