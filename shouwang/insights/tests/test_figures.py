"""The figures of the dashboards: computed from the records, added up level by level, and
kept current when the records change."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from shouwang.insights import figures
from shouwang.insights.figures import Figures, median_of
from shouwang.insights.models import RegionStat, StaleRegion
from shouwang.insights.refresh import refresh, refresh_stale
from shouwang.insights.tests.conftest import TODAY
from shouwang.monitoring.models import Step
from shouwang.registry.models import Household, Member
from shouwang.testing.personas import COUNTY, SIBLING_TOWNSHIP, TOWNSHIP

pytestmark = pytest.mark.django_db


def test_every_level_is_exactly_the_sum_of_the_level_below(county):
    refresh(COUNTY, TODAY)
    widths = {1: 2, 2: 4, 3: 6, 4: 9}
    rows = list(RegionStat.objects.values_list("region_code", "level", "metric", "key", "value"))
    assert {level for _c, level, *_rest in rows} == {1, 2, 3, 4, 5}
    for level, width in widths.items():
        own = Counter({(code, m, k): v for code, lv, m, k, v in rows if lv == level})
        below: Counter = Counter()
        for code, lv, m, k, v in rows:
            if lv == level + 1:
                below[code[:width], m, k] += v
        assert own == below, f"level {level}"


def test_household_and_people_counts_match_the_registry(county):
    refresh(COUNTY, TODAY)
    f = Figures.of(COUNTY)
    assert f.total("households") == Household.objects.filter(village__pk__startswith=COUNTY).count() == 11
    assert f.total("households", p0="脱贫户") == 3
    assert f.total("households", p1="监测中") == 2
    assert f.total("households", p1="风险已消除") == 1
    assert f.total("members") == Member.objects.filter(household__village__pk__startswith=COUNTY).count()
    township = Figures.of(TOWNSHIP)
    assert township.total("households") == 7 and Figures.of(SIBLING_TOWNSHIP).total("households") == 4


def test_identifications_and_eliminations_are_counted_in_their_month(county):
    refresh(COUNTY, TODAY)
    f = Figures.of(COUNTY)
    assert f.total("identified", p0="2026-03") == 1
    assert f.total("identified", p0="2026-01", p1="边缘易致贫户") == 1
    assert f.total("eliminated", p0="2026-05") == 1
    monthly = figures.monthly_section(f, TODAY)
    assert [r for r in monthly.rows if r[0] == "2026-04"] == [["2026-04", 1, 0]]


def test_a_household_under_the_line_falls_in_the_bins_below_one(county):
    refresh(COUNTY, TODAY)
    section = figures.income_section(Figures.of(COUNTY))
    rows = {r[0]: r for r in section.rows}
    assert rows["<0.5 ×"][4] == 1  # 3,000 a head against 8,500
    assert rows["0.8-1 ×"][1] == 1  # the monitored 脱贫户 at 8,000: a monitored household
    assert sum(r[4] for r in section.rows) == 11
    assert "8,500" in str(section.note) and "低于标准 2 户" in str(section.note)


def test_warnings_are_counted_by_department_rule_and_what_became_of_them(county):
    refresh(COUNTY, TODAY)
    f = Figures.of(COUNTY)
    departments, _rules, medians = figures.warnings_section(f)
    by_department = {r[0]: r for r in departments.rows}
    assert by_department["医保局"][1] == 1  # medical_oop_share, dismissed
    assert by_department["卫健委"][1] == 1  # serious_illness, converted
    income = by_department[figures.department("income_below_line")]
    assert income[1] == 2 and income[2] == 1 and income[4] == 1  # one untaken, one dismissed
    # Days to verify: dismissed after 4 and 6 days, converted after 3: the median is 4.
    assert medians == {"all": 4, "dismissed": 4, "converted": 3, "verified": 3, "capped": 90}
    assert f.total("untaken", p0="red") == 1  # 20 days old, the limit is 15


def test_a_median_is_read_from_a_histogram():
    assert median_of({}) is None
    assert median_of({1: 1, 5: 1, 9: 1}) == 5
    assert median_of({2: 3, 10: 1}) == 2


def test_plans_without_a_measure_and_overdue_cases_are_flagged(county):
    refresh(COUNTY, TODAY)
    f = Figures.of(COUNTY)
    assert f.total("plan_flags", p0="no_measure") == 1  # village B's household, two months without
    assert f.total("coverage", p0="因病", p1="1") == 1  # 健康帮扶 answers 因病
    assert f.total("coverage", p0="因学", p1="0") == 1  # nothing answers 因学 yet
    assert f.total("cases", p1=Step.TOWNSHIP_AUDIT, p2="red") == 1
    assert figures.overview(f)["overdue"] >= 2


def test_the_indicators_count_households_with_a_problem(county):
    refresh(COUNTY, TODAY)
    f = Figures.of(SIBLING_TOWNSHIP)
    assert f.total("indicators", p0="housing") == 1
    assert f.total("indicators", p0="water") == 1 and f.total("indicators", p0="water_quality") == 1
    assert f.total("indicators", p0="water_quantity") == 0


def test_a_case_that_moves_marks_its_village_and_the_next_refresh_shows_it(county):
    refresh(COUNTY, TODAY)
    assert not StaleRegion.objects.exists()
    case = county["open_case"]
    case.step = Step.COUNTY_APPROVAL
    case.save()
    assert list(StaleRegion.objects.values_list("code", flat=True)) == [county["c"]]
    [summary] = refresh_stale(TODAY)
    assert summary.prefix == county["c"] and summary.villages == 1
    assert not StaleRegion.objects.exists()
    f = Figures.of(COUNTY)
    assert f.total("cases", p1=Step.COUNTY_APPROVAL) == 1 and f.total("cases", p1=Step.TOWNSHIP_AUDIT) == 0


def test_a_refresh_of_one_village_leaves_the_others_alone(county):
    refresh(COUNTY, TODAY)
    before = Figures.of(COUNTY).total("households")
    Household.objects.filter(pk=county["c_houses"][0].pk).update(monitoring_state="监测中")  # no signal: stale figures
    refresh(county["a"], TODAY)
    assert Figures.of(COUNTY).total("households", p1="监测中") == 2  # C's change not seen yet
    refresh(county["c"], TODAY)
    assert Figures.of(COUNTY).total("households", p1="监测中") == 3
    assert Figures.of(COUNTY).total("households") == before


def test_a_change_rolled_back_leaves_no_mark(county):
    from django.db import transaction

    refresh(COUNTY, TODAY)
    with pytest.raises(RuntimeError), transaction.atomic():
        county["measure"].status = "stopped"
        county["measure"].save()
        raise RuntimeError
    assert not StaleRegion.objects.exists()


def test_a_finished_screening_marks_its_county(county):
    from shouwang.regions.models import Region
    from shouwang.screening.models import RunStatus, ScreeningRun

    ScreeningRun.objects.create(region=Region.objects.get(code=COUNTY), year=2025, status=RunStatus.SUCCEEDED)
    assert StaleRegion.objects.filter(code=COUNTY).exists()


def test_the_daily_refresh_marks_counties_not_computed_today(county, monkeypatch):
    from shouwang.insights import refresh as r

    refresh(COUNTY, TODAY - dt.timedelta(days=1))
    StaleRegion.objects.all().delete()
    monkeypatch.setattr(r.timezone, "localdate", lambda: TODAY)
    r._refresh_daily()
    assert list(StaleRegion.objects.values_list("code", flat=True)) == [COUNTY]
