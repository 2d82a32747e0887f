"""The rule library (部门筛查预警): each rule a declaration, its SQL written once.

A rule's SQL is written in SQLGlot's neutral dialect against the named input relations
(`engine.screening.inputs`: ``members``, ``households``, ``accounts`` and one relation per
feed kind) and selects, per finding: ``household_key``, ``member_key`` (null for a
household-level finding), ``period`` (``YYYY`` for a yearly rule, ``YYYY-MM`` for an event)
and its evidence columns. Parameters are ``:name`` placeholders filled from the resolved
parameter table (`engine.screening.params`); the run adds ``:year``, ``:period_year``,
``:window_start`` and ``:window_end`` (the 12 months screened). `render_sql` wraps the
rule in the deduplication (one finding per household, rule and period: the first by the
rule's ``pick`` order) and transpiles it to DuckDB or Spark SQL — the only place dialects
differ.

Severity colours are a design choice [I], not policy: red = the household's basic living or
a 保障 is broken now (income below the line, a labourer's death, a dropout, an unsafe or
destroyed house); orange = a shock that usually needs a visit (large medical costs, new
illness or disability, job loss, insurance lapse, water); yellow = a change to check
(assistance granted or ended, registry out of date).
"""

# The rule SQL is composed from this module's own constant fragments (no outside text), and
# parameter values enter only as typed literals in `render_sql`:
# ruff: noqa: S608

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlglot
from sqlglot import exp

from engine.i18n import gettext_noop

DIALECTS = ("duckdb", "spark")
for _dialect in DIALECTS:  # SQLGlot imports a dialect on first use: here, not in the middle of a run
    sqlglot.Dialect.get_or_raise(_dialect)
BUILTIN_PLACEHOLDERS = frozenset({"year", "period_year", "window_start", "window_end"})


class Severity(StrEnum):
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"


class Cause(StrEnum):
    """Risk causes (致贫/返贫风险, policy.md §5.1) and the 三保障+饮水 flags (§4.1, §5.1);
    the last three are screening signals that are not risk codes of the national system."""

    ILLNESS = "因病"
    DISABILITY = "因残"
    SCHOOLING = "因学"
    DISASTER = "因自然灾害"
    ACCIDENT = "因意外事故"
    UNSTABLE_WORK = "因务工就业不稳"
    LACK_OF_LABOUR = "缺劳动力"
    OTHER = "其他"
    HOUSING = "住房安全"
    WATER = "饮水安全"
    COMPULSORY_EDUCATION = "义务教育"
    MEDICAL_INSURANCE = "基本医疗保险"
    INCOME_BELOW_LINE = "收入低于监测范围"
    INCOME_DROP = "收入大幅缩减"
    RIGID_EXPENSE = "刚性支出较大"
    ASSISTANCE_CHANGE = "社会救助变动"
    REGISTRY_OUT_OF_DATE = "基础信息待更新"


@dataclass(frozen=True)
class Derive:
    """Extra evidence computed in Python from a finding's `reads` columns (exact decimals).

    The run calls it once per distinct combination of those values, not once per warning."""

    reads: tuple[str, ...]
    compute: Callable[[dict[str, Any]], dict[str, Any]]

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        return self.compute(row)


@dataclass(frozen=True)
class Rule:
    """One screening rule: what fires it (SQL), why (cause, source) and how loud (severity)."""

    id: str
    title: str  # zh-Hans, for the warning list
    cause: Cause
    severity: Severity
    condition: str  # one line in English, for docs/screening.md
    source: str  # policy.md section and the document it cites
    grade: str  # evidence grade of the rule itself (policy.md §0)
    inputs: tuple[str, ...]  # relations read
    parameters: tuple[str, ...]  # parameter-table names used as :placeholders
    sql: str  # neutral dialect; see the module docstring for the columns
    evidence: tuple[str, ...]  # columns copied into the warning's evidence
    pick: str = "r.member_key"  # ORDER BY among a household's findings in one period
    version: int = 1
    derive: Derive | None = field(default=None, compare=False)  # extra evidence computed in Python
    uses: tuple[str, ...] = ()  # derived relations (`DERIVED`) the SQL reads besides `inputs`
    # A derived relation whose rows behind the finding's member (or, for a household finding,
    # behind every member of the household) give the evidence's count and `batch_ids`: looked
    # up once per run for every rule that asks, for the warned members only (`Derived.rows`).
    rows_of: str | None = None

    @property
    def fingerprint(self) -> str:
        """Changes whenever the rule's logic does, a derived relation it reads included."""
        derived = [DERIVED[name].sql for name in self.uses]
        if self.rows_of:
            derived.append(DERIVED[self.rows_of].rows or "")
        body = "\n".join((self.id, str(self.version), self.sql, self.pick, ",".join(self.parameters), *derived))
        return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Derived:
    """A relation computed once per run from the inputs and read by several rules.

    The claims are the one input too big to scan once per rule: every claims rule reads the
    per-member totals instead, so a county's or a province's claims are aggregated once.
    """

    name: str
    inputs: tuple[str, ...]
    sql: str  # neutral dialect; may use the run's built-in placeholders (the window)
    # The input rows behind each member's figures (member_key, batch_id), and what their number
    # is called in the evidence: the rules reading it (`Rule.rows_of`) are told, per member
    # warned, how many rows there were and from which feed batches.
    rows: str | None = None
    rows_count: str = "rows"


