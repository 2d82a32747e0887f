"""Parameters are data: a county's local values (本地设定) merged over the shipped table.

The shipped table has an assumed Guizhou line of 8,500 yuan a head for 2025; households here
earn 8,800 a head, above it, so only a local line above 8,800 warns them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from engine.screening import resolve_parameters
from engine.screening.params import parse_parameter_rows
from shouwang.core.models import AuditEvent
from shouwang.registry.models import AnnualAccount
from shouwang.screening.actions import do_screen
from shouwang.screening.models import ParameterOverride, Warning
from shouwang.screening.parameters import (
    ParameterRequestError,
    do_set_parameter,
    do_withdraw_parameter,
    effective_parameter_table,
    merge_rows,
)
from shouwang.screening.simulation import current_parameters
from shouwang.testing.personas import COUNTY, TOWNSHIP, first_village, make_household

pytestmark = pytest.mark.django_db

SOURCE = "台江县乡村振兴局关于调整2025年防止返贫监测范围的通知（台振兴发〔2025〕1号）"


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


def set_line(user, value, region=COUNTY, **kw):
    fields = {"first_year": 2025, "unit": "元/人·年", "source": SOURCE, "grade": "V1"} | kw
    return do_set_parameter(user, name="monitoring_line", region_code=region, value=value, **fields)


def test_a_countys_local_monitoring_line_overrides_the_shipped_one_in_screening(persona):
    household = household_at(8800)
    assert do_screen(COUNTY, 2025, rules=["income_below_line"]).warnings_total == 0  # shipped 8,500

    set_line(persona("county_officer"), "9000")
    run = do_screen(COUNTY, 2025, rules=["income_below_line"])

    warning = Warning.objects.get(household=household)
    assert warning.evidence["parameters"] == {"monitoring_line": "9000"}
    assert run.warnings_new == 1
    assert current_parameters(COUNTY, 2025)["monitoring_line"] == Decimal("9000")  # simulation too


def test_the_run_manifest_records_the_local_value_and_its_source(persona):
    household_at(8800)
    override = set_line(persona("county_officer"), "9000")

    run = do_screen(COUNTY, 2025, rules=["income_below_line"])

    line = run.manifest["parameters"]["monitoring_line"]
    assert (Decimal(line["value"]), line["source"], line["grade"], line["region_code"]) == (
        Decimal("9000"),
        SOURCE,
        "V1",
        COUNTY,
    )
    assert line["note"].startswith(f"本地设定 #{override.pk}")


def test_an_edit_creates_a_new_version_and_keeps_the_old(persona, client):
    officer = persona("county_officer")
    first = set_line(officer, "9000")
    client.force_login(officer)

    response = client.post(
        reverse("screening:parameter_edit", args=[first.pk]),
        {
            "region": COUNTY,
            "first_year": "2025",
            "value": "9200",
            "unit": "元/人·年",
            "source": SOURCE + "（修订）",
            "grade": "V1",
        },
    )

    assert response.status_code == 302
    first.refresh_from_db()
    second = ParameterOverride.objects.get(superseded_at__isnull=True)
    assert (first.value, first.superseded_by, first.superseded_at is not None) == (Decimal("9000"), second, True)
    assert second.value == Decimal("9200") and second.created_by == officer
    event = AuditEvent.objects.get(action="screening.parameter_set", object_id=str(second.pk))
    assert event.detail["old"][0]["value"] == "9000" and event.detail["new"]["value"] == "9200"
    page = client.get(reverse("screening:parameter_list"), {"year": 2025}).content.decode()
    assert "本地设定" in page and "已被替换" in page and "9200" in page
    assert resolve_parameters(effective_parameter_table(COUNTY), COUNTY, 2025)["monitoring_line"] == Decimal("9200")


def test_withdrawing_a_local_value_brings_back_the_shipped_one_and_is_audited(persona, client):
    officer = persona("county_officer")
    override = set_line(officer, "9000")
    client.force_login(officer)

    assert client.post(reverse("screening:parameter_withdraw", args=[override.pk])).status_code == 302

    override.refresh_from_db()
    assert override.superseded_at is not None and override.superseded_by is None
    assert resolve_parameters(effective_parameter_table(COUNTY), COUNTY, 2025)["monitoring_line"] == Decimal("8500")
    assert AuditEvent.objects.filter(action="screening.parameter_withdraw", object_id=str(override.pk)).exists()
    with pytest.raises(ParameterRequestError):
        do_withdraw_parameter(override, officer)


def test_a_township_specific_value_beats_the_countys_for_that_township(persona):
    officer = persona("county_officer")
    set_line(officer, "8000")
    set_line(officer, "9000", region=TOWNSHIP)
    table = effective_parameter_table(COUNTY)

    assert resolve_parameters(table, COUNTY, 2025)["monitoring_line"] == Decimal("8000")
    assert resolve_parameters(table, TOWNSHIP, 2025)["monitoring_line"] == Decimal("9000")
    assert resolve_parameters(table, first_village(TOWNSHIP), 2025)["monitoring_line"] == Decimal("9000")
    assert resolve_parameters(table, "522630002", 2025)["monitoring_line"] == Decimal("8000")


def test_an_override_wins_cleanly_over_a_shipped_row_of_the_same_region():
    shipped = parse_parameter_rows(
        [
            {"parameter": "monitoring_line", "region_code": COUNTY, "year_from": "2020", "year_to": "",
             "value": "7000", "unit": "元", "grade": "V1", "source": "县文件A", "note": ""},
            {"parameter": "monitoring_line", "region_code": COUNTY, "year_from": "2025", "year_to": "2025",
             "value": "8000", "unit": "元", "grade": "V1", "source": "县文件B", "note": ""},
        ]
    )  # fmt: skip
    override = ParameterOverride(
        pk=1, name="monitoring_line", region_id=COUNTY, first_year=2025, last_year=None,
        value=Decimal("9000"), unit="元", source="本地文件", grade="V1",
    )  # fmt: skip

    table = merge_rows(shipped, [override])  # same key as a shipped row: no "two rows" error

    def line(year):
        return resolve_parameters(table, COUNTY, year).values["monitoring_line"]

    assert (line(2024).value, line(2024).source) == (Decimal("7000"), "县文件A")  # kept before
    assert (line(2025).value, line(2025).source) == (Decimal("9000"), "本地文件")
    assert line(2030).value == Decimal("9000")  # the open shipped row no longer outranks it


def test_the_form_checks_source_numbers_and_region_in_chinese(persona, client):
    client.force_login(persona("county_officer"))
    url = reverse("screening:parameter_new")
    base = {"name": "monitoring_line", "region": COUNTY, "first_year": "2025", "value": "9000", "grade": "V1"}

    no_source = client.post(url, base | {"source": " "})
    negative = client.post(url, base | {"source": SOURCE, "value": "-1"})
    elsewhere = client.post(url, base | {"source": SOURCE, "region": "522631"})

    assert no_source.status_code == negative.status_code == elsewhere.status_code == 400
    assert "请填写依据文件" in no_source.content.decode()
    assert "不小于 0" in negative.content.decode()
    assert "本县或本县所辖乡镇" in elsewhere.content.decode()
    assert not ParameterOverride.objects.exists()
    assert client.post(url, base | {"source": SOURCE}).status_code == 302
    assert ParameterOverride.objects.get().value == Decimal("9000")


def test_a_village_cadre_cannot_edit(persona, client):
    client.force_login(persona("village_cadre"))
    response = client.post(
        reverse("screening:parameter_new"),
        {
            "name": "monitoring_line",
            "region": COUNTY,
            "first_year": "2025",
            "value": "1",
            "source": SOURCE,
            "grade": "V1",
        },
    )
    assert response.status_code == 403
    assert not ParameterOverride.objects.exists()


def test_another_countys_officer_gets_404_on_this_countys_override(persona, client):
    override = set_line(persona("county_officer"), "9000")
    client.force_login(persona("other_county_cadre"))

    assert client.get(reverse("screening:parameter_edit", args=[override.pk])).status_code == 404
    assert client.post(reverse("screening:parameter_edit", args=[override.pk]), {"value": "1"}).status_code == 404
    assert client.post(reverse("screening:parameter_withdraw", args=[override.pk])).status_code == 404
    assert "9000" not in client.get(reverse("screening:parameter_list"), {"year": 2025}).content.decode()
    assert ParameterOverride.objects.get().superseded_at is None
