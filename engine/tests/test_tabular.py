import datetime as dt
import io
import random
import re
import zipfile

import pytest
from openpyxl import Workbook

from engine.ids import check_digit, make_id_number
from engine.parsing import Formula
from engine.schemas.registry import REGISTRY_ACCOUNTS, REGISTRY_MEMBERS, REGISTRY_SCHEMAS
from engine.tabular import FileError, detect_schema, open_table, sniff_format
from engine.validate import RowError, validate_rows

HEADER = ["户编号", "村代码", "户类型", "姓名", "身份证号", "与户主关系", "健康状况"]
ROW = ["5226300001", "522630101201", "一般农户", "张三", "11010519491231002X", "户主", "健康"]
ROW2 = [
    "5226300001",
    "522630101201",
    "一般农户",
    "李四",
    make_id_number("522630", dt.date(1980, 1, 1), 5, "F"),
    "配偶",
    "健康",
]


def csv_bytes(rows, encoding="utf-8-sig"):
    return "\n".join(",".join(r) for r in rows).encode(encoding) + b"\n"


def xlsx_bytes(rows, *, merge=(), title="Sheet1"):
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for ref in merge:
        sheet.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(source, schema=REGISTRY_MEMBERS):
    table = open_table(source, schema)
    errors: list[RowError] = []
    rows = list(validate_rows(table.schema, table.rows(), errors))
    return table, rows, errors


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_a_csv_in_utf8_with_or_without_bom_or_in_gbk_is_read(encoding):
    table, rows, errors = read(csv_bytes([HEADER, ROW], encoding))
    assert not errors
    assert rows[0].values["name"] == "张三"
    assert table.format == "csv"


def test_the_format_is_told_by_content_not_by_name(tmp_path):
    path = tmp_path / "registry.csv"  # an XLSX saved under a .csv name
    path.write_bytes(xlsx_bytes([HEADER, ROW]))
    table, rows, _ = read(path)
    assert table.format == "xlsx"
    assert rows[0].line == "Sheet1!2"


def test_title_rows_blank_rows_and_a_totals_row_are_skipped_and_lines_are_the_files_own():
    data = csv_bytes([["台江县2025年户籍信息表"], [], HEADER, ROW, [""] * 7, ROW2, ["合计", "2"]])
    _table, rows, errors = read(data)
    assert not errors
    assert [r.line for r in rows] == ["4", "6"]


def test_a_totals_row_in_the_middle_is_data_and_fails_validation():
    data = csv_bytes([HEADER, ["合计", "", "", "", "", "", ""], ROW])
    _, rows, errors = read(data)
    assert len(rows) == 1
    assert errors and errors[0].line == "2"


def test_an_xlsx_with_title_rows_and_a_merged_two_row_header_is_read():
    # Row 1: a title merged across; row 2: group titles and names merged down two rows;
    # row 3: the names under the groups. Data from row 4.
    rows = [
        ["台江县户籍信息"] + [None] * 6,
        ["户编号", "村代码", "户类型", "成员信息", None, None, "健康状况"],
        [None, None, None, "姓名", "身份证号", "与户主关系", None],
        ROW,
    ]
    data = xlsx_bytes(rows, merge=("A1:G1", "A2:A3", "B2:B3", "C2:C3", "D2:F2", "G2:G3"))
    _table, parsed, errors = read(data)
    assert not errors
    assert parsed[0].line == "Sheet1!4"
    assert parsed[0].values["relationship"] == "户主"
    assert parsed[0].values["health"] == ("健康",)


def test_an_xlsx_with_numbers_and_dates_as_excel_stores_them():
    header = ["户编号", "年度", "工资性收入", "家庭人口数"]
    data = xlsx_bytes([header, [5226300001, 2025, 1200.5, 4]])
    _, rows, errors = read(data, REGISTRY_ACCOUNTS)
    assert not errors
    assert rows[0].values["household_number"] == "5226300001"
    assert rows[0].values["year"] == 2025
    assert str(rows[0].values["wage_income"]) == "1200.50"


def test_an_xlsx_date_cell_is_read_as_a_date():
    header = [*HEADER, "死亡日期"]
    data = xlsx_bytes([header, [*ROW, dt.datetime(2025, 5, 1)]])
    _, rows, errors = read(data)
    assert not errors
    assert rows[0].values["death_date"] == dt.date(2025, 5, 1)


def test_full_width_digits_lower_case_x_and_fifteen_digit_numbers_are_normalised():
    wide = "１１０１０５１９４９１２３１００２ｘ"
    data = csv_bytes([HEADER, [*ROW[:4], wide, *ROW[5:]], [*ROW2[:4], "110105491231003", *ROW2[5:]]])
    _, rows, errors = read(data)
    assert not errors
    assert rows[0].values["id_number"].value == "11010519491231002X"
    assert rows[1].values["id_number"].value == "11010519491231003" + check_digit("11010519491231003")