# -- SQL fragments, written once ---------------------------------------------------------


def _in_window(column: str) -> str:
    return f"{column} BETWEEN CAST(:window_start AS DATE) AND CAST(:window_end AS DATE)"


def _month(column: str) -> str:
    return f"SUBSTRING(CAST({column} AS VARCHAR), 1, 7)"


def _age(birth: str, at: str) -> str:
    """Completed years between two dates, without dialect-specific date functions."""
    return (
        f"(EXTRACT(YEAR FROM {at}) - EXTRACT(YEAR FROM {birth}) - CASE WHEN "
        f"EXTRACT(MONTH FROM {at}) * 100 + EXTRACT(DAY FROM {at}) < "
        f"EXTRACT(MONTH FROM {birth}) * 100 + EXTRACT(DAY FROM {birth}) THEN 1 ELSE 0 END)"
    )


def _net(a: str) -> str:
    """家庭纯收入 = 工资性 + 生产经营性 − 生产经营性支出 + 财产性 + 转移性 (policy.md §4.2)."""
    return (
        f"(COALESCE({a}.wage_income, 0) + COALESCE({a}.operating_income, 0) - COALESCE({a}.operating_cost, 0)"
        f" + COALESCE({a}.property_income, 0) + COALESCE({a}.transfer_income, 0))"
    )


_PRIORITY = "(h.household_type = '脱贫户' OR COALESCE(h.monitoring_state, '') = '监测中')"

# Each member's out-of-pocket total over the claims settled in the 12 months screened: the
# one pass over every claim, as lean as the bound of the benchmark (a group-by-member sum) allows.
# The member's household is the registry's, today's: a member who left a household (分户, a
# marriage) brings the year's costs to the one they live in now, and a member no longer in the
# registry counts for none. (Carried from the claims as MAX(household_key), it cost the pass
# 45 % more than this join: a second aggregate over every claim, against one over the members.)
# Counts and batch ids are evidence: the rules look them up for the members they warn, never for
# every member (each extra aggregate here costs a fifth of the pass).
CLAIMS_BY_MEMBER = Derived(
    name="claims_by_member",
    inputs=("medical_claims", "members"),
    sql=f"""
        SELECT c.member_key, m.household_key, c.oop_total
        FROM (
            SELECT c.member_key, SUM(c.out_of_pocket) AS oop_total
            FROM medical_claims AS c
            WHERE c.member_key IS NOT NULL AND {_in_window("c.settle_date")}
            GROUP BY c.member_key
        ) AS c JOIN members AS m ON m.member_key = c.member_key
    """,
    rows=f"""
        SELECT c.member_key, c.batch_id FROM medical_claims AS c
        WHERE c.member_key IS NOT NULL AND {_in_window("c.settle_date")}
    """,
    rows_count="claims",
)
DERIVED: dict[str, Derived] = {d.name: d for d in (CLAIMS_BY_MEMBER,)}
# The relations a `Derived.rows` look-up reads: the members and the households warned.
ROWS_MEMBERS, ROWS_HOUSEHOLDS = "rows_members", "rows_households"
_MONITORED = "(COALESCE(h.monitoring_state, '') = '监测中')"
_NO_MEMBER = "CAST(NULL AS BIGINT) AS member_key"


_CENT, _BASIS_POINT = Decimal("0.01"), Decimal("0.0001")


def _per_capita(row: dict[str, Any]) -> dict[str, Any]:
    per_capita = Decimal(row["net_income"]) / int(row["population"])
    out = {"per_capita_net_income": str(per_capita.quantize(_CENT))}
    if "prev_net_income" in row:
        prev = Decimal(row["prev_net_income"]) / int(row["prev_population"])
        out["prev_per_capita_net_income"] = str(prev.quantize(_CENT))
        out["drop_share"] = str((1 - per_capita / prev).quantize(_BASIS_POINT))
    return out


_PER_CAPITA = Derive(("net_income", "population"), _per_capita)
_PER_CAPITA_DROP = Derive(("net_income", "population", "prev_net_income", "prev_population"), _per_capita)


def _oop_threshold(row: dict[str, Any]) -> dict[str, Any]:
    return {"threshold": str(Decimal(row["share"]) * Decimal(row["reference_income"]))}


def _share_of_income(spent: str) -> Derive:
    """The spending as a share of the household's net income (none when income is not positive:
    any spending then exceeds any share), and the per-capita income."""

    def derive(row: dict[str, Any]) -> dict[str, Any]:
        net, population = Decimal(row["net_income"]), int(row["population"])
        share = str((Decimal(row[spent]) / net).quantize(Decimal("0.0001"))) if net > 0 else None
        return {"per_capita_net_income": str((net / population).quantize(Decimal("0.01"))), "share_of_income": share}

    return Derive(("net_income", "population", spent), derive)


# -- The rules -----------------------------------------------------------------------------

