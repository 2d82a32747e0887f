"""Assistance plans (一户一策) and follow-up visits (回访), with the checks auditors run.

A monitored household's plan is its measures. Three checks flag a plan that falls short
(policy.md §3.3, §5.2; the time limits are parameters):

- no measure in place a month after identification (动态清零: help comes quickly);
- a household with labour capacity and no development measure (产业、就业、金融、公益岗位)
  six months after identification: it should be helped to earn, not only supported;
- a risk cause without a measure that answers it (因病 without 健康帮扶 or 综合保障, …).

Visits follow a schedule (every `visit_interval_days`, a parameter); what a visit finds goes
into the registry through the registry's own write path (so it is in the change history),
and a new risk found on a visit becomes a warning — for a risk-eliminated household, a new
identification case (返贫致贫风险).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from shouwang.core.audit import record_event
from shouwang.monitoring import catalogue
from shouwang.monitoring.models import Measure, MeasureStatus, MonitoringRecord, RiskCause, Visit
from shouwang.monitoring.procedure import (
    ELIMINATED,
    MONITORED,
    Deadlines,
    ProcedureError,
    add_months,
    deadlines,
    open_from_warning,
)
from shouwang.registry.actions import do_update_household
from shouwang.registry.models import Household

# Household facts a visit may correct: the 两不愁三保障 and water flags and the housing grade.
VISIT_FIELDS = (
    "food_clothing_ok",
    "water_quantity_ok",
    "water_quality_ok",
    "water_convenience_ok",
    "water_reliability_ok",
    "housing_grade",
)


def measures_in_place(household: Household) -> list[Measure]:
    return [m for m in household.measures.all() if m.active]


def development_measures(household: Household) -> list[Measure]:
    development = catalogue.development_categories()
    return [m for m in measures_in_place(household) if m.category in development]


# -- Measures ------------------------------------------------------------------------------


def _measure_values(values: Mapping[str, Any]) -> dict[str, Any]:
    category, subtype = (values.get("category") or "").strip(), (values.get("subtype") or "").strip()
    if not catalogue.is_known(category, subtype):
        raise ProcedureError(gettext("请从措施目录中选择措施类别和具体措施"))
    content = (values.get("content") or "").strip()
    responsible = (values.get("responsible") or "").strip()
    if not content or not responsible:
        raise ProcedureError(gettext("请填写措施内容和责任人"))
    starts_on, ends_on = values.get("starts_on"), values.get("ends_on")
    if not isinstance(starts_on, dt.date):
        raise ProcedureError(gettext("请填写开始日期"))
    if ends_on is not None and ends_on < starts_on:
        raise ProcedureError(gettext("结束日期不能早于开始日期"))
    try:
        funds = Decimal(str(values.get("funds") or 0))
    except InvalidOperation:
        raise ProcedureError(gettext("投入资金应为金额，如 3000 或 1200.50")) from None
    if funds < 0:
        raise ProcedureError(gettext("投入资金不能为负数"))
    status = values.get("status") or MeasureStatus.PLANNED
    if status not in MeasureStatus.values:
        raise ProcedureError(gettext("未知的措施状态"))
    return {
        "category": category,
        "subtype": subtype,
        "content": content[:300],
        "responsible": responsible[:50],
        "starts_on": starts_on,
        "ends_on": ends_on,
        "funds": funds,
        "status": status,
        "effect": (values.get("effect") or "").strip()[:300],
    }


def do_add_measure(household: Household, values: Mapping[str, Any], *, user: Any, request: Any = None) -> Measure:
    if household.monitoring_state not in (MONITORED, ELIMINATED):
        raise ProcedureError(gettext("只能为监测对象制定帮扶措施"))
    measure = Measure.objects.create(household=household, created_by=user, **_measure_values(values))
    record_event(
        "monitoring.measure_added",
        actor=user,
        request=request,
        obj=measure,
        region_code=household.village_id,
        category=measure.category,
    )
    return measure


def do_update_measure(measure: Measure, values: Mapping[str, Any], *, user: Any, request: Any = None) -> Measure:
    cleaned = _measure_values(values)
    before = {k: str(getattr(measure, k)) for k in cleaned}
    for name, value in cleaned.items():
        setattr(measure, name, value)
    measure.save()
    after = {k: str(getattr(measure, k)) for k in cleaned}
    changed = {k: [before[k], after[k]] for k in cleaned if before[k] != after[k]}
    record_event(
        "monitoring.measure_updated",
        actor=user,
        request=request,
        obj=measure,
        region_code=measure.household.village_id,
        changed=changed,
    )
    return measure


# -- Plan checks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    key: str
    message: str
    since: dt.date | None = None  # from when it applies (for ordering by urgency)


def plan_flags(household: Household, today: dt.date | None = None, limits: Deadlines | None = None) -> list[Flag]:
    """What an auditor would flag in a monitored household's plan today."""
    today = today or timezone.localdate()
    if household.monitoring_state != MONITORED:
        return []
    record = MonitoringRecord.objects.filter(household=household).first()
    if record is None or record.identified_on is None:
        return []
    return flags_for_plan(
        identified_on=record.identified_on,
        causes=record.risk_causes,
        categories_in_place={m.category for m in measures_in_place(household)},
        without_labour=household.without_labour,
        today=today,
        limits=limits or deadlines(household.village_id, today.year),
    )


