"""Probabilistic linkage inside an import, the review queue and the unmatched list.

A small registry of 台拱街道 with the people the feed rows are about: 张伟 (1980-05-01), two
李娜 born the same day in different households (equally good candidates), and fillers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from engine.ids import make_id_number, parse_id_number
from shouwang.core.models import AuditEvent
from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import FeedBatch, LinkReview, ReviewStatus
from shouwang.regions.models import Level, Region
from shouwang.registry.actions import protected_id_fields
from shouwang.registry.models import Member
from shouwang.testing.personas import first_village, make_household, make_user

pytestmark = pytest.mark.django_db

COUNTY = "522630"
TOWNSHIP = "522630001"


def _member(village: str, name: str, birth: dt.date, seq: int, sex: str = "M") -> Member:
    household = make_household(village, members=1)
    idn = parse_id_number(make_id_number(COUNTY, birth, seq, sex))
    return Member.objects.create(
        household=household, name=name, relationship="户主", labour_capacity="普通劳动力", **protected_id_fields(idn)
    )


@pytest.fixture
def people(db):
    village = first_village(TOWNSHIP)
    for _ in range(6):
        make_household(village, members=3)  # fillers: 成员n-i
    return {
        "zhang": _member(village, "张伟", dt.date(1980, 5, 1), 11),
        "na1": _member(village, "李娜", dt.date(1985, 3, 3), 12, "F"),
        "na2": _member(village, "李娜", dt.date(1985, 3, 3), 14, "F"),
        "village": village,
    }


def claims(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "出生日期", "结算日期", "医疗总费用", "个人自付"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


STRANGER = make_id_number(COUNTY, dt.date(1950, 1, 1), 901, "M")  # valid, nobody in the registry

FILE = claims(
    [
        ["", "张伟", "1980-05-01", "2025-05-01", "100", "20"],  # line 2: missing ID → probabilistic
        ["", "章伟", "1980-05-01", "2025-05-02", "100", "20"],  # line 3: homophone typo → probabilistic
        ["", "李娜", "1985-03-03", "2025-05-03", "100", "20"],  # line 4: two equal candidates → review
        ["", "@无名", "", "2025-05-04", "100", "20"],  # line 5: nobody → unmatched (a name a spreadsheet could misread)
        [STRANGER, "王五", "", "2025-05-05", "100", "20"],  # line 6: a valid ID of nobody → unmatched
    ]
)


def _import(user, data: bytes = FILE, *, dry_run: bool = False):
    return do_import_feed(
        data, filename="claims.csv", kind="medical_claims", county=COUNTY, user=user, dry_run=dry_run, channel="web"
    )


def _rows(data_dir, batch: FeedBatch) -> dict[str, dict]:
    tables = [pq.read_table(data_dir / p) for p in batch.storage_paths]
    return {r["line"]: r for t in tables for r in t.to_pylist()}


def test_missing_ids_are_kept_and_linked_probabilistically(persona, data_dir, people):
    outcome = _import(persona("department_officer"))
    assert outcome.committed, outcome.as_dict()
    d = outcome.as_dict()
    assert d["valid"] == 5 and d["warning_count"] == 4  # four rows without an ID, warned
    assert any(e["reason_zh"].startswith("身份证号缺失") for e in d["errors"])
    links = d["links"]
    assert (links["exact"], links["probabilistic"], links["review"], links["unmatched"]) == (0, 2, 1, 2)
    assert links["match_rate"] == 0.4
    rows = _rows(data_dir, outcome.batch)
    zhang = people["zhang"]
    for line in ("2", "3"):  # the name and its homophone typo, with the birth date
        assert rows[line]["member_key"] == zhang.pk and rows[line]["household_key"] == zhang.household_id
        assert rows[line]["link_status"] == "probabilistic" and rows[line]["link_probability"] >= 0.95
        assert rows[line]["id_hash"] is None and rows[line]["id_masked"] is None
    assert rows["4"]["link_status"] == "review" and rows["4"]["member_key"] is None
    assert rows["5"]["link_status"] == rows["6"]["link_status"] == "unmatched"
    assert rows["6"]["id_masked"] == STRANGER[:4] + "*" * 10 + STRANGER[-4:]
    review = LinkReview.objects.get(batch=outcome.batch)
    assert (review.line, review.name, review.birth_date) == ("4", "李娜", dt.date(1985, 3, 3))
    assert {c.member_id for c in review.candidates.all()} == {people["na1"].pk, people["na2"].pk}
    assert all(c.probability < 0.5 for c in review.candidates.all())
    batch = FeedBatch.objects.get(pk=outcome.batch.pk)
    assert batch.counts["links"]["review"] == 1


def test_a_dry_run_reports_the_linkage_and_stores_nothing(persona, data_dir, people):
    outcome = _import(persona("department_officer"), dry_run=True)
    links = outcome.as_dict()["links"]
    assert (links["probabilistic"], links["review"], links["unmatched"]) == (2, 1, 2)
    assert not LinkReview.objects.exists()
    assert not (data_dir / "feeds").exists()


def test_a_failing_linkage_refuses_the_file_and_stores_nothing(persona, data_dir, people, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("duckdb exploded")

    monkeypatch.setattr("shouwang.exchange.linking.link_probabilistic", broken)
    outcome = _import(persona("department_officer"))
    assert not outcome.committed and outcome.file_error["code"] == "linkage"
    assert not FeedBatch.objects.filter(status="committed").exists() and not LinkReview.objects.exists()
    assert not list((data_dir / "feeds").rglob("*.parquet")) if (data_dir / "feeds").exists() else True


def _review(persona, people):
    outcome = _import(persona("department_officer"))
    return outcome.batch, LinkReview.objects.get(batch=outcome.batch)


def test_accepting_a_review_rewrites_the_row_and_the_counts_audited(client, persona, data_dir, people):
    batch, review = _review(persona, people)
    officer = persona("county_officer")
    client.force_login(officer)
    page = client.get(reverse("exchange:review_list")).content.decode()
    assert "李娜" in page and people["na1"].id_number_masked in page
    na2 = people["na2"]
    response = client.post(
        reverse("exchange:review_decide", args=[review.pk]), {"decision": "accept", "member": na2.pk}
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.ACCEPTED and review.member_id == na2.pk and review.decided_by == officer
    row = _rows(data_dir, batch)["4"]
    assert (row["member_key"], row["household_key"], row["link_status"]) == (na2.pk, na2.household_id, "confirmed")
    batch.refresh_from_db()
    links = batch.counts["links"]
    assert (links["confirmed"], links["review"], links["match_rate"]) == (1, 0, 0.6)
    event = AuditEvent.objects.get(action="exchange.link_review")
    assert event.detail["decision"] == "accepted" and event.detail["member"] == na2.pk and event.actor == officer
    assert not any(p in (data_dir / batch.manifest_path).read_text() for p in ("李娜",))
    # a decided review cannot be decided again
    client.post(reverse("exchange:review_decide", args=[review.pk]), {"decision": "reject"})
    review.refresh_from_db()
    assert review.status == ReviewStatus.ACCEPTED
    # the plaintext-ID scan: no registry ID number anywhere in the data directory
    ids = [make_id_number(COUNTY, dt.date(1985, 3, 3), s, "F") for s in (12, 14)] + [STRANGER]
    for path in data_dir.rglob("*"):
        if path.is_file():
            body = path.read_bytes()
            assert not any(i.encode() in body for i in ids), path


def test_rejecting_a_review_leaves_the_row_unmatched(client, persona, data_dir, people):
    batch, review = _review(persona, people)
    client.force_login(persona("township_officer"))
    response = client.post(reverse("exchange:review_decide", args=[review.pk]), {"decision": "reject"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.REJECTED and review.member_id is None
    row = _rows(data_dir, batch)["4"]
    assert row["link_status"] == "unmatched" and row["member_key"] is None
    batch.refresh_from_db()
    assert (batch.counts["links"]["review"], batch.counts["links"]["unmatched"]) == (0, 3)
    assert AuditEvent.objects.filter(action="exchange.link_review", detail__decision="rejected").exists()


def test_a_candidate_not_offered_cannot_be_chosen(client, persona, data_dir, people):
    _, review = _review(persona, people)
    client.force_login(persona("county_officer"))
    client.post(
        reverse("exchange:review_decide", args=[review.pk]), {"decision": "accept", "member": people["zhang"].pk}
    )
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING


def test_department_officers_and_other_counties_do_not_see_reviews(client, persona, data_dir, people):
    _, review = _review(persona, people)
    client.force_login(persona("department_officer"))
    assert client.get(reverse("exchange:review_list")).status_code == 403
    assert client.get(reverse("exchange:review_detail", args=[review.pk])).status_code == 404
    decide = reverse("exchange:review_decide", args=[review.pk])
    assert client.post(decide, {"decision": "reject"}).status_code == 404
    client.force_login(persona("other_county_cadre"))
    assert client.get(reverse("exchange:review_detail", args=[review.pk])).status_code == 404
    assert client.post(decide, {"decision": "reject"}).status_code == 404
    assert "李娜" not in client.get(reverse("exchange:review_list")).content.decode()
    # a township officer elsewhere in the county: no candidate in their township
    other = Region.objects.filter(level=Level.TOWNSHIP, code__startswith=COUNTY).exclude(code=TOWNSHIP).first()
    other_township = make_user("other_township", "township_officer", other.code)
    client.force_login(other_township)
    assert client.get(reverse("exchange:review_detail", args=[review.pk])).status_code == 404
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING


def test_the_batch_page_shows_match_rates_and_the_unmatched_list_downloads(client, persona, data_dir, people):
    batch, _ = _review(persona, people)
    client.force_login(persona("department_officer"))
    page = client.get(reverse("exchange:batch_detail", args=[batch.pk])).content.decode()
    assert "概率匹配" in page and "待人工核实" in page and "40.0%" in page
    response = client.get(reverse("exchange:batch_unmatched", args=[batch.pk, "csv"]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["行号/Line", "姓名/Name", "身份证号/ID (masked)"]
    by_line = {r[0]: r for r in rows[1:]}
    assert set(by_line) == {"4", "5", "6"}
    assert by_line["5"][1] == "'@无名" and by_line["5"][2] == ""  # neutralised, no ID
    assert by_line["6"][2] == STRANGER[:4] + "*" * 10 + STRANGER[-4:]
    assert STRANGER not in response.content.decode("utf-8-sig")
    xlsx = client.get(reverse("exchange:batch_unmatched", args=[batch.pk, "xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
