"""Assistance, visits and risk elimination, as the policy reads.

A monitored household gets measures matched to its causes, quickly (a month) and, if it can
work, measures that help it earn (six months); it is visited on a schedule; and it leaves
monitoring only through the elimination procedure once at least six months have passed, a
measure is in place, its income is above the line and 两不愁三保障 and water hold — never
while it has no labour capacity. A decision can be rolled back; a new risk after
elimination reopens monitoring.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from shouwang.monitoring import procedure as p
from shouwang.monitoring.assistance import (
    do_add_measure,
    do_record_visit,
    do_update_measure,
    next_visit_due,
    plan_flags,
)
from shouwang.monitoring.models import Case, MonitoringRecord, Step
from shouwang.monitoring.tests.conftest import warning_on
from shouwang.registry.models import AnnualAccount, ChangeRecord
from shouwang.screening.models import Warning

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def monitored(household, walk, causes=("因病",), months_ago: int = 0):
    case = walk.county_decide(walk.through(p.open_from_warning(warning_on(household)), causes=list(causes)))
    if months_ago:
        MonitoringRecord.objects.filter(household=household).update(identified_on=p.add_months(TODAY(), -months_ago))
    household.refresh_from_db()
    return case


def measure(household, user, category="健康帮扶", subtype="医疗救助", **values):
    return do_add_measure(
        household,
        {
            "category": category,
            "subtype": subtype,
            "content": values.pop("content", "申请医疗救助，落实先诊疗后付费"),
            "responsible": "王书记",
            "starts_on": values.pop("starts_on", TODAY()),
            "funds": values.pop("funds", "3000"),
            "status": values.pop("status", "in_progress"),
            **values,
        },
        user=user,
    )


def income_above_line(household, per_head: int = 12000) -> None:
    AnnualAccount.objects.filter(household=household).update(
        wage_income=Decimal(per_head * household.members.count()),
        operating_income=0,
        operating_cost=0,
        property_income=0,
        transfer_income=0,
    )


# -- The plan -------------------------------------------------------------------------------


def test_a_household_without_any_measure_a_month_after_identification_is_flagged(household, walk):
    monitored(household, walk, months_ago=1)
    assert "no_measure" in {f.key for f in plan_flags(household)}
    measure(household, walk.village)
    assert "no_measure" not in {f.key for f in plan_flags(household)}


def test_before_the_month_is_up_nothing_is_flagged_yet(household, walk):
    monitored(household, walk)
    assert plan_flags(household) == []


def test_an_able_bodied_household_without_a_development_measure_after_six_months_is_flagged(household, walk):
    monitored(household, walk, months_ago=6)
    measure(household, walk.village)  # health only
    assert "no_development" in {f.key for f in plan_flags(household)}
    measure(household, walk.village, category="公益岗位帮扶", subtype="乡村公益性岗位", content="聘为保洁员")
    assert "no_development" not in {f.key for f in plan_flags(household)}


def test_a_household_that_cannot_work_needs_no_development_measure(household, walk):
    household.members.update(labour_capacity="丧失劳动能力")
    monitored(household, walk, months_ago=7)
    measure(household, walk.village, category="综合保障", subtype="最低生活保障", content="纳入低保")
    assert "no_development" not in {f.key for f in plan_flags(household)}


def test_a_cause_without_a_matching_measure_is_flagged(household, walk):
    monitored(household, walk, causes=("因病", "因学"), months_ago=2)
    measure(household, walk.village)  # health answers 因病, nothing answers 因学
    assert {f.key for f in plan_flags(household)} == {"cause:因学"}
    measure(household, walk.village, category="其他教育帮扶", subtype="雨露计划", content="申请雨露计划补助")
    assert plan_flags(household) == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"category": "健康帮扶", "subtype": "养猪"}, "措施目录"),
        ({"content": ""}, "措施内容和责任人"),
        ({"funds": "一千"}, "金额"),
        ({"funds": "-5"}, "负数"),
        ({"ends_on": dt.date(2020, 1, 1)}, "结束日期"),
    ],
)
def test_a_measure_is_checked_before_it_is_kept(household, walk, values, message):
    monitored(household, walk)
    with pytest.raises(p.ProcedureError, match=message):
        measure(household, walk.village, **values)


def test_a_measures_progress_and_effect_are_recorded(household, walk):
    monitored(household, walk)
    m = measure(household, walk.village, status="planned")
    do_update_measure(
        m,
        {
            "category": m.category,
            "subtype": m.subtype,
            "content": m.content,
            "responsible": m.responsible,
            "starts_on": m.starts_on,
            "funds": "4500",
            "status": "completed",
            "effect": "报销后自付降至 2,000 元",
        },
        user=walk.village,
    )
    m.refresh_from_db()
    assert (m.status, m.funds, m.effect) == ("completed", Decimal("4500"), "报销后自付降至 2,000 元")


# -- Visits -------------------------------------------------------------------------------


def test_visits_fall_due_on_the_schedule_from_identification_then_from_the_last_visit(household, walk):
    monitored(household, walk)
    assert next_visit_due(household) == TODAY() + dt.timedelta(days=30)
    do_record_visit(household, user=walk.village, visited_on=TODAY() - dt.timedelta(days=10), findings="病情稳定")
    assert next_visit_due(household) == TODAY() + dt.timedelta(days=20)


def test_what_a_visit_finds_goes_into_the_registry_with_its_change_history(household, walk):
    monitored(household, walk)
    visit = do_record_visit(
        household,
        user=walk.village,
        visited_on=TODAY(),
        findings="自来水已通，水质检测合格",
        updates={"water_quality_ok": True, "housing_grade": "C"},
    )
    household.refresh_from_db()
    assert household.housing_grade == "C" and visit.changes["housing_grade"][1] == "C"
    assert ChangeRecord.objects.filter(household=household, field="housing_grade", source__startswith="回访").exists()
    with pytest.raises(p.ProcedureError, match="不能修改"):
        do_record_visit(household, user=walk.village, visited_on=TODAY(), findings="x", updates={"number": "1"})


def test_a_new_risk_found_on_a_visit_becomes_a_warning(household, walk):
    monitored(household, walk)
    do_record_visit(
        household, user=walk.village, visited_on=TODAY(), findings="户主务工受伤", new_risk_causes=["因意外事故"]
    )
    warning = Warning.objects.get(household=household, rule_id="visit_new_risk")
    assert (warning.status, warning.cause) == ("open", "因意外事故")


# -- Risk elimination --------------------------------------------------------------------


def ready_for_elimination(household, walk):
    monitored(household, walk, months_ago=7)
    measure(household, walk.village)
    measure(household, walk.village, category="就业帮扶", subtype="转移就业", content="介绍到县工业园区务工")
    income_above_line(household)


def test_the_checklist_shows_what_stands_in_the_way_of_elimination(household, walk):
    monitored(household, walk, months_ago=2)
    checks = {c.key: c for c in p.elimination_checklist(household)}
    assert not checks["months"].ok and not checks["measure"].ok and not checks["income"].ok
    assert checks["guarantees"].ok and checks["warnings"].ok and checks["labour"].ok
    with pytest.raises(p.ProcedureError, match="纳入监测满 6 个月"):
        p.open_elimination(household, user=walk.village)


def test_an_open_warning_holds_elimination_back(household, walk):
    ready_for_elimination(household, walk)
    warning_on(household, rule_id="stay_self_pay")
    assert {c.key for c in p.elimination_checklist(household) if not c.ok} == {"warnings"}


def test_an_unsafe_house_holds_elimination_back(household, walk):
    ready_for_elimination(household, walk)
    household.housing_grade = "D"
    household.save()
    assert {c.key for c in p.elimination_checklist(household) if not c.ok} == {"guarantees"}


def test_a_household_without_labour_capacity_stays_monitored(household, walk):
    household.members.update(labour_capacity="丧失劳动能力")
    ready_for_elimination(household, walk)
    failed = {c.key for c in p.elimination_checklist(household) if not c.ok}
    assert failed == {"labour"}
    with pytest.raises(p.ProcedureError, match="整户无劳动能力"):
        p.open_elimination(household, user=walk.village)


def test_elimination_walks_the_same_procedure_and_closes_monitoring(household, walk):
    ready_for_elimination(household, walk)
    case = p.open_elimination(household, user=walk.village)

    case = walk.county_decide(walk.through(case), method="帮扶消除")

    household.refresh_from_db()
    record = MonitoringRecord.objects.get(household=household)
    assert (case.kind, case.step) == ("elimination", Step.APPROVED)
    assert household.monitoring_state == "风险已消除"
    assert (record.eliminated_on, record.elimination_method) == (TODAY(), "帮扶消除")


def test_the_county_must_say_how_the_risk_was_eliminated(household, walk):
    ready_for_elimination(household, walk)
    case = walk.through(p.open_elimination(household, user=walk.village))
    with pytest.raises(p.ProcedureError, match="风险消除方式"):
        walk.county_decide(case, method="")


def test_an_elimination_rolled_back_puts_the_household_back_into_monitoring(household, walk):
    ready_for_elimination(household, walk)
    case = walk.county_decide(walk.through(p.open_elimination(household, user=walk.village)), method="自然消除")
    with pytest.raises(p.ProcedureError, match="县级"):
        p.do_rollback(case, version=case.version, user=walk.village, reason="错误")

    p.do_rollback(case, version=case.version, user=walk.county, reason="核查发现收入未稳定，撤销风险消除")

    household.refresh_from_db()
    assert household.monitoring_state == "监测中"
    assert Case.objects.get(pk=case.pk).step == Step.ROLLED_BACK
    assert MonitoringRecord.objects.get(household=household).eliminated_on is None


def test_a_new_risk_after_elimination_reopens_monitoring_as_a_returning_case(household, walk):
    ready_for_elimination(household, walk)
    walk.county_decide(walk.through(p.open_elimination(household, user=walk.village)), method="帮扶消除")
    household.refresh_from_db()

    do_record_visit(
        household, user=walk.village, visited_on=TODAY(), findings="洪灾冲毁住房", new_risk_causes=["因自然灾害"]
    )

    case = Case.objects.get(household=household, step=Step.VERIFICATION)
    assert (case.kind, case.returning, case.source) == ("identification", True, "warning")
