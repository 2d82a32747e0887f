"""Screening rules (部门筛查预警), as the policy reads.

Every rule is tested at its boundary — just below, at and just above the threshold — on
small Arrow tables built by hand: a county (台江县 522630) screened for 2025, with a test
parameter table (the shipped one is tested separately, for what it may and may not contain).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from engine.feeds.storage import write_batch
from engine.screening import (
    ALL_RULES,
    RULES_BY_ID,
    WARNINGS_SCHEMA,
    ParameterError,
    ResolvedParameters,
    Rule,
    ScreeningError,
    Severity,
    evaluate_rules,
    load_parameters,
    parse_parameter_rows,
    resolve_parameters,
    rule_sql,
)
from engine.screening.inputs import ACCOUNTS_SCHEMA, HOUSEHOLDS_SCHEMA, MEMBERS_SCHEMA
from engine.screening.rules import (
    BUILTIN_PLACEHOLDERS,
    DERIVED,
    Cause,
    Derive,
    _literal,
    deduplicated_sql,
    placeholders,
    render_derived_sql,
    render_sql,
)
from engine.screening.run import _derived_evidence, run_values

COUNTY = "522630"
V1, V2 = "522630101201", "522630101202"
YEAR = 2025
D = dt.date


def _row(
    parameter: str, region: str, value: str, year_from: str = "", year_to: str = "", **extra: str
) -> dict[str, str]:
    return {
        "parameter": parameter,
        "region_code": region,
        "year_from": year_from,
        "year_to": year_to,
        "value": value,
        "unit": extra.get("unit", ""),
        "grade": extra.get("grade", "V1"),
        "source": extra.get("source", f"test document for {parameter}"),
        "note": "",
    }


TEST_ROWS = [
    _row("monitoring_line", "5226", "8000", "2025", "2025"),
    _row("income_drop_share", "5226", "0.3"),
    _row("medical_oop_share_priority", "5226", "0.5"),
    _row("medical_oop_share_other", "5226", "1.0"),
    _row("prev_year_rural_income", "5226", "16000", "2025", "2025"),
    _row("stay_self_pay_monitored", "5226", "6000"),
    _row("stay_self_pay_other", "5226", "10000"),
    _row("disaster_loss_amount", "5226", "15000"),
    _row("medical_oop_income_share_priority", "5226", "0.5"),
    _row("medical_oop_income_share_other", "5226", "1.0"),
    _row("rigid_expense_share", "5226", "0.6"),
    _row("prev_year_disposable_income", "5226", "27000", "2025", "2025"),
    _row("compulsory_school_age_min", "", "6"),
    _row("compulsory_school_age_max", "", "15"),
    _row("working_age_min", "", "16"),
    _row("working_age_max", "", "60"),
]
PARAMS = resolve_parameters(parse_parameter_rows(TEST_ROWS), COUNTY, YEAR)


# -- Building inputs by hand ---------------------------------------------------------------


def members(*rows: tuple[int, int, dt.date] | tuple[int, int, dt.date, bool]) -> pa.Table:
    """(member_key, household_key, birth_date[, deceased])."""
    return pa.Table.from_pylist(
        [
            {
                "member_key": r[0],
                "household_key": r[1],
                "id_hash": f"{r[0]:064x}",
                "name": f"成员{r[0]}",
                "birth_date": r[2],
                "sex": "M",
                "village_code": V1,
                "deceased": r[3] if len(r) > 3 else False,
            }
            for r in rows
        ],
        schema=MEMBERS_SCHEMA,
    )


def households(*rows: tuple[int, str] | tuple[int, str, str] | tuple[int, str, str, str]) -> pa.Table:
    """(household_key, household_type[, monitoring_state[, village_code]])."""
    return pa.Table.from_pylist(
        [
            {
                "household_key": r[0],
                "village_code": r[3] if len(r) > 3 else V1,
                "household_type": r[1],
                "monitoring_state": r[2] if len(r) > 2 else "未纳入",
            }
            for r in rows
        ],
        schema=HOUSEHOLDS_SCHEMA,
    )


def accounts(*rows: tuple[int, int, str, int]) -> pa.Table:
    """(household_key, year, net income as wage, population); other components split off to
    check the formula: operating 1,000 − cost 1,000 + property 0 + transfer 0."""
    return pa.Table.from_pylist(
        [
            {
                "household_key": r[0],
                "year": r[1],
                "wage_income": Decimal(r[2]),
                "operating_income": Decimal("1000"),
                "operating_cost": Decimal("1000"),
                "property_income": None,
                "transfer_income": Decimal("0"),
                "population": r[3],
            }
            for r in rows
        ],
        schema=ACCOUNTS_SCHEMA,
    )


def feed(rows: list[dict[str, Any]], types: dict[str, pa.DataType]) -> pa.Table:
    schema = pa.schema(
        [("member_key", pa.int64()), ("household_key", pa.int64()), ("batch_id", pa.int64()), *types.items()]
    )
    return pa.Table.from_pylist([{"batch_id": 7, **r} for r in rows], schema=schema)


MONEY = pa.decimal128(12, 2)
CLAIM = {
    "settle_date": pa.date32(),
    "visit_type": pa.string(),
    "hospital_level": pa.string(),
    "total_cost": MONEY,
    "out_of_pocket": MONEY,
}


MAY_1 = D(2025, 5, 1)


def household_1() -> pa.Table:
    """The registry of the claims tests: members 11 and 12 of household 1."""
    return members((11, 1, D(1980, 1, 1)), (12, 1, D(2012, 5, 5)))


def claim(member: int, household: int, oop: str, when: dt.date = MAY_1, visit: str = "住院", **kw: Any) -> dict:
    return {
        "member_key": member,
        "household_key": household,
        "settle_date": when,
        "visit_type": visit,
        "hospital_level": "县级",
        "total_cost": Decimal(oop) * 3,
        "out_of_pocket": Decimal(oop),
        **kw,
    }


def screen(
    rule: str | None = None,
    *,
    registry: pa.Table | None = None,
    hh: pa.Table | None = None,
    acc: pa.Table | None = None,
    params: ResolvedParameters = PARAMS,
    **feeds: pa.Table,
) -> Any:
    rules = ALL_RULES if rule is None else (RULES_BY_ID[rule],)
    return evaluate_rules(
        registry if registry is not None else members(),
        acc,
        feeds,
        params,
        rules=rules,
        households=hh,
    )


def fired(result: Any) -> list[tuple[int, str, str, int | None]]:
    w = result.warnings
    return list(
        zip(
            w.column("household_key").to_pylist(),
            w.column("rule_id").to_pylist(),
            w.column("period").to_pylist(),
            w.column("member_key").to_pylist(),
            strict=True,
        )
    )


def evidence(result: Any, index: int = 0) -> dict[str, Any]:
    return dict(json.loads(result.warnings.column("evidence")[index].as_py()))


# -- Parameters ----------------------------------------------------------------------------


def test_the_most_specific_region_parameter_wins() -> None:
    table = parse_parameter_rows(
        [
            _row("monitoring_line", "52", "8500", "2025", "2025", source="province"),
            _row("monitoring_line", "5226", "8600", "2025", "2025", source="prefecture"),
            _row("monitoring_line", "522630", "8800", "2025", "2025", source="county"),
        ]
    )
    assert resolve_parameters(table, "522630", 2025)["monitoring_line"] == Decimal("8800")
    assert resolve_parameters(table, "522630101201", 2025).values["monitoring_line"].source == "county"
    assert resolve_parameters(table, "522631", 2025).values["monitoring_line"].source == "prefecture"
    assert resolve_parameters(table, "520100", 2025).values["monitoring_line"].source == "province"
    assert "monitoring_line" not in resolve_parameters(table, "530100", 2025)


def test_a_yearly_value_applies_only_in_its_year_and_a_later_start_wins() -> None:
    table = parse_parameter_rows(
        [
            _row("monitoring_line", "21", "7260", "2022", "2022"),
            _row("income_drop_share", "21", "0.5", "2020", ""),
            _row("income_drop_share", "21", "0.4", "2024", ""),
        ]
    )
    assert "monitoring_line" not in resolve_parameters(table, "210100", 2023)
    assert resolve_parameters(table, "210100", 2022)["monitoring_line"] == 7260
    assert resolve_parameters(table, "210100", 2023)["income_drop_share"] == Decimal("0.5")
    assert resolve_parameters(table, "210100", 2025)["income_drop_share"] == Decimal("0.4")


def test_a_value_without_its_source_document_is_refused() -> None:
    with pytest.raises(ParameterError, match="source"):
        parse_parameter_rows([_row("monitoring_line", "53", "8700", source="")])
    with pytest.raises(ParameterError, match="grade"):
        parse_parameter_rows([_row("monitoring_line", "53", "8700", grade="probably")])
    with pytest.raises(ParameterError, match="same year"):
        parse_parameter_rows(
            [_row("monitoring_line", "53", "8700", "2025"), _row("monitoring_line", "53", "1", "2025")]
        )


def test_the_shipped_table_cites_every_value_and_has_no_national_monitoring_line() -> None:
    table = load_parameters()
    assert all(r.source and r.grade for r in table.rows)
    assert not [r for r in table.rows if r.name == "monitoring_line" and len(r.region_code) < 2]
    amounts = {"monitoring_line", "prev_year_rural_income", "stay_self_pay_monitored", "stay_self_pay_other"}
    assert not [r for r in table.rows if r.name in amounts and not r.region_code]


def test_the_shipped_lines_are_the_cited_ones() -> None:
    table = load_parameters()
    line = {
        (c, y): resolve_parameters(table, c, y).values.get("monitoring_line")
        for c, y in [("530100", 2025), ("210100", 2022), ("350526", 2024), ("350121", 2023), ("532328", 2023)]
    }
    assert {k: v.value for k, v in line.items() if v} == {
        ("530100", 2025): 8700,
        ("210100", 2022): 7260,
        ("350526", 2024): 19560,
        ("350121", 2023): 10560,
        ("532328", 2023): 8050,
    }
    assert "云农办通〔2025〕1号" in line["530100", 2025].source  # type: ignore[union-attr]
    assert "monitoring_line" not in resolve_parameters(table, "530100", 2024)  # no guessing across years


def test_the_demo_county_values_are_marked_as_assumptions() -> None:
    resolved = resolve_parameters(load_parameters(), COUNTY, 2025)
    line = resolved.values["monitoring_line"]
    assert (line.region_code, line.value, line.grade) == ("52", 8500, "assumption")
    assert "ASSUMPTION" in line.source and "No cited Guizhou" in line.note
    assert all(v.grade == "assumption" for v in resolved.values.values() if v.region_code.startswith("52"))


def test_the_shipped_parameters_let_every_rule_run_for_the_demo_county() -> None:
    resolved = resolve_parameters(load_parameters(), COUNTY, 2025)
    assert {r.id: resolved.missing(r.parameters) for r in ALL_RULES if resolved.missing(r.parameters)} == {}


# -- Income ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "warned"),
    [("23999.99", True), ("24000", False), ("24000.01", False)],
    ids=["just-below", "at-the-line", "above"],
)
def test_a_household_whose_per_capita_income_falls_below_the_years_line_raises_a_warning(
    net: str, warned: bool
) -> None:
    result = screen("income_below_line", hh=households((1, "一般农户")), acc=accounts((1, 2025, net, 3)))
    assert fired(result) == ([(1, "income_below_line", "2025", None)] if warned else [])


def test_a_large_household_is_compared_without_overflow() -> None:
    # 7 people × 8,000 = 56,000 does not fit the 16-bit population column
    acc = accounts((1, 2025, "55999.99", 7), (2, 2025, "56000", 7), (1, 2024, "90000", 7))
    result = screen(hh=households((1, "一般农户"), (2, "一般农户")), acc=acc)
    assert [f[:2] for f in fired(result)] == [(1, "income_below_line"), (1, "income_drop")]


def test_the_income_warning_shows_the_figures_and_the_line() -> None:
    result = screen("income_below_line", hh=households((1, "一般农户")), acc=accounts((1, 2025, "20000", 4)))
    ev = evidence(result)
    assert ev["per_capita_net_income"] == "5000.00"
    assert ev["population"] == 4 and ev["parameters"] == {"monitoring_line": "8000"}
    assert result.warnings.column("severity")[0].as_py() == "red"
    assert result.warnings.column("cause")[0].as_py() == Cause.INCOME_BELOW_LINE


def test_a_household_already_monitored_is_not_warned_again_for_low_income() -> None:
    result = screen(
        "income_below_line",
        hh=households((1, "脱贫户", "监测中"), (2, "脱贫户", "风险已消除")),
        acc=accounts((1, 2025, "100", 1), (2, 2025, "100", 1), (2, 2024, "100", 1)),
    )
    assert fired(result) == [(2, "income_below_line", "2025", None)]


@pytest.mark.parametrize(
    ("now", "warned"),
    [("14000.01", False), ("14000", True), ("13999.99", True)],
    ids=["just-under-30pct", "exactly-30pct", "over-30pct"],
)
def test_income_falling_by_at_least_the_set_share_raises_a_warning(now: str, warned: bool) -> None:
    # per capita 10,000 → 7,000 is a fall of 30 %; the population changes, per capita counts
    result = screen("income_drop", acc=accounts((1, 2024, "20000", 2), (1, 2025, now, 2)))
    assert bool(fired(result)) is warned


def test_per_capita_income_is_compared_when_the_household_grows() -> None:
    # household net income unchanged at 20,000 but 2 → 3 people: per capita −33 %
    result = screen("income_drop", acc=accounts((1, 2024, "20000", 2), (1, 2025, "20000", 3)))
    assert fired(result) == [(1, "income_drop", "2025", None)]
    assert evidence(result)["drop_share"] == "0.3333"


# -- Medical -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("household_type", "state", "oop", "warned"),
    [
        ("脱贫户", "未纳入", "8000", False),  # exactly 50 % of 16,000
        ("脱贫户", "未纳入", "8000.01", True),
        ("一般农户", "监测中", "8000.01", True),  # monitored: the lower share too
        ("一般农户", "未纳入", "8000.01", False),
        ("一般农户", "未纳入", "16000", False),  # exactly 100 %
        ("一般农户", "未纳入", "16000.01", True),
    ],
)
def test_medical_out_of_pocket_above_a_share_of_last_years_rural_income_raises_a_warning(
    household_type: str, state: str, oop: str, warned: bool
) -> None:
    # three claims over the year add up to `oop`
    third = (Decimal(oop) / 3).quantize(Decimal("0.01"))
    parts = [third, third, Decimal(oop) - 2 * third]
    claims = feed(
        [claim(11, 1, str(p), D(2025, m, 1), batch_id=b) for p, m, b in zip(parts, (1, 6, 12), (7, 7, 9), strict=True)],
        CLAIM,
    )
    result = screen(
        "medical_oop_share", registry=household_1(), hh=households((1, household_type, state)), medical_claims=claims
    )
    assert fired(result) == ([(1, "medical_oop_share", "2025", 11)] if warned else [])
    if warned:
        ev = evidence(result)
        assert ev["oop_total"] == oop if "." in oop else ev["oop_total"] == f"{oop}.00"
        assert ev["claims"] == 3 and ev["feed_batches"] == [7, 9]


def test_claims_outside_the_twelve_months_do_not_count() -> None:
    claims = feed([claim(11, 1, "9000", D(2024, 12, 31)), claim(11, 1, "9000", D(2026, 1, 1))], CLAIM)
    assert (
        fired(screen("medical_oop_share", registry=household_1(), hh=households((1, "脱贫户")), medical_claims=claims))
        == []
    )


def test_a_members_medical_costs_count_for_the_household_the_registry_lists_them_in_now() -> None:
    # member 11's claims were linked while 11 still lived in household 1; since then 11 set up
    # household 2 (分户) and member 12 has left the county (no longer in the registry)
    claims = feed([claim(11, 1, "9000"), claim(12, 1, "9000")], CLAIM)
    registry = members((11, 2, D(1980, 1, 1)))
    result = screen(
        "medical_oop_share", registry=registry, hh=households((1, "脱贫户"), (2, "脱贫户")), medical_claims=claims
    )
    assert fired(result) == [(2, "medical_oop_share", "2025", 11)]


@pytest.mark.parametrize(
    ("state", "oop", "visit", "warned"),
    [
        ("监测中", "6000", "住院", False),
        ("监测中", "6000.01", "住院", True),
        ("未纳入", "10000", "住院", False),
        ("未纳入", "10000.01", "住院", True),
        ("监测中", "20000", "门诊", False),  # only inpatient stays
    ],
)
def test_one_stays_self_pay_above_the_amount_raises_a_warning(state: str, oop: str, visit: str, warned: bool) -> None:
    claims = feed([claim(11, 1, oop, visit=visit)], CLAIM)
    result = screen("stay_self_pay", hh=households((1, "一般农户", state)), medical_claims=claims)
    assert fired(result) == ([(1, "stay_self_pay", "2025-05", 11)] if warned else [])


@pytest.mark.parametrize(
    ("household_type", "state", "oop", "warned"),
    [
        ("脱贫户", "未纳入", "10000", False),  # exactly half of the household's 20,000
        ("脱贫户", "未纳入", "10000.01", True),
        ("一般农户", "监测中", "10000.01", True),  # monitored: the lower share too
        ("一般农户", "未纳入", "10000.01", False),
        ("一般农户", "未纳入", "20000", False),  # exactly the whole income
        ("一般农户", "未纳入", "20000.01", True),
    ],
)
def test_a_households_medical_costs_above_a_share_of_its_income_raise_a_warning(
    household_type: str, state: str, oop: str, warned: bool
) -> None:
    # two members' claims add up: the household's burden, not one person's, is weighed
    half = (Decimal(oop) / 2).quantize(Decimal("0.01"))
    claims = feed([claim(11, 1, str(half), batch_id=7), claim(12, 1, str(Decimal(oop) - half), batch_id=8)], CLAIM)
    result = screen(
        "medical_oop_income_share",
        registry=household_1(),
        hh=households((1, household_type, state)),
        acc=accounts((1, 2025, "20000", 2)),
        medical_claims=claims,
    )
    assert fired(result) == ([(1, "medical_oop_income_share", "2025", None)] if warned else [])
    if warned:
        ev = evidence(result)
        assert ev["claims"] == 2 and ev["feed_batches"] == [7, 8] and ev["net_income"] == "20000.00"
        assert Decimal(ev["share_of_income"]) >= Decimal(ev["max_share"])  # shown to four places


def test_any_medical_cost_of_a_household_without_income_raises_the_income_share_warning() -> None:
    claims = feed([claim(11, 1, "0.01", visit="门诊")], CLAIM)
    acc = accounts((1, 2025, "0", 1))  # net income 0 (operating income and cost cancel out)
    result = screen(
        "medical_oop_income_share",
        registry=household_1(),
        hh=households((1, "一般农户")),
        acc=acc,
        medical_claims=claims,
    )
    assert fired(result) == [(1, "medical_oop_income_share", "2025", None)]
    assert evidence(result)["share_of_income"] is None
    no_cost = screen(
        "medical_oop_income_share",
        registry=household_1(),
        hh=households((1, "一般农户")),
        acc=acc,
        medical_claims=feed([claim(11, 1, "0", visit="门诊")], CLAIM),
    )
    assert fired(no_cost) == []


def _with_expenses(table: pa.Table, medical: str | None, education: str | None) -> pa.Table:
    n = table.num_rows
    table = table.set_column(
        table.schema.get_field_index("medical_expense"),
        "medical_expense",
        pa.array([None if medical is None else Decimal(medical)] * n, MONEY),
    )
    return table.set_column(
        table.schema.get_field_index("education_expense"),
        "education_expense",
        pa.array([None if education is None else Decimal(education)] * n, MONEY),
    )


@pytest.mark.parametrize(
    ("net", "medical", "education", "warned"),
    [
        ("20000", "9000", "3000", False),  # 12,000 is exactly 60 % of 20,000
        ("20000", "9000", "3000.01", True),
        ("20000", "12000.01", None, True),  # medical alone
        ("20000", None, None, False),
        ("54000", "40000", "0", False),  # 60 % exceeded, but 27,000 per head is not below the 27,000 line
        ("53999.98", "40000", "0", True),
        ("-500", "10", None, True),  # no positive income: any rigid expenditure exceeds the share
    ],
)
def test_rigid_expenditure_above_the_local_share_of_income_raises_a_warning(
    net: str, medical: str | None, education: str | None, warned: bool
) -> None:
    acc = _with_expenses(accounts((1, 2025, net, 2)), medical, education)
    result = screen("rigid_expense_hardship", acc=acc)
    assert fired(result) == ([(1, "rigid_expense_hardship", "2025", None)] if warned else [])
    if warned:
        ev = evidence(result)
        assert ev["parameters"] == {"prev_year_disposable_income": "27000", "rigid_expense_share": "0.6"}
        assert Decimal(ev["rigid_expense"]) == Decimal(medical or 0) + Decimal(education or 0)


def test_last_years_rigid_expenditure_does_not_count_for_this_year() -> None:
    acc = _with_expenses(accounts((1, 2024, "20000", 2)), "30000", None)
    acc = pa.concat_tables([acc, accounts((1, 2025, "20000", 2))])
    assert fired(screen("rigid_expense_hardship", acc=acc)) == []


def test_a_serious_illness_diagnosed_in_the_year_raises_a_warning() -> None:
    rows = [
        {"member_key": 11, "household_key": 1, "diagnosis": "终末期肾病", "diagnosed_on": D(2025, 3, 2)},
        {"member_key": 21, "household_key": 2, "diagnosis": "白血病", "diagnosed_on": D(2024, 12, 31)},
    ]
    table = feed(rows, {"diagnosis": pa.string(), "diagnosed_on": pa.date32()})
    assert fired(screen("serious_illness", serious_illness=table)) == [(1, "serious_illness", "2025-03", 11)]


def test_a_member_without_basic_medical_insurance_raises_a_warning() -> None:
    rows = [
        {"member_key": 11, "household_key": 1, "year": 2025, "enrolled": "未参保"},
        {"member_key": 12, "household_key": 1, "year": 2025, "enrolled": "已参保"},
        {"member_key": 21, "household_key": 2, "year": 2024, "enrolled": "未参保"},  # another year
        {"member_key": 31, "household_key": 3, "year": 2025, "enrolled": "未参保"},  # died
    ]
    table = feed(rows, {"year": pa.int16(), "enrolled": pa.string()})
    registry = members(
        (11, 1, D(1980, 1, 1)), (12, 1, D(1982, 1, 1)), (21, 2, D(1990, 1, 1)), (31, 3, D(1930, 1, 1), True)
    )
    assert fired(screen("medical_not_enrolled", registry=registry, medical_enrolment=table)) == [
        (1, "medical_not_enrolled", "2025", 11)
    ]


# -- Disability, deaths ------------------------------------------------------------------------


def test_a_new_disability_certificate_raises_a_warning_unless_cancelled() -> None:
    rows = [
        {
            "member_key": 11,
            "household_key": 1,
            "disability_type": "肢体",
            "grade": "二级",
            "issued_on": D(2025, 4, 1),
            "status": "有效",
        },
        {
            "member_key": 21,
            "household_key": 2,
            "disability_type": "视力",
            "grade": "一级",
            "issued_on": D(2025, 4, 1),
            "status": "注销",
        },
        {
            "member_key": 31,
            "household_key": 3,
            "disability_type": "视力",
            "grade": "一级",
            "issued_on": D(2019, 4, 1),
            "status": "有效",
        },
    ]
    table = feed(
        rows, {"disability_type": pa.string(), "grade": pa.string(), "issued_on": pa.date32(), "status": pa.string()}
    )
    assert fired(screen("new_disability", disabilities=table)) == [(1, "new_disability", "2025-04", 11)]


DEATH = {"death_date": pa.date32()}


@pytest.mark.parametrize(
    ("birth", "warned"),
    [
        (D(1964, 6, 2), True),  # 60 on the day of death (61 the next day)
        (D(1964, 6, 1), False),  # turned 61 that day
        (D(2009, 6, 1), True),  # 16 that day
        (D(2009, 6, 2), False),  # still 15
    ],
)
def test_the_death_of_a_working_age_member_raises_a_warning(birth: dt.date, warned: bool) -> None:
    deaths = feed([{"member_key": 11, "household_key": 1, "death_date": D(2025, 6, 1)}], DEATH)
    result = screen("labourer_death", registry=members((11, 1, birth, True)), deaths=deaths)
    assert fired(result) == ([(1, "labourer_death", "2025-06", 11)] if warned else [])
    if warned:
        assert evidence(result)["age_at_death"] in (16, 60)


def test_a_member_reported_dead_but_still_listed_as_living_raises_a_warning() -> None:
    deaths = feed(
        [
            {"member_key": 11, "household_key": 1, "death_date": D(2024, 11, 3)},
            {"member_key": 21, "household_key": 2, "death_date": D(2025, 2, 1)},
        ],
        DEATH,
    )
    registry = members((11, 1, D(1940, 1, 1)), (21, 2, D(1940, 1, 1), True))
    assert fired(screen("deceased_still_listed", registry=registry, deaths=deaths)) == [
        (1, "deceased_still_listed", "2024-11", 11)
    ]


# -- School ------------------------------------------------------------------------------

SCHOOL = {"school_stage": pa.string(), "status": pa.string(), "as_of_date": pa.date32()}


@pytest.mark.parametrize(
    ("birth", "status", "warned"),
    [
        (D(2009, 9, 2), "辍学", True),  # 15 on 1 September 2025 (16 the next day)
        (D(2009, 9, 1), "辍学", False),  # 16 that day: past compulsory age
        (D(2019, 9, 1), "辍学", True),  # 6
        (D(2019, 9, 2), "辍学", False),  # 5
        (D(2012, 1, 1), "在读", False),
    ],
)
def test_a_compulsory_school_age_child_who_dropped_out_raises_a_warning(
    birth: dt.date, status: str, warned: bool
) -> None:
    table = feed(
        [{"member_key": 11, "household_key": 1, "school_stage": "初中", "status": status, "as_of_date": D(2025, 9, 1)}],
        SCHOOL,
    )
    result = screen("school_dropout", registry=members((11, 1, birth)), school_enrolment=table)
    assert fired(result) == ([(1, "school_dropout", "2025-09", 11)] if warned else [])


def test_two_children_dropping_out_in_one_month_are_one_warning_for_the_household() -> None:
    table = feed(
        [
            {"member_key": k, "household_key": 1, "school_stage": "小学", "status": "辍学", "as_of_date": D(2025, 9, 1)}
            for k in (12, 11)
        ],
        SCHOOL,
    )
    result = screen(
        "school_dropout", registry=members((11, 1, D(2014, 1, 1)), (12, 1, D(2016, 1, 1))), school_enrolment=table
    )
    assert fired(result) == [(1, "school_dropout", "2025-09", 11)]
    assert evidence(result)["findings_in_period"] == 2


def test_a_compulsory_age_child_with_no_school_record_raises_a_clue() -> None:
    table = feed(
        [{"member_key": 21, "household_key": 2, "school_stage": "小学", "status": "在读", "as_of_date": D(2025, 9, 1)}],
        SCHOOL,
    )
    registry = members(
        (11, 1, D(2015, 3, 1)),  # 10, no record
        (21, 2, D(2015, 3, 1)),  # 10, at school
        (31, 3, D(2009, 12, 31)),  # 16 at the end of the year
        (41, 4, D(2015, 3, 1), True),  # died
    )
    result = screen("school_not_enrolled", registry=registry, school_enrolment=table)
    assert fired(result) == [(1, "school_not_enrolled", "2025", 11)]
    assert result.warnings.column("severity")[0].as_py() == Severity.YELLOW


# -- Housing, water, disasters ----------------------------------------------------------------


def test_a_house_appraised_c_or_d_raises_a_warning() -> None:
    rows = [
        {"member_key": k, "household_key": k, "grade": g, "appraisal_date": D(2025, 5, 1)}
        for k, g in ((1, "A"), (2, "B"), (3, "C"), (4, "D"))
    ]
    table = feed(rows, {"grade": pa.string(), "appraisal_date": pa.date32()})
    result = screen("housing_unsafe", housing_appraisal=table)
    assert fired(result) == [(3, "housing_unsafe", "2025-05", None), (4, "housing_unsafe", "2025-05", None)]


def test_an_unresolved_village_water_problem_warns_every_household_of_the_village() -> None:
    water = pa.table(
        {
            "village_code": [V1, V2],
            "problem": ["水量", "水质"],
            "reported_on": pa.array([D(2025, 4, 1), D(2025, 4, 1)], pa.date32()),
            "resolved_on": pa.array([None, D(2025, 8, 1)], pa.date32()),
            "member_key": pa.nulls(2, pa.int64()),
            "household_key": pa.nulls(2, pa.int64()),
            "batch_id": [3, 3],
        }
    )
    hh = households((1, "一般农户", "未纳入", V1), (2, "脱贫户", "未纳入", V1), (3, "一般农户", "未纳入", V2))
    result = screen("water_problem", hh=hh, water_safety=water)
    assert fired(result) == [(1, "water_problem", "2025-04", None), (2, "water_problem", "2025-04", None)]
    assert evidence(result)["feed_batches"] == [3]


DISASTER = {"disaster_type": pa.string(), "occurred_on": pa.date32(), "loss_amount": MONEY, "house_damage": pa.string()}


def _disaster(household: int, damage: str, loss: str) -> dict[str, Any]:
    return {
        "member_key": household * 10,
        "household_key": household,
        "disaster_type": "洪涝",
        "occurred_on": D(2025, 6, 20),
        "loss_amount": Decimal(loss),
        "house_damage": damage,
    }


def test_a_house_severely_damaged_or_collapsed_in_a_disaster_raises_a_warning() -> None:
    table = feed(
        [_disaster(1, "一般损坏", "12000"), _disaster(2, "严重损坏", "9000"), _disaster(3, "倒塌", "90000")], DISASTER
    )
    assert [f[0] for f in fired(screen("disaster_house_damage", disaster_losses=table))] == [2, 3]


@pytest.mark.parametrize(("loss", "warned"), [("14999.99", False), ("15000", False), ("15000.01", True)])
def test_a_disaster_loss_above_the_amount_raises_a_warning(loss: str, warned: bool) -> None:
    table = feed([_disaster(1, "无", loss)], DISASTER)
    assert bool(fired(screen("disaster_loss", disaster_losses=table))) is warned


# -- Work and assistance -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "birth", "warned"),
    [
        ("务工返乡", D(1985, 1, 1), True),
        ("失业登记", D(1985, 1, 1), True),
        ("就业", D(1985, 1, 1), False),
        ("务工返乡", D(1960, 1, 1), False),
    ],
)
def test_a_working_age_member_unemployed_or_returned_raises_a_warning(
    status: str, birth: dt.date, warned: bool
) -> None:
    table = feed(
        [
            {
                "member_key": 11,
                "household_key": 1,
                "status": status,
                "as_of_date": D(2025, 6, 30),
                "work_location": "省外",
            }
        ],
        {"status": pa.string(), "as_of_date": pa.date32(), "work_location": pa.string()},
    )
    result = screen("labourer_job_loss", registry=members((11, 1, birth)), employment=table)
    assert bool(fired(result)) is warned


ASSISTANCE = {"assistance_type": pa.string(), "status": pa.string(), "effective_date": pa.date32(), "amount": MONEY}


def test_dibao_or_tekun_granted_or_ended_in_the_year_raises_a_clue() -> None:
    rows = [
        {
            "member_key": 11,
            "household_key": 1,
            "assistance_type": "低保",
            "status": "纳入",
            "effective_date": D(2025, 3, 1),
        },
        {
            "member_key": 21,
            "household_key": 2,
            "assistance_type": "特困",
            "status": "退出",
            "effective_date": D(2025, 7, 1),
        },
        {
            "member_key": 31,
            "household_key": 3,
            "assistance_type": "低保",
            "status": "纳入",
            "effective_date": D(2022, 3, 1),
        },
        {
            "member_key": 41,
            "household_key": 4,
            "assistance_type": "临时救助",
            "status": "纳入",
            "effective_date": D(2025, 3, 1),
        },
    ]
    table = feed(rows, ASSISTANCE)
    assert fired(screen("assistance_granted", assistance_recipients=table)) == [
        (1, "assistance_granted", "2025-03", 11)
    ]
    assert fired(screen("assistance_ended", assistance_recipients=table)) == [(2, "assistance_ended", "2025-07", 21)]


# -- The run ---------------------------------------------------------------------------------


def _county() -> dict[str, Any]:
    return {
        "registry": members((11, 1, D(1980, 1, 1)), (12, 1, D(2012, 5, 5)), (21, 2, D(1970, 1, 1))),
        "hh": households((1, "脱贫户"), (2, "一般农户")),
        "acc": accounts((1, 2024, "30000", 2), (1, 2025, "15000", 2), (2, 2025, "50000", 1)),
        "medical_claims": feed([claim(11, 1, "9000"), claim(21, 2, "500")], CLAIM),
        "school_enrolment": feed(
            [
                {
                    "member_key": 12,
                    "household_key": 1,
                    "school_stage": "初中",
                    "status": "辍学",
                    "as_of_date": D(2025, 9, 1),
                }
            ],
            SCHOOL,
        ),
    }


def test_running_the_screen_twice_gives_identical_warnings() -> None:
    first, second = screen(**_county()), screen(**_county())
    assert first.warnings.schema == WARNINGS_SCHEMA
    assert first.warnings.equals(second.warnings)
    assert {r[1] for r in fired(first)} == {
        "income_below_line",
        "income_drop",
        "medical_oop_share",
        "medical_oop_income_share",  # 9,000 of a 15,000 income, for a 脱贫户
        "school_dropout",
        "school_not_enrolled",  # a dropout has no 在读 record either
    }
    assert first.manifest["inputs"] == second.manifest["inputs"]


def test_the_manifest_records_inputs_rules_parameters_and_counts() -> None:
    result = screen(**_county())
    m = result.manifest
    assert m["region_code"] == COUNTY and m["year"] == 2025 and m["window"] == ["2025-01-01", "2025-12-31"]
    assert len(m["inputs"]["medical_claims"]["sha256"]) == 64 and m["inputs"]["members"]["rows"] == 3
    assert m["parameters"]["monitoring_line"]["source"] == "test document for monitoring_line"
    # 9,000 in one stay: above 50 % of 16,000 for a 脱贫户, not above 10,000 for an unmonitored household
    assert m["counts"]["medical_oop_share"] == 1 and m["counts"]["stay_self_pay"] == 0
    assert m["rules"]["income_below_line"]["fingerprint"] == RULES_BY_ID["income_below_line"].fingerprint
    assert m["skipped"]["housing_unsafe"] == "input not given: housing_appraisal"
    assert set(m["timings"]) >= {"total", "load", "income_below_line"}


def test_a_rule_without_its_parameter_is_skipped_and_says_why() -> None:
    params = resolve_parameters(parse_parameter_rows(TEST_ROWS), "530100", 2025)  # nothing for Yunnan here
    result = screen("income_below_line", hh=households((1, "一般农户")), acc=accounts((1, 2025, "1", 1)), params=params)
    assert result.warnings.num_rows == 0
    assert "monitoring_line" in result.manifest["skipped"]["income_below_line"]


def test_a_what_if_line_changes_who_is_warned() -> None:
    acc = accounts((1, 2025, "8500", 1), (2, 2025, "9500", 1))
    hh = households((1, "一般农户"), (2, "一般农户"))
    assert len(fired(screen("income_below_line", hh=hh, acc=acc))) == 0
    raised = PARAMS.with_values(monitoring_line=9000)
    assert [f[0] for f in fired(screen("income_below_line", hh=hh, acc=acc, params=raised))] == [1]


def test_stored_feed_parquet_is_read_and_its_batch_named_in_the_evidence(tmp_path: Path) -> None:
    rows = feed([claim(11, 1, "9000")], CLAIM).drop_columns(["batch_id"])
    rows = rows.append_column("period", pa.array(["2025-05"]))
    write_batch(rows, data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=42)
    result = evaluate_rules(
        members((11, 1, D(1980, 1, 1))),
        None,
        {"medical_claims": tmp_path / "feeds" / "kind=medical_claims"},
        PARAMS,
        rules=(RULES_BY_ID["medical_oop_share"],),
        households=households((1, "脱贫户")),
    )
    assert fired(result) == [(1, "medical_oop_share", "2025", 11)]
    assert evidence(result)["feed_batches"] == [42]
    assert result.manifest["inputs"]["medical_claims"]["files"] == 1


def test_a_rule_cannot_read_files(tmp_path: Path) -> None:
    # a Parquet input lies in the same directory: it is readable, its neighbour is not
    pq.write_table(feed([claim(11, 1, "9000")], CLAIM), tmp_path / "claims.parquet")
    secret = tmp_path / "secret.csv"
    secret.write_text("household_key,member_key,period\n1,1,2025\n")
    snooping = Rule(
        id="snoop",
        title="读取文件",
        cause=Cause.OTHER,
        severity=Severity.YELLOW,
        condition="",
        source="",
        grade="I",
        inputs=("members", "medical_claims"),
        parameters=(),
        sql=f"SELECT household_key, member_key, period FROM read_csv('{secret}')",  # noqa: S608
        evidence=(),
    )
    with pytest.raises(ScreeningError, match=r"snoop failed: .*(Permission|disabled)"):
        evaluate_rules(
            members((1, 1, D(1980, 1, 1))),
            None,
            {"medical_claims": tmp_path / "claims.parquet"},
            PARAMS,
            rules=(snooping,),
        )


def test_an_unknown_feed_kind_or_backend_is_a_clear_error() -> None:
    with pytest.raises(ScreeningError, match="unknown feed kinds"):
        evaluate_rules(members(), None, {"medical_claim": feed([], CLAIM)}, PARAMS)
    with pytest.raises(ScreeningError, match="unknown screening backend"):
        evaluate_rules(members(), None, {}, PARAMS, backend="polars")


def test_the_spark_backend_says_plainly_that_pyspark_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # as on a machine without the spark group
    with pytest.raises(ScreeningError, match="needs PySpark"):
        evaluate_rules(members(), None, {}, PARAMS, backend="spark")


# -- The synthetic county, end to end ----------------------------------------------------------

SHOCK_RULES = {
    "large_medical_oop": "medical_oop_share",
    "serious_illness": "serious_illness",
    "new_disability": "new_disability",
    "labourer_death": "labourer_death",
    "school_dropout": "school_dropout",
    "housing_unsafe": "housing_unsafe",
    "disaster_severe": "disaster_house_damage",
    "migrant_return": "labourer_job_loss",
    "unemployment": "labourer_job_loss",
    "dibao_granted": "assistance_granted",
    "tekun_granted": "assistance_granted",
    "dibao_ended": "assistance_ended",
    "assistance_stopped": "assistance_ended",
    "medical_not_enrolled": "medical_not_enrolled",
    "income_below_line_unmonitored": "income_below_line",
    "income_drop": "income_drop",
}
UNLINKABLE = {"id_missing", "id_check_digit"}  # these rows need probabilistic linkage


@pytest.mark.slow
def test_the_synthetic_county_raises_every_planted_shock_it_can_link(screenable_county: Any) -> None:
    from collections import Counter, defaultdict

    county = screenable_county
    params = resolve_parameters(load_parameters(), COUNTY, YEAR)
    result = evaluate_rules(county.members, county.accounts, county.feeds, params, households=county.households)
    assert result.manifest["skipped"] == {}
    warned: dict[str, set[str]] = defaultdict(set)
    for household, rule in zip(
        result.warnings["household_key"].to_pylist(), result.warnings["rule_id"].to_pylist(), strict=True
    ):
        warned[rule].add(county.number_of[household])

    missed, planted = [], Counter()
    for r in county.shocks():
        rule = SHOCK_RULES.get(r["shock_type"])
        if rule is None or county.noise.get((r["file"], r["line"]), set()) & UNLINKABLE:
            continue
        if r["shock_type"] == "income_drop":
            figures = dict(part.split("=") for part in r["figures"].split(";"))
            before, after = Decimal(figures["per_capita_2024"]), Decimal(figures["per_capita_2025"])
            if after > (1 - params["income_drop_share"]) * before:
                continue  # a fall smaller than the assumed share: rightly not warned
        planted[r["shock_type"]] += 1
        if r["household_number"] not in warned[rule]:
            missed.append((r["shock_type"], r["file"], r["line"]))
    assert missed == []
    assert sum(planted.values()) > 20  # the county did plant shocks of several kinds
    assert len(planted) >= 6


# -- The library as a whole ------------------------------------------------------------------


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_every_rule_transpiles_to_spark_and_duckdb(rule: Rule) -> None:
    for dialect in ("duckdb", "spark"):
        sql = rule_sql(rule, PARAMS, dialect)
        assert ":" not in sql.replace("::", "")  # every placeholder replaced
    assert "COLLECT" in rule_sql(rule, PARAMS, "spark") or "ARRAY_AGG" not in rule.sql.upper()


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_a_rule_renders_as_its_parsed_tree_with_literals_for_the_placeholders(dialect: str) -> None:
    # Rendering fills a template transpiled once per process: the same SQL as replacing the
    # placeholders in the parsed tree, a quote or a colon in a value included.
    values = {**run_values(PARAMS), "period_year": "20'25 -- :year sw_placeholder__year"}
    literals = {key: _literal(value) for key, value in values.items()}
    for rule in ALL_RULES:
        expected = exp.replace_placeholders(sqlglot.parse_one(deduplicated_sql(rule)), **literals)
        assert render_sql(rule, values, dialect) == expected.sql(dialect=dialect), rule.id
    for derived in DERIVED.values():
        expected = exp.replace_placeholders(sqlglot.parse_one(derived.sql), **literals)
        assert render_derived_sql(derived, values, dialect) == expected.sql(dialect=dialect)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_every_rule_declares_its_parameters_source_and_colour(rule: Rule) -> None:
    assert placeholders(rule) - BUILTIN_PLACEHOLDERS == set(rule.parameters)
    # a rule is skipped when an input is missing: the inputs of what it reads count as its own
    assert {name for derived in rule.uses for name in DERIVED[derived].inputs} <= set(rule.inputs)
    assert rule.source and rule.grade in ("V1", "V2", "M", "I") and rule.title
    assert isinstance(rule.severity, Severity) and isinstance(rule.cause, Cause)


def test_the_screening_guide_lists_every_rule() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "screening.md").read_text(encoding="utf-8")
    assert [r.id for r in ALL_RULES if f"`{r.id}`" not in guide] == []


def test_derived_evidence_is_computed_once_per_distinct_combination_and_given_to_each_row() -> None:
    calls: list[tuple[Any, Any]] = []

    def halve(row: dict[str, Any]) -> dict[str, Any]:
        calls.append((row["amount"], row["people"]))
        return {"half": None if row["amount"] is None else str(row["amount"] / 2), "people": row["people"]}

    rule = next(r for r in ALL_RULES if r.derive is not None)
    rule = dataclasses.replace(rule, derive=Derive(("amount", "people"), halve))
    amounts = [Decimal("10.00"), Decimal("10.00"), None, Decimal("3.00"), None, Decimal("10.00")]
    people = [2, 2, 2, None, 2, 3]
    table = pa.table({"amount": pa.array(amounts, pa.decimal128(12, 2)), "people": pa.array(people, pa.int32())})

    evidence = _derived_evidence(rule, table)

    assert sorted(calls, key=repr) == sorted(
        [(Decimal("10.00"), 2), (None, 2), (Decimal("3.00"), None), (Decimal("10.00"), 3)], key=repr
    )
    assert evidence["half"].to_pylist() == ['"5.00"', '"5.00"', "null", '"1.50"', "null", '"5.00"']
    assert evidence["people"].to_pylist() == ["2", "2", "2", "null", "2", "3"]
