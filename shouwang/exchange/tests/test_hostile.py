"""Hostile and broken files through the whole pipeline (`do_import_feed`, in its sandbox):
each refused with a clear reason in Chinese and English — the whole file, or the row by its
line — never an exception, nothing imported, and no file left behind in the temporary
directory or the data directory but the error report."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.exchange.tests.conftest import COUNTY, claims_csv, idn

pytestmark = pytest.mark.django_db

CLAIMS_HEADER = ["身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付"]


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


def _rewrite_sheet(data: bytes, transform) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = transform(content)
            archive.writestr(info, content)
    return out.getvalue()


def entity_attack() -> bytes:
    lol = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    return _rewrite_sheet(
        xlsx([["身份证号", "结算日期", "医疗总费用", "个人自付"]]), lambda xml: lol + xml.split(b"?>", 1)[-1]
    )


def empty_rows_xlsx(n: int) -> bytes:
    """A header and `n` rows of empty cells, as a sheet formatted far down comes out of Excel."""
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t></t></is></c><c r="F{i}" s="0"/></row>' for i in range(2, n + 2)
    ).encode()
    return _rewrite_sheet(
        xlsx([CLAIMS_HEADER]), lambda xml: xml.replace(b"</row></sheetData>", b"</row>" + rows + b"</sheetData>")
    )


EMPTY_ROWS_CSV = 1_000_000
EMPTY_ROWS_XLSX = 250_000  # a quarter of a million: the same path, a few seconds less

# file → the code of its refusal; each is what that file deserves, not merely some refusal
HOSTILE = {
    "empty": (b"", "empty"),
    "blank": (b"\r\n \r\n", "empty"),
    "garbage": (bytes(range(256)) * 200, "binary"),
    "pdf": (b"%PDF-1.7\n" + b"x" * 100, "binary"),
    "utf16_broken": (codecs.BOM_UTF16_LE + "身份证号,结算日期".encode("utf-16-le") + b"\xd8", "encoding"),
    "neither_utf8_nor_gbk": ("身份证号,结算日期\n".encode() + b"\xff\xfe\xfa\xfb" * 4, "encoding"),
    "zip_bomb": (zip_bomb(), "zip_bomb"),
    "xml_entity": (entity_attack(), "xml_entity"),
    "damaged_xlsx": (xlsx([["身份证号"]])[:300], "xlsx"),
    "no_header": (b"a,b,c\n1,2,3\n", "no_header"),
    "missing_column": (f"身份证号,姓名,结算日期\n{idn(1)},张三,2025-01-15\n".encode(), "missing_column"),
    "header_only": (claims_csv([]), "no_rows"),
    "empty_rows_csv": (claims_csv([[""] * 6] * EMPTY_ROWS_CSV), "no_rows"),
    "empty_rows_xlsx": (empty_rows_xlsx(EMPTY_ROWS_XLSX), "no_rows"),
}


@pytest.fixture
def scratch(tmp_path, monkeypatch, data_dir):
    """A temporary directory of the test's own, for this process and the parsing child."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def leftovers(scratch: Path, data_dir: Path) -> list[str]:
    """Whatever is on disk after an import besides the batch's error report."""
    left = [str(p) for p in scratch.rglob("*")]
    for path in data_dir.rglob("*"):
        rel = path.relative_to(data_dir)
        if path.is_dir() and rel.parts[0] in ("feed-reports", "uploads"):
            continue
        if rel.parts[0] == "feed-reports" and path.name.endswith(".errors.csv"):
            continue
        left.append(str(rel))
    return left


def _import(data: bytes, name: str, *, user, dry_run: bool = False):
    return do_import_feed(
        data, filename=name, kind="medical_claims", county=COUNTY, user=user, dry_run=dry_run, channel="web"
    )


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_is_refused_whole_and_recorded(name, persona, data_dir, scratch):
    data, code = HOSTILE[name]
    outcome = _import(data, f"{name}.bin", user=persona("department_officer"))
    assert outcome.file_error is not None
    assert outcome.file_error["code"] == code, outcome.file_error
    assert outcome.file_error["reason_zh"] and outcome.file_error["reason_en"]
    assert outcome.message().startswith("文件被拒绝")
    assert not outcome.committed and outcome.stored_rows == 0
    assert FeedBatch.objects.get().status == BatchStatus.REJECTED
    assert leftovers(scratch, data_dir) == []


@pytest.mark.parametrize("name", ["header_only", "empty_rows_csv", "empty_rows_xlsx"])
def test_a_file_without_data_rows_says_where_its_header_is(name, persona, data_dir, scratch):
    outcome = _import(HOSTILE[name][0], f"{name}.bin", user=persona("department_officer"), dry_run=True)
    line = "Sheet!1" if name.endswith("xlsx") else "1"
    assert outcome.file_error["reason_zh"] == f"文件没有数据行：表头（第 {line} 行）以下为空"
    assert outcome.file_error["reason_en"] == f"the file has no data rows: nothing below the header (line {line})"
    assert outcome.stats.total == 0
    assert leftovers(scratch, data_dir) == []


