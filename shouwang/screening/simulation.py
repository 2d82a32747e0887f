"""Policy simulation (政策模拟): "what if the line were 9,000?" — counted, never written.

`simulate(region_code, year, overrides)` screens the region twice in process with the same
inputs `do_screen` gathers (registry snapshots + the county's feed Parquet): once with the
parameters in force today and once with some of them replaced
(`ResolvedParameters.with_values`). Only the rules that use a changed parameter are run a
second time; the others cannot differ. Nothing is stored: no run, no warning, no audit event.

The result counts households per township (per village for a township), and in total:
households warned by any rule, households warned by each rule a changed parameter feeds,
and households whose per-capita net income for the year is under the monitoring line
(whatever their monitoring state: the income rule itself leaves out households already
monitored, this count does not).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from django.utils.translation import gettext

from engine.screening import (
    ALL_RULES,
    RULES_BY_ID,
    ParameterError,
    ResolvedParameters,
    ScreeningError,
    evaluate_rules,
    resolve_parameters,
)
from shouwang.regions.models import Level, Region
from shouwang.registry.snapshot import account_snapshot, household_snapshot, member_snapshot
from shouwang.screening.actions import MIN_YEAR, ScreeningRequestError, county_feed_inputs
from shouwang.screening.parameters import effective_parameter_table
from shouwang.screening.text import PARAMETER_LABELS, rule_title, skip_reason_zh

LINE = "monitoring_line"
# Every parameter a rule reads: the only names a simulation may change.
RULE_PARAMETERS: tuple[str, ...] = tuple(dict.fromkeys(p for r in ALL_RULES for p in r.parameters))


class SimulationError(ScreeningRequestError):
    """A simulation that cannot run as asked (bad region, year, parameter or value); Chinese text."""


@dataclass(frozen=True)
class ParameterField:
    """One parameter of the form: today's value in the region and year, and its source."""

    name: str
    label: str
    value: Decimal | None
    unit: str
    grade: str
    source: str
    rules: tuple[str, ...]


@dataclass
class AreaCounts:
    """Household counts of one township (or village), or of the whole region."""

    code: str
    name: str
    warned_today: int = 0
    warned_simulated: int = 0
    below_today: int = 0
    below_simulated: int = 0
    by_rule: dict[str, list[int]] = field(default_factory=dict)  # rule id → [today, simulated]

    @property
    def warned_diff(self) -> int:
        return self.warned_simulated - self.warned_today

    @property
    def below_diff(self) -> int:
        return self.below_simulated - self.below_today

    def rule_counts(self, rule_ids: Iterable[str]) -> list[tuple[int, int, int]]:
        """(today, simulated, difference) for each rule, in the order given."""
        out = []
        for rule_id in rule_ids:
            today, simulated = self.by_rule.get(rule_id, [0, 0])
            out.append((today, simulated, simulated - today))
        return out


@dataclass(frozen=True)
class SimulationResult:
    region_code: str
    region_name: str
    year: int
    changed: dict[str, tuple[Decimal | None, Decimal]]  # name → (today, simulated)
    rules: tuple[str, ...]  # the rules a changed parameter feeds (run a second time)
    areas: list[AreaCounts]
    total: AreaCounts
    area_level: str  # "乡镇" or "村"
    line_today: Decimal | None
    line_simulated: Decimal | None
    skipped: dict[str, str]  # rule id → why it could not run (Chinese)
    seconds: float

    def rule_titles(self) -> list[tuple[str, str]]:
        return [(r, rule_title(r)) for r in self.rules]


