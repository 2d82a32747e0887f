"""Disability apart from illness (policy.md §11: 健康状况 — 健康 / 长期慢性病 / 患有大病 / 残疾,
combinations allowed): a disabled person who is also chronically or seriously ill is recorded
as both, from an import file, from the edit form and across the migration."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from shouwang.registry.importing import run_registry_import
from shouwang.registry.models import Member
from shouwang.registry.tests.test_importing import csv_file, household
from shouwang.registry.tests.test_views import member_form_data
from shouwang.testing.personas import TOWNSHIP, first_village, make_household

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("cell", "illness"),
    [
        ("长期慢性病、残疾", "长期慢性病"),
        ("残疾,患有大病", "患有大病"),  # any separator counties use, in any order
        ("患有大病 / 残疾", "患有大病"),
        ("残疾", "健康"),
    ],
)
def test_a_disabled_person_who_is_also_ill_is_imported_as_both(tmp_path, persona, cell, illness):
    rows = household(size=2)
    rows[1][7], rows[1][8] = cell, "肢体"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=False
    )
    assert outcome.ok, outcome.errors
    m = Member.objects.get(name="成员2")
    assert (m.health, m.disabled, m.disability_type) == (illness, True, "肢体")
    assert Member.objects.get(name="成员1").disabled is False


def test_both_illnesses_are_recorded_as_the_serious_one(tmp_path, persona):
    rows = household(size=1)
    rows[0][7] = "长期慢性病、患有大病"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=False
    )
    assert outcome.ok, outcome.errors
    assert Member.objects.get().health == "患有大病"


def test_healthy_and_ill_at_once_is_refused_with_its_reason(tmp_path, persona):
    rows = household(size=1)
    rows[0][7] = "健康、长期慢性病"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    (error,) = outcome.errors
    assert (error.line, error.column) == ("2", "健康状况")
    assert "不能与疾病同时填写" in error.reason_zh


def test_an_unknown_health_value_names_the_allowed_ones(tmp_path, persona):
    rows = household(size=1)
    rows[0][7] = "残疾、感冒"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    (error,) = outcome.errors
    assert error.column == "健康状况" and "长期慢性病" in error.reason_zh


def test_a_disability_type_needs_disability_among_the_health_values(tmp_path, persona):
    rows = household(size=1)
    rows[0][7], rows[0][8] = "长期慢性病", "视力"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    (error,) = outcome.errors
    assert error.column == "残疾类别"


def test_the_edit_form_records_illness_and_disability_and_the_household_page_shows_both(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    m = hh.members.order_by("id")[0]
    client.force_login(persona("village_cadre"))
    data = member_form_data(m, health="长期慢性病", disabled="on", disability_type="肢体", disability_grade="三级")
    assert client.post(reverse("registry:member_edit", args=[m.pk]), data).status_code == 302
    m.refresh_from_db()
    assert (m.health, m.disabled, m.disability_type, m.disability_grade) == ("长期慢性病", True, "肢体", "三级")
    assert m.health_display == "长期慢性病、残疾"
    page = client.get(reverse("registry:household_detail", args=[hh.pk])).content.decode()
    assert "长期慢性病、残疾" in page


def test_the_edit_form_refuses_a_disability_type_without_disability(client, persona):
    hh = make_household(first_village(TOWNSHIP))
    m = hh.members.order_by("id")[0]
    client.force_login(persona("village_cadre"))
    data = member_form_data(m, disability_type="肢体")
    response = client.post(reverse("registry:member_edit", args=[m.pk]), data)
    assert response.status_code == 200
    assert "只有勾选了“残疾”的成员才能填写残疾类别" in response.content.decode()


def test_members_recorded_as_disabled_before_become_disabled_without_an_illness():
    migration = importlib.import_module("shouwang.registry.migrations.0003_disability_apart_from_illness")
    hh = make_household(first_village(TOWNSHIP), members=2)
    old, other = hh.members.order_by("id")
    Member.objects.filter(pk=old.pk).update(health="残疾")  # the single value of before
    Member.objects.filter(pk=other.pk).update(health="长期慢性病")
    migration.split_disability(apps, None)
    old.refresh_from_db()
    other.refresh_from_db()
    assert (old.health, old.disabled) == ("健康", True)
    assert (other.health, other.disabled) == ("长期慢性病", False)