GOOD = [idn(1), "张三", "2025-01-15", "门诊", "100", "30"]
BAD_CHECK_DIGIT = idn(2)[:17] + ("0" if idn(2)[17] != "0" else "1")
FORMULA = '=HYPERLINK("http://x","a")'

# a good row (line 2), then the bad one (line 3): (file, line, column, reason zh, reason en)
BAD_ROWS = {
    "check_digit": (
        claims_csv([GOOD, [BAD_CHECK_DIGIT, "李四", "2025-01-15", "门诊", "100", "30"]]),
        "3",
        "身份证号",
        "身份证号校验位错误",
        "ID number has a wrong check digit",
    ),
    "february_30": (
        claims_csv([GOOD, [idn(2), "李四", "2025-02-30", "门诊", "100", "30"]]),
        "3",
        "结算日期",
        "日期不存在",
        "no such date",
    ),
    "negative_amount": (
        claims_csv([GOOD, [idn(2), "李四", "2025-01-15", "门诊", "-5", "30"]]),
        "3",
        "医疗总费用",
        "金额不能为负数",
        "amount must not be negative",
    ),
    "outside_code_list": (
        claims_csv([GOOD, [idn(2), "李四", "2025-01-15", "急诊", "100", "30"]]),
        "3",
        "就诊类型",
        "不在代码表中，可选值：门诊、住院、门诊慢特病",
        "not in the code list",
    ),
    "formula_csv": (
        claims_csv([GOOD, [idn(2), FORMULA, "2025-01-15", "门诊", "100", "30"]]),
        "3",
        "姓名",
        "单元格是公式",
        "the cell holds a formula",
    ),
    "formula_xlsx": (
        xlsx([CLAIMS_HEADER, GOOD, [idn(2), FORMULA, "2025-01-15", "门诊", 100, 30]]),
        "Sheet!3",
        "姓名",
        "单元格是公式",
        "the cell holds a formula",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_ROWS))
def test_a_bad_row_is_named_by_line_and_reason_and_nothing_is_imported(name, persona, data_dir, scratch):
    data, line, column, zh, en = BAD_ROWS[name]
    outcome = _import(data, f"{name}.bin", user=persona("department_officer"))
    assert outcome.file_error is None
    (error,) = outcome.errors
    assert (error.line, error.column, error.warning) == (line, column, False)
    assert zh in error.reason_zh and en in error.reason_en
    assert (outcome.stats.total, outcome.stats.valid, outcome.stats.rejected) == (2, 1, 1)
    assert not outcome.committed and outcome.stored_rows == 0 and outcome.status == BatchStatus.REJECTED
    assert "未导入任何数据" in outcome.message()
    batch = FeedBatch.objects.get()
    assert batch.status == BatchStatus.REJECTED and not batch.storage_paths
    report = (data_dir / batch.report_path).read_text(encoding="utf-8-sig")
    assert zh in report and en in report and BAD_CHECK_DIGIT not in report
    assert leftovers(scratch, data_dir) == []


def test_a_formula_in_a_cell_is_refused_and_reported_as_text_never_run(persona, data_dir):
    rows = [[idn(1), '=HYPERLINK("http://evil","点我")', "2025-01-15", "门诊", "=1+2", "30"]]
    outcome = _import(claims_csv(rows), "f.csv", user=persona("department_officer"), dry_run=True)
    assert outcome.stats.rejected == 1 and outcome.stats.valid == 0
    assert [(e.column, "公式" in e.reason_zh, "formula" in e.reason_en) for e in outcome.errors] == [
        ("姓名", True, True),
        ("医疗总费用", True, True),
    ]
    report = (data_dir / outcome.batch.report_path).read_text(encoding="utf-8-sig")
    assert "'=1+2" in report and "'=HYPERLINK" in report and "\n=" not in report and ",=" not in report


def test_an_unknown_sheet_is_refused_naming_the_sheets_of_the_file(persona, data_dir):
    book = Workbook()
    book.active.title = "一季度"
    book.active.append(CLAIMS_HEADER)
    book.active.append(GOOD)
    out = io.BytesIO()
    book.save(out)
    outcome = do_import_feed(
        out.getvalue(),
        filename="claims.xlsx",
        kind="medical_claims",
        county=COUNTY,
        user=persona("department_officer"),
        dry_run=True,
        channel="web",
        sheet="二季度",
    )
    assert outcome.file_error["code"] == "sheet"
    assert outcome.file_error["reason_zh"] == "找不到工作表“二季度”；文件中的工作表：一季度"
    assert "一季度" in outcome.file_error["reason_en"]


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
