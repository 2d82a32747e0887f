"""The village-level figures (村级统计), computed from the records in a few grouped queries.

Every function takes a division-code prefix and yields `(village code, metric, key, count)`.
Keys join their parts with "|" in a fixed order, documented per metric in `METRICS`; the
dashboards and report tables read them back with `shouwang.insights.figures`.

Everything here is a count, so that a township's figure is exactly the sum of its villages'.
What is not (a median number of days, an income distribution) is kept as a histogram.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from engine.screening import ParameterError, resolve_parameters
from shouwang.monitoring import catalogue
from shouwang.monitoring.assistance import flags_for_plan, visit_due
from shouwang.monitoring.inbox import _warning_due, untaken_warnings, urgency
from shouwang.monitoring.models import OPEN_STEPS, Case, Measure, MeasureStatus, MonitoringRecord, Step, Visit
from shouwang.monitoring.procedure import MONITORED, Deadlines, ProcedureError, deadlines
from shouwang.registry import choices as c
from shouwang.registry.models import AnnualAccount, Household, Member
from shouwang.screening.models import Warning, WarningStatus
from shouwang.screening.parameters import effective_parameter_table

Row = tuple[str, str, str, int]

# metric → what its key holds (the parts, in order).
METRICS = {
    "households": "household_type|monitoring_state|monitoring_category",
    "members": "household_type|monitoring_state (living members)",
    "indicators": "indicator|household_type|monitoring_state → households with the problem",
    "identified": "YYYY-MM|category (MonitoringRecord.identified_on)",
    "eliminated": "YYYY-MM|category|method (MonitoringRecord.eliminated_on)",
    "causes": "risk cause (households in monitoring; a household counts once per cause)",
    "cases": "kind|step|colour (open cases; colour red/orange/yellow/'' as the inbox marks them)",
    "case_sources": "kind|source|outcome (every case; outcome open/approved/dismissed/rolled_back)",
    "untaken": "colour (open warnings no case has taken up)",
    "warnings": "rule|severity|state (state: untaken, verifying, dismissed, converted, lapsed)",
    "verify_days": "outcome|days (0…90, 90 meaning 90 or more): warning raised → verified",
    "measures": "category|status",
    "measure_funds": "category → yuan",
    "coverage": "cause|covered (1/0): monitored households with the cause, and whether a measure answers it",
    "plan_flags": "flag (no_measure, no_development, cause) → monitored households flagged",
    "visits_due": "colour → monitored households by when their next visit is due",
    "visits": "YYYY-MM → visits made",
    "income": "year|monitoring_state|bin → households by per-capita net income over the monitoring line",
    "income_line": "year|yuan → households whose county's line is that figure (to show the line)",
}

INDICATORS = (
    "food_clothing",
    "education",
    "medical",
    "housing",
    "water",
    "water_quantity",
    "water_quality",
    "water_convenience",
    "water_reliability",
)

# Per-capita income as a multiple of the monitoring line: the bins' lower edges.
INCOME_EDGES = (
    (Decimal("0"), "<0.5"),
    (Decimal("0.5"), "0.5-0.8"),
    (Decimal("0.8"), "0.8-1"),
    (Decimal("1"), "1-1.1"),
    (Decimal("1.1"), "1.1-1.2"),
    (Decimal("1.2"), "1.2-1.5"),
    (Decimal("1.5"), "1.5-2"),
    (Decimal("2"), "≥2"),
)
INCOME_BINS = tuple(label for _edge, label in INCOME_EDGES)
MAX_DAYS = 90


def income_bin(per_capita: Decimal, line: Decimal) -> str:
    ratio = per_capita / line
    label = INCOME_BINS[0]
    for edge, name in INCOME_EDGES:
        if ratio >= edge:
            label = name
    return label


def _in(prefix: str, path: str = "village__pk") -> Q:
    return Q(**{f"{path}__startswith": prefix})


class Limits:
    """The procedure's time limits per county (they are parameters), looked up once each."""

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self._cache: dict[str, Deadlines | None] = {}

    def __call__(self, village: str) -> Deadlines | None:
        county = village[:6]
        if county not in self._cache:
            try:
                self._cache[county] = deadlines(village, self.today.year)
            except ProcedureError:
                self._cache[county] = None
        return self._cache[county]


# -- The registry -------------------------------------------------------------------------