def test_headers_are_matched_by_alias_english_name_and_in_any_order():
    header = ["relationship", "公民身份号码", "姓名", "户号", "行政村代码", "household_type"]
    row = ["户主", ROW[4], "张三", "5226300001", "522630101201", "一般农户"]
    _table, rows, errors = read(csv_bytes([header, row]))
    assert not errors
    assert rows[0].values["household_number"] == "5226300001"


def test_an_extra_column_is_reported_and_ignored():
    table, rows, errors = read(csv_bytes([[*HEADER, "备注"], [*ROW, "任意"]]))
    assert table.extra_columns == ["备注"]
    assert "备注" not in rows[0].values and not errors


def test_a_missing_required_column_is_a_file_error_naming_it():
    header = [h for h in HEADER if h != "身份证号"]
    with pytest.raises(FileError) as exc:
        open_table(csv_bytes([header, ROW[:4] + ROW[5:]]), REGISTRY_MEMBERS)
    assert exc.value.code == "missing_column"
    assert "身份证号" in exc.value.reason_zh
    assert "id_number" in exc.value.reason_en


def test_a_file_without_a_recognisable_header_is_refused():
    with pytest.raises(FileError) as exc:
        open_table(csv_bytes([["a", "b"], ["1", "2"]]), REGISTRY_MEMBERS)
    assert exc.value.code == "no_header"
    assert "表头" in exc.value.reason_zh


def test_a_bad_check_digit_names_the_line_and_masks_the_number():
    bad = "110105194912310021"
    _, rows, errors = read(csv_bytes([HEADER, ROW, [*ROW2[:4], bad, *ROW2[5:]]]))
    assert len(rows) == 1
    (error,) = errors
    assert error.line == "3" and error.column == "身份证号"
    assert error.value == "1101**********0021"
    assert "校验位" in error.reason_zh and "check digit" in error.reason_en


def test_several_bad_cells_of_one_row_are_all_reported():
    row = [*ROW[:2], "贫困户", *ROW[3:6], "很好"]
    _, rows, errors = read(csv_bytes([HEADER, row]))
    assert not rows
    assert {e.column for e in errors} == {"户类型", "健康状况"}
    assert all("可选值" in e.reason_zh for e in errors)


def test_a_duplicate_row_is_reported_and_kept_once():
    _, rows, errors = read(csv_bytes([HEADER, ROW, ROW]))
    assert len(rows) == 1
    (error,) = errors
    assert error.warning and error.line == "3" and "重复" in error.reason_zh


def test_the_same_key_with_different_content_is_an_error():
    _, rows, errors = read(csv_bytes([HEADER, ROW, [*ROW[:3], "张叁", *ROW[4:]]]))
    assert len(rows) == 1
    assert errors[0].line == "3" and not errors[0].warning


def test_the_kind_is_detected_from_the_header():
    accounts = csv_bytes([["户编号", "年度", "工资性收入"], ["5226300001", "2025", "100"]])
    assert detect_schema(accounts, REGISTRY_SCHEMAS) is REGISTRY_ACCOUNTS
    assert detect_schema(csv_bytes([HEADER, ROW]), REGISTRY_SCHEMAS) is REGISTRY_MEMBERS


def test_a_large_csv_is_streamed(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(["户编号", "年度", "工资性收入"]) + "\n")
        for i in range(50_000):
            fh.write(f"52263{i:07d},2025,{i}\n")
    table = open_table(path, REGISTRY_ACCOUNTS)
    rows = table.rows()
    first = next(rows)
    assert first.line == "2"
    assert sum(1 for _ in rows) == 49_999
    assert table.estimated_rows >= 50_000


def test_a_gbk_byte_far_down_a_file_makes_the_whole_file_gbk():
    lines = [HEADER] + [[f"52263{i:05d}", *ROW[1:3], "张三", ROW[4], "户主", "健康"] for i in range(3000)]
    lines[-1][3] = "王五"
    table = open_table(csv_bytes(lines, "gbk"), REGISTRY_MEMBERS)
    assert table.encoding == "gb18030"
    assert list(table.rows())[-1].cells["name"] == "王五"


# -- refused files ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\n"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(FileError) as exc:
        open_table(data, REGISTRY_MEMBERS)
    assert exc.value.code == "empty" and "为空" in exc.value.reason_zh


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 40,
        b"%PDF-1.7\n...",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"\x1f\x8b\x08\x00" + b"\x00" * 50,
    ],
)
def test_binary_garbage_is_refused_with_a_clear_message(data):
    with pytest.raises(FileError) as exc:
        open_table(data, REGISTRY_MEMBERS)
    assert exc.value.reason_zh and exc.value.reason_en


