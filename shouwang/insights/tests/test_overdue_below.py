"""The inbox's table of what is overdue below (超期事项) read from the statistics: the same
counts as counting the records, and only while the statistics are today's and unchanged."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from shouwang.insights.refresh import current_for, refresh
from shouwang.insights.tests.conftest import TODAY, warn
from shouwang.monitoring.inbox import overdue_below
from shouwang.regions.models import Region
from shouwang.registry.models import Household
from shouwang.testing.personas import COUNTY

pytestmark = pytest.mark.django_db


def _official(code: str) -> SimpleNamespace:
    return SimpleNamespace(region_prefix=code, region=Region.objects.get(pk=code))


def _table(rows) -> list[tuple]:
    return [(r.code, r.name, dict(r.counts), dict(r.by_step)) for r in rows]


def test_the_overdue_table_from_todays_statistics_is_the_count_of_the_records(county):
    refresh(COUNTY, TODAY)
    official = _official(COUNTY)
    assert current_for(COUNTY, TODAY)
    from_figures = _table(overdue_below(official, TODAY))
    assert from_figures == _table(overdue_below(official, TODAY, live=True))
    assert sum(sum(counts.values()) for _c, _n, counts, _s in from_figures) >= 2  # the overdue case and warning


def test_a_change_since_the_refresh_is_counted_from_the_records_until_the_next(county):
    refresh(COUNTY, TODAY)
    official = _official(COUNTY)
    before = _table(overdue_below(official, TODAY))
    warn(Household.objects.filter(village__pk__startswith=COUNTY).order_by("pk").last(), "housing_unsafe", days_ago=20)
    assert not current_for(COUNTY, TODAY)  # the new warning marked its village
    after = _table(overdue_below(official, TODAY))
    assert after == _table(overdue_below(official, TODAY, live=True)) != before


def test_yesterdays_statistics_are_not_used_for_todays_colours(county):
    refresh(COUNTY, TODAY)
    tomorrow = TODAY + dt.timedelta(days=1)
    assert not current_for(COUNTY, tomorrow)
    official = _official(COUNTY)
    assert _table(overdue_below(official, tomorrow)) == _table(overdue_below(official, tomorrow, live=True))


def test_a_region_with_a_county_not_refreshed_today_is_counted_from_the_records(county):
    refresh(COUNTY, TODAY)
    province = _official(COUNTY[:2])
    counties = Region.objects.filter(code__startswith=COUNTY[:2], level=3).count()
    assert current_for(COUNTY[:2], TODAY) is (counties == 1)
    assert _table(overdue_below(province, TODAY)) == _table(overdue_below(province, TODAY, live=True))


@pytest.mark.parametrize("status", ["open", "dismissed", "converted", ""])
@pytest.mark.parametrize("area", [COUNTY, "TOWNSHIP"])
def test_the_warning_lists_badges_from_the_statistics_are_the_count_of_the_warnings(county, status, area):
    from shouwang.screening.models import Warning
    from shouwang.screening.views import warning_badges
    from shouwang.testing.personas import TOWNSHIP

    refresh(COUNTY, TODAY)
    official = _official(COUNTY)
    village = TOWNSHIP if area == "TOWNSHIP" else ""
    qs = Warning.objects.filter(village__pk__startswith=village or COUNTY)
    if status:
        qs = qs.filter(status=status)
    tomorrow = TODAY + dt.timedelta(days=1)  # statistics not current: counted from the warnings
    counted = warning_badges(official, qs, status, village, tomorrow)
    assert current_for(village or COUNTY, TODAY) and not current_for(village or COUNTY, tomorrow)
    assert warning_badges(official, qs, status, village, TODAY) == counted
    assert status == "converted" or sum(counted[0].values()) > 0


def test_a_part_that_fails_leaves_the_parts_done_current_and_every_level_the_sum_of_the_one_below(county, monkeypatch):
    from collections import Counter

    from shouwang.insights import metrics
    from shouwang.insights.models import Refresh, RegionStat
    from shouwang.insights.refresh import refresh_many
    from shouwang.testing.personas import SIBLING_TOWNSHIP, TOWNSHIP

    refresh(COUNTY, TODAY)
    Household.objects.filter(village__pk__startswith=TOWNSHIP).first().delete()  # a change in the first part
    real = metrics.village_rows

    def failing(prefix, today=None):
        if prefix == SIBLING_TOWNSHIP:
            raise RuntimeError("数据库连接中断")
        return real(prefix, today)

    monkeypatch.setattr(metrics, "village_rows", failing)
    with pytest.raises(RuntimeError, match="连接中断"):
        refresh_many([TOWNSHIP, SIBLING_TOWNSHIP], TODAY)
    assert Refresh.objects.filter(code=TOWNSHIP, as_of=TODAY).exists()
    assert not Refresh.objects.filter(code=SIBLING_TOWNSHIP).exists()
    rows = list(RegionStat.objects.values_list("region_code", "level", "metric", "key", "value"))
    for level, width in {1: 2, 2: 4, 3: 6, 4: 9}.items():
        own = Counter({(c, m, k): v for c, lv, m, k, v in rows if lv == level})
        below: Counter = Counter()
        for c, lv, m, k, v in rows:
            if lv == level + 1:
                below[c[:width], m, k] += v
        assert own == below, f"level {level}"
