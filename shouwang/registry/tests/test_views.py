"""The registry's web pages: filters, paging, masking, reveal, edits and their history, scope."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from shouwang.core.models import AuditEvent
from shouwang.registry.actions import reveal_id_number
from shouwang.registry.models import ChangeRecord, Household, Member
from shouwang.testing.personas import COUNTY, OTHER_COUNTY, PASSWORD, TOWNSHIP, first_village, make_household

pytestmark = pytest.mark.django_db

LIST = reverse("registry:household_list")


def bare_household(village: str, n: int) -> Household:
    """A household without members (make_household's ID sequence repeats after 50 households)."""
    return Household.objects.create(number=f"{village}{n:04d}", village_id=village, household_type="一般农户")


def without_request_parts(html: bytes) -> bytes:
    """The page minus what differs per request anyway: the CSRF token and the page's own path."""
    return re.sub(rb'name="(csrfmiddlewaretoken|next)" value="[^"]+"', b"", html)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def numbers(response) -> set[str]:
    return {row["household"].number for row in response.context["rows"]}


# --- household list --------------------------------------------------------------------------


def test_household_list_shows_only_the_users_subtree(client, persona):
    mine = make_household(first_village(TOWNSHIP))
    other = make_household(first_village(OTHER_COUNTY))
    response = login(client, persona("village_cadre")).get(LIST)
    assert response.status_code == 200
    assert numbers(response) == {mine.number}
    assert other.number not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"household_type": "脱贫户"}, {"escaped"}),
        ({"monitoring_state": "监测中"}, {"monitored"}),
        ({"housing_unsafe": "on"}, {"unsafe"}),
        ({}, {"plain", "escaped", "monitored", "unsafe", "elsewhere"}),
    ],
)
def test_household_list_filters(client, persona, params, expected):
    village = first_village(TOWNSHIP)
    made = {
        "plain": make_household(village),
        "escaped": make_household(village, household_type="脱贫户"),
        "monitored": make_household(village, monitoring_state="监测中", monitoring_category="边缘易致贫户"),
        "unsafe": make_household(village, housing_grade="D"),
        "elsewhere": make_household(first_village("522630101")),
    }
    response = login(client, persona("county_officer")).get(LIST, params)
    assert numbers(response) == {made[k].number for k in expected}


def test_household_list_filters_by_region_name_and_id_tail(client, persona):
    village = first_village(TOWNSHIP)
    here = make_household(village)
    there = make_household(first_village("522630101"))
    login(client, persona("county_officer"))

    assert numbers(client.get(LIST, {"region": TOWNSHIP})) == {here.number}
    assert numbers(client.get(LIST, {"region": village})) == {here.number}

    member = there.members.order_by("id")[1]  # not the head: any member's name finds the household
    assert numbers(client.get(LIST, {"name": member.name})) == {there.number}
    assert numbers(client.get(LIST, {"id_tail": member.id_number_tail})) >= {there.number}
    assert here.number not in numbers(client.get(LIST, {"id_tail": member.id_number_tail}))


def test_household_list_refuses_a_region_outside_the_scope(client, persona):
    make_household(first_village(TOWNSHIP))
    outside = make_household(first_village(OTHER_COUNTY))
    response = login(client, persona("township_officer")).get(LIST, {"region": OTHER_COUNTY})
    assert response.status_code == 200
    assert outside.number not in numbers(response)
    assert response.context["filter_form"].errors


def test_household_list_paginates_by_fifty(client, persona):
    village = first_village(TOWNSHIP)
    for n in range(55):
        bare_household(village, n)
    login(client, persona("village_cadre"))
    first = client.get(LIST)
    assert len(first.context["rows"]) == 50
    assert first.context["paginator"].count == 55
    second = client.get(LIST, {"page": 2})
    assert len(second.context["rows"]) == 5
    assert numbers(first).isdisjoint(numbers(second))


def test_household_list_query_count_does_not_grow_with_the_page(client, persona, django_assert_max_num_queries):
    village = first_village(TOWNSHIP)
    login(client, persona("village_cadre"))
    make_household(village)
    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    for _ in range(30):
        make_household(village, members=4)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["rows"]) == 31


