"""Linkage inside the import: what a department file gives besides the ID — 性别, 所在村,
乡镇（街道）, an address — is used when the ID is missing, and the kind's key tells which rows
are distinct people."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pyarrow as pa
import pytest

from engine.feeds import link_exact, standardize_feed
from engine.feeds.linking import LinkStatus, group_keys, link_probabilistic, linkage_feed
from engine.ids import make_id_number
from engine.linkage import PLACES_SCHEMA
from engine.protect import Protector, generate_key
from engine.schemas.feeds import FEED_SCHEMAS
from engine.screening.inputs import MEMBERS_SCHEMA

COUNTY = "522630"
PROTECTOR = Protector.from_settings("aes", generate_key(), generate_key())
HONG_YANG, SHI_DONG = "522630001201", "522630101202"  # 台拱街道红阳村, 施洞镇施洞村
PLACES = pa.table(
    {
        "village_code": [HONG_YANG, SHI_DONG],
        "village_name": ["红阳村村民委员会", "施洞村村民委员会"],
        "township_code": [HONG_YANG[:9], SHI_DONG[:9]],
        "township_name": ["台拱街道", "施洞镇"],
    },
    schema=PLACES_SCHEMA,
)


def _id(n: int, sex: str = "M") -> str:
    return make_id_number(COUNTY, dt.date(1950, 1, 1) + dt.timedelta(days=37 * n), n % 500, sex)


@pytest.fixture(scope="module")
def members() -> list[dict]:
    """1,200 members with distinct names in two villages; 龙金花 twice, once in each village."""
    rng = random.Random(5)
    surnames, given = "杨张吴龙王李刘潘石邰田欧", "金花明芳强英军丽波勇娟华秀兰春梅玉"
    seen: set[str] = set()
    out = []
    while len(out) < 1_200:
        name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        if name in seen or name == "龙金花":
            continue
        seen.add(name)
        out.append({"name": name})
    out[0]["name"] = out[1]["name"] = "龙金花"
    for i, m in enumerate(out):
        m.update(member_key=i + 1, household_key=i // 4 + 1, number=_id(i + 1, "F" if i % 2 else "M"))
        m["village_code"] = HONG_YANG if i % 2 == 0 else SHI_DONG
    return out


@pytest.fixture(scope="module")
def registry(members) -> pa.Table:
    rows = [
        {
            "member_key": m["member_key"],
            "household_key": m["household_key"],
            "id_hash": PROTECTOR.hash(m["number"]),
            "name": m["name"],
            "birth_date": dt.date(int(m["number"][6:10]), int(m["number"][10:12]), int(m["number"][12:14])),
            "sex": "M" if int(m["number"][16]) % 2 else "F",
            "village_code": m["village_code"],
            "deceased": False,
        }
        for m in members
    ]
    return pa.Table.from_pylist(rows, schema=MEMBERS_SCHEMA)


def _enrolment(members: list[dict], extra: list[list[str]]) -> bytes:
    """A 2025 enrolment list with every member but the first ten by ID, then `extra` rows."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["乡镇（街道）", "所在村", "姓名", "性别", "身份证号", "参保年度", "参保状态"])
    town = {HONG_YANG: ("台拱街道", "红阳村"), SHI_DONG: ("施洞镇", "施洞村")}
    for m in members[10:]:
        w.writerow([*town[m["village_code"]], m["name"], "", m["number"], "2025", "已参保"])
    w.writerows(extra)
    return out.getvalue().encode("utf-8-sig")


def _linked(data: bytes, kind: str, registry: pa.Table) -> pa.Table:
    result = standardize_feed(data, FEED_SCHEMAS[kind], protector=PROTECTOR, county_code=COUNTY)
    keys = dict(
        zip(
            registry.column("id_hash").to_pylist(),
            zip(registry.column("member_key").to_pylist(), registry.column("household_key").to_pylist(), strict=True),
            strict=True,
        )
    )
    return link_probabilistic(link_exact(result.table, keys), registry, places=PLACES, kind=kind).table


def _by_name(table: pa.Table, name: str) -> list[dict]:
    return [r for r in table.to_pylist() if r["name"] == name and r["id_hash"] is None]


def test_a_row_without_an_id_is_linked_by_its_name_and_the_village_the_file_names(members, registry) -> None:
    # 龙金花 lives in each village once; the file's 所在村 says which one this is
    table = _linked(
        _enrolment(members, [["施洞镇", "施洞村", "龙金花", "女", "", "2025", "已参保"]]), "medical_enrolment", registry
    )
    (row,) = _by_name(table, "龙金花")
    assert (row["member_key"], row["link_status"]) == (2, LinkStatus.PROBABILISTIC)
    assert row["household_key"] == members[1]["household_key"]


def test_without_the_village_two_namesakes_go_to_a_reviewer(members, registry) -> None:
    table = _linked(_enrolment(members, [["", "", "龙金花", "", "", "2025", "已参保"]]), "medical_enrolment", registry)
    (row,) = _by_name(table, "龙金花")
    assert row["link_status"] == LinkStatus.REVIEW and row["member_key"] is None


def test_the_stated_sex_counts_only_when_the_id_does_not_say(registry) -> None:
    rows = pa.table(
        {
            "row_id": pa.array([0, 1], pa.int64()),
            "id_hash": pa.array(["h", None], pa.string()),
            "name": ["甲", "乙"],
            "birth_date": pa.array([None, None], pa.date32()),
            "sex": pa.array(["F", None], pa.string()),
            "stated_sex": ["男", "男"],
        }
    )
    assert linkage_feed(rows, "deaths").column("sex").to_pylist() == ["F", "M"]


def test_a_housing_address_names_the_village(registry) -> None:
    rows = pa.table(
        {
            "row_id": pa.array([0], pa.int64()),
            "id_hash": pa.array([None], pa.string()),
            "name": ["甲"],
            "birth_date": pa.array([None], pa.date32()),
            "sex": pa.array([None], pa.string()),
            "address": ["台江县施洞镇施洞村3组"],
        }
    )
    feed = linkage_feed(rows, "housing_appraisal", PLACES)
    assert feed.column("village_code").to_pylist() == [SHI_DONG]


def test_rows_are_distinct_people_as_the_kinds_key_says() -> None:
    rows = pa.table(
        {
            "year": pa.array([2025, 2025, 2024], pa.int16()),
        }
    )
    enrolment = group_keys(rows, "medical_enrolment").to_pylist()
    assert enrolment[0] == enrolment[1] != enrolment[2]  # once per person and year
    deaths = group_keys(rows, "deaths").to_pylist()
    assert deaths[0] == deaths[1] == deaths[2]  # once per person, whatever the file
    assert group_keys(rows, "water_safety").null_count == 3  # a village feed: nobody to link


def test_linkage_hints_are_optional_columns_of_every_person_kind() -> None:
    for kind, schema in FEED_SCHEMAS.items():
        names = {c.name for c in schema.columns}
        if "id_number" in names:
            assert {"stated_sex", "township", "village"} <= names, kind
            assert not any(schema.column(c).required for c in ("stated_sex", "township", "village"))
