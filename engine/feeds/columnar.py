"""Column-by-column standardizing (`method="rowwise-columnar"`), and its building blocks.

`engine.feeds.fastcsv` (the default) uses `_ColumnState`, `_data_rows`, `_assemble` and the
error builders from here and does the per-row steps below in Arrow instead.

The reference path (engine.validate) parses every cell of every row in Python. Department
files repeat themselves — a million claims hold a few hundred dates, a few hundred thousand
people, three visit types — so here each column's *distinct* raw values are parsed once, by
the very same `engine.parsing.parse_cell`, and every row refers to its value by an integer.
Validity, duplicates (on those integers), the county checks and the Arrow output (one `take`
per column) follow without touching a Python object per cell. Rows with a bad cell are
rare; their errors are built exactly as `RowValidator` builds them.

Identical output to the reference path is a tested property (`test_feed_columnar.py` runs
both on every synthetic feed and on hand-made edge cases); anything this path does not
handle the same way (a CSV field spanning lines) is left to the reference path.
"""

from __future__ import annotations

import array
import datetime as dt
import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from operator import itemgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.feeds.standardize import (
    COMMON_COLUMNS,
    Progress,
    StandardizedFeed,
    _county_error,
    _period,
    arrow_schema,
    id_hasher,
    missing_id_warning,
    own_columns,
    period_column,
)
from engine.ids import _PROVINCES, IDNumber, mask
from engine.parsing import ParseError, normalize_header, parse_cell
from engine.protect import Protector
from engine.schema import Column, ColumnType, TableSchema
from engine.tabular import TOTALS_WORDS, Table
from engine.validate import RowError, ValidationStats, display_value