INCOME_BELOW_LINE = Rule(
    id="income_below_line",
    title=gettext_noop("人均纯收入低于当年监测范围"),
    cause=Cause.INCOME_BELOW_LINE,
    severity=Severity.RED,
    condition="a household not yet monitored whose per-capita net income for the year is below the year's "
    "monitoring line (at the line does not fire)",
    source="policy.md §1.3–1.4 (监测范围 set by each province per year), §4.2 (人均纯收入 formula)",
    grade="V1",
    inputs=("accounts", "households"),
    parameters=("monitoring_line",),
    sql=f"""
        SELECT a.household_key, {_NO_MEMBER}, CAST(a.year AS VARCHAR) AS period,
               {_net("a")} AS net_income, a.population AS population,
               :monitoring_line AS monitoring_line, h.monitoring_state AS monitoring_state
        FROM accounts AS a JOIN households AS h ON h.household_key = a.household_key
        WHERE a.year = :year AND a.population > 0 AND COALESCE(h.monitoring_state, '') <> '监测中'
          AND {_net("a")} < :monitoring_line * CAST(a.population AS BIGINT)
    """,
    evidence=("net_income", "population", "monitoring_line", "monitoring_state"),
    derive=_PER_CAPITA,
)

INCOME_DROP = Rule(
    id="income_drop",
    title=gettext_noop("人均纯收入同比大幅下降"),
    cause=Cause.INCOME_DROP,
    severity=Severity.ORANGE,
    condition="per-capita net income fell by at least the set share against the previous year "
    "(exactly the share fires; only households with positive income the year before)",
    source="policy.md §1.2 (收入大幅缩减 as a monitoring trigger), §2 (突发严重困难户)",
    grade="V2",
    inputs=("accounts",),
    parameters=("income_drop_share",),
    sql=f"""
        SELECT c.household_key, {_NO_MEMBER}, CAST(c.year AS VARCHAR) AS period,
               {_net("c")} AS net_income, c.population AS population,
               {_net("p")} AS prev_net_income, p.population AS prev_population,
               :income_drop_share AS min_drop_share
        FROM accounts AS c JOIN accounts AS p ON p.household_key = c.household_key AND p.year = :year - 1
        WHERE c.year = :year AND c.population > 0 AND p.population > 0 AND {_net("p")} > 0
          AND {_net("c")} * CAST(p.population AS BIGINT)
              <= (1 - :income_drop_share) * {_net("p")} * CAST(c.population AS BIGINT)
    """,
    evidence=("net_income", "population", "prev_net_income", "prev_population", "min_drop_share"),
    derive=_PER_CAPITA_DROP,
)

MEDICAL_OOP_SHARE = Rule(
    id="medical_oop_share",
    title=gettext_noop("个人年度医疗自付费用超过上年农村居民人均可支配收入的规定比例"),
    cause=Cause.ILLNESS,
    severity=Severity.ORANGE,
    condition="a member's out-of-pocket medical costs over the 12 months screened exceed a share of the previous "
    "year's rural per-capita disposable income: the lower share for members of 脱贫户 or monitored households",
    source="policy.md §4.3 (河北 阳原 医保: >50% 脱贫人口, >100% others), §12",
    grade="V2",
    inputs=("medical_claims", "members", "households"),
    uses=("claims_by_member",),
    parameters=("medical_oop_share_priority", "medical_oop_share_other", "prev_year_rural_income"),
    # The claims count and batch ids are looked up once per run for the members warned
    # (`rows_of`): a distinct list over every claim would cost ~3× the pass.
    sql=f"""
        SELECT m.household_key, m.member_key, :period_year AS period, m.oop_total,
               h.household_type, h.monitoring_state,
               CASE WHEN {_PRIORITY} THEN :medical_oop_share_priority ELSE :medical_oop_share_other END AS share,
               :prev_year_rural_income AS reference_income
        FROM claims_by_member AS m JOIN households AS h ON h.household_key = m.household_key
        WHERE m.oop_total > CASE WHEN {_PRIORITY} THEN :medical_oop_share_priority
                                 ELSE :medical_oop_share_other END * :prev_year_rural_income
    """,
    rows_of="claims_by_member",
    evidence=("oop_total", "claims", "household_type", "monitoring_state", "share", "reference_income"),
    pick="r.oop_total DESC, r.member_key",
    derive=Derive(("share", "reference_income"), _oop_threshold),
    version=2,
)

STAY_SELF_PAY = Rule(
    id="stay_self_pay",
    title=gettext_noop("单次住院个人自付费用超过规定金额"),
    cause=Cause.ILLNESS,
    severity=Severity.ORANGE,
    condition="one inpatient stay's personal payment after the three tiers exceeds the amount: the lower amount "
    "for members of monitored households",
    source="policy.md §4.3 (医保, unnamed locality: >6,000 监测对象, >10,000 other rural residents)",
    grade="V2",
    inputs=("medical_claims", "households"),
    parameters=("stay_self_pay_monitored", "stay_self_pay_other"),
    sql=f"""
        SELECT c.household_key, c.member_key, {_month("c.settle_date")} AS period,
               c.out_of_pocket, c.total_cost, c.settle_date, c.hospital_level, c.batch_id, h.monitoring_state,
               CASE WHEN {_MONITORED} THEN :stay_self_pay_monitored ELSE :stay_self_pay_other END AS threshold
        FROM medical_claims AS c JOIN households AS h ON h.household_key = c.household_key
        WHERE c.member_key IS NOT NULL AND c.visit_type = '住院' AND {_in_window("c.settle_date")}
          -- the claim alone first (pushed into the scan), then the household's own amount
          AND c.out_of_pocket > LEAST(:stay_self_pay_monitored, :stay_self_pay_other)
          AND c.out_of_pocket > CASE WHEN {_MONITORED} THEN :stay_self_pay_monitored ELSE :stay_self_pay_other END
    """,
    evidence=("out_of_pocket", "total_cost", "settle_date", "hospital_level", "monitoring_state", "threshold"),
    pick="r.out_of_pocket DESC, r.member_key, r.settle_date, r.batch_id",
    version=2,
)