def check_region(region_code: str, year: int) -> Region:
    """A county or a township that exists, and a year that can be screened."""
    region = Region.objects.filter(pk=region_code).first()
    if region is None:
        raise SimulationError(gettext("找不到区划：%(code)s") % {"code": region_code})
    if region.level not in (Level.COUNTY, Level.TOWNSHIP):
        raise SimulationError(
            gettext("%(name)s（%(code)s）不是县或乡镇：政策模拟按县或乡镇进行")
            % {"name": region.name, "code": region.code}
        )
    this_year = dt.date.today().year
    if not MIN_YEAR <= int(year) <= this_year:
        raise SimulationError(
            gettext("年度 %(year)s 无效：只能模拟 %(first)s 年至 %(last)s 年")
            % {"year": year, "first": MIN_YEAR, "last": this_year}
        )
    return region


def current_parameters(region_code: str, year: int) -> ResolvedParameters:
    try:
        return resolve_parameters(effective_parameter_table(region_code), region_code, int(year))
    except ParameterError as exc:
        raise SimulationError(gettext("参数表无法使用：%(error)s") % {"error": exc}) from exc


def parameter_fields(params: ResolvedParameters) -> list[ParameterField]:
    """The numeric parameters the rules read, with today's value (or none) and its source."""
    fields = []
    for name in RULE_PARAMETERS:
        pv = params.values.get(name)
        fields.append(
            ParameterField(
                name=name,
                label=str(PARAMETER_LABELS.get(name, name)),
                value=pv.value if pv else None,
                unit=pv.unit if pv else "",
                grade=pv.grade if pv else "",
                source=pv.source if pv else "",
                rules=tuple(r.id for r in ALL_RULES if name in r.parameters),
            )
        )
    return fields


def parse_overrides(raw: Mapping[str, Any]) -> dict[str, Decimal]:
    """Form or command input → checked values: known names, numbers, not negative.

    Empty values are left out (unchanged). Raises `SimulationError` listing every problem.
    """
    errors: list[str] = []
    values: dict[str, Decimal] = {}
    for name, given in raw.items():
        text = str(given if given is not None else "").strip().replace(",", "").replace("，", "")
        if name not in RULE_PARAMETERS:
            errors.append(gettext("未知的参数：%(name)s") % {"name": name})
            continue
        if not text:
            continue
        label = PARAMETER_LABELS.get(name, name)
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors.append(gettext("%(label)s：“%(value)s”不是数字") % {"label": label, "value": given})
            continue
        if not value.is_finite():
            errors.append(gettext("%(label)s：“%(value)s”不是有效数字") % {"label": label, "value": given})
        elif value < 0:
            errors.append(gettext("%(label)s：不能为负数") % {"label": label})
        else:
            values[name] = value
    if errors:
        raise SimulationError(gettext("；").join(errors))
    return values


