"""Every screening rule in plain pandas: the baseline `bench_screening.py` measures the engine against.

This is the script a county data analyst would write without the engine: read the inputs into
DataFrames, merge, group, filter with boolean masks — one function per rule, `RULES` maps a rule
id to it. It takes what `engine.screening.evaluate_rules` takes (the member snapshot, the yearly
accounts, the household flags and the feeds, each an Arrow table or Parquet; the resolved
parameters; the same 12 months) and gives one row per household, rule and period with the
number of findings behind it. `engine/tests/test_pandas_baseline.py` holds it to the engine's
warnings exactly, so the speed ratio compares two programs that give the same answer.

Money is read as integer cents (nullable Int64): pandas has no decimal type, object Decimals
are slow and floats miss a boundary (23,999.99 × 100 is not 2,399,999). A threshold is a
`Decimal` parameter, compared as its integer ratio (`lt`, `le`, `gt`), so "below the line" is
exact in the same way as the engine's decimal SQL. Int64 holds ±9.2 × 10¹⁸, far above a
household's cents × its population × a parameter's denominator.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.screening import ALL_RULES, ResolvedParameters, Rule, screening_window

type Input = pa.Table | Path | str

# The columns the rules read, per relation (reading only these is half the speed of a script).
COLUMNS: dict[str, tuple[str, ...]] = {
    "members": ("member_key", "household_key", "birth_date", "deceased"),
    "households": ("household_key", "village_code", "household_type", "monitoring_state"),
    "accounts": (
        "household_key",
        "year",
        "wage_income",
        "operating_income",
        "operating_cost",
        "property_income",
        "transfer_income",
        "population",
        "medical_expense",
        "education_expense",
    ),
    "medical_claims": ("member_key", "household_key", "settle_date", "visit_type", "out_of_pocket"),
    "serious_illness": ("member_key", "household_key", "diagnosed_on"),
    "disabilities": ("member_key", "household_key", "issued_on", "status"),
    "deaths": ("member_key", "household_key", "death_date"),
    "school_enrolment": ("member_key", "household_key", "status", "as_of_date"),
    "housing_appraisal": ("household_key", "grade", "appraisal_date"),
    "water_safety": ("village_code", "reported_on", "resolved_on"),
    "disaster_losses": ("household_key", "occurred_on", "loss_amount", "house_damage"),
    "employment": ("member_key", "household_key", "status", "as_of_date"),
    "assistance_recipients": ("member_key", "household_key", "assistance_type", "status", "effective_date"),
    "medical_enrolment": ("member_key", "household_key", "year", "enrolled"),
}


# -- Reading ---------------------------------------------------------------------------------


def _parquet_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    # as the engine reads a stored feed directory: hidden and temporary files are not data
    return sorted(
        p for p in path.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )


def _dtype(kind: pa.DataType) -> Any:
    # nullable integers and booleans, so a missing key or flag stays missing instead of 0.0/NaN
    if pa.types.is_integer(kind):
        return pd.Int64Dtype()
    if pa.types.is_boolean(kind):
        return pd.BooleanDtype()
    return None


def read(value: Input, columns: Sequence[str]) -> pd.DataFrame:
    """An input as a DataFrame: dates as datetime64, money as Int64 cents, keys as Int64."""
    if isinstance(value, pa.Table):
        table = value.select(list(columns))
    else:
        parts = []
        for f in _parquet_files(Path(value)):
            present = set(pq.read_schema(f).names)
            parts.append(pq.read_table(f, columns=[c for c in columns if c in present]))
        # files written by different versions may lack a column: it is null there
        table = pa.concat_tables(parts, promote_options="default").select(list(columns))
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            exact = pc.cast(table.column(i), pa.decimal128(20, 2))  # refuses rather than rounds a third decimal
            cents = pc.cast(pc.multiply(exact, pa.scalar(Decimal(100), pa.decimal128(3, 0))), pa.int64())
            table = table.set_column(i, field.name, cents)
    return table.to_pandas(types_mapper=_dtype, date_as_object=False)


# -- Exact comparisons and the policy's small formulas --------------------------------------


def _compare(op: Callable[[Any, Any], Any], x: Any, factor: Decimal, y: Any) -> pd.Series:
    numerator, denominator = factor.as_integer_ratio()  # denominator > 0: the order is kept
    result = op(x * denominator, y * numerator)
    # a missing figure compares to nothing, as NULL in SQL: it does not fire
    return result.fillna(False).astype(bool) if isinstance(result, pd.Series) else result


def lt(x: Any, factor: Decimal, y: Any) -> pd.Series:
    """x < factor × y, exactly."""
    return _compare(operator.lt, x, factor, y)


def le(x: Any, factor: Decimal, y: Any) -> pd.Series:
    """x ≤ factor × y, exactly."""
    return _compare(operator.le, x, factor, y)


def gt(x: Any, factor: Decimal, y: Any) -> pd.Series:
    """x > factor × y, exactly."""
    return _compare(operator.gt, x, factor, y)


def net_income(a: pd.DataFrame) -> pd.Series:
    """家庭纯收入 = 工资性 + 生产经营性 − 生产经营性支出 + 财产性 + 转移性 (policy.md §4.2), in cents."""
    return (
        a.wage_income.fillna(0)
        + a.operating_income.fillna(0)
        - a.operating_cost.fillna(0)
        + a.property_income.fillna(0)
        + a.transfer_income.fillna(0)
    )


def age(birth: pd.Series, on: pd.Series | pd.Timestamp) -> pd.Series:
    """Completed years: one less while this year's birthday is still to come."""
    year, month, day = (
        (on.year, on.month, on.day) if isinstance(on, pd.Timestamp) else (on.dt.year, on.dt.month, on.dt.day)
    )
    before_birthday = month * 100 + day < birth.dt.month * 100 + birth.dt.day
    return year - birth.dt.year - before_birthday.astype(int)


