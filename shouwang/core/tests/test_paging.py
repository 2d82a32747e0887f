"""Region subtrees as code ranges, and the paginator whose count stops at a cap."""

from __future__ import annotations

import pytest

from shouwang.core import paging
from shouwang.core.scoping import subtree
from shouwang.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prefix", ["52", "5226", "522630", "522630001", "522630001001", "5299", "99"])
def test_a_subtree_range_holds_exactly_the_codes_with_the_prefix(prefix):
    by_range = set(Region.objects.filter(subtree("code", prefix)).values_list("code", flat=True))
    by_prefix = set(Region.objects.filter(code__startswith=prefix).values_list("code", flat=True))
    assert by_range == by_prefix


def test_the_count_stops_at_the_cap(monkeypatch):
    monkeypatch.setattr(paging.CappedPaginator, "cap", 7)
    regions = Region.objects.filter(code__startswith="5226").order_by("code")
    assert regions.count() > 7
    paginator = paging.CappedPaginator(regions, 3)
    assert (paginator.count, paginator.capped, paginator.num_pages) == (7, True, 3)
    assert (paginator.count_display, paginator.num_pages_display) == ("7+", "3+")
    assert [r.code for r in paginator.page(2)] == [r.code for r in regions[3:6]]


def test_under_the_cap_the_count_is_exact():
    regions = Region.objects.filter(code__startswith="522630001").order_by("code")
    paginator = paging.CappedPaginator(regions, 50)
    assert (paginator.count, paginator.capped) == (regions.count(), False)
    assert paginator.count_display == f"{regions.count():,}"