def test_household_list_shows_head_population_and_per_capita_income(client, persona):
    hh = make_household(first_village(TOWNSHIP), members=3)
    response = login(client, persona("village_cadre")).get(LIST)
    (row,) = response.context["rows"]
    assert row["head"].relationship == "户主"
    assert row["population"] == 3
    assert str(row["latest"].per_capita_net_income) == "8333.33"
    assert "8,333.33" in response.content.decode()
    assert hh.number in response.content.decode()


# --- detail -----------------------------------------------------------------------------------


def test_detail_shows_masked_ids_only(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    response = login(client, persona("county_officer")).get(reverse("registry:household_detail", args=[hh.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for member in hh.members.all():
        assert member.id_number_masked in html
        assert reveal_id_number(member) not in html
        assert member.id_number_encrypted not in html
        assert member.id_number_hash not in html
    assert "显示完整号码" in html  # a county officer may reveal


def test_detail_has_no_reveal_button_without_the_capability(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    html = login(client, persona("village_cadre")).get(reverse("registry:household_detail", args=[hh.pk])).content
    assert "显示完整号码".encode() not in html
    assert "编辑户信息".encode() in html


def test_detail_shows_indicators_income_and_history(client, persona):
    hh = make_household(first_village(TOWNSHIP), housing_grade="C")
    response = login(client, persona("village_cadre")).get(reverse("registry:household_detail", args=[hh.pk]))
    indicators = {str(label): ok for label, ok, _note in response.context["indicators"]}
    assert indicators["住房安全有保障"] is False
    assert indicators["饮水安全有保障"] is True
    assert [a.year for a in response.context["accounts"]] == [2025]
    assert "8,333.33" in response.content.decode()


def test_viewers_without_edit_get_no_edit_button_and_404_on_edit(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    login(client, persona("prefecture_viewer"))
    html = client.get(reverse("registry:household_detail", args=[hh.pk])).content.decode()
    assert "编辑户信息" not in html
    assert client.get(reverse("registry:household_edit", args=[hh.pk])).status_code == 404


# --- edits ------------------------------------------------------------------------------------


def household_form_data(hh: Household, **changes) -> dict:
    data = {
        "address": hh.address,
        "phone": hh.phone,
        "household_type": hh.household_type,
        "poverty_exit_year": hh.poverty_exit_year or "",
        "monitoring_category": hh.monitoring_category,
        "monitoring_state": hh.monitoring_state,
        "housing_grade": hh.housing_grade,
        "housing_appraised_on": hh.housing_appraised_on or "",
        "version": hh.updated_at.isoformat(),
    }
    for flag in (
        "food_clothing_ok",
        "water_quantity_ok",
        "water_quality_ok",
        "water_convenience_ok",
        "water_reliability_ok",
    ):
        if getattr(hh, flag):
            data[flag] = "on"
    data.update(changes)
    return data


def test_household_edit_records_a_change(client, persona):
    hh = make_household(first_village(TOWNSHIP), housing_grade="B")
    user = persona("village_cadre")
    url = reverse("registry:household_edit", args=[hh.pk])
    login(client, user)
    form = client.get(url)
    assert form.status_code == 200
    assert hh.updated_at.isoformat() in form.content.decode()

    response = client.post(url, household_form_data(hh, housing_grade="D"))
    assert response.status_code == 302
    hh.refresh_from_db()
    assert hh.housing_grade == "D"
    (change,) = ChangeRecord.objects.filter(household=hh)
    assert (change.field, change.before, change.after, change.source) == ("housing_grade", "B", "D", "web")
    assert change.actor == user
    detail = client.get(reverse("registry:household_detail", args=[hh.pk])).content.decode()
    assert "住房安全等级" in detail


def test_stale_household_form_is_refused_and_writes_nothing(client, persona):
    hh = make_household(first_village(TOWNSHIP), housing_grade="B")
    url = reverse("registry:household_edit", args=[hh.pk])
    login(client, persona("village_cadre"))
    loaded = household_form_data(hh, housing_grade="D")

    # Someone else saves first.
    other = login(type(client)(), persona("township_officer"))
    assert other.post(url, household_form_data(hh, phone="13800000000")).status_code == 302
    changes_before = ChangeRecord.objects.count()
    hh.refresh_from_db()
    stamp = hh.updated_at

    response = client.post(url, loaded)
    assert response.status_code == 409
    assert "已被他人修改" in response.content.decode()
    hh.refresh_from_db()
    assert hh.housing_grade == "B"
    assert hh.phone == "13800000000"
    assert hh.updated_at == stamp
    assert ChangeRecord.objects.count() == changes_before


def test_household_edit_validates_exit_year_for_escaped_households(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    url = reverse("registry:household_edit", args=[hh.pk])
    response = login(client, persona("village_cadre")).post(
        url, household_form_data(hh, household_type="脱贫户", poverty_exit_year="")
    )
    assert response.status_code == 200
    assert "脱贫户必须填写脱贫年度" in response.content.decode()
    assert not ChangeRecord.objects.filter(household=hh).exists()


def member_form_data(member, **changes) -> dict:
    from shouwang.registry.forms import MEMBER_EDITABLE, member_version

    data = {}
    for name in MEMBER_EDITABLE:
        value = getattr(member, name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else value
    data["version"] = member_version(member)
    data.update(changes)
    return data


def test_member_edit_records_a_change_and_refuses_a_stale_form(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    member = hh.members.order_by("id")[0]
    url = reverse("registry:member_edit", args=[member.pk])
    login(client, persona("village_cadre"))
    assert client.get(url).status_code == 200

    stale = member_form_data(member, work_status="省外务工")
    response = client.post(url, member_form_data(member, health="长期慢性病"))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.health == "长期慢性病"
    change = ChangeRecord.objects.get(household=hh, object_type="member")
    assert (change.field, change.before, change.after) == ("health", "健康", "长期慢性病")

    response = client.post(url, stale)
    assert response.status_code == 409
    member.refresh_from_db()
    assert member.work_status == ""
    assert ChangeRecord.objects.filter(household=hh).count() == 1


# --- member search ----------------------------------------------------------------------------


def test_a_list_beyond_the_count_cap_says_more_than(client, persona, monkeypatch):
    from shouwang.core.paging import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 2)
    village = first_village(TOWNSHIP)
    for n in range(3):
        bare_household(village, n)
    html = login(client, persona("county_officer")).get(LIST).content.decode()
    assert "超过 2 户" in html


def test_member_search_by_part_of_a_name_keeps_the_characters_in_order(client, persona):
    hh = make_household(first_village(TOWNSHIP), members=2)
    first, second = hh.members.order_by("id")
    first.name, second.name = "龙建平", "平建龙"
    first.save()
    second.save()
    login(client, persona("county_officer"))
    url = reverse("registry:member_search")
    assert [m.pk for m in client.get(url, {"q": "建平"}).context["members"]] == [first.pk]
    assert {m.pk for m in client.get(url, {"q": "建"}).context["members"]} >= {first.pk, second.pk}
    assert numbers(client.get(LIST, {"name": "平建"})) == {hh.number}
    # A village searches without the index of characters (`registry.search`): the same rows.
    login(client, persona("village_cadre"))
    assert [m.pk for m in client.get(url, {"q": "建平"}).context["members"]] == [first.pk]
    assert numbers(client.get(LIST, {"name": "平建"})) == {hh.number}


def test_member_search_by_name_and_tail_within_scope(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    far = make_household(first_village(OTHER_COUNTY))
    member = hh.members.order_by("id")[0]
    far_member = far.members.order_by("id")[0]
    login(client, persona("county_officer"))
    url = reverse("registry:member_search")

    by_name = client.get(url, {"q": member.name})
    assert [m.pk for m in by_name.context["members"]] == [member.pk]
    html = by_name.content.decode()
    assert member.id_number_masked in html
    assert reveal_id_number(member) not in html

    by_tail = client.get(url, {"q": member.id_number_tail})
    assert member.pk in {m.pk for m in by_tail.context["members"]}

    assert not list(client.get(url, {"q": far_member.name}).context["members"])
    by_full = client.post(url, {"q": reveal_id_number(member)})
    assert [m.pk for m in by_full.context["members"]] == [member.pk]
    assert not list(client.post(url, {"q": reveal_id_number(far_member)}).context["members"])


def test_a_full_id_number_is_searched_in_the_post_and_never_enters_a_url(client, persona):
    member = make_household(first_village(TOWNSHIP)).members.order_by("id")[0]
    number = reveal_id_number(member)
    login(client, persona("county_officer"))
    url = reverse("registry:member_search")

    page = client.get(url).content.decode()
    assert 'method="post"' in page

    found = client.post(url, {"q": number})
    assert found.status_code == 200  # answered in place: no redirect carries it into a URL
    assert [m.pk for m in found.context["members"]] == [member.pk]
    assert number not in found.content.decode()  # shown masked, not echoed into the box
    assert member.id_number_masked in found.content.decode()

    # Typed into the address bar, it is refused with the reason, not searched.
    refused = client.get(url, {"q": number})
    assert not list(refused.context["members"])
    assert "不能放在网址中" in refused.content.decode()

    # A name or the last digits are sent on to an ordinary, pageable GET.
    by_name = client.post(url, {"q": member.name})
    assert by_name.status_code == 302 and by_name["Location"].startswith(url + "?q=")


@pytest.mark.parametrize(
    ("mistake", "reason"),
    [
        ("check_digit", "身份证号校验位错误"),
        ("length", "身份证号应为18位（或15位），实为17位"),
        ("birth_date", "身份证号中的出生日期无效"),
    ],
)
def test_a_member_search_with_an_invalid_id_number_says_why(client, persona, mistake, reason):
    number = make_household(first_village(TOWNSHIP)).members.order_by("id")[0]
    number = reveal_id_number(number)
    wrong = {
        "check_digit": number[:17] + ("0" if number[17] != "0" else "1"),
        "length": number[:17],
        "birth_date": number[:10] + "13" + number[12:],
    }[mistake]
    login(client, persona("county_officer"))
    response = client.post(reverse("registry:member_search"), {"q": wrong})
    assert response.status_code == 200
    html = response.content.decode()
    assert reason in html
    assert wrong not in html
    assert not list(response.context["members"])


# --- reveal -----------------------------------------------------------------------------------


def test_reveal_requires_the_capability(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    member = hh.members.first()
    url = reverse("registry:member_reveal_id", args=[member.pk])
    login(client, persona("village_cadre"))
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 405
    assert not AuditEvent.objects.filter(action="registry.reveal_id").exists()


def test_reveal_shows_the_number_and_writes_an_audit_event(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    member = hh.members.first()
    officer = persona("county_officer")
    url = reverse("registry:member_reveal_id", args=[member.pk])
    login(client, officer)

    response = client.post(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {"member": member.pk, "id_number": reveal_id_number(member)}
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action="registry.reveal_id")
    assert event.actor == officer
    assert event.object_id == str(member.pk)
    assert event.region_code == hh.village_id
    assert event.detail["member"] == member.pk
    assert reveal_id_number(member) not in str(event.detail)

    page = client.post(url)
    assert reveal_id_number(member) in page.content.decode()
    assert AuditEvent.objects.filter(action="registry.reveal_id").count() == 2


# --- another county ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["household_detail", "household_edit"])
def test_another_countys_cadre_gets_404_on_households(client, persona, name):
    hh = make_household(first_village(TOWNSHIP))
    login(client, persona("other_county_cadre"))
    assert client.get(reverse(f"registry:{name}", args=[hh.pk])).status_code == 404
    if name == "household_edit":
        assert client.post(reverse(f"registry:{name}", args=[hh.pk]), household_form_data(hh)).status_code == 404


def test_another_countys_cadre_gets_404_on_members_and_reveal(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    member = hh.members.first()
    login(client, persona("other_county_cadre"))
    assert client.get(reverse("registry:member_edit", args=[member.pk])).status_code == 404
    assert client.post(reverse("registry:member_reveal_id", args=[member.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="registry.reveal_id").exists()


def test_absent_and_forbidden_look_alike(client, persona):
    hh = make_household(first_village(COUNTY))
    login(client, persona("other_county_cadre"))
    forbidden = client.get(reverse("registry:household_detail", args=[hh.pk]))
    absent = client.get(reverse("registry:household_detail", args=[hh.pk + 10_000]))
    assert forbidden.status_code == absent.status_code == 404
    assert without_request_parts(forbidden.content) == without_request_parts(absent.content)


# --- language ---------------------------------------------------------------------------------


def test_english_after_set_language(client, persona):
    make_household(first_village(TOWNSHIP))
    login(client, persona("village_cadre"))
    assert "农户名册" in client.get(LIST).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": LIST}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Households" in html
    assert "农户名册" not in html


# --- admin ------------------------------------------------------------------------------------


def test_registry_admin_is_scoped_read_only_and_hides_protected_fields(persona, rf):
    from django.contrib import admin

    mine = make_household(first_village(TOWNSHIP))
    make_household(first_village(OTHER_COUNTY))
    request = rf.get("/admin/")
    request.user = persona("township_officer")

    households = admin.site._registry[Household]
    assert list(households.get_queryset(request)) == [mine]
    assert not households.has_add_permission(request)
    assert not households.has_change_permission(request, mine)
    assert not households.has_delete_permission(request, mine)

    members = admin.site._registry[Member]
    member = mine.members.first()
    shown = {
        *members.get_fields(request, member),
        *members.get_list_display(request),
        *members.get_readonly_fields(request, member),
        *members.get_search_fields(request),
    }
    assert not shown & {"id_number_hash", "id_number_encrypted"}
    assert {"id_number_hash", "id_number_encrypted"} <= set(members.get_exclude(request, member))

    request.user = persona("system_admin")  # staff, but no registry capability
    assert not households.has_module_permission(request)
    assert not households.get_queryset(request).exists()


def test_admin_pages_follow_the_separation_of_duties(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    login(client, persona("audit_admin"))
    assert client.get(reverse("admin:core_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:registry_household_changelist")).status_code == 403
    assert client.get(reverse("admin:registry_household_change", args=[hh.pk])).status_code in (302, 403)

    client.logout()
    login(client, persona("system_admin"))
    assert client.get(reverse("admin:core_auditevent_changelist")).status_code == 403
    assert client.get(reverse("admin:regions_region_changelist")).status_code == 200


def test_a_link_to_a_village_works_for_a_prefecture_viewer(client, persona):
    village = first_village(TOWNSHIP)
    hh = make_household(village)
    response = login(client, persona("prefecture_viewer")).get(LIST, {"region": village})
    assert not response.context["filter_form"].errors
    assert numbers(response) == {hh.number}


@pytest.mark.parametrize("name", ["department_officer", "system_admin", "audit_admin"])
def test_lists_are_forbidden_to_roles_without_registry_access(client, persona, name):
    make_household(first_village(TOWNSHIP))
    login(client, persona(name))
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("registry:member_search"), {"q": "成员"}).status_code == 403


@pytest.mark.parametrize("value", ["", "2", "520526201215", None])
def test_the_region_select_is_drawn_as_djangos_own_templates_draw_it(value):
    from django import forms

    from shouwang.registry.forms import PlainSelect

    choices = [("", "全部"), ("A & <b>", [("1", "x"), ("2", 'y"')]), ("520526201215", "\u3000某村 & <i>")]
    attrs = {"class": "form-select", "data-x": True, "data-off": False}
    expected = forms.Select(choices=choices, attrs=attrs).render("region", value, attrs={"id": "id_region"})
    assert PlainSelect(choices=choices, attrs=attrs).render("region", value, attrs={"id": "id_region"}) == expected