def month(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m")


def priority(h: pd.DataFrame) -> pd.Series:
    """脱贫户 and monitored households get the lower medical thresholds (policy.md §4.3)."""
    return (h.household_type == "脱贫户") | (h.monitoring_state == "监测中")


def monitored(h: pd.DataFrame) -> pd.Series:
    return h.monitoring_state == "监测中"


def findings(frame: pd.DataFrame, period: pd.Series | str) -> pd.DataFrame:
    return pd.DataFrame({"household_key": frame.household_key, "period": period})


# -- One screening run ------------------------------------------------------------------------


class Run:
    """The inputs of one run, each read once when a rule first needs it, and the window."""

    def __init__(self, given: Mapping[str, Input], params: ResolvedParameters, as_of: dt.date | None = None) -> None:
        self.given = given
        self.params = params
        self.year = params.year
        start, end = screening_window(params.year, as_of)
        self.start, self.end = pd.Timestamp(start), pd.Timestamp(end)
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = read(self.given[name], COLUMNS[name])
        return self._frames[name]

    def p(self, name: str) -> Decimal:
        return self.params[name]

    def ages(self, low: str, high: str) -> tuple[float, float]:
        return float(self.p(low)), float(self.p(high))

    def in_window(self, dates: pd.Series) -> pd.Series:
        return dates.between(self.start, self.end)

    def linked(self, kind: str) -> pd.DataFrame:
        """A feed's rows that name a member (an unlinked row warns no one)."""
        feed = self[kind]
        return feed[feed.member_key.notna()]

    def with_member(self, kind: str) -> pd.DataFrame:
        """A feed's linked rows with the registry's birth date and death flag of their member."""
        members = self["members"][["member_key", "birth_date", "deceased"]]
        return self.linked(kind).merge(members.dropna(subset=["member_key"]), on="member_key")

    def with_household(self, frame: pd.DataFrame) -> pd.DataFrame:
        households = self["households"][["household_key", "household_type", "monitoring_state"]]
        return frame.dropna(subset=["household_key"]).merge(households, on="household_key")

    def accounts_of(self, year: int) -> pd.DataFrame:
        a = self["accounts"]
        a = a[(a.year == year) & (a.population > 0)]
        return a.assign(net_income=net_income(a), population=a.population.astype("int64"))

    @cached_property
    def claims(self) -> pd.DataFrame:
        """The linked claims settled in the 12 months screened."""
        c = self.linked("medical_claims")
        return c[self.in_window(c.settle_date)]

    @cached_property
    def claims_by_member(self) -> pd.DataFrame:
        """Each member's out-of-pocket total, counted for the household the registry lists them
        in: the two medical-cost rules share the one pass."""
        # min_count=1: a member whose every amount is missing has no total (NULL), not 0
        totals = self.claims.groupby("member_key").out_of_pocket.sum(min_count=1).rename("oop_total").reset_index()
        members = self["members"][["member_key", "household_key"]]
        return totals.merge(members, on="member_key")[["member_key", "household_key", "oop_total"]]


# -- The rules, as docs/screening.md states them --------------------------------------------


def income_below_line(run: Run) -> pd.DataFrame:
    a = run.with_household(run.accounts_of(run.year))
    not_monitored = a.monitoring_state.fillna("") != "监测中"
    # per-capita net income below the line ⇔ net < line × population (cents: × 100)
    below = lt(a.net_income, run.p("monitoring_line"), 100 * a.population)
    return findings(a[not_monitored & below], str(run.year))


def income_drop(run: Run) -> pd.DataFrame:
    now, before = run.accounts_of(run.year), run.accounts_of(run.year - 1)
    a = now.merge(before, on="household_key", suffixes=("", "_prev"))
    # net / population ≤ (1 − share) × prev_net / prev_population, multiplied out
    fell = le(a.net_income * a.population_prev, 1 - run.p("income_drop_share"), a.net_income_prev * a.population)
    return findings(a[(a.net_income_prev > 0) & fell], str(run.year))


def medical_oop_share(run: Run) -> pd.DataFrame:
    m = run.with_household(run.claims_by_member)
    reference = run.p("prev_year_rural_income")
    is_priority = priority(m)
    over = (is_priority & gt(m.oop_total, run.p("medical_oop_share_priority") * reference, 100)) | (
        ~is_priority & gt(m.oop_total, run.p("medical_oop_share_other") * reference, 100)
    )
    return findings(m[over], str(run.year))


def medical_oop_income_share(run: Run) -> pd.DataFrame:
    by_household = run.claims_by_member.groupby("household_key").oop_total.sum(min_count=1).reset_index()
    h = run.with_household(by_household).merge(run.accounts_of(run.year), on="household_key")
    is_priority = priority(h)
    # any cost exceeds a share of an income that is not positive: the comparison says so itself
    over = (is_priority & gt(h.oop_total, run.p("medical_oop_income_share_priority"), h.net_income)) | (
        ~is_priority & gt(h.oop_total, run.p("medical_oop_income_share_other"), h.net_income)
    )
    return findings(h[(h.oop_total > 0).fillna(False) & over], str(run.year))


def stay_self_pay(run: Run) -> pd.DataFrame:
    stays = run.claims[run.claims.visit_type == "住院"]
    c = run.with_household(stays)
    is_monitored = monitored(c)
    over = (is_monitored & gt(c.out_of_pocket, run.p("stay_self_pay_monitored"), 100)) | (
        ~is_monitored & gt(c.out_of_pocket, run.p("stay_self_pay_other"), 100)
    )
    c = c[over]
    return findings(c, month(c.settle_date))


def serious_illness(run: Run) -> pd.DataFrame:
    s = run.linked("serious_illness")
    s = s[run.in_window(s.diagnosed_on)]
    return findings(s, month(s.diagnosed_on))


def new_disability(run: Run) -> pd.DataFrame:
    d = run.linked("disabilities")
    d = d[run.in_window(d.issued_on) & (d.status.fillna("有效") == "有效")]  # a certificate without status is valid
    return findings(d, month(d.issued_on))


def labourer_death(run: Run) -> pd.DataFrame:
    d = run.with_member("deaths")
    d = d[
        run.in_window(d.death_date)
        & age(d.birth_date, d.death_date).between(*run.ages("working_age_min", "working_age_max"))
    ]
    return findings(d, month(d.death_date))


def deceased_still_listed(run: Run) -> pd.DataFrame:
    d = run.with_member("deaths")
    d = d[~d.deceased.fillna(False) & (d.death_date <= run.end)]
    return findings(d, month(d.death_date))


def school_dropout(run: Run) -> pd.DataFrame:
    s = run.with_member("school_enrolment")
    school_age = age(s.birth_date, s.as_of_date).between(
        *run.ages("compulsory_school_age_min", "compulsory_school_age_max")
    )
    s = s[(s.status == "辍学") & run.in_window(s.as_of_date) & school_age]
    return findings(s, month(s.as_of_date))


def school_not_enrolled(run: Run) -> pd.DataFrame:
    records = run.linked("school_enrolment")
    at_school = records.member_key[(records.status == "在读") & run.in_window(records.as_of_date)]
    m = run["members"]
    school_age = age(m.birth_date, run.end).between(*run.ages("compulsory_school_age_min", "compulsory_school_age_max"))
    m = m[~m.deceased.fillna(False) & school_age & ~m.member_key.isin(at_school)]
    return findings(m, str(run.year))


def housing_unsafe(run: Run) -> pd.DataFrame:
    a = run["housing_appraisal"]
    a = a[a.household_key.notna() & a.grade.isin(["C", "D"]) & run.in_window(a.appraisal_date)]
    return findings(a, month(a.appraisal_date))


def water_problem(run: Run) -> pd.DataFrame:
    w = run["water_safety"]
    unresolved = (w.reported_on <= run.end) & (w.resolved_on.isna() | (w.resolved_on > run.end))
    villages = run["households"][["household_key", "village_code"]]
    h = w[unresolved].dropna(subset=["village_code"]).merge(villages, on="village_code")
    return findings(h, month(h.reported_on))


def disaster_house_damage(run: Run) -> pd.DataFrame:
    d = run["disaster_losses"]
    d = d[d.household_key.notna() & d.house_damage.isin(["严重损坏", "倒塌"]) & run.in_window(d.occurred_on)]
    return findings(d, month(d.occurred_on))


def disaster_loss(run: Run) -> pd.DataFrame:
    d = run["disaster_losses"]
    d = d[
        d.household_key.notna() & gt(d.loss_amount, run.p("disaster_loss_amount"), 100) & run.in_window(d.occurred_on)
    ]
    return findings(d, month(d.occurred_on))


def labourer_job_loss(run: Run) -> pd.DataFrame:
    e = run.with_member("employment")
    working_age = age(e.birth_date, e.as_of_date).between(*run.ages("working_age_min", "working_age_max"))
    e = e[e.status.isin(["失业登记", "务工返乡"]) & run.in_window(e.as_of_date) & working_age]
    return findings(e, month(e.as_of_date))


def _assistance(run: Run, states: Iterable[str]) -> pd.DataFrame:
    r = run.linked("assistance_recipients")
    r = r[r.assistance_type.isin(["低保", "特困"]) & r.status.isin(list(states)) & run.in_window(r.effective_date)]
    return findings(r, month(r.effective_date))


def assistance_granted(run: Run) -> pd.DataFrame:
    return _assistance(run, ["纳入"])


def assistance_ended(run: Run) -> pd.DataFrame:
    return _assistance(run, ["退出", "停发"])


def medical_not_enrolled(run: Run) -> pd.DataFrame:
    e = run.with_member("medical_enrolment")
    e = e[~e.deceased.fillna(False) & (e.year == run.year) & (e.enrolled == "未参保")]
    return findings(e, str(run.year))


def rigid_expense_hardship(run: Run) -> pd.DataFrame:
    a = run.accounts_of(run.year)
    rigid = a.medical_expense.fillna(0) + a.education_expense.fillna(0)
    # any rigid expenditure exceeds a share of an income that is not positive
    hardship = (rigid > 0) & gt(rigid, run.p("rigid_expense_share"), a.net_income)
    poorer = lt(a.net_income, run.p("prev_year_disposable_income"), 100 * a.population)
    return findings(a[hardship & poorer], str(run.year))


RULES: dict[str, Callable[[Run], pd.DataFrame]] = {
    "income_below_line": income_below_line,
    "income_drop": income_drop,
    "medical_oop_share": medical_oop_share,
    "medical_oop_income_share": medical_oop_income_share,
    "stay_self_pay": stay_self_pay,
    "serious_illness": serious_illness,
    "new_disability": new_disability,
    "labourer_death": labourer_death,
    "deceased_still_listed": deceased_still_listed,
    "school_dropout": school_dropout,
    "school_not_enrolled": school_not_enrolled,
    "housing_unsafe": housing_unsafe,
    "water_problem": water_problem,
    "disaster_house_damage": disaster_house_damage,
    "disaster_loss": disaster_loss,
    "labourer_job_loss": labourer_job_loss,
    "assistance_granted": assistance_granted,
    "assistance_ended": assistance_ended,
    "medical_not_enrolled": medical_not_enrolled,
    "rigid_expense_hardship": rigid_expense_hardship,
}


def screen(
    registry: Input,
    accounts: Input | None,
    feeds: Mapping[str, Input],
    params: ResolvedParameters,
    rules: Iterable[Rule] = ALL_RULES,
    *,
    households: Input | None = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """One row per household, rule and period — household_key, rule_id, period,
    findings_in_period — for every rule whose inputs and parameters are given (the others are
    skipped, as the engine skips them), sorted like the engine's warnings."""
    given: dict[str, Input] = {"members": registry, **feeds}
    if households is not None:
        given["households"] = households
    if accounts is not None:
        given["accounts"] = accounts
    run = Run(given, params, as_of)
    found = []
    for rule in rules:
        if any(name not in given for name in rule.inputs) or params.missing(rule.parameters):
            continue
        hits = RULES[rule.id](run)
        per_period = hits.groupby(["household_key", "period"], dropna=False).size()
        found.append(per_period.rename("findings_in_period").reset_index().assign(rule_id=rule.id))
    columns = ["household_key", "rule_id", "period", "findings_in_period"]
    if not found:
        return pd.DataFrame(columns=columns)
    result = pd.concat(found, ignore_index=True)[columns]
    return result.sort_values(["household_key", "rule_id", "period"], ignore_index=True)
