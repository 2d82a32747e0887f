import datetime as dt
from decimal import Decimal

import pytest

from engine.parsing import (
    Formula,
    ParseError,
    is_formula,
    normalize_header,
    normalize_text,
    parse_amount,
    parse_boolean,
    parse_cell,
    parse_code,
    parse_date,
    parse_division,
    parse_id,
    parse_integer,
    parse_month,
    parse_year,
)
from engine.schema import Column, ColumnType

MAY_FIRST = dt.date(2025, 5, 1)


@pytest.mark.parametrize(
    "raw",
    [
        "2025-05-01",
        "2025/5/1",
        "20250501",
        "2025年5月1日",
        "2025.05.01",
        " ２０２５－０５－０１ ",
        "2025-05-01 00:00:00",
        45778,  # Excel serial number, as calamine returns an unformatted cell
        45778.0,
        "45778",
        dt.datetime(2025, 5, 1, 0, 0),
        MAY_FIRST,
        20250501,
    ],
)
def test_every_date_form_a_county_file_uses_is_read(raw):
    assert parse_date(raw) == MAY_FIRST


def test_excel_serials_before_march_1900_account_for_the_fictitious_leap_day():
    assert parse_date(1) == dt.date(1900, 1, 1)
    assert parse_date(61) == dt.date(1900, 3, 1)


@pytest.mark.parametrize("raw", ["2025-13-01", "2025-02-30", "五月一日", "2025-05", "abc", "-3"])
def test_an_unparseable_date_is_an_error_in_both_languages(raw):
    with pytest.raises(ParseError) as exc:
        parse_date(raw)
    assert exc.value.reason_zh and exc.value.reason_en


@pytest.mark.parametrize("raw", ["2025-05", "2025年5月", "2025/5", "202505", "2025-05-17", dt.date(2025, 5, 17)])
def test_months_are_read_as_their_first_day(raw):
    assert parse_month(raw) == MAY_FIRST


@pytest.mark.parametrize("raw", ["2025", "2025年", 2025, 2025.0, "２０２５", "2025年度"])
def test_years(raw):
    assert parse_year(raw) == 2025


@pytest.mark.parametrize("raw", ["25", "1850", "二〇二五"])
def test_a_bad_year_is_an_error(raw):
    with pytest.raises(ParseError):
        parse_year(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1200", "1200.00"),
        ("1,200.50", "1200.50"),
        ("1200元", "1200.00"),
        ("￥1,200", "1200.00"),
        ("¥1200", "1200.00"),
        ("１，２００元", "1200.00"),
        (" 1 200 ", "1200.00"),
        (1200, "1200.00"),
        (1200.5, "1200.50"),
        ("0", "0.00"),
        ("12.345", "12.35"),
    ],
)
def test_every_amount_form_is_read(raw, expected):
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["-5", "-1,200元", -3.5, "￥-10"])
def test_a_negative_amount_is_refused(raw):
    with pytest.raises(ParseError) as exc:
        parse_amount(raw)
    assert exc.value.code == "negative"
    assert "负数" in exc.value.reason_zh


@pytest.mark.parametrize("raw", ["一千二", "12,00", "1.2.3", "元", "nan", "inf"])
def test_an_unparseable_amount_is_refused(raw):
    with pytest.raises(ParseError):
        parse_amount(raw)


def test_a_blank_optional_amount_is_none_and_a_blank_required_one_an_error():
    optional = Column("cost", "费用", ColumnType.AMOUNT)
    required = Column("cost", "费用", ColumnType.AMOUNT, required=True)
    assert parse_cell(optional, "  ") is None
    assert parse_cell(optional, None) is None
    with pytest.raises(ParseError) as exc:
        parse_cell(required, "")
    assert exc.value.code == "required"


@pytest.mark.parametrize(("raw", "expected"), [("4", 4), ("４", 4), (4.0, 4), ("4.0", 4), (4, 4)])
def test_integers(raw, expected):
    assert parse_integer(raw) == expected


@pytest.mark.parametrize("raw", ["4.5", 4.5, "-1", "四"])
def test_a_fraction_negative_or_word_is_not_an_integer(raw):
    with pytest.raises(ParseError):
        parse_integer(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("1", True),
        (0, False),
        ("TRUE", True),
        ("false", False),
        (True, True),
        (1.0, True),
        ("√", True),
    ],
)
def test_yes_no_values(raw, expected):
    assert parse_boolean(raw) is expected


def test_an_unknown_yes_no_value_is_refused():
    with pytest.raises(ParseError) as exc:
        parse_boolean("也许")
    assert "是" in exc.value.reason_zh


def test_a_value_outside_the_code_list_names_the_allowed_values():
    with pytest.raises(ParseError) as exc:
        parse_code("贫困户", ("脱贫户", "一般农户"))
    assert "脱贫户、一般农户" in exc.value.reason_zh
    assert "脱贫户" in exc.value.reason_en