SERIOUS_ILLNESS = Rule(
    id="serious_illness",
    title=gettext_noop("家庭成员确诊大病"),
    cause=Cause.ILLNESS,
    severity=Severity.ORANGE,
    condition="a member diagnosed with a serious illness (大病专项救治) in the 12 months screened",
    source="policy.md §4.3 (卫健: people meeting 大病专项救治 conditions)",
    grade="V2",
    inputs=("serious_illness",),
    parameters=(),
    sql=f"""
        SELECT s.household_key, s.member_key, {_month("s.diagnosed_on")} AS period,
               s.diagnosis, s.diagnosed_on, s.batch_id
        FROM serious_illness AS s
        WHERE s.member_key IS NOT NULL AND {_in_window("s.diagnosed_on")}
    """,
    evidence=("diagnosis", "diagnosed_on"),
    pick="r.member_key, r.diagnosed_on, r.diagnosis",
)

NEW_DISABILITY = Rule(
    id="new_disability",
    title=gettext_noop("家庭成员新办残疾人证"),
    cause=Cause.DISABILITY,
    severity=Severity.ORANGE,
    condition="a disability certificate issued in the 12 months screened and not cancelled",
    source="policy.md §4.3 (残联: newly disabled / severely disabled)",
    grade="V2",
    inputs=("disabilities",),
    parameters=(),
    sql=f"""
        SELECT d.household_key, d.member_key, {_month("d.issued_on")} AS period,
               d.disability_type, d.grade, d.issued_on, d.batch_id
        FROM disabilities AS d
        WHERE d.member_key IS NOT NULL AND {_in_window("d.issued_on")} AND COALESCE(d.status, '有效') = '有效'
    """,
    evidence=("disability_type", "grade", "issued_on"),
    pick="CASE r.grade WHEN '一级' THEN 1 WHEN '二级' THEN 2 WHEN '三级' THEN 3 ELSE 4 END, r.member_key, r.issued_on",
)

LABOURER_DEATH = Rule(
    id="labourer_death",
    title=gettext_noop("劳动年龄家庭成员死亡"),
    cause=Cause.LACK_OF_LABOUR,
    severity=Severity.RED,
    condition="a member who died in the 12 months screened at working age (16–60 inclusive, on the day of death)",
    source="policy.md §4.3 (公安/民政/卫健 deaths), §5.1 (缺劳动力); working-age band §7.3/§10.2 [I]",
    grade="V2",
    inputs=("deaths", "members"),
    parameters=("working_age_min", "working_age_max"),
    sql=f"""
        SELECT d.household_key, d.member_key, {_month("d.death_date")} AS period,
               d.death_date, {_age("m.birth_date", "d.death_date")} AS age_at_death, d.batch_id
        FROM deaths AS d JOIN members AS m ON m.member_key = d.member_key
        WHERE {_in_window("d.death_date")}
          AND {_age("m.birth_date", "d.death_date")} BETWEEN :working_age_min AND :working_age_max
    """,
    evidence=("death_date", "age_at_death"),
    pick="r.member_key, r.death_date, r.batch_id",
)

DECEASED_STILL_LISTED = Rule(
    id="deceased_still_listed",
    title=gettext_noop("已死亡成员仍在册"),
    cause=Cause.REGISTRY_OUT_OF_DATE,
    severity=Severity.YELLOW,
    condition="a death reported by a department (up to the end of the window) for a member the registry lists "
    "as living",
    source="policy.md §4.3 (公安: household register changes and deaths used in 比对)",
    grade="V2",
    inputs=("deaths", "members"),
    parameters=(),
    sql=f"""
        SELECT d.household_key, d.member_key, {_month("d.death_date")} AS period, d.death_date, d.batch_id
        FROM deaths AS d JOIN members AS m ON m.member_key = d.member_key
        WHERE NOT COALESCE(m.deceased, FALSE) AND d.death_date <= CAST(:window_end AS DATE)
    """,
    evidence=("death_date",),
    pick="r.member_key, r.death_date, r.batch_id",
)

SCHOOL_DROPOUT = Rule(
    id="school_dropout",
    title=gettext_noop("义务教育阶段适龄儿童少年失学辍学"),
    cause=Cause.COMPULSORY_EDUCATION,
    severity=Severity.RED,
    condition="a school record 辍学 in the 12 months screened for a member aged 6–15 on the record's date",
    source="policy.md §4.1 (义务教育: no compulsory-age child drops out; opinions 三(三)), §4.3 (教育)",
    grade="V1",
    inputs=("school_enrolment", "members"),
    parameters=("compulsory_school_age_min", "compulsory_school_age_max"),
    sql=f"""
        SELECT s.household_key, s.member_key, {_month("s.as_of_date")} AS period,
               s.school_stage, s.status, s.as_of_date, {_age("m.birth_date", "s.as_of_date")} AS age, s.batch_id
        FROM school_enrolment AS s JOIN members AS m ON m.member_key = s.member_key
        WHERE s.status = '辍学' AND {_in_window("s.as_of_date")}
          AND {_age("m.birth_date", "s.as_of_date")}
              BETWEEN :compulsory_school_age_min AND :compulsory_school_age_max
    """,
    evidence=("school_stage", "status", "as_of_date", "age"),
    pick="r.member_key, r.as_of_date, r.batch_id",
)

