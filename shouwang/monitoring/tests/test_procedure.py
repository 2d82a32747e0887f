"""Identification (识别认定) as the policy lays it down: verification, democratic appraisal, a
public notice of at least five days, township audit, county approval — within fifteen days of
the day the risk was found, every step recorded, each level able to send a case back.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from engine.ids import make_id_number, parse_id_number
from shouwang.core.models import AuditEvent
from shouwang.monitoring import procedure as p
from shouwang.monitoring.models import Case, CaseEvent, MonitoringRecord, Objection, Step
from shouwang.monitoring.tests.conftest import PDF, warning_on
from shouwang.regions.models import Region
from shouwang.registry.actions import reveal_id_number
from shouwang.registry.models import ChangeRecord
from shouwang.screening.models import Warning
from shouwang.testing.personas import COUNTY, TOWNSHIP, first_village, make_household, second_village

pytestmark = pytest.mark.django_db


def test_a_warning_enters_the_village_queue_with_fifteen_days_from_its_discovery(household):
    warning = warning_on(household, days_ago=3)

    case = p.open_from_warning(warning)

    assert (case.step, case.source, case.village_id) == (Step.VERIFICATION, "warning", household.village_id)
    assert case.discovered_on == timezone.localdate() - dt.timedelta(days=3)
    assert case.due_on == case.discovered_on + dt.timedelta(days=15)
    assert list(case.warnings.all()) == [warning]


def test_a_second_warning_on_the_same_household_joins_its_open_case(household):
    first = p.open_from_warning(warning_on(household))
    second = p.open_from_warning(warning_on(household, rule_id="medical_oop_share"))
    assert first.pk == second.pk and first.warnings.count() == 2
    assert Case.objects.count() == 1


def test_a_household_walks_the_whole_procedure_and_becomes_monitored(household, walk):
    case = p.open_from_warning(warning_on(household))

    case = walk.through(case, category="突发严重困难户", causes=["因病", "因意外事故"])
    case = walk.county_decide(case, opinion="同意纳入监测")

    household.refresh_from_db()
    assert case.step == Step.APPROVED and case.decided_on == timezone.localdate()
    assert (household.monitoring_state, household.monitoring_category) == ("监测中", "突发严重困难户")
    record = MonitoringRecord.objects.get(household=household)
    assert (record.identified_on, record.category, record.risk_causes) == (
        timezone.localdate(),
        "突发严重困难户",
        ["因病", "因意外事故"],
    )
    steps = list(case.events.values_list("action", "actor__username"))
    assert [a for a, _ in steps] == [
        "opened",
        "home_visit",
        "proposed",
        "appraised",
        "notice_posted",
        "notice_passed",
        "township_approved",
        "approved",
    ]
    assert ("township_approved", "township_officer") in steps and ("approved", "county_officer") in steps
    assert ChangeRecord.objects.filter(household=household, field="monitoring_state", after="监测中").exists()
    assert set(case.warnings.values_list("status", flat=True)) == {"converted"}  # answered by the procedure
    assert AuditEvent.objects.filter(action="monitoring.approved", object_id=str(case.pk)).exists()


def test_the_signed_authorisation_is_stored_encrypted_and_read_back(household, walk, data_dir):
    case = walk.verify(p.open_from_warning(warning_on(household)))
    event = case.events.get(action="home_visit")
    assert event.attachment and event.attachment_name == "承诺授权书.pdf"
    assert p.read_document(event.attachment) == PDF
    assert not any(PDF in f.read_bytes() for f in data_dir.rglob("*") if f.is_file())


def test_a_household_is_not_proposed_without_a_home_visit_or_its_signed_authorisation(household, walk):
    case = p.open_from_warning(warning_on(household))
    with pytest.raises(p.ProcedureError, match="入户核实"):
        walk.propose(case)
    case = walk.verify(case, authorised=False)
    with pytest.raises(p.ProcedureError, match="承诺授权书"):
        walk.propose(case)
    assert walk.fresh(case).step == Step.VERIFICATION


@pytest.mark.parametrize(
    ("category", "causes", "message"),
    [
        ("", ["因病"], "监测对象类别"),
        ("边缘易致贫户", [], "至少选择一项"),
        ("边缘易致贫户", ["因病", "因残", "因学", "因自然灾害", "因意外事故", "缺劳动力"], "最多 5 项"),
        ("边缘易致贫户", ["因懒"], "未知的风险类型"),
    ],
)
def test_a_proposal_needs_one_of_the_three_categories_and_one_to_five_risk_causes(
    household, walk, category, causes, message
):
    case = walk.verify(p.open_from_warning(warning_on(household)))
    with pytest.raises(p.ProcedureError, match=message):
        walk.propose(case, category=category, causes=causes)


def test_a_dismissed_case_sends_its_reason_back_to_the_warnings_that_raised_it(household, walk):
    warning = warning_on(household)
    case = p.open_from_warning(warning)
    case = walk.verify(case)

    p.do_dismiss(case, version=case.version, user=walk.village, reason="外出务工收入未登记，经核实收入稳定")

    warning.refresh_from_db()
    assert walk.fresh(case).step == Step.DISMISSED
    assert warning.status == "dismissed" and "外出务工收入未登记" in warning.dismissed_reason


def test_a_failed_democratic_appraisal_ends_the_procedure(household, walk):
    case = walk.propose(walk.verify(p.open_from_warning(warning_on(household))))
    case = walk.appraise(case, agree=4, participants=11)
    assert case.step == Step.DISMISSED and "民主评议未通过" in case.closed_reason


def test_votes_that_do_not_add_up_are_refused(household, walk):
    case = walk.propose(walk.verify(p.open_from_warning(warning_on(household))))
    with pytest.raises(p.ProcedureError, match="票数不一致"):
        p.do_record_appraisal(
            case,
            version=case.version,
            user=walk.village,
            held_on=timezone.localdate(),
            participants=5,
            agree=4,
            disagree=3,
            opinion="",
        )


def test_the_notice_runs_at_least_five_days_and_closes_only_after_its_last_day(household, walk):
    case = walk.appraise(walk.propose(walk.verify(p.open_from_warning(warning_on(household)))))
    with pytest.raises(p.ProcedureError, match="不少于 5 天"):
        walk.notice(case, days=4)
    notice = walk.notice(case, days=5)
    with pytest.raises(p.ProcedureError, match="期满后"):
        walk.close(notice, after_days=4)  # the fifth day is still a day of the notice
    walk.close(notice, after_days=5)
    assert walk.fresh(case).step == Step.TOWNSHIP_AUDIT


def test_an_upheld_objection_sends_the_case_back_to_verification(household, walk):
    other = make_household(household.village_id)
    cases = [walk.appraise(walk.propose(walk.verify(p.open_from_warning(warning_on(h))))) for h in (household, other)]
    notice = walk.notice(*cases)
    objection = p.do_record_objection(
        notice, cases[0], user=walk.village, received_on=timezone.localdate(), content="该户有私家车，收入不实"
    )
    with pytest.raises(p.ProcedureError, match="未处理的异议"):
        walk.close(notice)
    p.do_settle_objection(Objection.objects.get(pk=objection.pk), user=walk.village, upheld=True, resolution="核实属实")

    walk.close(notice)

    assert walk.fresh(cases[0]).step == Step.VERIFICATION
    assert walk.fresh(cases[1]).step == Step.TOWNSHIP_AUDIT


def test_each_level_can_send_a_case_back_with_its_reason(household, walk):
    case = walk.through(p.open_from_warning(warning_on(household)))
    with pytest.raises(p.ProcedureError, match="退回理由"):
        walk.county_decide(case, approve=False, opinion="")
    case = walk.county_decide(case, approve=False, opinion="收入核算有误，请乡镇复核")
    assert case.step == Step.TOWNSHIP_AUDIT
    case = walk.township_audit(case, approve=False, opinion="请补充医疗费用票据")
    assert case.step == Step.VERIFICATION
    returns = list(case.events.filter(action="returned").values_list("note", flat=True))
    assert returns == ["收入核算有误，请乡镇复核", "请补充医疗费用票据"]


def test_two_people_editing_one_case_cannot_overwrite_each_other(household, walk):
    case = walk.verify(p.open_from_warning(warning_on(household)))
    seen = case.version
    p.do_propose(case, version=seen, user=walk.village, category="边缘易致贫户", causes=["因病"])

    stale = Case.objects.get(pk=case.pk)
    stale.step = Step.VERIFICATION  # what the second person's page still shows
    with pytest.raises(p.StaleCase, match="已被他人更新"):
        p.do_dismiss(stale, version=seen, user=walk.village, reason="另一人的排除")
    assert walk.fresh(case).step == Step.APPRAISAL
    assert not CaseEvent.objects.filter(case=case, action="dismissed").exists()


@pytest.mark.parametrize(
    ("actor", "step"),
    [
        ("township_officer", "verification"),
        ("county_officer", "verification"),
        ("sibling_village_cadre", "verification"),
        ("village_cadre", "township_audit"),
        ("sibling_township_officer", "township_audit"),
        ("township_officer", "county_approval"),
        ("other_county_cadre", "county_approval"),
    ],
)
def test_only_the_level_whose_turn_it_is_can_act(household, walk, persona, actor, step):
    case = p.open_from_warning(warning_on(household))
    if step != "verification":
        case = walk.through(case)
        if step == "township_audit":
            case = walk.county_decide(case, approve=False, opinion="退回")
    user = persona(actor)
    assert not p.may_act(user, case)
    with pytest.raises(p.ProcedureError):
        if step == "verification":
            p.do_dismiss(case, version=case.version, user=user, reason="不是我的村")
        elif step == "township_audit":
            p.do_township_audit(case, version=case.version, user=user, approve=True, opinion="")
        else:
            p.do_county_decision(case, version=case.version, user=user, approve=True, opinion="")


# -- Self-application -----------------------------------------------------------------------


def _apply(village: str, idn: str, channel: str = "self_online"):
    return p.open_self_application(
        Region.objects.get(pk=village),
        name="张伟",
        id_number=parse_id_number(idn),
        phone="13800138000",
        reason="妻子患病住院，花费较大",
        channel=channel,
    )


def test_an_online_application_goes_to_the_township_which_passes_it_to_the_village_within_two_days(household, walk):
    member = household.members.first()
    case = _apply(household.village_id, reveal_id_number(member))
    assert case.step == Step.ROUTING and case.household_id == household.pk
    assert case.routing_due_on == timezone.localdate() + dt.timedelta(days=2)
    assert not p.may_act(walk.village, case) and p.may_act(walk.township, case)

    p.do_route(case, version=case.version, user=walk.township)
    assert walk.fresh(case).step == Step.VERIFICATION


def test_an_application_of_someone_the_registry_lacks_waits_for_the_cadre_to_register_the_household(walk):
    village = first_village(TOWNSHIP)
    idn = make_id_number(COUNTY, dt.date(1980, 5, 5), 7, "M")
    case = _apply(village, idn, channel="self_hotline")
    assert case.household is None and case.step == Step.VERIFICATION
    assert case.applicant_id_hash and idn not in case.applicant_id_encrypted

    newcomer = make_household(village)
    p.link_household(case, version=case.version, user=walk.village, household=newcomer)
    assert walk.fresh(case).household_id == newcomer.pk


def test_an_applicant_whose_household_lives_in_another_village_reaches_that_village(household):
    member = household.members.first()
    case = _apply(second_village(TOWNSHIP), reveal_id_number(member), channel="self_in_person")
    assert case.village_id == household.village_id


def test_applying_twice_while_a_case_is_open_adds_to_that_case(household):
    member = household.members.first()
    first = _apply(household.village_id, reveal_id_number(member))
    second = _apply(household.village_id, reveal_id_number(member))
    assert first.pk == second.pk
    assert first.events.filter(action="application_attached").count() == 1


def test_the_township_routes_only_to_its_own_villages(household, walk):
    idn = make_id_number(COUNTY, dt.date(1981, 5, 5), 9, "F")
    case = _apply(first_village(TOWNSHIP), idn)
    elsewhere = Region.objects.get(pk=first_village("522630101"))
    with pytest.raises(p.ProcedureError, match="本乡镇"):
        p.do_route(case, version=case.version, user=walk.township, village=elsewhere)


def test_the_cadres_own_find_opens_a_case_with_what_they_saw(household, walk):
    case = p.open_from_visit(household, user=walk.village, reason="八必访：家中老人重病，刚性支出大")
    assert (case.source, case.step, case.reason) == (
        "cadre_visit",
        Step.VERIFICATION,
        "八必访：家中老人重病，刚性支出大",
    )
    with pytest.raises(p.ProcedureError, match="正在办理"):
        p.open_from_visit(household, user=walk.village, reason="再次登记")


def test_a_monitored_household_opens_no_new_identification(household, walk):
    walk.county_decide(walk.through(p.open_from_warning(warning_on(household))))
    household.refresh_from_db()
    assert p.open_from_warning(warning_on(household, rule_id="stay_self_pay")) is None
    with pytest.raises(p.ProcedureError, match="已是监测对象"):
        p.open_from_visit(household, user=walk.village, reason="新风险")
    assert Warning.objects.filter(household=household, rule_id="stay_self_pay", status="open").exists()