CHUNK_ROWS = 100_000
_BAD = -1
_PLAIN_AMOUNT = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
_DECIMAL = pa.decimal128(12, 2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = pa.array(list("10X98765432"), pa.string())


def _canonical_valid_ids(text: pa.Array) -> pa.Array:
    """True where a cell is an 18-character ID number in canonical form (ASCII digits, upper
    X, nothing around it) that GB 11643 accepts: a province, a real birth date between 1880
    and today, the right check digit. Everything else goes to `parse_id_number`."""
    shaped = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{17}[0-9X]$"), False)
    digits = pc.if_else(shaped, text, pa.scalar("110101188001010000"))
    province = pc.is_in(pc.utf8_slice_codeunits(digits, 0, 2), value_set=pa.array(sorted(_PROVINCES)))
    birth = pc.strptime(pc.utf8_slice_codeunits(digits, 6, 14), format="%Y%m%d", unit="s", error_is_null=True)
    birth_ok = pc.and_(
        pc.greater_equal(birth, pa.scalar(dt.datetime(1880, 1, 1), pa.timestamp("s"))),
        pc.less_equal(birth, pa.scalar(dt.datetime.combine(dt.date.today(), dt.time()), pa.timestamp("s"))),
    )
    total: Any = pa.scalar(0, pa.int64())
    for i, weight in enumerate(_ID_WEIGHTS):
        digit = pc.cast(pc.utf8_slice_codeunits(digits, i, i + 1), pa.int64())
        total = pc.add(total, pc.multiply(digit, weight))
    remainder = pc.subtract(total, pc.multiply(pc.divide(total, 11), 11))  # integer division
    expected = pc.take(_ID_CHECK, remainder)
    check_ok = pc.equal(expected, pc.utf8_slice_codeunits(digits, 17, 18))
    ok = pc.and_(pc.and_(shaped, province), pc.and_(pc.fill_null(birth_ok, False), check_ok))
    return pc.fill_null(ok, False)


REQUIRED = ParseError("required", "必填项为空", "required value is missing")
_MASK64 = (1 << 64) - 1


def value_code(value: Any) -> int:
    """A 64-bit code of a canonical value: equal values, equal codes (within a process);
    an integer or a date is its own code, anything else its hash."""
    if value is None:
        return 0
    cls = value.__class__
    if cls is int or cls is bool:
        return int(value) & _MASK64
    if cls is dt.date:
        return value.toordinal()
    return hash(value) & _MASK64


def state_column(schema: TableSchema, name: str) -> Column:
    """The column a `_ColumnState` parses with: the ID number may be blank there — whether a
    blank ID is an error depends on the row's name (`mark_missing_ids`)."""
    column = schema.column(name)
    return replace(column, required=False) if column.type is ColumnType.ID_NUMBER else column


def mark_missing_ids(id_ids: list[int], name_ids: list[int] | None) -> list[int]:
    """A blank ID (index 0) is an error (`_BAD`, reported as "required") unless the row has a
    name (index > 0): such a row is kept for probabilistic linkage."""
    if name_ids is None:
        return [_BAD if v == 0 else v for v in id_ids]
    return [_BAD if v == 0 and n <= 0 else v for v, n in zip(id_ids, name_ids, strict=True)]


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


def _data_rows(source: Iterator[tuple[str, list[Any]]]) -> Iterator[tuple[str, list[Any]]]:
    """`Table.rows()` without the dicts: blank rows skipped, a trailing totals row dropped."""
    held: tuple[str, list[Any]] | None = None
    for line, cells in source:
        first = cells[0] if cells else None
        cls = first.__class__
        # (a number, date or formula is never blank: only None and blank text are)
        if (first is None or (cls is str and (not first or first.isspace()))) and _blank(first):
            first = next((c for c in cells if not _blank(c)), None)
            if first is None:
                continue
        if held is not None:
            yield held
            held = None
        # Serial numbers and ID numbers (what most files start with), and any cell that is
        # not text, cannot be a totals word.
        if (
            isinstance(first, str)
            and not (first.isascii() and first.isalnum())
            and normalize_header(first) in TOTALS_WORDS
        ):
            held = (line, cells)
            continue
        yield line, cells


class _ColumnState:
    """One column's parsed distinct values: raw key → canonical index; canonical values."""

    def __init__(self, column: Column, typed_keys: bool) -> None:
        self.column = column
        self.typed_keys = typed_keys
        self.by_raw: dict[Any, int] = {}
        self.errors: dict[Any, ParseError] = {}
        # A blank (None) is canonical index 0 in every column, so "a key part is blank" is
        # `0 in key` whatever the column.
        self.canon: dict[Any, int] = {None: 0}
        self.values: list[Any] = [None]
        self.codes: list[int] = [0]  # per canonical value, a 64-bit code of the value itself
        self.cents_ids = False  # amounts: ids are cents + 1 (`amount_indices`), not indices of `values`
        self._arrow: dict[Any, tuple[int, pa.Array]] = {}

    def _add_value(self, value: Any) -> int:
        index = self.canon[value] = len(self.values)
        self.values.append(value)
        self.codes.append(value_code(value))
        return index

    def forget(self) -> None:
        """Let go of every remembered value (a stream's state grown past its bound): ids given
        out so far mean nothing afterwards, codes (`codes`) of equal values stay equal."""
        self.by_raw.clear()
        self.errors.clear()
        self.canon = {None: 0}
        self.values = [None]
        self.codes = [0]
        self._arrow.clear()

    def arrow_values(self, tag: Any, type_: pa.DataType, convert: Callable[[Any], Any] | None = None) -> pa.Array:
        """The canonical values as Arrow (converted by `convert`), index by index; kept and
        extended as values come, so a stream converts each value once."""
        done, array = self._arrow.get(tag, (0, None))
        if array is None or done < len(self.values):
            new = [None if v is None else (convert(v) if convert else v) for v in self.values[done:]]
            tail = pa.array(new, type=type_)
            array = tail if array is None else pa.concat_arrays([array, tail])
            self._arrow[tag] = (len(self.values), array)
        return array

    def code_array(self) -> pa.Array:
        """`codes` as a uint64 Arrow array (for `take` by canonical id), extended as values come."""
        done, array = self._arrow.get("codes", (0, None))
        if array is None or done < len(self.codes):
            tail = pa.array(self.codes[done:], pa.uint64())
            array = tail if array is None else pa.concat_arrays([array, tail])
            self._arrow["codes"] = (len(self.codes), array)
        return array

    def key(self, raw: Any) -> Any:
        return (type(raw), raw) if self.typed_keys else raw

    def amount_indices(self, raws: list[Any] | tuple[Any, ...]) -> tuple[list[int], pa.Array]:
        """An amount column of text cells: plain numbers (`1200`, `35.5`) are read by Arrow,
        the rest (`1,200元`, blanks, errors) by `parse_cell` once per distinct value. The
        canonical index of an amount is its value in cents + 1 (0 stays blank)."""
        self.cents_ids = True
        text = pa.array(raws, pa.string())
        plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_AMOUNT), False)
        decimals = pc.cast(pc.if_else(plain, text, pa.scalar(None, pa.string())), _DECIMAL)
        cents = pc.cast(pc.multiply(decimals, pa.scalar(100, pa.decimal128(3, 0))), pa.int64())
        ids: list[Any] = pc.add(cents, 1).to_pylist()
        if pc.all(plain).as_py():
            return ids, decimals
        others: list[Any] = []
        by_raw = self.by_raw
        for i, is_plain in enumerate(plain.to_pylist()):
            if is_plain:
                continue
            raw = raws[i]
            index = by_raw.get(raw)
            if index is None:
                try:
                    value = parse_cell(self.column, raw)
                except ParseError as exc:
                    exc.__traceback__ = None
                    self.errors[raw] = exc
                    index = _BAD
                else:
                    index = 0 if value is None else int(value * 100) + 1
                by_raw[raw] = index
            ids[i] = index
            others.append(None if index <= 0 else Decimal(index - 1).scaleb(-2))
        replaced = pc.replace_with_mask(decimals, pc.invert(plain), pa.array(others, _DECIMAL))
        return ids, replaced

    def amount_ids(self, text: pa.Array) -> pa.Array:
        """`amount_indices` of a text array, as an Arrow array of ids (no Python list per
        cell: only the cells that are not plain numbers reach `parse_cell`)."""
        self.cents_ids = True
        plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_AMOUNT), False)
        decimals = pc.cast(pc.if_else(plain, text, pa.scalar(None, pa.string())), _DECIMAL)
        ids = pc.add(pc.cast(pc.multiply(decimals, pa.scalar(100, pa.decimal128(3, 0))), pa.int64()), 1)
        if pc.all(plain).as_py():
            return ids
        others = pc.invert(plain)
        found: list[int] = []
        by_raw = self.by_raw
        for raw in pc.filter(text, others).to_pylist():
            index = by_raw.get(raw)
            if index is None:
                try:
                    value = parse_cell(self.column, raw)
                except ParseError as exc:
                    exc.__traceback__ = None
                    self.errors[raw] = exc
                    index = _BAD
                else:
                    index = 0 if value is None else int(value * 100) + 1
                by_raw[raw] = index
            found.append(index)
        return pc.replace_with_mask(ids, others, pa.array(found, pa.int64()))

    def id_indices(self, raws: list[Any] | tuple[Any, ...]) -> list[int]:
        """An ID column of text cells: numbers already in the canonical 18-character form
        are validated by Arrow (region, birth date, check digit — GB 11643), the rest by
        `parse_cell` once per distinct value. Canonical values are the normalised strings."""
        canon, by_raw = self.canon, self.by_raw
        if self.typed_keys:
            keys: list[Any] = [(str, r) if r is not None else (type(None), None) for r in raws]
        else:
            keys = list(raws)
        ids: list[Any] = [by_raw.get(k) for k in keys]  # values seen before: one lookup each
        new = [i for i, v in enumerate(ids) if v is None]
        if not new:
            return ids
        flags = _canonical_valid_ids(pa.array([raws[i] for i in new], pa.string())).to_pylist()
        for i, ok in zip(new, flags, strict=True):
            raw, key = raws[i], keys[i]
            index = by_raw.get(key)  # (the same raw twice in `raws`)
            if index is None:
                if ok:
                    value: Any = raw
                else:
                    try:
                        parsed = parse_cell(self.column, raw)
                    except ParseError as exc:
                        exc.__traceback__ = None
                        self.errors[key] = exc
                        by_raw[key] = ids[i] = _BAD
                        continue
                    value = None if parsed is None else parsed.value
                index = canon.get(value)
                if index is None:
                    index = self._add_value(value)
                by_raw[key] = index
            ids[i] = index
        return ids

    def indices(self, raws: list[Any] | tuple[Any, ...]) -> list[int]:
        keys: Any = list(zip(map(type, raws), raws, strict=True)) if self.typed_keys else raws
        by_raw = self.by_raw
        for key, raw in zip(keys, raws, strict=True):
            if key in by_raw:
                continue
            try:
                value = parse_cell(self.column, raw)
            except ParseError as exc:
                exc.__traceback__ = None
                self.errors[key] = exc
                by_raw[key] = _BAD
                continue
            if isinstance(value, IDNumber):
                value = value.value  # one canonical form with `id_indices`: the normalised number
            index = self.canon.get(value)
            if index is None:
                index = self._add_value(value)
            by_raw[key] = index
        return [by_raw[k] for k in keys]