def simulate(region_code: str, year: int, overrides: Mapping[str, Decimal | int | str]) -> SimulationResult:
    """Screen `region_code` for `year` today and with `overrides`; count, write nothing."""
    started = time.perf_counter()
    region = check_region(region_code, year)
    year = int(year)
    checked = parse_overrides(overrides)
    today = current_parameters(region.code, year)
    changed = {
        name: (today.values[name].value if name in today else None, value)
        for name, value in checked.items()
        if name not in today or today.values[name].value != value
    }
    simulated = today.with_values(source="政策模拟", **{n: v for n, (_, v) in changed.items()})
    affected = tuple(r.id for r in ALL_RULES if set(r.parameters) & set(changed))

    members = member_snapshot(region.code)
    households = household_snapshot(region.code)
    accounts = account_snapshot(region.code)
    feeds = county_feed_inputs(region.code)
    try:
        now = evaluate_rules(members, accounts, feeds, today, ALL_RULES, households=households)
        again = (
            evaluate_rules(
                members, accounts, feeds, simulated, [RULES_BY_ID[r] for r in affected], households=households
            )
            if affected
            else None
        )
    except ScreeningError as exc:
        raise SimulationError(gettext("模拟失败：%(error)s") % {"error": exc}) from exc

    child_len = 9 if region.level == Level.COUNTY else 12
    village_of = dict(
        zip(
            households.column("household_key").to_pylist(),
            households.column("village_code").to_pylist(),
            strict=True,
        )
    )
    area_of = {hk: code[:child_len] for hk, code in village_of.items()}

    warned_today = _warned(now.warnings, area_of)
    warned_sim = {r: hs for r, hs in warned_today.items() if r not in affected}
    if again is not None:
        warned_sim.update(_warned(again.warnings, area_of))

    line_today, line_sim = _value(today, LINE), _value(simulated, LINE)
    incomes = _per_capita_incomes(accounts, year, area_of)

    children = Region.objects.filter(code__startswith=region.code, level=region.level + 1).order_by("code")
    areas = {c.code: AreaCounts(c.code, c.name) for c in children}
    total = AreaCounts(region.code, gettext("%(name)s合计") % {"name": region.name})

    def area(hk: int) -> AreaCounts:
        code = area_of[hk]
        if code not in areas:
            areas[code] = AreaCounts(code, code)
        return areas[code]

    for which, by_rule in ((0, warned_today), (1, warned_sim)):
        anyone: set[int] = set().union(*by_rule.values()) if by_rule else set()
        for hk in anyone:
            for target in (area(hk), total):
                if which == 0:
                    target.warned_today += 1
                else:
                    target.warned_simulated += 1
        for rule_id in affected:
            for hk in by_rule.get(rule_id, set()):
                for target in (area(hk), total):
                    target.by_rule.setdefault(rule_id, [0, 0])[which] += 1
    for hk, per_head in incomes:
        if line_today is not None and per_head < line_today:
            area(hk).below_today += 1
            total.below_today += 1
        if line_sim is not None and per_head < line_sim:
            area(hk).below_simulated += 1
            total.below_simulated += 1

    # Rules that could not run (an input or a parameter missing), after the simulation.
    given = {"members", "households", "accounts", *feeds}
    skipped_ids = {r for r in now.manifest.get("skipped", {}) if r not in affected}
    if again is not None:
        skipped_ids |= set(again.manifest.get("skipped", {}))
    skipped = {
        r: skip_reason_zh(r, given, simulated.missing(RULES_BY_ID[r].parameters), region.code, year)
        for r in sorted(skipped_ids)
    }
    return SimulationResult(
        region_code=region.code,
        region_name=region.name,
        year=year,
        changed=changed,
        rules=affected,
        areas=sorted(areas.values(), key=lambda a: a.code),
        total=total,
        area_level="乡镇" if region.level == Level.COUNTY else "村",
        line_today=line_today,
        line_simulated=line_sim,
        skipped=skipped,
        seconds=round(time.perf_counter() - started, 2),
    )


def _value(params: ResolvedParameters, name: str) -> Decimal | None:
    pv = params.values.get(name)
    return pv.value if pv is not None else None


def _warned(warnings: pa.Table, area_of: Mapping[int, str]) -> dict[str, set[int]]:
    """Rule id → the region's households it warns (any period)."""
    out: dict[str, set[int]] = defaultdict(set)
    keys = warnings.column("household_key").to_pylist()
    rules = warnings.column("rule_id").to_pylist()
    for hk, rule_id in zip(keys, rules, strict=True):
        if hk in area_of:
            out[rule_id].add(hk)
    return dict(out)


def _per_capita_incomes(accounts: pa.Table, year: int, area_of: Mapping[int, str]) -> list[tuple[int, Decimal]]:
    """(household, per-capita net income) for the year; net as the rules derive it (policy.md §4.2)."""
    out = []
    zero = Decimal(0)
    for row in accounts.to_pylist():
        if row["year"] != year or not row["population"] or row["household_key"] not in area_of:
            continue
        net = (
            (row["wage_income"] or zero)
            + (row["operating_income"] or zero)
            - (row["operating_cost"] or zero)
            + (row["property_income"] or zero)
            + (row["transfer_income"] or zero)
        )
        out.append((row["household_key"], net / row["population"]))
    return out