SCHOOL_NOT_ENROLLED = Rule(
    id="school_not_enrolled",
    title=gettext_noop("义务教育适龄儿童无在读学籍"),
    cause=Cause.COMPULSORY_EDUCATION,
    severity=Severity.YELLOW,
    condition="a living member aged 6–15 at the end of the window with no 在读 school record in the 12 months "
    "screened (only when a school feed is given; unlinked records make this a clue to check, not a finding)",
    source="policy.md §4.1 (义务教育 flag 是否义务教育阶段适龄儿童少年失学辍学)",
    grade="V2",
    inputs=("school_enrolment", "members"),
    parameters=("compulsory_school_age_min", "compulsory_school_age_max"),
    sql=f"""
        SELECT m.household_key, m.member_key, :period_year AS period,
               {_age("m.birth_date", "CAST(:window_end AS DATE)")} AS age
        FROM members AS m
        WHERE NOT COALESCE(m.deceased, FALSE)
          AND {_age("m.birth_date", "CAST(:window_end AS DATE)")}
              BETWEEN :compulsory_school_age_min AND :compulsory_school_age_max
          AND NOT EXISTS (
              SELECT 1 FROM school_enrolment AS s
              WHERE s.member_key = m.member_key AND s.status = '在读' AND {_in_window("s.as_of_date")}
          )
    """,
    evidence=("age",),
)

HOUSING_UNSAFE = Rule(
    id="housing_unsafe",
    title=gettext_noop("住房鉴定为C级或D级危房"),
    cause=Cause.HOUSING,
    severity=Severity.RED,
    condition="a house appraised C (局部危房) or D (整幢危房) in the 12 months screened",
    source="policy.md §4.1 (怀远县 农村危房鉴定标准: C and D are unsafe), §4.3 (住建)",
    grade="V1",
    inputs=("housing_appraisal",),
    parameters=(),
    sql=f"""
        SELECT a.household_key, {_NO_MEMBER}, {_month("a.appraisal_date")} AS period,
               a.grade, a.appraisal_date, a.batch_id
        FROM housing_appraisal AS a
        WHERE a.household_key IS NOT NULL AND a.grade IN ('C', 'D') AND {_in_window("a.appraisal_date")}
    """,
    evidence=("grade", "appraisal_date"),
    pick="r.grade DESC, r.appraisal_date DESC, r.batch_id",
)

WATER_PROBLEM = Rule(
    id="water_problem",
    title=gettext_noop("所在村饮水安全问题未解决"),
    cause=Cause.WATER,
    severity=Severity.ORANGE,
    condition="every household of a village with a water problem reported by the end of the window and not "
    "resolved by then",
    source="policy.md §4.1 (饮水安全: 水量, 水质, 用水方便, 供水保证率), §4.3 (水利)",
    grade="V1",
    inputs=("water_safety", "households"),
    parameters=(),
    sql=f"""
        SELECT h.household_key, {_NO_MEMBER}, {_month("w.reported_on")} AS period,
               w.village_code, w.problem, w.reported_on, w.batch_id
        FROM water_safety AS w JOIN households AS h ON h.village_code = w.village_code
        WHERE w.reported_on <= CAST(:window_end AS DATE)
          AND (w.resolved_on IS NULL OR w.resolved_on > CAST(:window_end AS DATE))
    """,
    evidence=("village_code", "problem", "reported_on"),
    pick="r.reported_on, r.problem, r.batch_id",
)

DISASTER_HOUSE_DAMAGE = Rule(
    id="disaster_house_damage",
    title=gettext_noop("灾害致房屋严重损坏或倒塌"),
    cause=Cause.DISASTER,
    severity=Severity.RED,
    condition="a disaster in the 12 months screened that left the house 严重损坏 or 倒塌",
    source="policy.md §4.3 (应急管理: disaster losses; 旺苍 monthly clues), §5.1 (因自然灾害)",
    grade="V1",
    inputs=("disaster_losses",),
    parameters=(),
    sql=f"""
        SELECT d.household_key, d.member_key, {_month("d.occurred_on")} AS period,
               d.disaster_type, d.occurred_on, d.loss_amount, d.house_damage, d.batch_id
        FROM disaster_losses AS d
        WHERE d.household_key IS NOT NULL AND d.house_damage IN ('严重损坏', '倒塌') AND {_in_window("d.occurred_on")}
    """,
    evidence=("disaster_type", "occurred_on", "loss_amount", "house_damage"),
    pick="r.loss_amount DESC, r.occurred_on, r.batch_id",
)

