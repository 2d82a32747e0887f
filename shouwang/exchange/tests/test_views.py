"""The pages: documentation and templates from the declarations, batch lists scoped to the
county, withdrawal through the UI."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from engine.schemas.feeds import FEED_SCHEMAS
from engine.templates import build_template_xlsx
from shouwang.core.models import AuditEvent
from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.exchange.tests.conftest import COUNTY, good_claims
from shouwang.exchange.views import XLSX

pytestmark = pytest.mark.django_db


def test_the_index_lists_all_twelve_kinds_with_docs_and_templates(client, persona):
    client.force_login(persona("department_officer"))
    page = client.get(reverse("exchange:kind_index")).content.decode()
    for kind, schema in FEED_SCHEMAS.items():
        assert reverse("exchange:kind_doc", args=[kind]) in page
        assert reverse("exchange:template", args=[kind]) in page
        assert schema.label in page


@pytest.mark.parametrize("kind", sorted(FEED_SCHEMAS))
def test_each_kind_has_a_documentation_page_from_its_declaration(client, persona, kind):
    client.force_login(persona("county_officer"))
    page = client.get(reverse("exchange:kind_doc", args=[kind])).content.decode()
    schema = FEED_SCHEMAS[kind]
    for column in schema.columns:
        assert column.label in page and f"<code>{column.name}</code>" in page
        for alias in column.aliases:
            assert alias in page
        for choice in column.choices:
            assert choice in page
    assert page.count(">是</td>") == len(schema.required)


@pytest.mark.parametrize("kind", sorted(FEED_SCHEMAS))
def test_each_template_has_the_headers_an_example_and_drop_down_lists(client, persona, kind):
    client.force_login(persona("department_officer"))
    response = client.get(reverse("exchange:template", args=[kind]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == f'attachment; filename="{kind}-template.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    schema = FEED_SCHEMAS[kind]
    assert [c.value for c in sheet[1]] == [c.label for c in schema.columns]
    assert [c.value for c in sheet[2]] == [c.example or None for c in schema.columns]
    lists = {}  # column letter → the values its drop-down offers
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        sheet_name, _, cells = validation.formula1.partition("!")
        assert sheet_name == "'代码表'"
        source = book["代码表"]
        offered = [row[0].value for row in source[cells.replace("$", "")]]
        for area in validation.sqref.ranges:  # a whole column below the header
            assert area.min_col == area.max_col and area.min_row == 2 and area.max_row >= 1000
            lists[get_column_letter(area.min_col)] = offered
    coded = {get_column_letter(i): list(c.choices) for i, c in enumerate(schema.columns, 1) if c.choices}
    assert lists == coded


@pytest.mark.parametrize("kind", sorted(FEED_SCHEMAS))
def test_the_template_round_trips_through_the_importer(kind, persona, data_dir):
    outcome = do_import_feed(
        build_template_xlsx(FEED_SCHEMAS[kind]),
        filename="t.xlsx",
        kind=kind,
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=True,
        channel="web",
    )
    d = outcome.as_dict()
    assert d["file_error"] is None
    assert (d["total"], d["valid"], d["rejected"], d["duplicates"]) == (1, 1, 0, 0)  # the example row is valid
    assert d["errors"] == [] and d["extra_columns"] == []
    assert d["sheet"] == FEED_SCHEMAS[kind].label[:31] and d["status"] == "dry_run"


def test_the_batch_list_shows_the_county_only(client, persona, data_dir):
    do_import_feed(
        good_claims(2),
        filename="a.csv",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=False,
        channel="web",
    )
    FeedBatch.objects.create(
        kind="deaths", county_id="522631", filename="other.csv", sha256="1" * 64, channel="cli", status="committed"
    )
    client.force_login(persona("county_officer"))
    page = client.get(reverse("exchange:batch_list")).content.decode()
    assert "a.csv" in page and "other.csv" not in page
    client.force_login(persona("other_county_cadre"))
    page = client.get(reverse("exchange:batch_list")).content.decode()
    assert "other.csv" in page and "a.csv" not in page
    assert client.get(reverse("exchange:batch_list") + "?kind=deaths&status=committed").status_code == 200


def test_withdrawal_from_the_page_is_for_the_uploader_and_the_county_only(client, persona, data_dir):
    batch = do_import_feed(
        good_claims(2),
        filename="a.csv",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=False,
        channel="web",
    ).batch
    client.force_login(persona("township_officer"))
    assert client.post(reverse("exchange:batch_withdraw", args=[batch.pk]), {"reason": "x"}).status_code == 404
    client.force_login(persona("department_officer"))
    page = client.get(reverse("exchange:batch_detail", args=[batch.pk])).content.decode()
    assert "撤回批次" in page
    response = client.post(reverse("exchange:batch_withdraw", args=[batch.pk]), {"reason": "重复报送"})
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.WITHDRAWN and batch.withdraw_reason == "重复报送"
    assert AuditEvent.objects.filter(action="exchange.withdraw", object_id=str(batch.pk)).exists()
    assert not list((data_dir / "feeds").rglob("*.parquet"))


def test_the_navigation_shows_department_data_to_feed_viewers(client, persona):
    for who, shown in (("department_officer", True), ("county_officer", True), ("village_cadre", False)):
        client.force_login(persona(who))
        page = client.get(reverse("core:home")).content.decode()
        assert (f'href="{reverse("exchange:batch_list")}"' in page) is shown, who