def flags_for_plan(
    *,
    identified_on: dt.date,
    causes: Sequence[str],
    categories_in_place: set[str],
    without_labour: bool,
    today: dt.date,
    limits: Deadlines,
) -> list[Flag]:
    """The checks themselves, on facts already fetched: the statistics run them for a whole
    county at once, the household page for one household."""
    flags = []
    first_due = add_months(identified_on, limits.first_measure_months)
    if not categories_in_place and first_due <= today:
        message = gettext("纳入监测满 %(months)s 个月仍未落实帮扶措施") % {"months": limits.first_measure_months}
        flags.append(Flag("no_measure", message, first_due))
    development_due = add_months(identified_on, limits.development_measure_months)
    if (
        not without_labour
        and not (categories_in_place & catalogue.development_categories())
        and development_due <= today
    ):
        flags.append(
            Flag(
                "no_development",
                gettext("有劳动能力，纳入监测满 %(months)s 个月仍未落实开发式帮扶（产业、就业、金融、公益岗位）")
                % {"months": limits.development_measure_months},
                development_due,
            )
        )
    mapping = catalogue.cause_categories()
    # A month to match the measures to the causes, as for the first measure.
    for cause in causes if first_due <= today else ():
        answers = mapping.get(cause)
        if answers and not (answers & categories_in_place):
            flags.append(
                Flag(
                    f"cause:{cause}",
                    gettext("风险类型“%(cause)s”没有对应的帮扶措施（应有：%(categories)s）")
                    % {"cause": gettext(cause), "categories": gettext("、").join(sorted(answers))},
                    first_due,
                )
            )
    return flags


# -- Visits --------------------------------------------------------------------------------


def next_visit_due(
    household: Household, today: dt.date | None = None, limits: Deadlines | None = None
) -> dt.date | None:
    """When the household should next be visited; None when it is not monitored."""
    today = today or timezone.localdate()
    if household.monitoring_state != MONITORED:
        return None
    record = MonitoringRecord.objects.filter(household=household).first()
    last = household.visits.order_by("-visited_on").values_list("visited_on", flat=True).first()
    identified = record.identified_on if record else None
    if last is None and identified is None:
        return today  # no need to look up the interval
    return visit_due(last, identified, today, limits or deadlines(household.village_id, today.year))


def visit_due(last_visit: dt.date | None, identified_on: dt.date | None, today: dt.date, limits: Deadlines) -> dt.date:
    """The next visit is due one interval after the last (or after identification); a
    household never visited nor dated is due today."""
    start = last_visit or identified_on
    if start is None:
        return today
    return start + dt.timedelta(days=limits.visit_interval_days)


def do_record_visit(
    household: Household,
    *,
    user: Any,
    visited_on: dt.date,
    findings: str,
    updates: Mapping[str, Any] | None = None,
    new_risk_causes: Sequence[str] = (),
    request: Any = None,
) -> Visit:
    """A follow-up visit: the findings, the registry facts it corrected, a new risk."""
    if household.monitoring_state not in (MONITORED, ELIMINATED):
        raise ProcedureError(gettext("回访登记用于监测对象和已消除风险的农户；其他农户发现风险请登记“干部排查”"))
    if visited_on > timezone.localdate():
        raise ProcedureError(gettext("走访日期不能晚于今天"))
    findings = (findings or "").strip()
    if not findings:
        raise ProcedureError(gettext("请填写走访情况"))
    updates = dict(updates or {})
    unknown = sorted(set(updates) - set(VISIT_FIELDS))
    if unknown:
        raise ProcedureError(gettext("回访不能修改这些信息：%(fields)s") % {"fields": "、".join(unknown)})
    causes = list(dict.fromkeys(c for c in new_risk_causes if c))
    bad = [c for c in causes if c not in RiskCause.values]
    if bad:
        raise ProcedureError(gettext("未知的风险类型：%(causes)s") % {"causes": "、".join(bad)})
    with transaction.atomic():
        before = {name: getattr(household, name) for name in updates}
        do_update_household(household, updates, actor=user, source=f"回访 {visited_on:%Y-%m-%d}")
        changes = {
            k: [str(before[k]), str(getattr(household, k))] for k in updates if before[k] != getattr(household, k)
        }
        visit = Visit.objects.create(
            household=household,
            visited_on=visited_on,
            visitor=user,
            findings=findings[:2000],
            new_risk=bool(causes),
            new_risk_causes=causes,
            changes=changes,
        )
        record_event(
            "monitoring.visit", actor=user, request=request, obj=visit, region_code=household.village_id, causes=causes
        )
        if causes:
            warning = visit_warning(visit)
            if household.monitoring_state == ELIMINATED:
                open_from_warning(warning, user=user, request=request)
    return visit


VISIT_RULE = "visit_new_risk"


def visit_warning(visit: Visit) -> Any:
    """The new risk of a visit as a warning, in the same queue as the screening's."""
    from shouwang.screening.models import Severity, Warning, WarningStatus

    evidence = {"visit": visit.pk, "visited_on": visit.visited_on.isoformat(), "risk_causes": visit.new_risk_causes}
    canonical = json.dumps(evidence, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    warning, _ = Warning.objects.get_or_create(
        household=visit.household,
        rule_id=VISIT_RULE,
        period=f"{visit.visited_on:%Y-%m-%d}"[:7],
        defaults={
            "severity": Severity.ORANGE,
            "cause": visit.new_risk_causes[0],
            "evidence": evidence,
            "evidence_hash": hashlib.sha256(canonical.encode()).hexdigest(),
            "status": WarningStatus.OPEN,
            "note": visit.findings[:300],
        },
    )
    return warning
