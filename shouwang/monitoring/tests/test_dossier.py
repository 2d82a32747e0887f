"""The household dossier (一户一档): a PDF with its own CJK font, the whole history, no full ID."""

from __future__ import annotations

import re
import zlib

import pytest
from django.urls import reverse

from shouwang.core.models import AuditEvent
from shouwang.monitoring import procedure as p
from shouwang.monitoring.tests.conftest import warning_on
from shouwang.registry.actions import reveal_id_number

pytestmark = pytest.mark.django_db


def _streams(pdf: bytes) -> str:
    """The PDF's text streams, inflated, as latin-1 (enough to look for markers and fonts)."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            out.append(m.group(1).decode("latin-1"))
    return "\n".join(out)


def test_the_dossier_is_a_pdf_carrying_its_cjk_font_and_the_households_history(client, persona, household, walk):
    case = walk.county_decide(walk.through(p.open_from_warning(warning_on(household))), opinion="同意纳入监测")
    client.force_login(persona("county_officer"))

    response = client.get(reverse("monitoring:dossier", args=[household.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile3" in pdf or b"/FontFile2" in pdf  # the font travels with the document
    assert b"NotoSansCJK" in pdf or b"Noto" in pdf
    assert len(pdf) < 300_000  # a subset, not the whole font
    full = reveal_id_number(household.head)
    assert full.encode() not in pdf and full not in _streams(pdf)
    assert AuditEvent.objects.filter(action="monitoring.dossier", actor__username="county_officer").exists()
    assert case.events.count() >= 8


def test_a_dossier_outside_ones_area_is_not_found(client, persona, household):
    client.force_login(persona("sibling_village_cadre"))
    assert client.get(reverse("monitoring:dossier", args=[household.pk])).status_code == 404
