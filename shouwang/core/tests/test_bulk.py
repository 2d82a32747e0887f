"""Rows inserted without a model each read back exactly as `bulk_create` would have stored them."""

from __future__ import annotations

import pytest

from shouwang.core.bulk import insert_rows
from shouwang.insights.models import RegionStat

pytestmark = pytest.mark.django_db


def test_rows_inserted_in_bulk_read_back_exactly():
    rows = [(f"5226300{i:05d}", 5, "households", f"脱贫户|监测中|{i}", i * 7) for i in range(12_000)]
    assert insert_rows(RegionStat, ("region_code", "level", "metric", "key", "value"), iter(rows)) == 12_000
    back = RegionStat.objects.order_by("region_code").values_list("region_code", "level", "metric", "key", "value")
    assert list(back) == rows


def test_a_field_the_model_does_not_have_is_refused_before_anything_is_written():
    with pytest.raises(ValueError, match="no field regoin"):
        insert_rows(RegionStat, ("regoin", "level"), [("52", 1)])
    assert not RegionStat.objects.exists()
