"""Dashboards on the web: every level opens its own, drills down by click, exports what it
shows, and sees nothing outside its region."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from shouwang.insights.refresh import refresh
from shouwang.insights.tests.conftest import TODAY
from shouwang.testing.personas import COUNTY, OTHER_COUNTY, SIBLING_TOWNSHIP, TOWNSHIP

pytestmark = pytest.mark.django_db


@pytest.fixture
def refreshed(county, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a: TODAY)
    refresh(COUNTY, TODAY)
    return county


def page(client, code):
    response = client.get(reverse("insights:dashboard", args=[code]))
    assert response.status_code == 200
    return response.content.decode()


def test_each_level_opens_its_own_dashboard_from_the_navigation(client, persona, refreshed):
    for who, code in (
        ("province_viewer", "52"),
        ("prefecture_viewer", "5226"),
        ("county_officer", COUNTY),
        ("township_officer", TOWNSHIP),
        ("village_cadre", refreshed["a"]),
    ):
        client.force_login(persona(who))
        home = client.get(reverse("core:home")).content.decode()
        assert reverse("insights:home") in home
        assert client.get(reverse("insights:home"))["Location"] == reverse("insights:dashboard", args=[code])


def test_a_county_officer_drills_down_from_the_county_to_a_household(client, persona, refreshed):
    client.force_login(persona("county_officer"))
    county = page(client, COUNTY)
    assert 'data-kpi="households">11<' in county and 'data-kpi="monitored">2<' in county
    township_url = reverse("insights:dashboard", args=[TOWNSHIP])
    assert f'href="{township_url}"' in county  # the row of 台拱街道 in the table of regions below
    township = page(client, TOWNSHIP)
    assert 'data-kpi="households">7<' in township
    assert reverse("insights:dashboard", args=[COUNTY]) in township  # the breadcrumb back up
    village_url = reverse("insights:dashboard", args=[refreshed["a"]])
    assert f'href="{village_url}"' in township
    village = page(client, refreshed["a"])
    household_url = reverse("monitoring:household", args=[refreshed["sick"].pk])
    assert household_url in village and refreshed["sick"].number in village
    assert client.get(household_url).status_code == 200


def test_every_section_carries_its_chart_and_its_table(client, persona, refreshed):
    client.force_login(persona("county_officer"))
    html = page(client, COUNTY)
    for slug in ("children", "categories", "monthly", "warnings_by_department", "causes", "overdue", "income"):
        assert f'id="section-{slug}"' in html and f'id="chart-{slug}"' in html
        assert reverse("insights:export", args=[COUNTY, slug, "xlsx"]) in html
    assert 'id="insights-charts"' in html and "echarts.min.js" in html


def test_no_dashboard_outside_ones_region_answers_other_than_404(client, persona, refreshed):
    client.force_login(persona("township_officer"))
    for code in (COUNTY, SIBLING_TOWNSHIP, refreshed["c"], OTHER_COUNTY, "52", "999999"):
        assert client.get(reverse("insights:dashboard", args=[code])).status_code == 404
    client.force_login(persona("system_admin"))
    assert client.get(reverse("insights:dashboard", args=[COUNTY])).status_code == 404


def test_an_export_holds_the_numbers_of_the_table_on_the_page(client, persona, refreshed):
    client.force_login(persona("county_officer"))
    response = client.get(reverse("insights:export", args=[COUNTY, "children", "xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("区划", "农户", "脱贫户", "监测中")
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["台拱街道"][1] == 7 and by_name["施洞镇"][1] == 4
    text = client.get(reverse("insights:export", args=[COUNTY, "children", "csv"])).content.decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0][0] == "区划" and {r[0]: r[1] for r in parsed[1:]}["台拱街道"] == "7"


def test_an_export_for_other_levels_shows_small_counts_as_under_five(client, persona, refreshed):
    client.force_login(persona("county_officer"))
    response = client.get(reverse("insights:export", args=[COUNTY, "children", "csv"]) + "?public=1")
    rows = {r[0]: r for r in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))}
    assert rows["台拱街道"][1] == "7"  # five or more: shown
    assert rows["施洞镇"][1] == "<5"  # four households
    assert rows["施洞镇"][4] == ""  # the share would give the hidden count away
    empty = next(r for name, r in rows.items() if name not in ("区划", "台拱街道", "施洞镇"))
    assert empty[1] == "0"  # nothing to recognise in a zero


def test_an_unknown_section_or_format_answers_404(client, persona, refreshed):
    client.force_login(persona("county_officer"))
    assert client.get(reverse("insights:export", args=[COUNTY, "nothing", "xlsx"])).status_code == 404
    assert client.get(reverse("insights:export", args=[COUNTY, "children", "pdf"])).status_code == 404


def test_the_dashboard_reads_only_the_aggregates(client, persona, refreshed, django_assert_max_num_queries):
    client.force_login(persona("province_viewer"))
    with django_assert_max_num_queries(16):
        page(client, "52")


def test_the_page_says_when_the_figures_were_computed_and_what_waits(client, persona, refreshed):
    client.force_login(persona("county_officer"))
    assert "统计时间" in page(client, COUNTY)
    case = refreshed["open_case"]
    case.due_on = TODAY
    case.save()
    assert "1 处变动待更新" in page(client, COUNTY)


def test_the_home_page_reads_the_statistics_once_they_cover_the_region(client, persona, county, monkeypatch):
    from shouwang.registry.models import Household

    client.force_login(persona("county_officer"))
    live = client.get(reverse("core:home")).content.decode()
    refresh(COUNTY, TODAY)
    # A change the statistics have not seen yet shows the home page reads them, not the records.
    Household.objects.filter(pk=county["c_houses"][1].pk).update(monitoring_state="监测中")
    aggregated = client.get(reverse("core:home")).content.decode()
    assert live.count(">2<") == aggregated.count(">2<")  # monitored: still 2 in the statistics
    refresh(COUNTY, TODAY)
    assert client.get(reverse("core:home")).context["stats"]["monitored"] == 3
