"""What each user has to do, by urgency, and what is overdue below them (待办与超期).

A village cadre's tasks are the warnings of their village not yet taken up, the cases at a
village step, notices whose days are over, and the monitored households due for a visit or
whose plan is flagged; a township officer's, the applications to pass on and the audits; a
county officer's, the approvals. Each task has a due date: a warning's runs from the day it
was raised, like the case it would become (the fifteen days count from discovery).

Urgency is three colours, as counties mark them: red — overdue; orange — due within two
days; yellow — within five. Every level also sees the overdue and nearly overdue items of the
regions below it, counted by colour.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case as DbCase
from django.db.models import Count, Exists, F, OuterRef, When
from django.db.models.functions import Substr, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from engine.screening import load_parameters, resolve_parameters
from shouwang.accounts.roles import Capability
from shouwang.core.scoping import subtree
from shouwang.monitoring.assistance import next_visit_due, plan_flags
from shouwang.monitoring.models import OPEN_STEPS, VILLAGE_STEPS, Case, Notice, Step
from shouwang.monitoring.procedure import deadlines
from shouwang.regions.models import Level, Region
from shouwang.registry.models import Household

COLOURS = ("red", "orange", "yellow")
# Translated where shown ({% translate label %}).
COLOUR_LABELS = {
    "red": gettext_noop("已超期"),
    "orange": gettext_noop("2 天内到期"),
    "yellow": gettext_noop("5 天内到期"),
}
CSS = {"red": "danger", "orange": "warning", "yellow": "info", "": "secondary"}


def urgency(due: dt.date | None, today: dt.date) -> str:
    if due is None:
        return ""
    left = (due - today).days
    if left < 0:
        return "red"
    if left <= 2:
        return "orange"
    if left <= 5:
        return "yellow"
    return ""


@dataclass
class Task:
    kind: str
    title: str
    detail: str
    url: str
    due: dt.date | None
    colour: str = ""
    village: str = ""

    @property
    def css(self) -> str:
        return CSS[self.colour]

    @property
    def days_left(self) -> int | None:
        return None if self.due is None else (self.due - timezone.localdate()).days

    @property
    def days_overdue(self) -> int:
        left = self.days_left
        return -left if left is not None and left < 0 else 0


def _level(user: Any) -> int | None:
    return user.region.level if getattr(user, "region", None) is not None else None


def untaken_warnings(prefix: str) -> Any:
    """Open warnings of households under `prefix` that no open case has taken up yet."""
    from shouwang.screening.models import Warning, WarningStatus

    taken = Case.objects.filter(warnings=OuterRef("pk"), step__in=OPEN_STEPS)
    # The monitored households of the area, as one set (an index gives them), rather than a
    # join of every warning to its household.
    monitored = Household.objects.filter(subtree("village__pk", prefix), monitoring_state="监测中").values("pk")
    return (
        Warning.objects.filter(subtree("village__pk", prefix), status=WarningStatus.OPEN)
        .exclude(household_id__in=monitored)
        .annotate(taken=Exists(taken))
        .filter(taken=False)
    )


def _warning_due(created_at: dt.datetime, limit: int) -> dt.date:
    return timezone.localtime(created_at).date() + dt.timedelta(days=limit)


def tasks(user: Any, today: dt.date | None = None, limit: int = 300) -> list[Task]:
    """The user's own tasks, most urgent first."""
    from shouwang.screening.text import rule_title

    today = today or timezone.localdate()
    prefix = user.region_prefix or ""
    level = _level(user)
    if not prefix or level is None or not user.can(Capability.EDIT_REGISTRY):
        return []
    out: list[Task] = []
    limits = deadlines(prefix if len(prefix) == 12 else (prefix + "0" * 12)[:12], today.year)
    cases = Case.objects.restrict(user).select_related("household", "village")
    if level == Level.VILLAGE:
        for w in untaken_warnings(prefix).select_related("household").order_by("created_at")[:limit]:
            due = _warning_due(w.created_at, limits.identification_days)
            out.append(
                Task(
                    "warning",
                    gettext("预警线索：%(rule)s") % {"rule": rule_title(w.rule_id)},
                    gettext("户 %(number)s，待入户核实") % {"number": w.household.number},
                    reverse("screening:warning_detail", args=[w.pk]),
                    due,
                )
            )
        for case in cases.filter(step__in=VILLAGE_STEPS):
            out.append(_case_task(case))
        for notice in Notice.objects.restrict(user).filter(closed_at__isnull=True, ends_on__lt=today):
            out.append(
                Task(
                    "notice",
                    gettext("公示期满，请结束公示"),
                    gettext("%(start)s 至 %(end)s，%(n)s 户")
                    % {
                        "start": f"{notice.starts_on:%m-%d}",
                        "end": f"{notice.ends_on:%m-%d}",
                        "n": notice.cases.count(),
                    },
                    reverse("monitoring:notice_detail", args=[notice.pk]),
                    notice.ends_on + dt.timedelta(days=1),
                )
            )
        monitored = Household.objects.restrict(user).filter(monitoring_state="监测中").prefetch_related("measures")
        out.extend(_household_tasks(monitored, today, limits))
    elif level == Level.TOWNSHIP:
        for case in cases.filter(step=Step.ROUTING):
            out.append(_case_task(case, due=case.routing_due_on, title=gettext("自主申报待分派到村")))
        for case in cases.filter(step=Step.TOWNSHIP_AUDIT):
            out.append(_case_task(case))
    elif level == Level.COUNTY:
        for case in cases.filter(step=Step.COUNTY_APPROVAL):
            out.append(_case_task(case))
    for task in out:
        task.colour = urgency(task.due, today)
    out.sort(key=lambda t: (t.due or dt.date.max, t.kind, t.title))
    return out[:limit]


