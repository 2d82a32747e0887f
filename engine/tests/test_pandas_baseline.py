"""The benchmark's pandas baseline raises exactly the engine's warnings.

`benchmarks/bench_screening.py` reports how much faster the engine screens than a plain pandas
script of the same rules (`benchmarks/pandas_rules.py`). The ratio means something only if
both give the same answer, so each test screens one county with both and compares every
household, rule and period warned, and how many findings are behind each warning.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pytest

from engine.screening import ALL_RULES, evaluate_rules, load_parameters, resolve_parameters
from engine.screening.inputs import ACCOUNTS_SCHEMA, HOUSEHOLDS_SCHEMA, MEMBERS_SCHEMA, MONEY

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
COUNTY, YEAR = "522630", 2025
# The shipped values for the demo county: line 8,500 a head; a drop of 30 %; a member's medical
# costs above 7,900 (脱贫/监测) or 15,800; a household's above 50 % or 100 % of its income; a
# stay above 6,000 (监测) or 10,000; a disaster loss above 15,000; rigid expenditure above 60 %
# of income under 28,000 a head; school age 6–15, working age 16–60.
PARAMS = resolve_parameters(load_parameters(), COUNTY, YEAR)
D = dt.date

type Key = tuple[int, str, str]


def _load(name: str) -> ModuleType:
    # benchmarks/ holds scripts, not a package: load the file itself
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pandas_rules = _load("pandas_rules")


def engine_warnings(*inputs: Any, households: Any) -> dict[Key, int]:
    result = evaluate_rules(*inputs, PARAMS, households=households)
    assert result.manifest["skipped"] == {}
    w = result.warnings
    columns = (w.column(c).to_pylist() for c in ("household_key", "rule_id", "period", "evidence"))
    return {
        (h, rule, period): json.loads(ev)["findings_in_period"] for h, rule, period, ev in zip(*columns, strict=True)
    }


def baseline_warnings(*inputs: Any, households: Any) -> dict[Key, int]:
    found = pandas_rules.screen(*inputs, PARAMS, households=households)
    return {(int(h), rule, period): int(n) for h, rule, period, n in found.itertuples(index=False)}


def assert_same_warnings(*inputs: Any, households: Any) -> dict[Key, int]:
    engine = engine_warnings(*inputs, households=households)
    baseline = baseline_warnings(*inputs, households=households)
    assert sorted(set(baseline) - set(engine)) == [], "warned by the baseline only"
    assert sorted(set(engine) - set(baseline)) == [], "warned by the engine only"
    assert {k: n for k, n in baseline.items() if engine[k] != n} == {}, "another number of findings"
    return engine


def test_the_baseline_has_every_rule_of_the_library() -> None:
    assert set(pandas_rules.RULES) == {r.id for r in ALL_RULES}


@pytest.mark.slow
def test_the_baseline_warns_the_synthetic_county_as_the_engine_does(screenable_county: Any) -> None:
    county = screenable_county
    warned = assert_same_warnings(county.members, county.accounts, county.feeds, households=county.households)
    assert len({rule for _, rule, _ in warned}) >= 15  # the county's shocks reach most rules


@pytest.mark.slow
def test_the_baseline_warns_the_benchmarks_files_as_the_engine_does(tmp_path: Path) -> None:
    bench = _load("bench_screening")
    bench.generate(tmp_path, members=20_000, claims=200_000)
    registry = ("members", "households", "accounts")
    feeds = {p.stem: p for p in tmp_path.glob("*.parquet") if p.stem not in registry}
    warned = assert_same_warnings(
        tmp_path / "members.parquet", tmp_path / "accounts.parquet", feeds, households=tmp_path / "households.parquet"
    )
    assert {rule for _, rule, _ in warned} == set(pandas_rules.RULES)  # every rule fired


# -- A county built on the edges: every threshold just below, at and just above, every window
#    and age-band boundary, missing values and unlinked rows -------------------------------

FEED_COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "medical_claims": {
        "settle_date": pa.date32(),
        "visit_type": pa.string(),
        "hospital_level": pa.string(),
        "total_cost": MONEY,
        "out_of_pocket": MONEY,
    },
    "deaths": {"death_date": pa.date32()},
    "serious_illness": {"diagnosis": pa.string(), "diagnosed_on": pa.date32()},
    "disabilities": {
        "disability_type": pa.string(),
        "grade": pa.string(),
        "issued_on": pa.date32(),
        "status": pa.string(),
    },
    "school_enrolment": {"school_stage": pa.string(), "status": pa.string(), "as_of_date": pa.date32()},
    "employment": {"status": pa.string(), "as_of_date": pa.date32(), "work_location": pa.string()},
    "assistance_recipients": {
        "assistance_type": pa.string(),
        "status": pa.string(),
        "effective_date": pa.date32(),
        "amount": MONEY,
    },
    "housing_appraisal": {"grade": pa.string(), "appraisal_date": pa.date32()},
    "disaster_losses": {
        "disaster_type": pa.string(),
        "occurred_on": pa.date32(),
        "loss_amount": MONEY,
        "house_damage": pa.string(),
    },
    "water_safety": {
        "village_code": pa.string(),
        "problem": pa.string(),
        "reported_on": pa.date32(),
        "resolved_on": pa.date32(),
    },
    "medical_enrolment": {"year": pa.int16(), "enrolled": pa.string()},
}
VILLAGE = "522630101201"
ADULT, MAY_1 = D(1985, 1, 1), D(2025, 5, 1)


class EdgeCounty:
    def __init__(self) -> None:
        self.members: list[dict[str, Any]] = []
        self.households: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.feeds: dict[str, list[dict[str, Any]]] = {kind: [] for kind in FEED_COLUMNS}

    def household(self, kind: str = "一般农户", state: str | None = "未纳入", village: str = VILLAGE) -> int:
        key = len(self.households) + 1
        self.households.append(
            {"household_key": key, "village_code": village, "household_type": kind, "monitoring_state": state}
        )
        return key

    def member(self, household: int, born: dt.date = ADULT, deceased: bool | None = False) -> int:
        key = len(self.members) + 1
        self.members.append(
            {
                "member_key": key,
                "household_key": household,
                "id_hash": f"h{key}",
                "name": f"M{key}",
                "birth_date": born,
                "sex": "F",
                "village_code": VILLAGE,
                "deceased": deceased,
            }
        )
        return key

    def person(self, born: dt.date = ADULT, deceased: bool | None = False, **household: Any) -> int:
        return self.member(self.household(**household), born, deceased)

    def account(
        self, household: int, net: str, population: int, year: int = YEAR, medical: str = "0", education: str = "0"
    ) -> None:
        self.accounts.append(
            {
                "household_key": household,
                "year": year,
                "wage_income": Decimal(net),
                "population": population,
                "medical_expense": Decimal(medical),
                "education_expense": Decimal(education),
            }
        )

    def row(self, kind: str, member: int | None, **values: Any) -> None:
        household = self.members[member - 1]["household_key"] if member else values.pop("household", None)
        self.feeds[kind].append({"member_key": member, "household_key": household, "batch_id": 1, **values})

    def claim(self, member: int | None, oop: str, on: dt.date = MAY_1, visit: str | None = "门诊") -> None:
        self.row(
            "medical_claims",
            member,
            settle_date=on,
            visit_type=visit,
            hospital_level="县级",
            total_cost=Decimal(oop) * 2,
            out_of_pocket=Decimal(oop),
        )

    def tables(self) -> tuple[pa.Table, pa.Table, dict[str, pa.Table], pa.Table]:
        link = {"member_key": pa.int64(), "household_key": pa.int64(), "batch_id": pa.int64()}
        feeds = {
            kind: pa.Table.from_pylist(rows, schema=pa.schema({**link, **FEED_COLUMNS[kind]}))
            for kind, rows in self.feeds.items()
        }
        return (
            pa.Table.from_pylist(self.members, schema=MEMBERS_SCHEMA),
            pa.Table.from_pylist(self.accounts, schema=ACCOUNTS_SCHEMA),
            feeds,
            pa.Table.from_pylist(self.households, schema=HOUSEHOLDS_SCHEMA),
        )


def edge_county() -> EdgeCounty:
    c = EdgeCounty()
    # Income: 3 people at 8,500 a head is 25,500; monitored households are not warned again.
    for net in ("25499.99", "25500", "25500.01"):
        c.account(c.household(), net, 3)
    c.account(c.household(state="监测中"), "100", 1)
    c.account(c.household(state=None), "100", 1)
    # A fall of exactly 30 % fires, a cent less does not; per head when the household grows.
    for now in ("42000", "42000.01"):
        h = c.household()
        c.account(h, "60000", 3, year=YEAR - 1)
        c.account(h, now, 3)
    h = c.household()
    c.account(h, "40000", 2, year=YEAR - 1)
    c.account(h, "42000", 3)
    h = c.household()
    c.account(h, "0", 1, year=YEAR - 1)
    c.account(h, "-5", 1)
    # Rigid expenditure above 60 % of income, for a household under 28,000 a head.
    for net, medical, education in (
        ("10000", "3000", "3000"),
        ("10000", "3000.01", "3000"),
        ("0", "0.01", "0"),
        ("28000", "27000", "0"),
        ("27999.99", "27000", "0"),
    ):
        c.account(c.household(), net, 1, medical=medical, education=education)

    # A member's costs over the 12 months: the window's first and last day count, not a day outside.
    for kind, state, total in (
        ("脱贫户", "未纳入", "7900"),
        ("脱贫户", "未纳入", "7900.01"),
        ("一般农户", "监测中", "7900.01"),
        ("一般农户", "未纳入", "15800"),
        ("一般农户", "未纳入", "15800.01"),
    ):
        m = c.person(kind=kind, state=state)
        c.claim(m, "3950", on=D(2025, 1, 1))
        c.claim(m, str(Decimal(total) - 3950), on=D(2025, 12, 31))
        c.claim(m, "1", on=D(2024, 12, 31))
        c.claim(m, "1", on=D(2026, 1, 1))
        c.account(c.members[m - 1]["household_key"], "1000000", 4)
    # A household's costs against its income: 50 % for 脱贫户, all of it for others, any cost
    # when there is no income; all members' claims together.
    for kind, net, costs in (
        ("脱贫户", "10000", ("2500", "2500")),
        ("脱贫户", "10000", ("2500", "2500.01")),
        ("一般农户", "10000", ("10000",)),
        ("一般农户", "10000", ("10000.01",)),
        ("一般农户", "0", ("0.01",)),
        ("一般农户", "-100", ("0.01",)),
    ):
        h = c.household(kind=kind)
        for cost in costs:
            c.claim(c.member(h), cost)
        c.account(h, net, len(costs))
    # One stay: above 6,000 for a monitored household, 10,000 for any other (a 脱贫户 too);
    # outpatient and unknown visits are not stays; two stays in a month are one warning.
    for state, kind, oop, visit in (
        ("监测中", "一般农户", "6000", "住院"),
        ("监测中", "一般农户", "6000.01", "住院"),
        ("未纳入", "脱贫户", "6000.01", "住院"),
        ("未纳入", "一般农户", "10000", "住院"),
        ("未纳入", "一般农户", "10000.01", "住院"),
        ("未纳入", "一般农户", "10000.01", "门诊"),
        ("未纳入", "一般农户", "10000.01", None),
    ):
        c.claim(c.person(kind=kind, state=state), oop, visit=visit)
    h = c.household()
    for _ in range(2):
        c.claim(c.member(h), "12000", on=D(2025, 3, 9), visit="住院")
    c.claim(None, "50000", visit="住院")  # unlinked: warns no one

    # Deaths: 16 on the day of death fires, 61 does not; a 29 February birthday; the registry flag.
    for born, died, deceased in (
        (D(2009, 3, 10), D(2025, 3, 10), True),
        (D(2009, 3, 11), D(2025, 3, 10), True),
        (D(1964, 7, 1), D(2025, 7, 1), False),
        (D(1964, 7, 2), D(2025, 7, 1), None),
        (D(2008, 2, 29), D(2025, 2, 28), False),
        (D(1980, 1, 1), D(2024, 12, 31), False),
        (D(1980, 1, 1), D(2026, 1, 1), False),
    ):
        c.row("deaths", c.person(born, deceased), death_date=died)
    # School: 6–15 on the record's date for a dropout, on 31 December for a missing 在读 record.
    for born, status in (
        (D(2010, 9, 1), "辍学"),
        (D(2009, 9, 1), "辍学"),
        (D(2009, 9, 2), "辍学"),
        (D(2019, 9, 1), "辍学"),
        (D(2019, 9, 2), "辍学"),
        (D(2012, 5, 5), "休学"),
        (D(2012, 5, 5), "在读"),
    ):
        c.row("school_enrolment", c.person(born), school_stage="初中", status=status, as_of_date=D(2025, 9, 1))
    c.row("school_enrolment", c.person(D(2013, 1, 1)), school_stage="小学", status="在读", as_of_date=D(2024, 12, 31))
    for born, deceased in ((D(2010, 1, 1), False), (D(2009, 12, 31), False), (D(2019, 12, 31), None)):
        c.person(born, deceased)
    c.person(D(2020, 1, 1))
    c.person(D(2014, 1, 1), deceased=True)
    # Housing C or D in the window; two appraisals in a month are one warning.
    h = c.household()
    for grade, on in (("C", D(2025, 1, 1)), ("D", D(2025, 1, 20))):
        c.row("housing_appraisal", None, household=h, grade=grade, appraisal_date=on)
    for grade, on in (("B", D(2025, 6, 1)), ("C", D(2024, 12, 31))):
        c.row("housing_appraisal", None, household=c.household(), grade=grade, appraisal_date=on)
    c.row("housing_appraisal", None, household=None, grade="D", appraisal_date=D(2025, 6, 1))
    # Water: unresolved at the end of the window, in every household of the village.
    for village, reported, resolved in (
        ("522630101291", D(2025, 4, 1), None),
        ("522630101291", D(2025, 4, 20), None),
        ("522630101292", D(2025, 4, 1), D(2025, 12, 31)),
        ("522630101293", D(2025, 4, 1), D(2026, 1, 1)),
        ("522630101294", D(2026, 1, 1), None),
    ):
        for _ in range(2):
            c.household(village=village)
        c.row("water_safety", None, village_code=village, problem="水量", reported_on=reported, resolved_on=resolved)
    # Disasters: a loss above 15,000; a house 严重损坏 or 倒塌.
    for loss, damage, on in (
        ("15000", "一般损坏", D(2025, 6, 1)),
        ("15000.01", "一般损坏", D(2025, 6, 1)),
        (None, "倒塌", D(2025, 6, 1)),
        ("0", "严重损坏", D(2025, 6, 1)),
        ("90000", None, D(2025, 6, 1)),
        ("90000", "倒塌", D(2024, 12, 31)),
    ):
        amount = None if loss is None else Decimal(loss)
        c.row(
            "disaster_losses",
            c.person(),
            disaster_type="洪涝",
            occurred_on=on,
            loss_amount=amount,
            house_damage=damage,
        )
    c.row("disaster_losses", None, household=None, disaster_type="洪涝", occurred_on=D(2025, 6, 1), house_damage="倒塌")
    # Unemployed or returned at 16–60 on the record's date.
    for born, status in (
        (D(1965, 6, 30), "务工返乡"),
        (D(1964, 6, 30), "失业登记"),
        (D(2009, 7, 1), "失业登记"),
        (D(2009, 6, 30), "务工返乡"),
        (D(1990, 1, 1), "就业"),
    ):
        c.row("employment", c.person(born), status=status, as_of_date=D(2025, 6, 30), work_location="省外")
    # 低保/特困 granted or ended in the window; other assistance is no clue.
    for kind, status, on in (
        ("低保", "纳入", D(2025, 1, 1)),
        ("特困", "纳入", D(2025, 12, 31)),
        ("临时救助", "纳入", D(2025, 6, 1)),
        ("低保", "纳入", D(2024, 12, 31)),
        ("低保", "退出", D(2025, 12, 31)),
        ("特困", "停发", D(2025, 1, 1)),
    ):
        c.row("assistance_recipients", c.person(), assistance_type=kind, status=status, effective_date=on)
    c.row(
        "assistance_recipients", None, household=1, assistance_type="低保", status="纳入", effective_date=D(2025, 6, 1)
    )
    # Not insured this year, living.
    for year, enrolled, deceased in (
        (YEAR, "未参保", False),
        (YEAR, "未参保", None),
        (YEAR, "未参保", True),
        (YEAR - 1, "未参保", False),
        (YEAR, "已参保", False),
    ):
        c.row("medical_enrolment", c.person(deceased=deceased), year=year, enrolled=enrolled)
    # Serious illness and disability certificates in the window; a cancelled one is no warning.
    for on in (D(2025, 1, 1), D(2024, 12, 31)):
        c.row("serious_illness", c.person(), diagnosis="终末期肾病", diagnosed_on=on)
    c.row("serious_illness", None, household=2, diagnosis="终末期肾病", diagnosed_on=D(2025, 6, 1))
    for status, on in (
        ("有效", D(2025, 12, 31)),
        (None, D(2025, 6, 1)),
        ("注销", D(2025, 6, 1)),
        ("有效", D(2024, 12, 31)),
    ):
        c.row("disabilities", c.person(), disability_type="肢体", grade="三级", issued_on=on, status=status)
    # Everyone else is an adult with nothing to report (no household without a member).
    for h in range(1, len(c.households) + 1):
        if not any(m["household_key"] == h for m in c.members):
            c.member(h)
    return c


def test_the_baseline_agrees_on_every_threshold_window_and_age_boundary() -> None:
    members, accounts, feeds, households = edge_county().tables()
    warned = assert_same_warnings(members, accounts, feeds, households=households)
    assert {rule for _, rule, _ in warned} == set(pandas_rules.RULES)  # every rule fired
    assert 2 in warned.values()  # and two findings in one period were counted as one warning