def households(prefix: str) -> Iterator[Row]:
    groups = (
        Household.objects.filter(_in(prefix))
        .order_by()
        .values_list("village_id", "household_type", "monitoring_state", "monitoring_category")
        .annotate(n=Count("pk"))
    )
    for village, kind, state, category, n in groups:
        yield village, "households", f"{kind}|{state}|{category}", n


def members(prefix: str) -> Iterator[Row]:
    groups = (
        Member.objects.filter(_in(prefix, "household__village__pk"), death_date__isnull=True)
        .order_by()
        .values_list("household__village_id", "household__household_type", "household__monitoring_state")
        .annotate(n=Count("pk"))
    )
    for village, kind, state, n in groups:
        yield village, "members", f"{kind}|{state}", n


def indicators(prefix: str, today: dt.date) -> Iterator[Row]:
    """两不愁三保障 and safe drinking water: households with a problem, per indicator."""
    living = Member.objects.filter(household=OuterRef("pk"), death_date__isnull=True)
    # Compulsory-school age 6–15 on `today`: born after today − 16 years, at or before today − 6.
    youngest = _years_before(today, 6)
    oldest = _years_before(today, 16) + dt.timedelta(days=1)
    dropout = living.filter(school_status=c.DROPOUT, birth_date__gte=oldest, birth_date__lte=youngest)
    uninsured = living.filter(medical_insurance=False)
    problems = {
        "food_clothing": Q(food_clothing_ok=False),
        "education": Q(has_dropout=True),
        "medical": Q(has_uninsured=True),
        "housing": Q(housing_grade__in=sorted(c.UNSAFE_HOUSING)),
        "water": Q(water_quantity_ok=False)
        | Q(water_quality_ok=False)
        | Q(water_convenience_ok=False)
        | Q(water_reliability_ok=False),
        "water_quantity": Q(water_quantity_ok=False),
        "water_quality": Q(water_quality_ok=False),
        "water_convenience": Q(water_convenience_ok=False),
        "water_reliability": Q(water_reliability_ok=False),
    }
    groups = (
        Household.objects.filter(_in(prefix))
        .annotate(has_dropout=Exists(dropout), has_uninsured=Exists(uninsured))
        .order_by()
        .values("village_id", "household_type", "monitoring_state")
        .annotate(**{name: Count("pk", filter=q) for name, q in problems.items()})
    )
    for g in groups:
        for name in INDICATORS:
            if g[name]:
                yield g["village_id"], "indicators", f"{name}|{g['household_type']}|{g['monitoring_state']}", g[name]


def _latest_years(prefix: str) -> dict[str, int]:
    """Each county's latest year with accounts: a county's villages are shown for one year."""
    scope = prefix[:6]
    out: dict[str, int] = {}
    for village, year in (
        AnnualAccount.objects.filter(household__village__pk__startswith=scope)
        .order_by()
        .values_list("household__village_id")
        .annotate(y=Max("year"))
        .values_list("household__village_id", "y")
    ):
        out[village[:6]] = max(out.get(village[:6], 0), year)
    return out


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def income(prefix: str) -> Iterator[Row]:
    """Each household's per-capita net income (policy.md §4.2: derived, never stored) in its
    county's latest year, against that county's monitoring line for the year."""
    accounts = AnnualAccount.objects.filter(_in(prefix, "household__village__pk"))
    latest = _latest_years(prefix)
    if not latest:
        return
    lines: dict[tuple[str, int], Decimal | None] = {}

    def line(village: str, year: int) -> Decimal | None:
        county = village[:6]
        if (county, year) not in lines:
            try:
                params = resolve_parameters(effective_parameter_table(county), village, year)
                lines[county, year] = Decimal(str(params["monitoring_line"]))
            except (ParameterError, KeyError):
                lines[county, year] = None
        return lines[county, year]

    counts: Counter[tuple[str, str]] = Counter()
    line_counts: Counter[tuple[str, str]] = Counter()
    rows = accounts.values_list(
        "household__village_id",
        "household__monitoring_state",
        "year",
        "wage_income",
        "operating_income",
        "operating_cost",
        "property_income",
        "transfer_income",
        "population",
    ).iterator(chunk_size=20000)
    for village, state, year, wage, operating, cost, prop, transfer, population in rows:
        if year != latest.get(village[:6]):
            continue
        the_line = line(village, year)
        if the_line is None or not the_line:
            counts[village, f"{year}|{state}|no_line"] += 1
            continue
        per_capita = (wage + operating - cost + prop + transfer) / population
        counts[village, f"{year}|{state}|{income_bin(per_capita, the_line)}"] += 1
        line_counts[village, f"{year}|{the_line:.0f}"] += 1
    for (village, key), n in counts.items():
        yield village, "income", key, n
    for (village, key), n in line_counts.items():
        yield village, "income_line", key, n