def _case_task(case: Case, *, due: dt.date | None = None, title: str = "") -> Task:
    who = case.household.number if case.household else gettext("申请人 %(name)s") % {"name": case.applicant_name}
    return Task(
        "case",
        title or gettext("%(kind)s：%(step)s") % {"kind": case.get_kind_display(), "step": case.get_step_display()},
        gettext("户 %(number)s") % {"number": who} + (gettext("（风险消除后返贫致贫风险）") if case.returning else ""),
        reverse("monitoring:case_detail", args=[case.pk]),
        due or case.due_on,
        village=case.village_id,
    )


def _household_tasks(households: Iterable[Household], today: dt.date, limits: Any) -> list[Task]:
    out = []
    for household in households:
        due = next_visit_due(household, today, limits)
        url = reverse("monitoring:household", args=[household.pk])
        if due is not None and due <= today + dt.timedelta(days=5):
            out.append(
                Task("visit", gettext("回访到期"), gettext("户 %(number)s") % {"number": household.number}, url, due)
            )
        for flag in plan_flags(household, today, limits):
            detail = gettext("户 %(number)s：%(flag)s") % {"number": household.number, "flag": flag.message}
            out.append(Task("plan", gettext("帮扶措施待落实"), detail, url, flag.since))
    return out


def task_count(user: Any) -> int:
    """The navigation's badge: the procedure's own steps waiting for the user (warnings to take
    up, cases at their level, notices whose days are over) — counted, not built, since every
    page shows it. Visits and plan checks are listed in the inbox itself."""
    prefix = user.region_prefix or ""
    level = _level(user)
    if not prefix or level is None or not user.can(Capability.EDIT_REGISTRY):
        return 0
    cases = Case.objects.restrict(user)
    if level == Level.VILLAGE:
        today = timezone.localdate()
        notices = Notice.objects.restrict(user).filter(closed_at__isnull=True, ends_on__lt=today)
        return untaken_warnings(prefix).count() + cases.filter(step__in=VILLAGE_STEPS).count() + notices.count()
    if level == Level.TOWNSHIP:
        return cases.filter(step__in=(Step.ROUTING, Step.TOWNSHIP_AUDIT)).count()
    if level == Level.COUNTY:
        return cases.filter(step=Step.COUNTY_APPROVAL).count()
    return 0


# -- Overdue below -----------------------------------------------------------------------


@dataclass
class AreaRow:
    code: str
    name: str
    counts: Counter[str] = field(default_factory=Counter)  # colour → items
    by_step: Counter[str] = field(default_factory=Counter)

    @property
    def steps(self) -> list[tuple[str, int]]:
        # A template's `.items` on a Counter would look up the key "items" (and get 0).
        return sorted(self.by_step.items(), key=lambda kv: -kv[1])


