"""Normalising one cell of a government spreadsheet into a typed value.

Plain Python, no Django: the registry import and the department-feed importer share it. Each
function accepts what real files contain (see shared FEEDS.md): full-width digits, stray
spaces, `2025年5月1日`, Excel serial numbers, `￥1,200元`, 是/否 … and raises `ParseError`
with a reason in Chinese and English — never one that quotes an ID number.

`parse_cell(column, raw)` dispatches on `engine.schema.ColumnType`; blank cells come back as
None (or raise if the column is required).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.errors import BilingualError
from engine.ids import IDNumber, IDNumberError, parse_id_number
from engine.schema import Column, ColumnType

# Excel's day 0 (the 1900 leap-year bug makes 1899-12-30 the working epoch after 1900-03-01).
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial numbers this size are dates between 1900 and ~2173; larger integers are yyyymmdd.
_SERIAL_MAX = 100_000
MAX_AMOUNT = Decimal("9999999999.99")  # fits the registry's DecimalField(12, 2)
YEAR_RANGE = (1900, 2100)

_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE8 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_MONTH6 = re.compile(r"^(\d{4})(\d{2})$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")

# What a spreadsheet would evaluate rather than show. `=` starts a formula whatever follows;
# `+`, `-` and `@` only when a function call, a cell reference, a link to another program or
# sheet (`cmd|…`, `Sheet1!A1`) or arithmetic follows — so `-5` stays a (negative) amount and
# `+86 138 0000 0000` a phone number, each refused or accepted for its own reason.
_FORMULA = re.compile(
    r"""^(?:=\s*\S
        |[+\-@]\s*(?:=
            |[A-Za-z_\\][A-Za-z0-9_.]*\s*\(
            |\$?[A-Za-z]{1,3}\$?[0-9]+(?![0-9A-Za-z])
            |[0-9.,]+\s*[*/^&<>=+]
            |[A-Za-z0-9_.]+\s*\|
            |[^!]*!\$?[A-Za-z]{1,3}\$?[0-9]))""",
    re.VERBOSE | re.DOTALL,
)
_FORMULA_LEADS = frozenset("=+-@＝＋－＠")

TRUE_WORDS = frozenset({"是", "y", "yes", "true", "t", "1", "√", "✓", "有", "对"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "f", "0", "×", "✗", "无", "不是"})


class ParseError(BilingualError):
    """A cell that cannot be read as its column's type."""


@dataclass(frozen=True, slots=True)
class Formula:
    """A workbook cell that holds a formula (`engine.tabular` finds them in the sheet XML:
    calamine gives only the value Excel last computed, or nothing)."""

    text: str  # `=HYPERLINK("http://x","a")`; "" for a cell sharing another cell's formula
    cached: Any = None

    def __str__(self) -> str:
        return self.text or ("=" + normalize_text(self.cached))


def is_formula(value: Any) -> bool:
    """A workbook formula cell, or text that a spreadsheet would run as a formula."""
    if isinstance(value, Formula):
        return True
    if not isinstance(value, str):
        return False
    text = value.lstrip()
    if not text or text[0] not in _FORMULA_LEADS:
        return False
    return bool(_FORMULA.match(normalize_text(text)))


FORMULA_ERROR_ZH = "单元格是公式，不接受公式：请将数据“选择性粘贴为数值”后重新上传"
FORMULA_ERROR_EN = "the cell holds a formula, which is not accepted: paste the data as values and upload again"


def normalize_text(value: Any) -> str:
    """NFKC (full-width → half-width, ideographic space → space), trimmed; None → ''.

    Whole-number floats (what Excel makes of `5226300001` or a phone number) lose their `.0`.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.strip()


def normalize_header(value: Any) -> str:
    """A header cell compared loosely: no blanks or line breaks, no required-marker `*`, no
    `（必填）`, lower case (for the English names)."""
    text = "".join(normalize_text(value).split()).lower()
    text = text.replace("(必填)", "").replace("(选填)", "")
    return text.strip("*")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == ""


def _date_from_serial(number: float) -> dt.date:
    if not 1 <= number < _SERIAL_MAX:
        raise ParseError("date", "日期序号超出范围", "Excel date serial number out of range")
    day = int(number)
    if day < 61:  # Excel's fictitious 1900-02-29 sits at 60; earlier serials are off by one
        day += 1
    return _EXCEL_EPOCH + dt.timedelta(days=day)


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ParseError("date", "日期不存在（月或日超出范围）", "no such date (month or day out of range)") from None


def parse_date(value: Any) -> dt.date:
    """`2025-05-01`, `2025/5/1`, `20250501`, `2025年5月1日`, `2025.05.01`, Excel serials, datetimes."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise _bad_date()
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer() and value >= _SERIAL_MAX:
            raise _bad_date()
        if value >= _SERIAL_MAX:
            return parse_date(str(int(value)))
        return _date_from_serial(value)
    text = normalize_text(value)
    if m := _DATE.match(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _DATE8.match(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if _NUMBER.match(text) and not text.startswith(("-", "+")):
        return _date_from_serial(float(text))
    raise _bad_date()


def _bad_date() -> ParseError:
    return ParseError(
        "date",
        "无法识别的日期，应为 2025-05-01、2025/5/1、20250501 或 2025年5月1日",
        "unrecognised date; expected 2025-05-01, 2025/5/1, 20250501 or 2025年5月1日",
    )


def parse_month(value: Any) -> dt.date:
    """`2025-05`, `2025年5月`, `2025/5`, `202505` (or a full date) → the first day of the month."""
    if isinstance(value, dt.date):
        return (value.date() if isinstance(value, dt.datetime) else value).replace(day=1)
    text = normalize_text(value)
    m = _MONTH.match(text) or _MONTH6.match(text)
    if m:
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12 and YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
            return dt.date(year, month, 1)
        raise ParseError("month", "月份超出范围", "month out of range")
    try:
        return parse_date(value).replace(day=1)
    except ParseError:
        raise ParseError(
            "month", "无法识别的月份，应为 2025-05 或 2025年5月", "unrecognised month; expected 2025-05 or 2025年5月"
        ) from None


def parse_year(value: Any) -> int:
    """`2025`, `2025年`, 2025.0 → 2025, within 1900–2100."""
    if isinstance(value, dt.date):
        return value.year
    text = normalize_text(value).removesuffix("年").removesuffix("度").removesuffix("年").strip()
    if not text.isdigit() or len(text) != 4:
        raise ParseError(
            "year", "无法识别的年份，应为四位数字，如 2025", "unrecognised year; expected four digits, e.g. 2025"
        )
    year = int(text)
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise ParseError("year", "年份超出范围（1900–2100）", "year out of range (1900–2100)")
    return year


def parse_amount(value: Any) -> Decimal:
    """`1200`, `1,200.50`, `1200元`, `￥1,200`, `¥1200` → Decimal with two places; never negative."""
    if isinstance(value, bool):
        raise _bad_amount()
    if isinstance(value, int | float | Decimal):
        amount = Decimal(str(value))
    else:
        text = "".join(normalize_text(value).split())
        text = text.removeprefix("￥").removeprefix("¥").removeprefix("RMB").removeprefix("rmb")
        text = text.removesuffix("元").removesuffix("人民币")
        if text.startswith("-") and text[1:2] in ("￥", "¥"):
            text = "-" + text[2:]
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        if not _NUMBER.match(text):
            raise _bad_amount()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise _bad_amount() from None
    if not amount.is_finite():
        raise _bad_amount()
    if amount < 0:
        raise ParseError("negative", "金额不能为负数", "amount must not be negative")
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount > MAX_AMOUNT:
        raise ParseError("too_large", "金额过大", "amount is too large")
    return amount


def _bad_amount() -> ParseError:
    return ParseError(
        "amount",
        "无法识别的金额，应为数字，如 1200 或 1,200.50",
        "unrecognised amount; expected a number such as 1200 or 1,200.50",
    )


def parse_integer(value: Any, *, minimum: int | None = 0) -> int:
    """`4`, `４`, 4.0 → 4; fractions and (by default) negatives are errors."""
    if isinstance(value, bool):
        raise _bad_integer()
    if isinstance(value, float):
        if not value.is_integer():
            raise _bad_integer()
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = normalize_text(value).replace(",", "")
        if text.endswith(".0"):
            text = text[:-2]
        if not re.fullmatch(r"[+-]?\d+", text):
            raise _bad_integer()
        number = int(text)
    if minimum is not None and number < minimum:
        raise ParseError("negative", f"数值不能小于{minimum}", f"value must not be less than {minimum}")
    return number


def _bad_integer() -> ParseError:
    return ParseError("integer", "应为整数", "expected a whole number")


def parse_boolean(value: Any) -> bool:
    """是/否, Y/N, yes/no, 1/0, true/false, √/× → bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = normalize_text(value).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ParseError("boolean", "应填“是”或“否”", "expected 是 (yes) or 否 (no)")


def parse_code(value: Any, choices: Sequence[str]) -> str:
    """One value of a closed code list; Latin letters match regardless of case."""
    text = normalize_text(value)
    if text in choices:
        return text
    folded = {c.casefold(): c for c in choices}
    if text.casefold() in folded:
        return folded[text.casefold()]
    allowed = "、".join(choices)
    raise ParseError("code", f"不在代码表中，可选值：{allowed}", f"not in the code list; allowed values: {allowed}")


# Between the values of a CODES cell: 、，,；;/＋+ or blanks (counties write all of them).
_CODE_SEPARATORS = re.compile(r"[、，,；;/／+＋\s]+")


def parse_codes(value: Any, choices: Sequence[str]) -> tuple[str, ...]:
    """Several values of a closed code list in one cell, in the code list's order, once each."""
    parts = [p for p in _CODE_SEPARATORS.split(unicodedata.normalize("NFKC", str(value))) if p] or [""]
    found = {parse_code(part, choices) for part in parts}
    return tuple(c for c in choices if c in found)


def parse_id(value: Any) -> IDNumber:
    """An ID number by GB 11643 (15-digit ones upgraded). Excel numbers of 18 digits have
    already lost their last digits to floating point and are refused as such."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float) and (not value.is_integer() or value >= 1e16):
            raise ParseError(
                "id_number_as_number",
                "身份证号被 Excel 存为数字，末几位已丢失；请将该列设为文本后重新录入",
                "the ID number was stored by Excel as a number and lost its last digits; "
                "format the column as text and re-enter it",
            )
        value = str(int(value))
    try:
        return parse_id_number(value)
    except IDNumberError as exc:
        raise ParseError(f"id_number_{exc.code}", exc.reason_zh, exc.reason_en) from None


DIVISION_LENGTHS = (2, 4, 6, 9, 12)


def parse_division(value: Any, lengths: Sequence[int] = DIVISION_LENGTHS) -> str:
    """An NBS division code: digits only, of one of the allowed lengths."""
    text = "".join(normalize_text(value).split())
    if not text.isdigit():
        raise ParseError("division", "区划代码只能包含数字", "a division code must be all digits")
    if len(text) not in lengths:
        allowed = "、".join(str(n) for n in lengths)
        raise ParseError(
            "division_length",
            f"区划代码应为{allowed}位，实为{len(text)}位",
            f"a division code must have {', '.join(map(str, lengths))} digits, not {len(text)}",
        )
    return text


def parse_text(value: Any, max_length: int = 200) -> str:
    text = normalize_text(value)
    if len(text) > max_length:
        raise ParseError(
            "too_long", f"内容过长（最多{max_length}字）", f"text too long (at most {max_length} characters)"
        )
    return text


def parse_cell(column: Column, raw: Any) -> Any:
    """The typed value of one cell of `column`; None for a blank optional cell.

    Raises ParseError for a blank required cell, a formula, or a value that does not fit the
    column.
    """
    if is_formula(raw):
        raise ParseError("formula", FORMULA_ERROR_ZH, FORMULA_ERROR_EN)
    if is_blank(raw):
        if column.required:
            raise ParseError("required", "必填项为空", "required value is missing")
        return None
    t = column.type
    if t is ColumnType.TEXT:
        text = parse_text(raw, column.max_length)
        if not text and column.required:
            raise ParseError("required", "必填项为空", "required value is missing")
        return text or None
    if t is ColumnType.CODE:
        return parse_code(raw, column.choices)
    if t is ColumnType.CODES:
        return parse_codes(raw, column.choices)
    if t is ColumnType.BOOLEAN:
        return parse_boolean(raw)
    if t is ColumnType.ID_NUMBER:
        return parse_id(raw)
    if t is ColumnType.DATE:
        return parse_date(raw)
    if t is ColumnType.AMOUNT:
        return parse_amount(raw)
    if t is ColumnType.INTEGER:
        return parse_integer(raw)
    if t is ColumnType.YEAR:
        return parse_year(raw)
    if t is ColumnType.MONTH:
        return parse_month(raw)
    if t is ColumnType.DIVISION:
        return parse_division(raw)
    raise ValueError(f"unknown column type {t!r}")  # pragma: no cover - a schema declaration bug