DISASTER_LOSS = Rule(
    id="disaster_loss",
    title=gettext_noop("灾害直接经济损失超过规定金额"),
    cause=Cause.DISASTER,
    severity=Severity.ORANGE,
    condition="a disaster in the 12 months screened with a direct loss above the amount",
    source="policy.md §4.3 (应急管理: disaster losses)",
    grade="V1",
    inputs=("disaster_losses",),
    parameters=("disaster_loss_amount",),
    sql=f"""
        SELECT d.household_key, d.member_key, {_month("d.occurred_on")} AS period,
               d.disaster_type, d.occurred_on, d.loss_amount, d.house_damage, d.batch_id,
               :disaster_loss_amount AS threshold
        FROM disaster_losses AS d
        WHERE d.household_key IS NOT NULL AND d.loss_amount > :disaster_loss_amount AND {_in_window("d.occurred_on")}
    """,
    evidence=("disaster_type", "occurred_on", "loss_amount", "house_damage", "threshold"),
    pick="r.loss_amount DESC, r.occurred_on, r.batch_id",
)

LABOURER_JOB_LOSS = Rule(
    id="labourer_job_loss",
    title=gettext_noop("劳动年龄成员失业登记或务工返乡"),
    cause=Cause.UNSTABLE_WORK,
    severity=Severity.ORANGE,
    condition="a 失业登记 or 务工返乡 record in the 12 months screened for a member of working age (16–60) "
    "on the record's date",
    source="policy.md §4.3 (人社: unemployment, migrant-work status), §5.1 (因务工就业不稳)",
    grade="V1",
    inputs=("employment", "members"),
    parameters=("working_age_min", "working_age_max"),
    sql=f"""
        SELECT e.household_key, e.member_key, {_month("e.as_of_date")} AS period,
               e.status, e.as_of_date, e.work_location, {_age("m.birth_date", "e.as_of_date")} AS age, e.batch_id
        FROM employment AS e JOIN members AS m ON m.member_key = e.member_key
        WHERE e.status IN ('失业登记', '务工返乡') AND {_in_window("e.as_of_date")}
          AND {_age("m.birth_date", "e.as_of_date")} BETWEEN :working_age_min AND :working_age_max
    """,
    evidence=("status", "as_of_date", "work_location", "age"),
    pick="r.member_key, r.as_of_date, r.batch_id",
)

ASSISTANCE_GRANTED = Rule(
    id="assistance_granted",
    title=gettext_noop("新纳入低保或特困"),
    cause=Cause.ASSISTANCE_CHANGE,
    severity=Severity.YELLOW,
    condition="a 低保 or 特困 record with status 纳入 effective in the 12 months screened",
    source="policy.md §4.3 (民政: monthly 低保/特困 lists), §7",
    grade="V2",
    inputs=("assistance_recipients",),
    parameters=(),
    sql=f"""
        SELECT r.household_key, r.member_key, {_month("r.effective_date")} AS period,
               r.assistance_type, r.status, r.effective_date, r.amount, r.batch_id
        FROM assistance_recipients AS r
        WHERE r.member_key IS NOT NULL AND r.assistance_type IN ('低保', '特困') AND r.status = '纳入'
          AND {_in_window("r.effective_date")}
    """,
    evidence=("assistance_type", "status", "effective_date", "amount"),
    pick="r.assistance_type DESC, r.member_key, r.effective_date, r.batch_id",  # 特困 before 低保
)

ASSISTANCE_ENDED = Rule(
    id="assistance_ended",
    title=gettext_noop("退出或停发低保、特困"),
    cause=Cause.ASSISTANCE_CHANGE,
    severity=Severity.YELLOW,
    condition="a 低保 or 特困 record with status 退出 or 停发 effective in the 12 months screened",
    source="policy.md §4.3 (民政), §7.2 (re-checks: reduce or stop the payment)",
    grade="V2",
    inputs=("assistance_recipients",),
    parameters=(),
    sql=f"""
        SELECT r.household_key, r.member_key, {_month("r.effective_date")} AS period,
               r.assistance_type, r.status, r.effective_date, r.batch_id
        FROM assistance_recipients AS r
        WHERE r.member_key IS NOT NULL AND r.assistance_type IN ('低保', '特困') AND r.status IN ('退出', '停发')
          AND {_in_window("r.effective_date")}
    """,
    evidence=("assistance_type", "status", "effective_date"),
    pick="r.assistance_type DESC, r.member_key, r.effective_date, r.batch_id",
)

MEDICAL_NOT_ENROLLED = Rule(
    id="medical_not_enrolled",
    title=gettext_noop("家庭成员未参加基本医疗保险"),
    cause=Cause.MEDICAL_INSURANCE,
    severity=Severity.ORANGE,
    condition="a living member whose enrolment record for the year says 未参保",
    source="policy.md §4.1 (基本医疗: 是否有家庭成员未参加城乡居民(职工)基本医疗保险)",
    grade="V2",
    inputs=("medical_enrolment", "members"),
    parameters=(),
    sql="""
        SELECT e.household_key, e.member_key, :period_year AS period, e.year, e.enrolled, e.batch_id
        FROM medical_enrolment AS e JOIN members AS m ON m.member_key = e.member_key
        WHERE NOT COALESCE(m.deceased, FALSE) AND e.year = :year AND e.enrolled = '未参保'
    """,
    evidence=("year", "enrolled"),
    pick="r.member_key, r.batch_id",
)

