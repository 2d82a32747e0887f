"""The monitoring loop on the web: each level finds its tasks, takes its step, and the public
can apply without learning anything about anyone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from engine.ids import make_id_number
from shouwang.core.models import AuditEvent
from shouwang.monitoring import procedure as p
from shouwang.monitoring.models import Case, Step
from shouwang.monitoring.tests.conftest import PDF, warning_on
from shouwang.monitoring.views_apply import village_token
from shouwang.registry.actions import reveal_id_number
from shouwang.testing.personas import COUNTY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # rate limits and task counts
    yield
    cache.clear()


def login(client, persona, who):
    client.force_login(persona(who))
    return client


def act(client, case, action, **data):
    case = Case.objects.get(pk=case.pk)
    return client.post(
        reverse("monitoring:case_act", args=[case.pk]), {"action": action, "version": case.version, **data}
    )


def test_a_village_cadre_takes_a_warning_up_from_their_inbox(client, persona, household):
    warning = warning_on(household, days_ago=14)
    login(client, persona, "village_cadre")

    page = client.get(reverse("monitoring:inbox")).content.decode()
    assert "预警线索" in page and household.number in page and "2 天内到期" in page  # 15 days from discovery

    response = client.post(reverse("monitoring:start_from_warning", args=[warning.pk]))
    case = Case.objects.get()
    assert response["Location"] == reverse("monitoring:case_detail", args=[case.pk])
    assert "入户核实" in client.get(response["Location"]).content.decode()


def test_the_three_levels_take_a_case_through_identification_on_the_web(client, persona, household):
    case = p.open_from_warning(warning_on(household))
    village = login(client, persona, "village_cadre")
    act(
        village,
        case,
        "home_visit",
        visited_on=timezone.localdate().isoformat(),
        findings="住院花费大",
        authorisation=_pdf(),
    )
    act(village, case, "propose", category="突发严重困难户", causes=["因病"])
    act(
        village,
        case,
        "appraisal",
        held_on=timezone.localdate().isoformat(),
        participants="9",
        agree="8",
        disagree="1",
        opinion="同意",
    )
    start = timezone.localdate()
    response = village.post(
        reverse("monitoring:notice_new"),
        {"starts_on": start.isoformat(), "ends_on": (start + dt.timedelta(days=4)).isoformat(), "cases": [case.pk]},
    )
    notice_url = response["Location"]
    printed = village.get(notice_url.rstrip("/") + "/print/").content.decode()
    head = household.head
    assert head.name in printed and "突发严重困难户" in printed
    assert reveal_id_number(head) not in printed and "因病" not in printed and "住院" not in printed  # no health detail

    notice = Case.objects.get(pk=case.pk).notices.get()
    p.do_close_notice(notice, user=persona("village_cadre"), today=start + dt.timedelta(days=5))

    township = login(client, persona, "township_officer")
    assert household.number in township.get(reverse("monitoring:inbox")).content.decode()
    act(township, case, "decision", decision="approve", opinion="情况属实")
    county = login(client, persona, "county_officer")
    assert household.number in county.get(reverse("monitoring:inbox")).content.decode()
    act(county, case, "decision", decision="approve", opinion="同意纳入")

    household.refresh_from_db()
    assert household.monitoring_state == "监测中"
    assert Case.objects.get(pk=case.pk).step == Step.APPROVED


def _pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("承诺授权书.pdf", PDF, content_type="application/pdf")


def test_a_step_taken_on_a_stale_page_is_refused_with_a_message(client, persona, household):
    case = p.open_from_warning(warning_on(household))
    village = login(client, persona, "village_cadre")
    old_version = case.version
    act(village, case, "home_visit", visited_on=timezone.localdate().isoformat(), findings="第一次核实")

    response = village.post(
        reverse("monitoring:case_act", args=[case.pk]),
        {"action": "dismiss", "version": old_version, "reason": "旧页面上的排除"},
        follow=True,
    )
    assert "已被他人更新" in response.content.decode()
    assert Case.objects.get(pk=case.pk).step == Step.VERIFICATION


def test_the_wrong_level_is_told_whose_step_it_is(client, persona, household):
    case = p.open_from_warning(warning_on(household))
    response = act(login(client, persona, "county_officer"), case, "dismiss", reason="县里排除")
    page = client.get(response["Location"]).content.decode()
    assert "由村级办理" in page and Case.objects.get(pk=case.pk).step == Step.VERIFICATION


def test_opening_the_signed_authorisation_is_audited(client, persona, household, walk):
    case = walk.verify(p.open_from_warning(warning_on(household)))
    event = case.events.get(action="home_visit")
    response = login(client, persona, "township_officer").get(
        reverse("monitoring:case_document", args=[case.pk, event.pk])
    )
    assert response.status_code == 200 and response.content == PDF
    assert AuditEvent.objects.filter(action="monitoring.document_viewed", actor__username="township_officer").exists()


# -- The public form ---------------------------------------------------------------------


def apply(client, village_code, **data):
    values = {"name": "李梅", "id_number": "", "phone": "13912345678", "reason": "丈夫务工受伤，无收入"}
    values.update(data)
    return client.post(reverse("apply", args=[village_token(village_code)]), values)


def test_a_household_applies_through_its_villages_link_without_signing_in(client, household):
    idn = reveal_id_number(household.members.first())
    response = apply(client, household.village_id, id_number=idn)
    assert response.status_code == 200 and "申报已提交" in response.content.decode()
    case = Case.objects.get()
    assert (case.source, case.step, case.household_id) == ("self_online", Step.ROUTING, household.pk)
    assert idn not in case.applicant_id_encrypted and "13912345678" not in case.applicant_phone_encrypted


def test_the_answer_is_the_same_whether_or_not_the_registry_knows_the_applicant(client, household):
    known = apply(client, household.village_id, id_number=reveal_id_number(household.members.first()))
    stranger = apply(client, household.village_id, id_number=make_id_number(COUNTY, dt.date(1985, 1, 1), 3, "F"))
    strip = lambda r: re.sub(r"csrfmiddlewaretoken[^>]*", "", r.content.decode())  # noqa: E731
    assert strip(known) == strip(stranger)


def test_an_invalid_id_number_is_refused_with_its_reason(client, household):
    bad = make_id_number(COUNTY, dt.date(1985, 1, 1), 3, "F")[:-1] + "0"
    response = apply(client, household.village_id, id_number=bad if not bad.endswith("00") else bad[:-1] + "1")
    assert response.status_code == 400 and "校验" in response.content.decode()
    assert not Case.objects.exists()


def test_a_forged_or_guessed_village_link_finds_nothing(client, household):
    response = client.get(reverse("apply", args=[f"{household.village_id}.forged"]))
    assert response.status_code == 404


def test_applications_from_one_address_are_limited(client, household):
    for i in range(5):
        apply(client, household.village_id, id_number=make_id_number(COUNTY, dt.date(1980, 1, 1 + i), i, "M"))
    response = apply(client, household.village_id, id_number=make_id_number(COUNTY, dt.date(1981, 2, 2), 9, "M"))
    assert response.status_code == 429 and "提交太频繁" in response.content.decode()
    assert Case.objects.count() <= 5


def test_the_village_prints_its_qr_code(client, persona):
    page = login(client, persona, "village_cadre").get(reverse("monitoring:apply_poster")).content.decode()
    assert "<svg" in page and "/apply/" in page


def test_a_cadre_records_a_hotline_application_into_the_right_village(client, persona, household):
    township = login(client, persona, "township_officer")
    response = township.post(
        reverse("monitoring:application_new"),
        {
            "name": "赵强",
            "id_number": make_id_number(COUNTY, dt.date(1979, 3, 3), 5, "M"),
            "phone": "13700000000",
            "reason": "房屋被洪水冲毁",
            "village": household.village_id,
            "channel": "self_hotline",
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302 and (case.source, case.step) == ("self_hotline", Step.VERIFICATION)


# -- Households ------------------------------------------------------------------------------


def test_the_household_page_shows_the_plan_flags_and_takes_a_measure_and_a_visit(client, persona, household, walk):
    walk.county_decide(walk.through(p.open_from_warning(warning_on(household))))
    from shouwang.monitoring.models import MonitoringRecord

    MonitoringRecord.objects.filter(household=household).update(
        identified_on=timezone.localdate() - dt.timedelta(days=40)
    )
    village = login(client, persona, "village_cadre")
    url = reverse("monitoring:household", args=[household.pk])
    assert "仍未落实帮扶措施" in village.get(url).content.decode()

    village.post(
        reverse("monitoring:measure_add", args=[household.pk]),
        {
            "kind": "健康帮扶|医疗救助",
            "content": "申请医疗救助",
            "responsible": "王书记",
            "starts_on": timezone.localdate().isoformat(),
            "funds": "2000",
            "status": "in_progress",
        },
    )
    village.post(
        reverse("monitoring:visit_add", args=[household.pk]),
        {"visited_on": timezone.localdate().isoformat(), "findings": "病情好转", "housing_grade": ""},
    )
    page = village.get(url).content.decode()
    assert "医疗救助" in page and "病情好转" in page and "仍未落实帮扶措施" not in page


# -- Exports ----------------------------------------------------------------------------------


def _cells(response) -> list[list]:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def test_the_monitored_households_export_masks_ids_and_leaves_out_other_villages(client, persona, household, walk):
    from shouwang.testing.personas import TOWNSHIP, make_household, second_village

    walk.county_decide(walk.through(p.open_from_warning(warning_on(household))))
    elsewhere = make_household(second_village(TOWNSHIP), monitoring_state="监测中")
    response = login(client, persona, "village_cadre").get(reverse("monitoring:export", args=["households"]))
    rows = _cells(response)
    assert rows[0][0] == "户编号" and [r[0] for r in rows[1:]] == [household.number]
    full = reveal_id_number(household.head)
    assert full not in str(rows) and "*" in rows[1][3]
    assert rows[1][6] == "监测中" and rows[1][9] == "因病"
    assert elsewhere.number not in str(rows)
    assert AuditEvent.objects.filter(action="monitoring.export", actor__username="village_cadre").exists()


def test_a_cell_that_looks_like_a_formula_is_exported_as_text(client, persona, household, walk):
    from shouwang.monitoring.assistance import do_add_measure

    walk.county_decide(walk.through(p.open_from_warning(warning_on(household))))
    household.refresh_from_db()
    do_add_measure(
        household,
        {
            "category": "产业帮扶",
            "subtype": "养殖业",
            "content": '=HYPERLINK("http://evil.example","点我")',
            "responsible": "@王书记",
            "starts_on": timezone.localdate(),
            "funds": "5000",
        },
        user=persona("village_cadre"),
    )
    rows = _cells(login(client, persona, "county_officer").get(reverse("monitoring:export", args=["measures"])))
    content, responsible, funds = rows[1][4], rows[1][5], rows[1][8]
    assert content.startswith("'=") and responsible.startswith("'@")
    assert funds == 5000  # money stays a number
