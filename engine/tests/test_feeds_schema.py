"""The twelve feed kinds are declared as FEEDS.md specifies them."""

from __future__ import annotations

import pytest

from engine.schema import ColumnType
from engine.schemas.feeds import FEED_SCHEMAS

# kind → (required columns beyond the common ones, all columns beyond the common ones), from FEEDS.md
SPEC = {
    "medical_claims": (
        {"settle_date", "total_cost", "out_of_pocket"},
        {
            "settle_date",
            "visit_type",
            "hospital_level",
            "total_cost",
            "basic_paid",
            "critical_paid",
            "assistance_paid",
            "out_of_pocket",
        },
    ),
    "medical_enrolment": ({"year", "enrolled"}, {"year", "enrolled", "subsidy"}),
    "assistance_recipients": (
        {"assistance_type", "status", "effective_date"},
        {"assistance_type", "status", "effective_date", "amount"},
    ),
    "deaths": ({"death_date"}, {"death_date"}),
    "school_enrolment": (
        {"school_stage", "status", "as_of_date"},
        {"school_stage", "status", "as_of_date", "school_name"},
    ),
    "employment": ({"status", "as_of_date"}, {"status", "as_of_date", "work_location", "monthly_wage"}),
    "pension": ({"year", "insured"}, {"year", "insured", "tier", "paid_on_behalf"}),
    "housing_appraisal": ({"grade", "appraisal_date"}, {"grade", "appraisal_date", "address"}),
    "disaster_losses": (
        {"disaster_type", "occurred_on", "loss_amount"},
        {"disaster_type", "occurred_on", "loss_amount", "house_damage"},
    ),
    "disabilities": (
        {"disability_type", "grade", "issued_on"},
        {"disability_type", "grade", "issued_on", "status"},
    ),
    "serious_illness": ({"diagnosis", "diagnosed_on"}, {"diagnosis", "diagnosed_on"}),
    "water_safety": (
        {"village_code", "problem", "reported_on"},
        {"village_code", "problem", "reported_on", "resolved_on"},
    ),
}


def test_all_twelve_kinds_are_declared():
    assert set(FEED_SCHEMAS) == set(SPEC)
    assert all(schema.kind == kind for kind, schema in FEED_SCHEMAS.items())


@pytest.mark.parametrize("kind", sorted(SPEC))
def test_columns_and_required_flags_follow_feeds_md(kind):
    schema = FEED_SCHEMAS[kind]
    names = [c.name for c in schema.columns]
    required, own = SPEC[kind]
    common = {"name", "county_code"} | ({"id_number", "birth_date"} if kind != "water_safety" else set())
    # Beyond FEEDS.md, every kind about people takes optional linkage hints: what departments
    # send next to a missing or wrong ID number (engine/schemas/feeds.py, docs/linkage.md).
    hints = {"stated_sex", "township", "village"} if kind != "water_safety" else set()
    assert set(names) == own | common | hints
    assert not any(schema.column(h).required for h in hints)
    assert {c.name for c in schema.required} == required | ({"id_number"} if kind != "water_safety" else set())
    assert not schema.column("name").required and not schema.column("county_code").required
    for key in schema.key:
        assert key in names


@pytest.mark.parametrize("kind", sorted(SPEC))
def test_headers_are_unambiguous_and_code_columns_closed(kind):
    schema = FEED_SCHEMAS[kind]
    seen: dict[str, str] = {}
    for column in schema.columns:
        assert column.label and column.label == column.headers[1]
        for header in column.headers:
            assert seen.setdefault(header, column.name) == column.name, header
        if column.type in (ColumnType.CODE, ColumnType.BOOLEAN):
            assert column.choices, column.name
        if column.choices:
            assert len(set(column.choices)) == len(column.choices)


def test_labels_code_lists_and_aliases_match_the_specification():
    claims = FEED_SCHEMAS["medical_claims"]
    assert claims.column("out_of_pocket").label == "个人自付"
    assert "个人负担" in claims.column("out_of_pocket").aliases
    assert claims.column("visit_type").choices == ("门诊", "住院", "门诊慢特病")
    assert claims.column("hospital_level").choices == ("乡镇", "县级", "市级", "省级及以上")
    ident = claims.column("id_number")
    assert ident.label == "身份证号" and ident.type == ColumnType.ID_NUMBER
    assert set(ident.aliases) == {"公民身份号码", "证件号码", "身份证号码"}
    assert claims.column("county_code").aliases == ("行政区划代码",)
    assert FEED_SCHEMAS["assistance_recipients"].column("assistance_type").choices == (
        "低保",
        "特困",
        "临时救助",
        "残疾人两项补贴",
    )
    assert FEED_SCHEMAS["assistance_recipients"].column("status").choices == ("纳入", "退出", "停发")
    assert FEED_SCHEMAS["school_enrolment"].column("school_stage").choices == (
        "学前",
        "小学",
        "初中",
        "高中",
        "中职",
        "高职",
        "本科",
    )
    assert FEED_SCHEMAS["school_enrolment"].column("status").choices == ("在读", "休学", "辍学", "毕业", "转出")
    assert FEED_SCHEMAS["employment"].column("status").choices == ("就业", "灵活就业", "失业登记", "务工返乡")
    assert FEED_SCHEMAS["employment"].column("work_location").choices == ("县内", "省内县外", "省外")
    assert FEED_SCHEMAS["housing_appraisal"].column("grade").choices == ("A", "B", "C", "D")
    assert FEED_SCHEMAS["disaster_losses"].column("disaster_type").choices == (
        "洪涝",
        "干旱",
        "地震",
        "地质灾害",
        "风雹",
        "低温冷冻",
        "火灾",
        "其他",
    )
    assert FEED_SCHEMAS["disaster_losses"].column("house_damage").choices == ("无", "一般损坏", "严重损坏", "倒塌")
    assert FEED_SCHEMAS["disabilities"].column("grade").choices == ("一级", "二级", "三级", "四级")
    assert FEED_SCHEMAS["disabilities"].column("status").choices == ("有效", "注销")
    assert FEED_SCHEMAS["water_safety"].column("problem").choices == ("水量", "水质", "用水方便程度", "供水保证率")
    assert FEED_SCHEMAS["water_safety"].column("village_code").type == ColumnType.DIVISION
    assert FEED_SCHEMAS["medical_enrolment"].column("subsidy").choices == ("全额", "定额", "无")


def test_types_of_dates_and_amounts():
    for schema in FEED_SCHEMAS.values():
        for column in schema.columns:
            if column.name.endswith(("_date", "_on")):
                assert column.type == ColumnType.DATE, column.name
            if column.name in (
                "total_cost",
                "basic_paid",
                "critical_paid",
                "assistance_paid",
                "out_of_pocket",
                "amount",
                "monthly_wage",
                "loss_amount",
            ):
                assert column.type == ColumnType.AMOUNT, column.name