def standardize_columnar(
    table: Table,
    schema: TableSchema,
    *,
    key: tuple[str, ...],
    protector: Protector,
    county_code: str,
    progress: Progress | None = None,
) -> StandardizedFeed:
    """`standardize_feed`'s result for an opened table, column by column."""
    positions = table.header.positions
    names = list(positions.values())
    at = list(positions.keys())
    states = [_ColumnState(state_column(schema, n), typed_keys=table.format != "csv") for n in names]
    column_of = {n: i for i, n in enumerate(names)}
    id_at = column_of.get("id_number")
    name_at = column_of.get("name")
    key_at = [column_of[k] for k in key]
    stats = ValidationStats()
    errors: list[RowError] = []
    seen: dict[tuple[int, ...], tuple[str, int]] = {}
    kept_lines: list[str] = []
    id_chunks: list[list[pa.Array]] = [[] for _ in names]
    amount_chunks: dict[int, list[pa.Array]] = {}
    keep_chunks: list[pa.Array] = []
    csv = table.format == "csv"
    fast_amounts = {i for i, state in enumerate(states) if csv and state.column.type is ColumnType.AMOUNT}
    id_columns = {i for i, state in enumerate(states) if state.column.type is ColumnType.ID_NUMBER}
    village = "village_code" if "village_code" in column_of else None
    county_checks = [c for c in ("county_code", village) if c is not None and c in column_of]
    outside: dict[str, set[int]] = {c: set() for c in county_checks}
    checked_canon: dict[str, int] = dict.fromkeys(county_checks, 0)
    labels = "、".join(schema.column(n).label for n in key)
    first_key_column = schema.column(key[0]) if key else None
    estimated = max(table.estimated_rows, 1)
    rows = _data_rows(table._rows or iter(()))  # the opened table's raw (line, cells) rows
    if table._rows is None:
        raise RuntimeError("the table has been read already")
    table._rows = None
    width = max(at) + 1 if at else 0
    getter: Callable[[list[Any]], Any] = itemgetter(*at) if len(at) > 1 else (lambda cells: (cells[at[0]],))
    try:
        while True:
            chunk = _take(rows, CHUNK_ROWS)
            if not chunk:
                break
            lines = [line for line, _ in chunk]
            cells_list = [cells for _, cells in chunk]
            if min(map(len, cells_list)) >= width:
                raw_columns: list[Any] = list(zip(*map(getter, cells_list), strict=True))
            else:
                raw_columns = [[c[i] if i < len(c) else None for c in cells_list] for i in at]
            canon: list[list[int]] = []
            for i, (state, raw) in enumerate(zip(states, raw_columns, strict=True)):
                if i in fast_amounts:
                    ids, decimals = state.amount_indices(raw)
                    amount_chunks.setdefault(i, []).append(decimals)
                    canon.append(ids)
                elif i in id_columns and (csv or all(v.__class__ is str or v is None for v in raw)):
                    # (a workbook's ID column is text too, unless Excel made numbers of it)
                    canon.append(state.id_indices(raw))
                else:
                    canon.append(state.indices(raw))
            if id_at is not None:
                canon[id_at] = mark_missing_ids(canon[id_at], canon[name_at] if name_at is not None else None)
            bad: set[int] = set()
            for indices in canon:
                if _BAD in indices:
                    bad.update(i for i, v in enumerate(indices) if v == _BAD)
            for name in county_checks:
                state = states[column_of[name]]
                for index in range(checked_canon[name], len(state.values)):
                    if state.values[index] is not None and state.values[index][:6] != county_code:
                        outside[name].add(index)
                checked_canon[name] = len(state.values)
            row_tuples = list(zip(*canon, strict=True))
            key_tuples = list(zip(*(canon[i] for i in key_at), strict=True)) if key else None
            outside_at = [(column_of[n], outside[n], n) for n in county_checks if outside[n]]
            keep = [False] * len(lines)
            for i, line in enumerate(lines):
                stats.total += 1
                if i in bad:
                    stats.rejected += 1
                    errors.extend(_row_errors(states, raw_columns, canon, i, line))
                    continue
                row = row_tuples[i]
                if key_tuples is not None:
                    k = key_tuples[i]
                    if 0 not in k:
                        fingerprint = hash(row)
                        first = seen.get(k)
                        if first is not None:
                            assert first_key_column is not None
                            stats.duplicates += 1
                            errors.append(
                                _duplicate_error(
                                    line,
                                    first,
                                    fingerprint,
                                    labels,
                                    key,
                                    first_key_column,
                                    states[key_at[0]],
                                    k[0],
                                    stats,
                                )
                            )
                            continue
                        seen[k] = (line, fingerprint)
                stats.valid += 1
                refused = next(((j, n) for j, idx, n in outside_at if row[j] in idx), None) if outside_at else None
                if refused is not None:
                    j, n = refused
                    stats.valid -= 1
                    stats.rejected += 1
                    value = states[j].values[row[j]]
                    errors.append(_county_error(line, schema.column(n).label, value, county_code))
                    continue
                kept_lines.append(line)
                keep[i] = True
                if id_at is not None and row[id_at] == 0:
                    errors.append(missing_id_warning(line, schema))
            keep_chunks.append(pa.array(keep, pa.bool_()))
            for target, ids in zip(id_chunks, canon, strict=True):
                target.append(pa.array(ids, pa.int64()))
            if progress is not None:
                progress(stats.total, max(estimated, stats.total))
    finally:
        table.close()
    return StandardizedFeed(
        schema=schema,
        table=_assemble(
            schema, names, states, id_chunks, amount_chunks, keep_chunks, kept_lines, protector, county_code
        ),
        errors=errors,
        stats=stats,
        extra_columns=list(table.extra_columns),
        format=table.format,
        encoding=table.encoding,
        sheet=table.sheet,
    )


