"""The home page: scoped overview figures, per-division table, roles without registry data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from shouwang.testing.personas import OTHER_COUNTY, PASSWORD, TOWNSHIP, first_village, make_household

pytestmark = pytest.mark.django_db

HOME = reverse("core:home")


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_home_needs_login(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_county_overview_counts_its_own_households_only(client, persona):
    village = first_village(TOWNSHIP)
    make_household(village, members=3)
    make_household(village, members=2, household_type="脱贫户", housing_grade="C")
    make_household(
        village, members=1, monitoring_state="监测中", monitoring_category="突发严重困难户", water_quality_ok=False
    )
    make_household(first_village("522630101"), members=2, housing_grade="D")
    make_household(first_village(OTHER_COUNTY), members=4, housing_grade="D")

    response = login(client, persona("county_officer")).get(HOME)
    assert response.status_code == 200
    ctx = response.context
    assert ctx["stats"] == {"total": 4, "escaped": 1, "monitored": 1, "unsafe_housing": 2, "water_problem": 1}
    assert ctx["members"] == 8
    assert {row["state"]: row["count"] for row in ctx["by_state"]} == {"未纳入": 3, "监测中": 1, "风险已消除": 0}

    children = {row["region"].code: row for row in ctx["children"]}
    assert children[TOWNSHIP]["total"] == 3
    assert children[TOWNSHIP]["unsafe_housing"] == 1
    assert children["522630101"]["total"] == 1
    assert sum(row["total"] for row in ctx["children"]) == 4
    html = response.content.decode()
    assert f"?region={TOWNSHIP}" in html


def test_home_query_count_does_not_depend_on_households(client, persona, django_assert_max_num_queries):
    village = first_village(TOWNSHIP)
    login(client, persona("county_officer"))
    make_household(village)
    with django_assert_max_num_queries(15) as few:
        client.get(HOME)
    for _ in range(20):
        make_household(village)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(HOME)


def test_village_cadre_sees_their_village_without_a_division_table(client, persona):
    make_household(first_village(TOWNSHIP))
    response = login(client, persona("village_cadre")).get(HOME)
    assert response.context["stats"]["total"] == 1
    assert response.context["children"] == []


def test_other_countys_cadre_sees_nothing_of_this_county(client, persona):
    make_household(first_village(TOWNSHIP))
    response = login(client, persona("other_county_cadre")).get(HOME)
    assert response.context["stats"]["total"] == 0


@pytest.mark.parametrize("name", ["system_admin", "security_admin", "audit_admin", "department_officer"])
def test_roles_without_registry_access_see_their_role_and_no_personal_data(client, persona, name):
    hh = make_household(first_village(TOWNSHIP))
    head = hh.members.order_by("id").first()
    response = login(client, persona(name)).get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["sees_registry"] is False
    assert "stats" not in response.context
    assert response.context["abilities"]
    assert head.name not in html
    assert hh.number not in html
    assert str(response.context["role_label"]) in html
    assert reverse("registry:household_list") not in html


def test_menu_follows_capabilities(client, persona):
    html = login(client, persona("village_cadre")).get(HOME).content.decode()
    assert reverse("registry:household_list") in html
    assert reverse("registry:member_search") in html
    assert reverse("registry:import_start") not in html
    assert reverse("core:audit_log") not in html

    client.logout()
    html = login(client, persona("audit_admin")).get(HOME).content.decode()
    assert reverse("core:audit_log") in html
    assert reverse("registry:member_search") not in html


def test_home_in_english_after_set_language(client, persona):
    login(client, persona("county_officer"))
    response = client.post(reverse("set_language"), {"language": "en", "next": HOME}, follow=True)
    html = response.content.decode()
    assert "Overview" in html
    assert "工作概览" not in html


@pytest.mark.parametrize("name", ["township_officer", "prefecture_viewer", "province_viewer"])
def test_every_registry_level_gets_an_overview(client, persona, name):
    make_household(first_village(TOWNSHIP))
    response = login(client, persona(name)).get(HOME)
    assert response.status_code == 200
    assert response.context["stats"]["total"] == 1
    assert sum(row["total"] for row in response.context["children"]) == 1


def test_error_pages_render_without_a_request():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "系统出错了" in html
    assert "Traceback" not in html