# -- Monitoring ---------------------------------------------------------------------------


def records(prefix: str) -> Iterator[Row]:
    base = MonitoringRecord.objects.filter(_in(prefix, "household__village__pk")).order_by()
    for village, month, category, n in (
        base.filter(identified_on__isnull=False)
        .annotate(month=TruncMonth("identified_on"))
        .values_list("household__village_id", "month", "category")
        .annotate(n=Count("pk"))
    ):
        yield village, "identified", f"{month:%Y-%m}|{category}", n
    for village, month, category, method, n in (
        base.filter(eliminated_on__isnull=False)
        .annotate(month=TruncMonth("eliminated_on"))
        .values_list("household__village_id", "month", "category", "elimination_method")
        .annotate(n=Count("pk"))
    ):
        yield village, "eliminated", f"{month:%Y-%m}|{category}|{method}", n
    causes: Counter[tuple[str, str]] = Counter()
    for village, listed in base.filter(household__monitoring_state=MONITORED).values_list(
        "household__village_id", "risk_causes"
    ):
        for cause in set(listed or ()):
            causes[village, cause] += 1
    for (village, cause), n in causes.items():
        yield village, "causes", cause, n


def cases(prefix: str, today: dt.date) -> Iterator[Row]:
    counts: Counter[tuple[str, str]] = Counter()
    for village, kind, step, due, routing_due in Case.objects.filter(_in(prefix), step__in=OPEN_STEPS).values_list(
        "village_id", "kind", "step", "due_on", "routing_due_on"
    ):
        colour = urgency(routing_due if step == Step.ROUTING else due, today)
        counts[village, f"{kind}|{step}|{colour}"] += 1
    for (village, key), n in counts.items():
        yield village, "cases", key, n
    outcome = {Step.APPROVED: "approved", Step.DISMISSED: "dismissed", Step.ROLLED_BACK: "rolled_back"}
    sources: Counter[tuple[str, str]] = Counter()
    for village, kind, source, step, n in (
        Case.objects.filter(_in(prefix))
        .order_by()
        .values_list("village_id", "kind", "source", "step")
        .annotate(n=Count("pk"))
    ):
        sources[village, f"{kind}|{source}|{outcome.get(step, 'open')}"] += n
    for (village, key), n in sources.items():
        yield village, "case_sources", key, n


def warnings(prefix: str, today: dt.date) -> Iterator[Row]:
    taken = Case.objects.filter(warnings=OuterRef("pk"), step__in=OPEN_STEPS)
    for village, rule, severity, status, is_taken, n in (
        Warning.objects.filter(_in(prefix, "household__village__pk"))
        .annotate(taken=Exists(taken))
        .order_by()
        .values_list("household__village_id", "rule_id", "severity", "status", "taken")
        .annotate(n=Count("pk"))
    ):
        state = status if status != WarningStatus.OPEN else ("verifying" if is_taken else "untaken")
        yield village, "warnings", f"{rule}|{severity}|{state}", n
    limits = Limits(today)
    colours: Counter[tuple[str, str]] = Counter()
    for village, created in untaken_warnings(prefix).values_list("household__village_id", "created_at"):
        limit = limits(village)
        colour = urgency(_warning_due(created, limit.identification_days), today) if limit else ""
        colours[village, colour] += 1
    for (village, colour), n in colours.items():
        yield village, "untaken", colour, n
    yield from _verify_days(prefix)


def _verify_days(prefix: str) -> Iterator[Row]:
    """Days from a warning to its verification: to the dismissal, or to the end of the home
    visit of the case that took it up (the first step it left)."""
    days: Counter[tuple[str, str]] = Counter()
    base = Warning.objects.filter(_in(prefix, "household__village__pk"))
    for village, created, dismissed in base.filter(
        status=WarningStatus.DISMISSED, dismissed_at__isnull=False
    ).values_list("household__village_id", "created_at", "dismissed_at"):
        days[village, f"dismissed|{_days(created, dismissed)}"] += 1
    verified = (
        base.filter(status=WarningStatus.CONVERTED)
        .annotate(verified_at=Min("cases__events__at", filter=Q(cases__events__from_step=Step.VERIFICATION)))
        .filter(verified_at__isnull=False)
        .values_list("household__village_id", "created_at", "verified_at")
    )
    for village, created, at in verified:
        days[village, f"converted|{_days(created, at)}"] += 1
    for (village, key), n in days.items():
        yield village, "verify_days", key, n