def test_a_legacy_xls_is_refused_with_advice():
    with pytest.raises(FileError) as exc:
        sniff_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert ".xlsx" in exc.value.reason_zh


def test_a_damaged_zip_is_refused():
    data = xlsx_bytes([HEADER, ROW])
    with pytest.raises(FileError) as exc:
        open_table(data[: len(data) // 2], REGISTRY_MEMBERS)
    assert exc.value.code == "xlsx"


def test_a_zip_bomb_is_refused_before_decompression():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (30 * 1024 * 1024))
    data = out.getvalue()
    assert len(data) < 200_000
    with pytest.raises(FileError) as exc:
        open_table(data, REGISTRY_MEMBERS)
    assert exc.value.code == "zip_bomb"
    assert "压缩炸弹" in exc.value.reason_zh


def test_a_zip_with_too_many_entries_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(10_001):
            archive.writestr(f"x/{i}", "")
    with pytest.raises(FileError) as exc:
        open_table(out.getvalue(), REGISTRY_MEMBERS)
    assert exc.value.code == "zip_bomb"


def _with_sheet_xml(data: bytes, transform) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = transform(content)
            archive.writestr(info, content)
    return out.getvalue()


def test_an_xlsx_declaring_xml_entities_is_refused():
    entity = b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
    data = _with_sheet_xml(xlsx_bytes([HEADER, ROW]), lambda xml: entity + xml.split(b"?>", 1)[-1])
    with pytest.raises(FileError) as exc:
        open_table(data, REGISTRY_MEMBERS)
    assert exc.value.code == "xml_entity"
    assert "ENTITY" in exc.value.reason_zh


def test_an_entity_declaration_in_a_utf16_part_or_across_a_chunk_boundary_is_refused():
    """The archive check searches a part in 1 MiB chunks for a `!` first: a declaration
    written in UTF-16, or one whose `<!` and word fall either side of a chunk's end, is
    still found."""
    utf16 = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<worksheet/>'.encode("utf-16-le")
    head = b'<?xml version="1.0"?>\n<worksheet>'
    filler = random.Random(7).randbytes(1024 * 1024).hex().encode()[: 1024 * 1024 - len(head) - 1]  # (no bomb)
    padded = head + filler + b"<!DOCTYPE x>"  # `<` the chunk's last byte, `!DOCTYPE` the next's first
    for content in (utf16, padded):
        data = _with_sheet_xml(xlsx_bytes([HEADER, ROW]), lambda xml, c=content: c)
        with pytest.raises(FileError) as exc:
            open_table(data, REGISTRY_MEMBERS)
        assert exc.value.code == "xml_entity"


def test_a_named_sheet_is_read_and_a_missing_one_refused():
    book = Workbook()
    book.active.append(["说明"])
    data_sheet = book.create_sheet("成员")
    data_sheet.append(HEADER)
    data_sheet.append(ROW)
    out = io.BytesIO()
    book.save(out)
    table = open_table(out.getvalue(), REGISTRY_MEMBERS, sheet="成员")
    assert [r.line for r in table.rows()] == ["成员!2"]
    with pytest.raises(FileError) as exc:
        open_table(out.getvalue(), REGISTRY_MEMBERS, sheet="不存在")
    assert exc.value.code == "sheet"


def test_by_default_the_first_sheet_with_content_is_read():
    book = Workbook()
    book.active.title = "说明"  # left blank, as templates often are
    data_sheet = book.create_sheet("成员")
    data_sheet.append(HEADER)
    data_sheet.append(ROW)
    book.create_sheet("备用")
    out = io.BytesIO()
    book.save(out)
    table = open_table(out.getvalue(), REGISTRY_MEMBERS)
    assert table.sheet == "成员" and table.header_line == "成员!1"
    assert [r.line for r in table.rows()] == ["成员!2"]


def test_an_unknown_sheet_is_refused_naming_the_sheets_there_are():
    data = xlsx_bytes([HEADER, ROW], title="成员")
    with pytest.raises(FileError) as exc:
        open_table(data, REGISTRY_MEMBERS, sheet="第二季度")
    assert exc.value.code == "sheet"
    assert "第二季度" in exc.value.reason_zh and "成员" in exc.value.reason_zh
    assert "'第二季度'" in exc.value.reason_en and "成员" in exc.value.reason_en


def test_the_header_line_is_the_files_own():
    table = open_table(csv_bytes([["台江县2025年农户信息"], HEADER, ROW]), REGISTRY_MEMBERS)
    assert table.header_line == "2"
    table.close()


# -- formula cells -------------------------------------------------------------------------------


def _cell(ref: str, xml: str):
    """Replace one cell of a sheet's XML (openpyxl writes no cached values; Excel does)."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
    return lambda content: pattern.sub(xml.encode(), content, count=1)


def test_formula_cells_come_back_as_formulas_whatever_excel_computed():
    book = Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append([*HEADER, "序号"])
    sheet.append([*ROW[:3], "placeholder", *ROW[4:], "=ROW()-1"])  # a formula in an ignored column
    sheet.append([*ROW2, 2])
    sheet.append([None] * 6 + ["=A1"])  # formulas only, no value: calamine leaves the row out
    out = io.BytesIO()
    book.save(out)
    cached = '<c r="D2" t="str"><f>HYPERLINK(&quot;http://x&quot;,&quot;a&quot;)</f><v>a</v></c>'
    data = _with_sheet_xml(out.getvalue(), _cell("D2", cached))
    table = open_table(data, REGISTRY_MEMBERS)
    rows = list(table.rows())
    assert [r.line for r in rows] == ["Sheet1!2", "Sheet1!3", "Sheet1!4"]
    assert rows[0].cells["name"] == Formula('=HYPERLINK("http://x","a")', "a")
    assert not any(isinstance(v, Formula) for v in rows[1].cells.values())
    assert rows[2].cells["health"] == Formula("=A1", None)
    errors: list[RowError] = []
    valid = list(validate_rows(REGISTRY_MEMBERS, iter(rows), errors))
    assert [r.line for r in valid] == ["Sheet1!3"]
    formula = [e for e in errors if "公式" in e.reason_zh]
    assert [(e.line, e.column) for e in formula] == [("Sheet1!2", "姓名"), ("Sheet1!4", "健康状况")]
    assert formula[0].value == '=HYPERLINK("http://x","a")' and "formula" in formula[0].reason_en


def test_every_cell_of_a_shared_formula_is_a_formula():
    data = xlsx_bytes([HEADER, ROW, ROW2])
    master = '<c r="D2" t="str"><f t="shared" ref="D2:D3" si="0">A2&amp;"x"</f><v>5226300001x</v></c>'
    follower = '<c r="D3" t="str"><f t="shared" si="0"/><v>5226300001x</v></c>'
    data = _with_sheet_xml(data, lambda xml: _cell("D3", follower)(_cell("D2", master)(xml)))
    names = [r.cells["name"] for r in open_table(data, REGISTRY_MEMBERS).rows()]
    assert names == [Formula('=A2&"x"', "5226300001x"), Formula('=A2&"x"', "5226300001x")]


@pytest.mark.parametrize("block", [61, 97, 1000])
def test_formula_cells_are_found_across_the_blocks_the_sheet_is_read_in(monkeypatch, block):
    rows = [HEADER]
    expected = []
    for i in range(200):
        name = f'=HYPERLINK("http://x/{i}")' if i % 7 == 0 else f"人{i}"
        rows.append([*ROW[:3], name, *ROW[4:]])
        if i % 7 == 0:
            expected.append(f"Sheet1!{i + 2}")
    data = xlsx_bytes(rows)
    monkeypatch.setattr("engine.tabular._CHUNK", block)  # cells and formulas cut anywhere
    monkeypatch.setattr("engine.tabular._FORMULA_OVERLAP", 400)
    found = [r.line for r in open_table(data, REGISTRY_MEMBERS).rows() if isinstance(r.cells["name"], Formula)]
    assert found == expected


def test_a_workbook_whose_formulas_cannot_be_placed_is_refused():
    data = _with_sheet_xml(xlsx_bytes([HEADER, ROW]), _cell("D2", "<c><f>1+2</f><v>3</v></c>"))
    with pytest.raises(FileError) as exc:
        open_table(data, REGISTRY_MEMBERS)
    assert exc.value.code == "formula" and "公式" in exc.value.reason_zh


def test_formula_cells_are_found_when_the_sheet_prefixes_its_elements():
    def prefixed(xml: bytes) -> bytes:  # `<x:c>`, `<x:f>`, as some generators write them
        main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        xml = xml.replace(b'xmlns="' + main + b'"', b'xmlns:x="' + main + b'"')
        return re.sub(rb"<(/?)([a-zA-Z]+)([ >/])", rb"<\1x:\2\3", xml)

    data = _with_sheet_xml(xlsx_bytes([HEADER, [*ROW[:3], '=HYPERLINK("x")', *ROW[4:]]]), prefixed)
    (row,) = open_table(data, REGISTRY_MEMBERS).rows()
    assert row.cells["name"] == Formula('=HYPERLINK("x")', None)
