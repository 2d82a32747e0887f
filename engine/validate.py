"""Validating raw rows against a `TableSchema`: typed values, or errors that say where and why.

Plain Python, no Django. An error names the row (`12` or `Sheet1!12`), the column's Chinese
header, the offending value — with anything shaped like an ID number masked — and a reason in
Chinese and English. Rows repeating an earlier row's key are reported: an exact repeat is a
warning (kept once), a repeat with different content an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from engine.ids import IDNumber, mask
from engine.parsing import ParseError, normalize_text, parse_cell
from engine.schema import ColumnType, TableSchema
from engine.tabular import RawRow

MAX_VALUE_CHARS = 100
_ID_LIKE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")


def mask_id_like(text: str) -> str:
    """Mask every 15- or 18-character run that could be an ID number."""
    return _ID_LIKE.sub(lambda m: mask(m.group(0)), text)


def display_value(raw: Any, *, is_id: bool = False) -> str:
    """A cell value fit for an error report: normalised, ID numbers masked, shortened."""
    text = normalize_text(raw)
    if is_id:
        compact = "".join(text.split())
        return mask(compact) if len(compact) > 8 else "*" * len(compact)
    text = mask_id_like(text)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in a file: where, which column, what value (masked) and why."""

    line: str
    column: str
    value: str
    reason_zh: str
    reason_en: str
    warning: bool = False  # reported but does not stop the import (e.g. an exact duplicate row)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ValidRow:
    """A row whose every cell parsed: typed values by column name (absent columns omitted)."""

    line: str
    values: dict[str, Any]


_CACHED_TYPES = frozenset(
    {
        ColumnType.CODE,
        ColumnType.CODES,
        ColumnType.BOOLEAN,
        ColumnType.YEAR,
        ColumnType.MONTH,
        ColumnType.DATE,
        ColumnType.DIVISION,
        ColumnType.AMOUNT,
        ColumnType.INTEGER,
    }
)
_CACHE_LIMIT = 50_000


class RowValidator:
    """Parses rows of one schema, remembering the few distinct values of code, yes/no, date and
    amount columns (a 100,000-row file repeats 是/否 a million times)."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self._cache: dict[str, dict[Any, Any]] = {c.name: {} for c in schema.columns if c.type in _CACHED_TYPES}

    def __call__(self, row: RawRow) -> tuple[dict[str, Any] | None, list[RowError]]:
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        for name, raw in row.cells.items():
            cache = self._cache.get(name)
            if cache is not None and isinstance(raw, str | int | float):
                key = (type(raw), raw)
                result = cache.get(key, cache)
                if result is cache:
                    result = self._parse(name, raw)
                    if len(cache) < _CACHE_LIMIT:
                        cache[key] = result
            else:
                result = self._parse(name, raw)
            if isinstance(result, ParseError):
                column = self.schema.column(name)
                errors.append(
                    RowError(
                        row.line,
                        column.label,
                        display_value(raw, is_id=column.type is ColumnType.ID_NUMBER),
                        result.reason_zh,
                        result.reason_en,
                    )
                )
            else:
                values[name] = result
        return (None, errors) if errors else (values, [])

    def _parse(self, name: str, raw: Any) -> Any:
        try:
            return parse_cell(self.schema.column(name), raw)
        except ParseError as exc:
            exc.__traceback__ = None
            return exc


def validate_row(schema: TableSchema, row: RawRow) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Parse every cell of a row; (values, []) or (None, errors)."""
    return RowValidator(schema)(row)


def _key_part(value: Any) -> Any:
    return value.value if isinstance(value, IDNumber) else value


@dataclass
class ValidationStats:
    total: int = 0
    valid: int = 0
    rejected: int = 0
    duplicates: int = 0


def validate_rows(
    schema: TableSchema, rows: Iterable[RawRow], errors: list[RowError], stats: ValidationStats | None = None
) -> Iterator[ValidRow]:
    """Yield the valid rows of a file, appending every problem to `errors`.

    A row with the key of an earlier row is a duplicate: reported as a warning and dropped if
    it is identical, as an error if its content differs (which of the two is right?).
    """
    stats = stats if stats is not None else ValidationStats()
    key = schema.key
    validator = RowValidator(schema)
    seen: dict[tuple[Any, ...], tuple[str, int]] = {}
    for row in rows:
        stats.total += 1
        values, row_errors = validator(row)
        if values is None:
            stats.rejected += 1
            errors.extend(row_errors)
            continue
        if key and all(values.get(k) is not None for k in key):
            k = tuple(_key_part(values[k]) for k in key)
            fingerprint = hash(tuple(values.items()))
            first = seen.get(k)
            if first is not None:
                first_line, first_fp = first
                labels = "、".join(schema.column(n).label for n in key)
                column = schema.column(key[0])
                shown = display_value(_key_part(values[key[0]]), is_id=column.type is ColumnType.ID_NUMBER)
                stats.duplicates += 1
                if first_fp == fingerprint:
                    errors.append(
                        RowError(
                            row.line,
                            column.label,
                            shown,
                            f"与第 {first_line} 行完全重复，只保留一行",
                            f"exact duplicate of row {first_line}; kept once",
                            warning=True,
                        )
                    )
                else:
                    stats.rejected += 1
                    errors.append(
                        RowError(
                            row.line,
                            column.label,
                            shown,
                            f"{labels}与第 {first_line} 行相同，但内容不同",
                            f"same {', '.join(key)} as row {first_line} but different content",
                        )
                    )
                continue
            seen[k] = (row.line, fingerprint)
        stats.valid += 1
        yield ValidRow(row.line, values)


# -- error reports ----------------------------------------------------------------------------

REPORT_HEADERS = ("行号/Line", "列/Column", "值/Value", "原因/Reason", "Reason (English)")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """A cell that a spreadsheet will show as text, never run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_rows(errors: Iterable[RowError]) -> Iterator[tuple[str, ...]]:
    for e in errors:
        reason_zh = ("提示：" if e.warning else "") + e.reason_zh
        reason_en = ("warning: " if e.warning else "") + e.reason_en
        yield tuple(neutralise(v) for v in (e.line, e.column, e.value, reason_zh, reason_en))


def write_report_csv(
    rows: Iterable[tuple[str, ...]], stream: Any, *, headers: tuple[str, ...] = REPORT_HEADERS
) -> None:
    """Write report rows (already neutralised) as UTF-8 CSV with BOM, which Excel opens correctly."""
    import csv

    stream.write("\ufeff")
    writer = csv.writer(stream)
    writer.writerow(headers)
    writer.writerows(rows)


def report_xlsx_bytes(
    rows: Iterable[tuple[str, ...]], *, title: str = "错误报告", headers: tuple[str, ...] = REPORT_HEADERS
) -> bytes:
    """The same report as an XLSX workbook, every cell a string."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([neutralise(v) for v in row])
    for letter, width in zip("ABCDE", (14, 18, 28, 48, 56), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