def overdue_below(user: Any, today: dt.date | None = None, *, live: bool = False) -> list[AreaRow]:
    """Per region one level below the user's: open cases and untaken warnings by colour.

    Read from the statistics (统计, `shouwang.insights`) when they are today's for the whole
    subtree and nothing in it is marked changed — the same counts, made by the same
    functions, in a few rows instead of a province's open items; else (or with `live`)
    counted from the records."""
    today = today or timezone.localdate()
    prefix = user.region_prefix or ""
    region = getattr(user, "region", None)
    if not prefix or region is None or region.level >= Level.VILLAGE:
        return []
    width = {Level.PROVINCE: 4, Level.PREFECTURE: 6, Level.COUNTY: 9, Level.TOWNSHIP: 12}[region.level]
    rows: dict[str, AreaRow] = {}
    children = Region.objects.filter(code__startswith=prefix, level=region.level + 1).order_by("code")
    for child in children:
        rows[child.code[:width]] = AreaRow(child.code, child.name)
    if not live and _from_figures(prefix, region.level + 1, rows, today):
        return _ordered(rows)
    limit_cache: dict[str, int] = {}
    # A county's time limit needs a query only if it set local values; the others read the
    # shipped table (a province has 88 counties: 88 queries saved on every inbox).
    from shouwang.screening.models import ParameterOverride

    local = set(
        ParameterOverride.objects.filter(subtree("region__pk", prefix[:6]), superseded_at__isnull=True)
        .annotate(county=Substr("region_id", 1, 6))
        .values_list("county", flat=True)
    )

    shipped: list[Any] = []  # the shipped table, read once if needed

    def limit(county: str) -> int:
        if county not in limit_cache:
            code = (county + "0" * 12)[:12]
            if county in local:
                limit_cache[county] = deadlines(code, today.year).identification_days
            else:
                shipped[:] = shipped or [load_parameters()]
                limit_cache[county] = int(resolve_parameters(shipped[0], code, today.year)["identification_days"])
        return limit_cache[county]

    # Counted in the database, by area and due date (a province has tens of thousands of open
    # items; a few thousand groups come back), then coloured here.
    due = DbCase(When(step=Step.ROUTING, then=F("routing_due_on")), default=F("due_on"))
    cases = (
        Case.objects.filter(subtree("village__pk", prefix), step__in=OPEN_STEPS)
        .annotate(area=Substr("village_id", 1, width), due=due)
        .values("area", "step", "due")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for group in cases:
        colour = urgency(group["due"], today)
        row = rows.get(group["area"])
        if colour and row is not None:
            row.counts[colour] += group["n"]
            row.by_step[str(Step(group["step"]).label)] += group["n"]
    warnings = (
        untaken_warnings(prefix)
        .annotate(
            area=Substr("village_id", 1, width),
            county=Substr("village_id", 1, 6),
            day=TruncDate("created_at"),
        )
        .values("area", "county", "day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for group in warnings:
        colour = urgency(group["day"] + dt.timedelta(days=limit(group["county"])), today)
        row = rows.get(group["area"])
        if colour and row is not None:
            row.counts[colour] += group["n"]
            row.by_step[gettext("预警待核实")] += group["n"]
    return _ordered(rows)


def _ordered(rows: dict[str, AreaRow]) -> list[AreaRow]:
    return [r for r in rows.values() if r.counts] + [r for r in rows.values() if not r.counts]


def _from_figures(prefix: str, level: int, rows: dict[str, AreaRow], today: dt.date) -> bool:
    """`rows` filled from the statistics of their regions, if those are current for `today`."""
    from shouwang.insights.models import RegionStat
    from shouwang.insights.refresh import current_for

    if not rows or not current_for(prefix, today):
        return False
    figures = RegionStat.objects.filter(
        region_code__in=list(rows), level=level, metric__in=("cases", "untaken")
    ).values_list("region_code", "metric", "key", "value")
    for code, metric, key, n in figures:
        row = rows.get(code)
        if row is None:
            continue
        if metric == "cases":  # kind|step|colour
            _kind, step, colour = key.split("|")
            if colour:
                row.counts[colour] += n
                row.by_step[str(Step(step).label)] += n
        elif key:  # untaken: colour
            row.counts[key] += n
            row.by_step[gettext("预警待核实")] += n
    return True


def totals(rows: Iterable[AreaRow]) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in rows:
        out.update(r.counts)
    return out
