"""The pages: documentation and templates from the declarations, batch lists scoped to the
county, withdrawal through the UI."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from engine.schemas.feeds import FEED_SCHEMAS
from engine.templates import build_template_xlsx
from shouwang.core.models import AuditEvent
from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.exchange.tests.conftest import COUNTY, good_claims

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
    assert response.content == build_template_xlsx(FEED_SCHEMAS[kind]) or response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    schema = FEED_SCHEMAS[kind]
    assert [c.value for c in sheet[1]] == [c.label for c in schema.columns]
    assert sheet.cell(row=2, column=1).value == schema.columns[0].example
    coded = [c for c in schema.columns if c.choices]
    assert len(sheet.data_validations.dataValidation) == len(coded)


def test_the_template_round_trips_through_the_importer(persona, data_dir):
    schema = FEED_SCHEMAS["medical_claims"]
    outcome = do_import_feed(
        build_template_xlsx(schema),
        filename="t.xlsx",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=True,
        channel="web",
    )
    assert outcome.file_error is None
    assert outcome.stats.total == 1  # the example row (its ID is not of 台江县, its county code is)


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