MEDICAL_OOP_INCOME_SHARE = Rule(
    id="medical_oop_income_share",
    title=gettext_noop("家庭年度医疗自付费用超过家庭纯收入的规定比例"),
    cause=Cause.ILLNESS,
    severity=Severity.ORANGE,
    condition="the household's out-of-pocket medical costs over the 12 months screened (all members' claims) "
    "exceed a share of its net income for the year: the lower share for 脱贫户 and monitored households; "
    "any cost exceeds it when the income is not positive",
    source="policy.md §1.2 (刚性支出 clearly exceeding income as a monitoring trigger), §2 (突发严重困难户: "
    "因病 刚性支出较大), §4.3 (医保 pushes claims; lower threshold for 脱贫/监测 people)",
    grade="V2",
    inputs=("medical_claims", "members", "households", "accounts"),
    parameters=("medical_oop_income_share_priority", "medical_oop_income_share_other"),
    uses=("claims_by_member",),
    # As in medical_oop_share: the totals here, the claims count and batch ids looked up by the run.
    sql=f"""
        SELECT s.household_key, {_NO_MEMBER}, :period_year AS period, s.oop_total,
               {_net("a")} AS net_income, a.population AS population, h.household_type, h.monitoring_state,
               CASE WHEN {_PRIORITY} THEN :medical_oop_income_share_priority
                    ELSE :medical_oop_income_share_other END AS max_share
        FROM (
            SELECT m.household_key, SUM(m.oop_total) AS oop_total
            FROM claims_by_member AS m
            GROUP BY m.household_key
        ) AS s
        JOIN households AS h ON h.household_key = s.household_key
        JOIN accounts AS a ON a.household_key = s.household_key AND a.year = :year AND a.population > 0
        WHERE s.oop_total > 0 AND s.oop_total > CASE WHEN {_PRIORITY} THEN :medical_oop_income_share_priority
                                                      ELSE :medical_oop_income_share_other END * {_net("a")}
    """,
    rows_of="claims_by_member",
    evidence=("oop_total", "claims", "net_income", "population", "household_type", "monitoring_state", "max_share"),
    derive=_share_of_income("oop_total"),
)

RIGID_EXPENSE_HARDSHIP = Rule(
    id="rigid_expense_hardship",
    title=gettext_noop("刚性支出超过家庭收入的规定比例（刚性支出困难）"),
    cause=Cause.RIGID_EXPENSE,
    severity=Severity.ORANGE,
    condition="the year's rigid expenditure (self-paid medical + education, from the household's accounts) "
    "exceeds the local share of its net income, and its per-capita net income is below the previous year's "
    "local per-capita disposable income; any rigid expenditure exceeds the share when income is not positive",
    source="policy.md §7.5 (《刚性支出困难家庭认定办法》 民发〔2024〕57号: 人均收入 < 上年人均可支配收入, "
    "刚性支出/家庭总收入 > local ratio, e.g. 沈阳 80%, 吉林 60%, 威海 75%), §1.2",
    grade="V2",
    inputs=("accounts",),
    parameters=("rigid_expense_share", "prev_year_disposable_income"),
    sql=f"""
        SELECT a.household_key, {_NO_MEMBER}, CAST(a.year AS VARCHAR) AS period,
               {_net("a")} AS net_income, a.population AS population,
               COALESCE(a.medical_expense, 0) AS medical_expense, COALESCE(a.education_expense, 0) AS education_expense,
               COALESCE(a.medical_expense, 0) + COALESCE(a.education_expense, 0) AS rigid_expense,
               :rigid_expense_share AS max_share, :prev_year_disposable_income AS reference_income
        FROM accounts AS a
        WHERE a.year = :year AND a.population > 0
          AND COALESCE(a.medical_expense, 0) + COALESCE(a.education_expense, 0) > 0
          AND COALESCE(a.medical_expense, 0) + COALESCE(a.education_expense, 0) > :rigid_expense_share * {_net("a")}
          AND {_net("a")} < :prev_year_disposable_income * CAST(a.population AS BIGINT)
    """,
    evidence=(
        "net_income",
        "population",
        "medical_expense",
        "education_expense",
        "rigid_expense",
        "max_share",
        "reference_income",
    ),
    derive=_share_of_income("rigid_expense"),
)

ALL_RULES: tuple[Rule, ...] = (
    INCOME_BELOW_LINE,
    INCOME_DROP,
    MEDICAL_OOP_SHARE,
    MEDICAL_OOP_INCOME_SHARE,
    STAY_SELF_PAY,
    SERIOUS_ILLNESS,
    NEW_DISABILITY,
    LABOURER_DEATH,
    DECEASED_STILL_LISTED,
    SCHOOL_DROPOUT,
    SCHOOL_NOT_ENROLLED,
    HOUSING_UNSAFE,
    WATER_PROBLEM,
    DISASTER_HOUSE_DAMAGE,
    DISASTER_LOSS,
    LABOURER_JOB_LOSS,
    ASSISTANCE_GRANTED,
    ASSISTANCE_ENDED,
    MEDICAL_NOT_ENROLLED,
    RIGID_EXPENSE_HARDSHIP,
)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}


# -- Rendering -----------------------------------------------------------------------------


