"""Hostile and broken files through the whole pipeline: refused as a whole, recorded, nothing
stored, the process unharmed."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook

from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.exchange.tests.conftest import COUNTY, claims_csv, idn

pytestmark = pytest.mark.django_db


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * (40 * 1024 * 1024))
    return out.getvalue()


def entity_attack() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx([["身份证号", "结算日期", "医疗总费用", "个人自付"]])))
    out = io.BytesIO()
    lol = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = lol + content.split(b"?>", 1)[-1]
            archive.writestr(info, content)
    return out.getvalue()


HOSTILE = {
    "empty": (b"", "empty"),
    "blank": (b"\r\n \r\n", "empty"),
    "garbage": (bytes(range(256)) * 200, "binary"),
    "pdf": (b"%PDF-1.7\n" + b"x" * 100, "binary"),
    "utf16_broken": (codecs.BOM_UTF16_LE + "身份证号,结算日期".encode("utf-16-le") + b"\xd8", "encoding"),
    "latin1_mess": ("身份证号,结算日期\n".encode() + b"\xff\xfe\xfa\xfb" * 4, "no_header"),
    "zip_bomb": (zip_bomb(), "zip_bomb"),
    "xml_entity": (entity_attack(), "xml_entity"),
    "damaged_xlsx": (xlsx([["身份证号"]])[:300], "xlsx"),
    "missing_column": (claims_csv([])[:20], "missing_column"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_is_refused_whole_and_recorded(name, persona, data_dir):
    data, code = HOSTILE[name]
    outcome = do_import_feed(
        data,
        filename=f"{name}.bin",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=False,
        channel="web",
    )
    assert outcome.file_error is not None
    assert outcome.file_error["code"] in {code, "no_header", "encoding", "binary"}, outcome.file_error
    assert outcome.file_error["reason_zh"] and outcome.file_error["reason_en"]
    assert outcome.message().startswith("文件被拒绝")
    assert not (data_dir / "feeds").exists()
    assert FeedBatch.objects.get().status == BatchStatus.REJECTED


def test_a_formula_in_a_cell_is_reported_as_text_never_run(persona, data_dir):
    rows = [[idn(1), '=HYPERLINK("http://evil","点我")', "2025-01-15", "门诊", "=1+2", "30"]]
    outcome = do_import_feed(
        claims_csv(rows),
        filename="f.csv",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=True,
        channel="web",
    )
    assert outcome.stats.rejected == 1
    report = (data_dir / outcome.batch.report_path).read_text(encoding="utf-8-sig")
    assert "'=1+2" in report and "\n=" not in report and ",=" not in report


def test_a_15_digit_id_is_upgraded_and_linked_like_its_18_digit_form(persona, data_dir):
    from engine.ids import parse_id_number
    from shouwang.registry.actions import protected_id_fields
    from shouwang.registry.models import Member
    from shouwang.testing.personas import first_village, make_household

    full = idn(5, birth=dt.date(1966, 3, 1))
    household = make_household(first_village("522630001"), members=1)
    member = Member.objects.create(
        household=household, name="甲", relationship="子", **protected_id_fields(parse_id_number(full))
    )
    fifteen = full[:6] + full[8:17]
    rows = [[fifteen, "甲", "2025-01-15", "门诊", "1", "1"], [full.lower(), "甲", "2025-02-15", "门诊", "1", "1"]]
    outcome = do_import_feed(
        claims_csv(rows),
        filename="15.csv",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=False,
        channel="web",
    )
    assert outcome.ok and outcome.stats.valid == 2
    assert outcome.links["exact"] == 2 and outcome.links["exact_rate"] == 1.0
    from engine.feeds import read_batch

    table = read_batch(data_dir, outcome.batch.storage_paths)
    assert set(table.column("member_key").to_pylist()) == {member.pk}
    assert set(table.column("household_key").to_pylist()) == {household.pk}


@pytest.mark.parametrize("written", ["2025-05-01", "2025/5/1", "20250501", "2025年5月1日", "2025.05.01", "45778"])
def test_every_date_form_is_accepted(written, persona, data_dir):
    rows = [[idn(1), "甲", written, "门诊", "1,200.50", "￥1,200"]]
    outcome = do_import_feed(
        claims_csv(rows),
        filename="d.csv",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=True,
        channel="web",
    )
    assert outcome.ok, outcome.errors
    assert outcome.periods == ["2025-05"]
