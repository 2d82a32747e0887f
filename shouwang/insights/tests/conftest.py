"""A small county with something in every figure: households of each kind in two villages of
two townships, monitored households identified in different months (one since eliminated), a
case overdue, warnings raised, dismissed and converted, measures and visits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from shouwang.monitoring.models import Case, CaseEvent, CaseKind, Measure, MonitoringRecord, Source, Step, Visit
from shouwang.registry.models import AnnualAccount
from shouwang.screening.models import Warning, WarningStatus
from shouwang.testing.personas import SIBLING_TOWNSHIP, TOWNSHIP, first_village, make_household, second_village

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def set_income(household, per_head: int, year: int = 2025) -> None:
    n = household.members.count()
    AnnualAccount.objects.filter(household=household, year=year).update(
        wage_income=Decimal(per_head * n), operating_income=0, operating_cost=0, property_income=0, transfer_income=0
    )


def monitor(household, identified: dt.date, category: str, causes: list[str], eliminated: dt.date | None = None):
    household.monitoring_state = "风险已消除" if eliminated else "监测中"
    household.monitoring_category = category
    household.save()
    return MonitoringRecord.objects.create(
        household=household,
        identified_on=identified,
        category=category,
        risk_causes=causes,
        eliminated_on=eliminated,
        elimination_method="帮扶消除" if eliminated else "",
    )


def warn(household, rule: str, status: str = WarningStatus.OPEN, *, days_ago: int = 0, dismissed_after: int = 0):
    created = timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(10)))
    w = Warning.objects.create(
        household=household,
        rule_id=rule,
        period="2025",
        severity="red" if rule == "income_below_line" else "orange",
        cause="因病",
        evidence={},
        evidence_hash=f"{household.pk:032x}{rule[:8]:0>32}",
        status=status,
    )
    fields = {"created_at": created}
    if status == WarningStatus.DISMISSED:
        fields["dismissed_at"] = created + dt.timedelta(days=dismissed_after)
    Warning.objects.filter(pk=w.pk).update(**fields)
    w.refresh_from_db()
    return w


@pytest.fixture
def county(db):
    return build_county()


def build_county() -> dict:
    """Village A (台拱街道, first village), village B (same township), village C (施洞镇)."""
    a, b = first_village(TOWNSHIP), second_village(TOWNSHIP)
    c = first_village(SIBLING_TOWNSHIP)
    world = {"a": a, "b": b, "c": c}
    # Village A: 3 ordinary, 2 脱贫户, one of them monitored since March (因病), one household
    # under the line; one ordinary household monitored since January and eliminated in May.
    plain = [make_household(a) for _ in range(3)]
    escaped = [make_household(a, household_type="脱贫户") for _ in range(2)]
    set_income(plain[0], 3000)  # 3,000 a head: under the 8,500 line (0.35×)
    set_income(escaped[0], 8000)  # 0.94×
    sick = escaped[0]
    monitor(sick, dt.date(2026, 3, 10), "脱贫不稳定户", ["因病", "因学"])
    world["sick"] = sick
    measure = Measure.objects.create(
        household=sick,
        category="健康帮扶",
        subtype="医疗救助",
        content="大病救助",
        responsible="王医生",
        starts_on=dt.date(2026, 3, 20),
        funds=Decimal("3000"),
        status="in_progress",
    )
    world["measure"] = measure
    Visit.objects.create(household=sick, visited_on=dt.date(2026, 4, 1), findings="住院治疗中")
    Visit.objects.create(household=sick, visited_on=dt.date(2026, 5, 2), findings="出院")
    monitor(plain[1], dt.date(2026, 1, 5), "边缘易致贫户", ["因务工就业不稳"], eliminated=dt.date(2026, 5, 20))
    # Village B: 2 ordinary households; one monitored in April without any measure (突发严重困难户).
    b_houses = [make_household(b) for _ in range(2)]
    monitor(b_houses[0], dt.date(2026, 4, 2), "突发严重困难户", ["因自然灾害"])
    world["unassisted"] = b_houses[0]
    # Village C: 4 households, one 脱贫户.
    c_houses = [make_household(c) for _ in range(3)] + [make_household(c, household_type="脱贫户")]
    c_houses[0].water_quality_ok = False
    c_houses[0].housing_grade = "C"
    c_houses[0].save()
    world["c_houses"] = c_houses
    # Warnings: open and untaken for 20 days (overdue at 15), dismissed after 4 days, converted.
    world["overdue_warning"] = warn(plain[2], "income_below_line", days_ago=20)
    warn(plain[0], "income_below_line", WarningStatus.DISMISSED, days_ago=30, dismissed_after=4)
    warn(c_houses[1], "medical_oop_share", WarningStatus.DISMISSED, days_ago=30, dismissed_after=6)
    converted = warn(sick, "serious_illness", WarningStatus.CONVERTED, days_ago=100)
    case = Case.objects.create(
        kind=CaseKind.IDENTIFICATION,
        village_id=a,
        household=sick,
        source=Source.WARNING,
        step=Step.APPROVED,
        discovered_on=TODAY - dt.timedelta(days=100),
        due_on=TODAY - dt.timedelta(days=85),
    )
    case.warnings.add(converted)
    CaseEvent.objects.create(
        case=case,
        action="home_visit",
        from_step=Step.VERIFICATION,
        to_step=Step.APPRAISAL,
        at=converted.created_at + dt.timedelta(days=3),
    )
    # An open case in village C, overdue: discovered 20 days ago, at township audit.
    world["open_case"] = Case.objects.create(
        kind=CaseKind.IDENTIFICATION,
        village_id=c,
        household=c_houses[2],
        source=Source.CADRE_VISIT,
        step=Step.TOWNSHIP_AUDIT,
        discovered_on=TODAY - dt.timedelta(days=20),
        due_on=TODAY - dt.timedelta(days=5),
    )
    world["households"] = plain + escaped + b_houses + c_houses
    for h in world["households"]:
        if h not in (plain[0], sick):
            set_income(h, 12000)  # 1.41× the line
    return world