def placeholders(rule: Rule) -> set[str]:
    """The :names a rule's SQL uses (a test checks they are declared)."""
    return {p.name for p in sqlglot.parse_one(rule.sql).find_all(exp.Placeholder) if p.name}


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"no SQL literal for {value}")
    if isinstance(value, int | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def deduplicated_sql(rule: Rule) -> str:
    """The rule wrapped so that each household has one finding per period (neutral dialect), in
    the order of household and period: the backend sorts the few findings while it has them, and
    the run only puts the rules' tables one after another."""
    return (
        "SELECT * FROM (SELECT r.*, "
        f"ROW_NUMBER() OVER (PARTITION BY r.household_key, r.period ORDER BY {rule.pick}) AS rule_pick, "
        "COUNT(*) OVER (PARTITION BY r.household_key, r.period) AS rule_hits "
        f"FROM ({rule.sql}) AS r) AS w WHERE w.rule_pick = 1 ORDER BY w.household_key, w.period"
    )


def render_sql(rule: Rule, values: Mapping[str, Any], dialect: str) -> str:
    """The rule's deduplicated SQL in `dialect` with every placeholder replaced by a literal.

    `values` holds the parameters and the run's built-ins. Values become typed literals
    (never spliced text), so a parameter cannot change the shape of the query.
    """
    return _render(deduplicated_sql(rule), values, dialect, rule.id)


def render_derived_sql(derived: Derived, values: Mapping[str, Any], dialect: str) -> str:
    return _render(derived.sql, values, dialect, derived.name)


def rows_sql(derived: Derived) -> str:
    """The look-up of `derived.rows`: the number of rows and their distinct batch ids per member
    in ROWS_MEMBERS (household_key null), and per household in ROWS_HOUSEHOLDS over all its
    members (member_key null). One scan of the rows, joined with the few members warned."""
    if derived.rows is None:
        raise ValueError(f"derived relation {derived.name} declares no rows")
    return f"""
        WITH k AS (
            SELECT m.member_key, m.household_key
            FROM {derived.name} AS m JOIN {ROWS_MEMBERS} AS w ON w.member_key = m.member_key
            UNION
            SELECT m.member_key, m.household_key
            FROM {derived.name} AS m JOIN {ROWS_HOUSEHOLDS} AS w ON w.household_key = m.household_key
        ), r AS (
            SELECT k.member_key, k.household_key, d.batch_id
            FROM ({derived.rows}) AS d JOIN k ON k.member_key = d.member_key
        )
        SELECT CAST(r.member_key AS BIGINT) AS member_key, CAST(NULL AS BIGINT) AS household_key,
               COUNT(*) AS row_count, ARRAY_AGG(DISTINCT r.batch_id) AS batch_ids
        FROM r GROUP BY r.member_key
        UNION ALL
        SELECT CAST(NULL AS BIGINT) AS member_key, CAST(r.household_key AS BIGINT) AS household_key,
               COUNT(*) AS row_count, ARRAY_AGG(DISTINCT r.batch_id) AS batch_ids
        FROM r JOIN {ROWS_HOUSEHOLDS} AS w ON w.household_key = r.household_key GROUP BY r.household_key
    """


def render_rows_sql(derived: Derived, values: Mapping[str, Any], dialect: str) -> str:
    return _render(rows_sql(derived), values, dialect, f"{derived.name} rows")


# A placeholder becomes this identifier in a rendered template, then the literal's own SQL.
_SLOT = "sw_placeholder__"
_SLOTS = re.compile(rf"\b{_SLOT}([A-Za-z_][A-Za-z0-9_]*)\b")


@functools.lru_cache(maxsize=512)
def _template(sql: str, dialect: str) -> tuple[str, frozenset[str]]:
    """`sql` in `dialect`, each :name standing as a slot identifier: shipped transpiled for the
    rule library (`engine.screening.compiled`), else transpiled once per process. A run, a
    re-screen or a policy simulation then only fills the slots."""
    from engine.screening import compiled  # it imports this module to build the file

    found = compiled.shipped().get(compiled.key(sql, dialect))
    return found if found is not None else _transpile(sql, dialect)


def _transpile(sql: str, dialect: str) -> tuple[str, frozenset[str]]:
    """Parsing and generating cost ~7 ms a rule (a third of a county's screening, before the
    library was shipped transpiled)."""
    if _SLOT in sql:
        raise ValueError(f"rule SQL may not contain {_SLOT!r}")
    tree = sqlglot.parse_one(sql)
    names = frozenset(p.name for p in tree.find_all(exp.Placeholder) if p.name)

    def slot(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            return exp.column(_SLOT + node.name)
        return node

    return tree.transform(slot, copy=False).sql(dialect=dialect), names


def _render(sql: str, values: Mapping[str, Any], dialect: str, name: str) -> str:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; choose one of {DIALECTS}")
    text, names = _template(sql, dialect)
    missing = sorted(names - set(values))
    if missing:
        raise KeyError(f"rule {name}: no value for {missing}")
    # Each value is rendered by SQLGlot as a typed literal of the dialect (a string quoted and
    # escaped, a number from its digits) and stands where the placeholder stood, nothing more.
    literals = {key: _literal_sql(values[key], dialect) for key in names}
    return _SLOTS.sub(lambda m: literals[m.group(1)], text)


def _literal_sql(value: Any, dialect: str) -> str:
    text = _literal(value).sql(dialect=dialect)
    return f"({text})" if text.startswith("-") else text  # a negative number binds as one operand