def test_codes_match_after_normalisation_and_latin_letters_ignore_case():
    assert parse_code(" 户主 ", ("户主", "配偶")) == "户主"
    assert parse_code("ｃ", ("A", "B", "C", "D")) == "C"


def test_id_numbers_are_normalised_upgraded_and_never_quoted_in_errors():
    assert parse_id(" １１０１０５１９４９１２３１００２ｘ ").value == "11010519491231002X"
    assert parse_id("110105491231002").value == "11010519491231002X"
    assert parse_id(110105491231002).value == "11010519491231002X"  # a 15-digit number survives Excel
    with pytest.raises(ParseError) as exc:
        parse_id("110105194912310021")
    assert exc.value.code == "id_number_check_digit"
    assert "110105194912310021" not in exc.value.reason_zh + exc.value.reason_en


def test_an_eighteen_digit_number_mangled_by_excel_is_explained():
    with pytest.raises(ParseError) as exc:
        parse_id(1.10105194912310e17)
    assert "文本" in exc.value.reason_zh


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("522630101201", "522630101201"), (522630101201.0, "522630101201"), ("５２２６３０", "522630")],
)
def test_division_codes(raw, expected):
    assert parse_division(raw) == expected


@pytest.mark.parametrize("raw", ["52263010120", "5226301012AB"])
def test_a_division_code_of_the_wrong_length_or_with_letters_is_refused(raw):
    with pytest.raises(ParseError):
        parse_division(raw)


def test_text_is_nfkc_normalised_and_excel_numbers_lose_their_decimal_point():
    assert normalize_text("　张三　") == "张三"
    assert normalize_text("ＡＢＣ１２３") == "ABC123"
    assert normalize_text(5226300001.0) == "5226300001"
    assert parse_cell(Column("phone", "联系电话"), 13800000000.0) == "13800000000"


def test_headers_compare_without_blanks_required_markers_or_case():
    assert normalize_header(" *身份\n证号（必填） ") == "身份证号"
    assert normalize_header("ID_Number") == "id_number"


def test_text_longer_than_the_column_allows_is_refused():
    with pytest.raises(ParseError) as exc:
        parse_cell(Column("name", "姓名", max_length=5), "一二三四五六")
    assert exc.value.code == "too_long"


# -- formulas ----------------------------------------------------------------------------------

ALL_TYPES = [
    Column("name", "姓名", ColumnType.TEXT),
    Column("cost", "费用", ColumnType.AMOUNT, required=True),
    Column("kind", "就诊类型", ColumnType.CODE, choices=("门诊", "住院")),
    Column("id_number", "身份证号", ColumnType.ID_NUMBER),
    Column("day", "日期", ColumnType.DATE),
    Column("year", "年度", ColumnType.YEAR),
    Column("village", "村代码", ColumnType.DIVISION),
    Column("paid", "是否代缴", ColumnType.BOOLEAN),
]


@pytest.mark.parametrize(
    "raw",
    [
        '=HYPERLINK("http://x","a")',
        "=1+2",
        " =SUM(A1:A9)",
        "＝1+2",  # full-width, as a Chinese input method types it
        '+HYPERLINK("http://x")',
        '-HYPERLINK("http://x")',
        "@SUM(A1:A2)",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "-2+3",
        "+A1",
        "-Sheet1!A1",
        Formula('=HYPERLINK("http://x","a")', "a"),  # a workbook's formula cell with its cached value
        Formula("", 3.0),  # a cell sharing another cell's formula
    ],
)
@pytest.mark.parametrize("column", ALL_TYPES, ids=lambda c: c.type.value)
def test_a_formula_is_refused_as_a_formula_in_every_column_type(raw, column):
    assert is_formula(raw)
    with pytest.raises(ParseError) as exc:
        parse_cell(column, raw)
    assert exc.value.code == "formula"
    assert "公式" in exc.value.reason_zh and "formula" in exc.value.reason_en


def test_a_negative_amount_or_a_phone_number_gets_its_own_reason_not_formula():
    amount = Column("cost", "费用", ColumnType.AMOUNT)
    for raw in ("-5", "-1,200.50元", "-￥1200"):
        assert not is_formula(raw)
        with pytest.raises(ParseError) as exc:
            parse_cell(amount, raw)
        assert exc.value.code == "negative", raw
    id_column = Column("id_number", "身份证号", ColumnType.ID_NUMBER)
    for phone in ("+86 138 0000 0000", "+8613800000000", "+86-138-0000-0000"):
        assert not is_formula(phone)
        with pytest.raises(ParseError) as exc:
            parse_cell(id_column, phone)
        assert exc.value.code.startswith("id_number_"), phone
    assert parse_cell(amount, "+5") == Decimal("5.00")


@pytest.mark.parametrize("raw", ["-", "=", "-张三", "@张三", "张=三", "2025-05-01", "a=b", "-注意!"])
def test_text_that_only_starts_like_a_formula_is_text(raw):
    assert not is_formula(raw)
    assert parse_cell(Column("note", "备注", ColumnType.TEXT), raw) == raw