def _days(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, min(MAX_DAYS, (timezone.localtime(end).date() - timezone.localtime(start).date()).days))


# -- Assistance ---------------------------------------------------------------------------

ACTIVE = (MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS, MeasureStatus.COMPLETED)


def measures(prefix: str) -> Iterator[Row]:
    base = Measure.objects.filter(_in(prefix, "household__village__pk")).order_by()
    for village, category, status, n, funds in base.values_list("household__village_id", "category", "status").annotate(
        n=Count("pk"), funds=Sum("funds")
    ):
        yield village, "measures", f"{category}|{status}", n
        if funds:
            yield village, "measure_funds", category, int(funds)


def plans(prefix: str, today: dt.date) -> Iterator[Row]:
    """The auditors' checks and the visit schedule, for every monitored household at once —
    the same functions the household page runs, on facts fetched in four queries."""
    monitored = {
        hid: (village, identified, causes or [])
        for hid, village, identified, causes in MonitoringRecord.objects.filter(
            _in(prefix, "household__village__pk"), household__monitoring_state=MONITORED
        ).values_list("household_id", "household__village_id", "identified_on", "risk_causes")
    }
    if not monitored:
        return
    in_place: defaultdict[int, set[str]] = defaultdict(set)
    for hid, category in Measure.objects.filter(
        _in(prefix, "household__village__pk"),
        household__monitoring_state=MONITORED,
        status__in=ACTIVE,
    ).values_list("household_id", "category"):
        in_place[hid].add(category)
    able = set(
        Member.objects.filter(
            _in(prefix, "household__village__pk"),
            household__monitoring_state=MONITORED,
            death_date__isnull=True,
            labour_capacity__in=sorted(c.ABLE_BODIED),
        )
        .values_list("household_id", flat=True)
        .distinct()
    )
    last_visit = dict(
        Visit.objects.filter(_in(prefix, "household__village__pk"), household__monitoring_state=MONITORED)
        .order_by()
        .values_list("household_id")
        .annotate(last=Max("visited_on"))
        .values_list("household_id", "last")
    )
    limits = Limits(today)
    mapping = catalogue.cause_categories()
    flags: Counter[tuple[str, str]] = Counter()
    due: Counter[tuple[str, str]] = Counter()
    coverage: Counter[tuple[str, str]] = Counter()
    for hid, (village, identified, causes) in monitored.items():
        categories = in_place.get(hid, set())
        for cause in set(causes):
            answers = mapping.get(cause)
            if answers is not None:
                coverage[village, f"{cause}|{int(bool(answers & categories))}"] += 1
        limit = limits(village)
        if limit is None:
            continue
        due[village, urgency(visit_due(last_visit.get(hid), identified, today, limit), today)] += 1
        if identified is None:
            continue
        kinds = {
            f.key.split(":")[0]
            for f in flags_for_plan(
                identified_on=identified,
                causes=causes,
                categories_in_place=categories,
                without_labour=hid not in able,
                today=today,
                limits=limit,
            )
        }
        for kind in kinds:
            flags[village, kind] += 1
    for metric, counter in (("plan_flags", flags), ("visits_due", due), ("coverage", coverage)):
        for (village, key), n in counter.items():
            yield village, metric, key, n
    for village, month, n in (
        Visit.objects.filter(_in(prefix, "household__village__pk"))
        .annotate(month=TruncMonth("visited_on"))
        .order_by()
        .values_list("household__village_id", "month")
        .annotate(n=Count("pk"))
    ):
        yield village, "visits", f"{month:%Y-%m}", n


def village_rows(prefix: str, today: dt.date | None = None) -> Iterable[Row]:
    """Every figure of every village under `prefix`."""
    today = today or timezone.localdate()
    yield from households(prefix)
    yield from members(prefix)
    yield from indicators(prefix, today)
    yield from income(prefix)
    yield from records(prefix)
    yield from cases(prefix, today)
    yield from warnings(prefix, today)
    yield from measures(prefix)
    yield from plans(prefix, today)
