"""Policy simulation: the same screening with some parameters changed, counted and never stored.

台江县 2025 with the (assumed) Guizhou line of 8,500 yuan a head: a household at 8,800 a head
is above today's line and under a simulated line of 9,000.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from shouwang.core.models import AuditEvent
from shouwang.registry.models import AnnualAccount
from shouwang.screening.models import ScreeningRun, Warning
from shouwang.screening.simulation import SimulationError, parse_overrides, simulate
from shouwang.testing.personas import COUNTY, TOWNSHIP, first_village, make_household

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def household_at(per_head: int, village: str | None = None):
    household = make_household(village or first_village(TOWNSHIP), members=3)
    AnnualAccount.objects.filter(household=household, year=2025).update(
        wage_income=Decimal(per_head * 3), operating_income=0, operating_cost=0, property_income=0, transfer_income=0
    )
    return household


def test_raising_the_line_to_9000_puts_more_households_under_it_than_today():
    household_at(4000), household_at(8800), household_at(15000)

    result = simulate(COUNTY, 2025, {"monitoring_line": Decimal("9000")})

    assert result.changed == {"monitoring_line": (Decimal("8500"), Decimal("9000"))}
    assert result.rules == ("income_below_line",)
    assert (result.total.below_today, result.total.below_simulated, result.total.below_diff) == (1, 2, 1)
    assert result.total.by_rule["income_below_line"] == [1, 2]
    assert result.total.warned_simulated - result.total.warned_today == 1
    township = next(a for a in result.areas if a.code == TOWNSHIP)
    assert (township.below_today, township.below_simulated) == (1, 2)
    assert sum(a.below_simulated for a in result.areas) == result.total.below_simulated


def test_a_simulation_writes_no_warnings_and_no_runs(client, persona):
    household_at(4000), household_at(8800)
    events = AuditEvent.objects.count()

    simulate(COUNTY, 2025, {"monitoring_line": "9000"})
    client.force_login(persona("county_officer"))
    page = client.get(reverse("screening:simulate"), {"run": "1", "year": "2025", "monitoring_line": "9000"})

    assert page.status_code == 200
    assert "sim-chart" in page.content.decode()
    assert not Warning.objects.exists()
    assert not ScreeningRun.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_township_officer_simulates_their_villages(client, persona):
    household_at(8800)
    client.force_login(persona("township_officer"))
    page = client.get(reverse("screening:simulate"), {"run": "1", "year": "2025", "monitoring_line": "9000"})
    assert page.status_code == 200
    assert page.context["result"].region_code == TOWNSHIP
    assert page.context["result"].area_level == "村"
    assert page.context["result"].total.below_simulated == 1


@pytest.mark.parametrize("name", ["village_cadre", "department_officer", "prefecture_viewer"])
def test_a_village_cadre_or_department_officer_cannot_simulate(client, persona, name):
    client.force_login(persona(name))
    assert client.get(reverse("screening:simulate")).status_code == 403
    assert client.get(reverse("screening:simulate"), {"run": "1", "monitoring_line": "9000"}).status_code == 403


def test_an_unknown_parameter_is_refused(client, persona):
    with pytest.raises(SimulationError, match="未知的参数：poverty_line"):
        simulate(COUNTY, 2025, {"poverty_line": Decimal("9000")})
    client.force_login(persona("county_officer"))
    page = client.get(reverse("screening:simulate"), {"run": "1", "year": "2025", "poverty_line": "9000"})
    assert page.status_code == 400
    assert "未知的参数：poverty_line" in page.content.decode()
    assert page.context["result"] is None


def test_values_must_be_non_negative_numbers():
    with pytest.raises(SimulationError, match="不是数字"):
        parse_overrides({"monitoring_line": "九千"})
    with pytest.raises(SimulationError, match="不能为负数"):
        parse_overrides({"monitoring_line": "-1"})
    assert parse_overrides({"monitoring_line": "9,000", "income_drop_share": ""}) == {"monitoring_line": Decimal(9000)}


def test_the_form_shows_each_parameter_with_its_current_value_and_source(client, persona):
    client.force_login(persona("county_officer"))
    page = client.get(reverse("screening:simulate"), {"year": "2025"})
    text = page.content.decode()
    assert page.status_code == 200
    assert page.context["result"] is None
    assert "8500" in text and "ASSUMPTION" in text