def _take(rows: Iterator[tuple[str, list[Any]]], n: int) -> list[tuple[str, list[Any]]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= n:
            break
    return chunk


def _row_errors(
    states: list[_ColumnState], raw_columns: list[Any], canon: list[list[int]], i: int, line: str
) -> list[RowError]:
    out = []
    for state, raws, indices in zip(states, raw_columns, canon, strict=True):
        if indices[i] != _BAD:
            continue
        raw = raws[i]
        exc = state.errors.get(state.key(raw), REQUIRED)  # absent: a blank ID without a name
        column = state.column
        is_id = column.type is ColumnType.ID_NUMBER
        out.append(RowError(line, column.label, display_value(raw, is_id=is_id), exc.reason_zh, exc.reason_en))
    return out


def _duplicate_error(
    line: str,
    first: tuple[str, int],
    fingerprint: int,
    labels: str,
    key: tuple[str, ...],
    column: Column,
    state: _ColumnState,
    canon_index: int,
    stats: ValidationStats,
) -> RowError:
    first_line, first_fp = first
    value = state.values[canon_index]
    shown = display_value(
        value.value if isinstance(value, IDNumber) else value, is_id=column.type is ColumnType.ID_NUMBER
    )
    if first_fp == fingerprint:
        return RowError(
            line,
            column.label,
            shown,
            f"与第 {first_line} 行完全重复，只保留一行",
            f"exact duplicate of row {first_line}; kept once",
            warning=True,
        )
    stats.rejected += 1
    return RowError(
        line,
        column.label,
        shown,
        f"{labels}与第 {first_line} 行相同，但内容不同",
        f"same {', '.join(key)} as row {first_line} but different content",
    )


def fast_id_hasher(protector: Protector) -> Callable[[str], str]:
    """`protector.hash` of many distinct ID numbers: for the AES suite (HMAC-SHA-256) the keyed
    inner and outer SHA-256 states are computed once and copied per number — the same digest
    as `hmac.digest`, at a third of the cost; the national suite keeps `protector.hash`."""
    if protector.suite != "aes":
        return id_hasher(protector)
    key = protector.hash_key
    if len(key) > 64:  # RFC 2104: a key longer than the block is hashed first
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hash_id(value: str) -> str:
        i = inner.copy()
        i.update(value.encode())
        o = outer.copy()
        o.update(i.digest())
        return o.hexdigest()

    return hash_id


def _masked(numbers: pa.Array) -> pa.Array:
    """`mask` of normalised (18-character) ID numbers, in Arrow: region and last four."""
    head = pc.utf8_slice_codeunits(numbers, 0, 4)
    tail = pc.utf8_slice_codeunits(numbers, 14, 18)
    return pc.binary_join_element_wise(head, pa.scalar("*" * 10), tail, "")


def _id_columns(state: _ColumnState, protector: Protector) -> dict[str, pa.Array]:
    """Per canonical ID value: hash, masked number, birth date and sex (taken by row later)."""
    # ID values are normalised strings (fast path) or IDNumbers (the rest): both say the same.
    numbers = [v if v is None or isinstance(v, str) else v.value for v in state.values]
    text = pa.array(numbers, pa.string())
    hash_id = fast_id_hasher(protector)
    births = pc.cast(
        pc.strptime(pc.utf8_slice_codeunits(text, 6, 14), format="%Y%m%d", unit="s", error_is_null=True),
        pa.date32(),
    )
    odd = pc.equal(pc.bit_wise_and(pc.cast(pc.utf8_slice_codeunits(text, 16, 17), pa.int64()), 1), 1)
    long_enough = all(v is None or len(v) == 18 for v in numbers)
    return {
        "id_hash": pa.array([None if v is None else hash_id(v) for v in numbers], pa.string()),
        "id_masked": _masked(text) if long_enough else pa.array([None if v is None else mask(v) for v in numbers]),
        "birth_date": births,
        "sex": pc.if_else(odd, "M", "F"),
    }


def assemble(
    schema: TableSchema,
    names: list[str],
    states: list[_ColumnState],
    ids: list[pa.Array],
    keep: pa.Array,
    lines: pa.Array,
    protector: Protector,
    county_code: str,
) -> pa.Table:
    """The standardized table of the kept rows from each column's canonical ids: one `take`
    per column of its (converted) distinct values; amounts from their ids (cents + 1)."""
    arrow = arrow_schema(schema)
    everything = keep.true_count == len(keep)

    def kept(values: pa.Array) -> pa.Array:
        return values if everything else pc.filter(values, keep)

    lines = kept(lines)
    n = len(lines)
    ids_of = {}
    for j, name in enumerate(names):  # the caller's id columns are let go as they are kept
        ids_of[name], ids[j] = kept(ids[j]), pa.array([], pa.int64())
    state_of = dict(zip(names, states, strict=True))

    def column(name: str, type_: pa.DataType, convert: Callable[[Any], Any] | None = None) -> pa.Array:
        if name not in state_of:
            return pa.nulls(n, type_)
        state = state_of[name]
        at = ids_of[name]
        if state.cents_ids:
            return _amounts(at)
        values = pa.array([None if v is None else (convert(v) if convert else v) for v in state.values], type=type_)
        return pc.take(values, at)

    arrays: dict[str, pa.Array] = {
        "line": lines,
        "name": column("name", pa.string()),
        "county_code": pa.array([county_code] * n, pa.string()),
    }
    if "id_number" in state_of:
        per_value = _id_columns(state_of["id_number"], protector)
        at = ids_of["id_number"]
        for name in ("id_hash", "id_masked", "sex"):
            arrays[name] = pc.take(per_value[name], at)
        arrays["birth_date"] = pc.coalesce(pc.take(per_value["birth_date"], at), column("birth_date", pa.date32()))
    else:
        arrays["id_hash"] = pa.nulls(n, pa.string())
        arrays["id_masked"] = pa.nulls(n, pa.string())
        arrays["birth_date"] = column("birth_date", pa.date32())
        arrays["sex"] = pa.nulls(n, pa.string())
    period_name = period_column(schema)
    period_type = schema.column(period_name).type
    arrays["period"] = column(period_name, pa.string(), lambda v: _period(v, period_type))
    for name in own_columns(schema):
        arrays[name] = column(name, arrow.field(name).type)
    assert set(arrays) == {*COMMON_COLUMNS, *own_columns(schema)}
    return pa.Table.from_arrays([arrays[f.name] for f in arrow], schema=arrow)


def _amounts(ids: pa.Array) -> pa.Array:
    """Amounts from their canonical ids (cents + 1; 0 is blank): the cents are the unscaled
    values of decimal128(12, 2), written as 16-byte integers (amounts are never negative)."""
    n = len(ids)
    cents = pc.subtract(ids, 1)
    present = pc.greater(ids, 0)
    if sys.byteorder != "little" or not n:
        whole = pc.cast(pc.if_else(present, cents, pa.scalar(None, pa.int64())), pa.decimal128(19, 0))
        return pc.cast(pc.multiply(whole, pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))), _DECIMAL)
    low = array.array("q")
    low.frombytes(memoryview(cents.buffers()[1])[cents.offset * 8 : (cents.offset + n) * 8])
    words = array.array("q", bytes(16 * n))
    words[0::2] = low
    return pa.Array.from_buffers(_DECIMAL, n, [present.buffers()[1], pa.py_buffer(words)], null_count=-1)


def _assemble(
    schema: TableSchema,
    names: list[str],
    states: list[_ColumnState],
    id_chunks: list[list[pa.Array]],
    amount_chunks: dict[int, list[pa.Array]],
    keep_chunks: list[pa.Array],
    lines: list[str] | pa.Array,
    protector: Protector,
    county_code: str,
) -> pa.Table:
    """`assemble` for the row-by-row path."""
    keep = pa.concat_arrays(keep_chunks) if keep_chunks else pa.array([], pa.bool_())
    ids = [pc.filter(pa.concat_arrays(c), keep) if c else pa.array([], pa.int64()) for c in id_chunks]
    line_array = lines if isinstance(lines, pa.Array) else pa.array(lines, pa.string())
    everything = pa.array([True] * len(line_array), pa.bool_())
    return assemble(schema, names, states, ids, everything, line_array, protector, county_code)
