import pytest

from shouwang.regions.loading import DivisionError, load_divisions
from shouwang.regions.models import Level, Region


@pytest.mark.django_db
def test_a_county_is_loaded_with_its_ancestors_and_real_villages():
    taijiang = Region.objects.get(code="522630")
    assert taijiang.name == "台江县"
    assert taijiang.level == Level.COUNTY
    assert [r.code for r in taijiang.ancestors()] == ["52", "5226"]
    villages = Region.objects.filter(code__startswith="522630", level=Level.VILLAGE)
    assert villages.count() == 71  # 台江县, NBS 2023
    assert all(len(code) == 12 for code in villages.values_list("code", flat=True))
    assert Region.objects.get(code="522630001").parent_id == "522630"


@pytest.mark.django_db
def test_loading_again_adds_nothing():
    counts = load_divisions("522630")
    assert sum(counts.values()) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["5226x", "52263", "abc"])
def test_a_malformed_prefix_is_refused_in_chinese(prefix):
    with pytest.raises(DivisionError, match="区划代码"):
        load_divisions(prefix)


@pytest.mark.django_db
def test_an_unknown_code_is_refused():
    with pytest.raises(DivisionError, match="不存在"):
        load_divisions("529999")


@pytest.mark.django_db
def test_a_region_contains_its_subtree_by_prefix():
    county = Region.objects.get(code="522630")
    assert county.contains("522630101201")
    assert not county.contains("522631101201")
