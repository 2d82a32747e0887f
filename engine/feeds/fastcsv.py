"""The CSV fast path of the columnar standardizer: lines, cells, validity and duplicates in Arrow.

`engine.feeds.columnar` still touches every row in Python (the csv module, the blank-row
filter, the duplicate check). Here a CSV file is read in blocks: lines are split into cells
by `pyarrow.compute` (a line with a quote by the csv module), each column is
dictionary-encoded so that only its distinct values reach Python (and the same parsers as
the reference path), and validity, duplicates and the county checks are array operations;
Python sees only the rows that have something to report.

Whatever this reader would not do exactly as `csv.reader` does — a quoted field spanning
lines, a bare carriage return, a NUL byte, UTF-16 — raises `Fallback`, and the caller uses
the columnar path instead. Identical results to the reference path are tested.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from functools import reduce
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.feeds.columnar import (
    _BAD,
    REQUIRED,
    _assemble,
    _blank,
    _ColumnState,
    _data_rows,
    _duplicate_error,
    state_column,
)
from engine.feeds.standardize import Progress, StandardizedFeed, _county_error, missing_id_warning
from engine.parsing import normalize_header
from engine.protect import Protector
from engine.schema import ColumnType, TableSchema
from engine.tabular import TOTALS_WORDS, Source, Table
from engine.validate import RowError, ValidationStats, display_value

BLOCK_BYTES = 8 * 1024 * 1024
_LETTERS = r"[0-9A-Za-z\x{3400}-\x{9fff}]"
_TOTALS_HINT = r"[合总\x{2E80}-\x{2FDF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"
_SPECIAL = r"[\r\x00\"合总\x{2E80}-\x{2FDF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"


class Fallback(Exception):
    """This file needs the general path."""


def _blocks(source: Source, encoding: str) -> Iterator[str]:
    """The decoded text in blocks that end at a line break (the last one wherever)."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(Path(source), "rb")  # noqa: SIM115
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8-sig" else encoding)()
    carry = ""
    with stream:
        while True:
            data = stream.read(BLOCK_BYTES)
            text = carry + decoder.decode(data, final=not data)
            if not data:
                if text:
                    yield text
                return
            cut = text.rfind("\n")
            if cut < 0:
                carry = text
                continue
            carry = text[cut + 1 :]
            yield text[: cut + 1]


def _delimiter(source: Source, encoding: str) -> str:
    sample = next(_blocks(source, encoding), "")[:16384]
    return "\t" if sample.count("\t") > sample.count(",") else ","


class _Chunk:
    """Non-blank data lines of one block: line numbers, the schema's raw cells, whole cells
    of the rows Python has to look at."""

    def __init__(self, numbers: pa.Array, columns: list[pa.Array], totals_last: bool) -> None:
        self.numbers = numbers
        self.columns = columns
        self.totals_last = totals_last  # its last row is a totals row (dropped if nothing follows)

    def __len__(self) -> int:
        return len(self.numbers)

    def without_last(self) -> _Chunk:
        n = len(self) - 1
        return _Chunk(self.numbers.slice(0, n), [c.slice(0, n) for c in self.columns], False)


def _chunks(source: Source, encoding: str, delimiter: str, start: int, at: list[int]) -> Iterator[_Chunk]:
    width = max(at) + 1
    first_line = 1
    for text in _blocks(source, encoding):
        # Lines split by Arrow: no Python string per line.
        arr = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
        if len(arr) and text.endswith("\n"):
            arr = arr.slice(0, len(arr) - 1)
        arr = arr.cast(pa.string())
        numbers = pa.array(range(first_line, first_line + len(arr)), pa.int64())
        first_line += len(arr)
        if first_line <= start:
            continue
        skip = max(start - int(numbers[0].as_py()), 0)
        arr, numbers = arr.slice(skip), numbers.slice(skip)
        crlf = pc.ends_with(arr, "\r")
        if pc.any(crlf).as_py():
            arr = pc.if_else(crlf, pc.utf8_slice_codeunits(arr, 0, -1), arr)
        # One pass finds the few lines that need a closer look: quotes, stray CR or NUL, and
        # what could be a totals word.
        special = pc.match_substring_regex(arr, _SPECIAL)
        quoted = pa.array([False] * len(arr))
        maybe_totals = quoted
        special_at = pc.indices_nonzero(special)
        if len(special_at):
            some = pc.take(arr, special_at)
            if pc.any(pc.match_substring_regex(some, "[\r\x00]")).as_py():
                raise Fallback
            quotes = pc.count_substring(some, '"')
            if pc.any(pc.equal(pc.bit_wise_and(quotes, 1), 1)).as_py():
                raise Fallback  # a quoted field spanning lines, or a stray quote
            every = pa.array(range(len(arr)), pa.int64())
            flagged_quotes = pc.indices_nonzero(pc.greater(quotes, 0))
            quoted = pc.is_in(every, value_set=pc.take(special_at, flagged_quotes))
            hints = pc.indices_nonzero(pc.match_substring_regex(some, _TOTALS_HINT))
            maybe_totals = pc.is_in(every, value_set=pc.take(special_at, hints))
        certain_blank = pc.match_substring_regex(arr, f"^[\\s{_re(delimiter)}]*$")
        maybe_blank = pc.and_(pc.invert(certain_blank), pc.invert(pc.match_substring_regex(arr, _LETTERS)))
        look = pc.or_(pc.or_(quoted, maybe_blank), maybe_totals)
        padded = pc.binary_join_element_wise(arr, pa.scalar(delimiter * width), "")
        parts = pc.split_pattern(padded, delimiter)
        columns = [pc.list_element(parts, p) for p in at]
        blank = certain_blank
        totals = pa.array([False] * len(arr))
        look_at = pc.indices_nonzero(look).to_pylist()
        if look_at:
            raw_lines = pc.take(arr, pa.array(look_at, pa.int64())).to_pylist()
            quoted_rows = set(pc.indices_nonzero(pc.take(quoted, pa.array(look_at, pa.int64()))).to_pylist())
            cells_of: list[list[str]] = []
            for j, line in enumerate(raw_lines):
                if j in quoted_rows:
                    try:
                        cells_of.append(next(csv.reader([line], delimiter=delimiter), []))
                    except csv.Error:
                        raise Fallback from None
                else:
                    cells_of.append(line.split(delimiter))
            blank_flags, totals_flags = blank.to_pylist(), [False] * len(arr)
            for i, cells in zip(look_at, cells_of, strict=True):
                first = next((c for c in cells if not _blank(c)), None)
                blank_flags[i] = first is None
                totals_flags[i] = first is not None and normalize_header(first) in TOTALS_WORDS
            blank, totals = pa.array(blank_flags), pa.array(totals_flags)
            mask = pc.is_in(pa.array(range(len(arr)), pa.int64()), value_set=pa.array(look_at, pa.int64()))
            for k, p in enumerate(at):
                values = [cells[p] if p < len(cells) else "" for cells in cells_of]
                columns[k] = pc.replace_with_mask(columns[k], mask, pa.array(values, pa.string()))
        keep = pc.invert(blank)
        numbers = pc.filter(numbers, keep)
        columns = [pc.filter(c, keep) for c in columns]
        totals = pc.filter(totals, keep)
        if len(numbers):
            yield _Chunk(numbers, columns, bool(totals[len(totals) - 1].as_py()))


def _re(char: str) -> str:
    return "\\t" if char == "\t" else char


def standardize_csv_arrow(
    source: Source,
    table: Table,
    schema: TableSchema,
    *,
    key: tuple[str, ...],
    protector: Protector,
    county_code: str,
    progress: Progress | None = None,
) -> StandardizedFeed:
    """The columnar result for an opened CSV table, or `Fallback`."""
    if table.format != "csv" or table.encoding not in ("utf-8-sig", "gb18030") or table._rows is None:
        raise Fallback
    peek = next(table._rows, None)
    if peek is None:
        raise Fallback
    start = int(peek[0])
    table.close()
    positions = table.header.positions
    names, at = list(positions.values()), list(positions.keys())
    states = [_ColumnState(state_column(schema, n), typed_keys=False) for n in names]
    delimiter = _delimiter(source, table.encoding)
    number_chunks: list[pa.Array] = []
    amount_chunks: dict[int, list[pa.Array]] = {}
    estimated = max(table.estimated_rows, 1)
    offset = 0
    raw_chunks: list[list[pa.Array]] = []

    def process(chunk: _Chunk) -> None:
        nonlocal offset
        raw_chunks.append(chunk.columns)
        number_chunks.append(chunk.numbers)
        offset += len(chunk)
        if progress is not None:
            progress(offset, max(estimated, offset))

    pending: _Chunk | None = None
    for chunk in _chunks(source, table.encoding, delimiter, start, at):
        if pending is not None:
            process(pending)
        pending = chunk
    if pending is not None:
        process(pending.without_last() if pending.totals_last else pending)
    if not offset:
        lines = pa.array([], pa.string())
        columns: list[pa.Array] = [pa.array([], pa.int64()) for _ in names]
        raw_columns: list[Any] = [pa.array([], pa.string()) for _ in names]
    else:
        lines = pc.cast(pa.concat_arrays(number_chunks), pa.string())
        # Each column dictionary-encoded over the whole file: only its distinct values reach
        # Python (and the reference parsers), once.
        raw_columns = [pa.concat_arrays([c[j] for c in raw_chunks]) for j in range(len(names))]
        raw_chunks.clear()
        columns = []
        for j, (state, column) in enumerate(zip(states, raw_columns, strict=True)):
            encoded = pc.dictionary_encode(column)
            distinct = encoded.dictionary.to_pylist()
            if state.column.type is ColumnType.AMOUNT:
                ids, decimals = state.amount_indices(distinct)
                amount_chunks[j] = [pc.take(decimals, encoded.indices)]
            elif state.column.type is ColumnType.ID_NUMBER:
                ids = state.id_indices(distinct)
            else:
                ids = state.indices(distinct)
            columns.append(pc.take(pa.array(ids, pa.int64()), encoded.indices))
    return finish(
        table,
        schema,
        names,
        states,
        lines,
        columns,
        raw_columns,
        amount_chunks,
        key=key,
        protector=protector,
        county_code=county_code,
    )


def standardize_rows_arrow(
    table: Table,
    schema: TableSchema,
    *,
    key: tuple[str, ...],
    protector: Protector,
    county_code: str,
    progress: Progress | None = None,
) -> StandardizedFeed:
    """The same for a workbook: calamine's rows filtered in Python (blank and totals rows),
    then each column's distinct cells parsed once and everything after in Arrow."""
    if table._rows is None:
        raise RuntimeError("the table has been read already")
    source, table._rows = table._rows, None
    positions = table.header.positions
    names, at = list(positions.values()), list(positions.keys())
    states = [_ColumnState(state_column(schema, n), typed_keys=True) for n in names]
    lines: list[str] = []
    cells_list: list[list[Any]] = []
    try:
        for line, cells in _data_rows(source):
            lines.append(line)
            cells_list.append(cells)
    finally:
        table.close()
    width = max(at) + 1
    if cells_list and min(map(len, cells_list)) >= width:
        getter = itemgetter(*at) if len(at) > 1 else (lambda cells: (cells[at[0]],))
        raw_columns: list[Any] = [list(c) for c in zip(*map(getter, cells_list), strict=True)]
    else:
        raw_columns = [[c[i] if i < len(c) else None for c in cells_list] for i in at]
    cells_list.clear()
    columns: list[pa.Array] = []
    amounts: dict[int, list[pa.Array]] = {}
    for j, (state, raw) in enumerate(zip(states, raw_columns, strict=True)):
        kind = state.column.type
        if kind is ColumnType.ID_NUMBER and all(v.__class__ is str or v is None for v in raw):
            ids = state.id_indices(raw)
        elif kind is ColumnType.AMOUNT and (texts := _number_texts(raw)) is not None:
            # Excel's numbers as the text `parse_amount` makes of them (str of the number).
            state.key = _text_key  # type: ignore[method-assign]
            ids, decimals = state.amount_indices(texts)
            amounts[j] = [decimals]
        else:
            ids = state.indices(raw)
        columns.append(pa.array(ids, pa.int64()))
    if progress is not None:
        progress(len(lines), max(len(lines), 1))
    return finish(
        table,
        schema,
        names,
        states,
        pa.array(lines, pa.string()),
        columns,
        raw_columns,
        amounts,
        key=key,
        protector=protector,
        county_code=county_code,
    )


def _number_texts(raw: list[Any]) -> list[str | None] | None:
    """`str()` of a column of numbers, when that text parses exactly as the number does
    (no bools, no exponent, no nan/inf); else None."""
    if not all(v is None or v.__class__ is int or v.__class__ is float for v in raw):
        return None
    texts = [None if v is None else str(v) for v in raw]
    if any("e" in t or "n" in t for t in texts if t is not None):
        return None
    return texts


def _text_key(raw: Any) -> Any:
    return None if raw is None else str(raw)


def finish(
    table: Table,
    schema: TableSchema,
    names: list[str],
    states: list[_ColumnState],
    lines: pa.Array,
    columns: list[pa.Array],
    raw_columns: list[Any],
    amount_chunks: dict[int, list[pa.Array]],
    *,
    key: tuple[str, ...],
    protector: Protector,
    county_code: str,
) -> StandardizedFeed:
    """From each row's canonical value ids to the result: bad rows, duplicates (one group-by
    over the file), the county checks, counts, errors in file order, the Arrow table."""
    n = len(lines)
    column_of = {name: i for i, name in enumerate(names)}
    key_at = [column_of[k] for k in key]
    village = "village_code" if "village_code" in column_of else None
    county_checks = [column_of[c] for c in ("county_code", village) if c is not None and c in column_of]
    labels = "、".join(schema.column(k).label for k in key)
    stats = ValidationStats()
    events: list[tuple[int, list[RowError]]] = []  # (row in file order, its errors)
    errors: list[RowError] = []
    keep = pa.array([], pa.bool_())
    id_at = column_of.get("id_number")
    if n and id_at is not None:
        # A blank ID (index 0) is an error unless the row has a name (index > 0).
        no_name = pc.less_equal(columns[column_of["name"]], 0) if "name" in column_of else pa.array([True] * n)
        columns[id_at] = pc.if_else(pc.and_(pc.equal(columns[id_at], 0), no_name), _BAD, columns[id_at])
    if n:
        bad = reduce(pc.or_, [pc.equal(c, _BAD) for c in columns])
        for i in pc.indices_nonzero(bad).to_pylist():
            events.append((i, _bad_row_errors(states, raw_columns, lines, columns, i)))
        valid = pc.invert(bad)
        dup = pa.array([False] * n)
        conflicting = 0
        if key_at:
            # Duplicates over the whole file at once: group the keyed rows by key; only the
            # groups of more than one row come back to Python.
            keyed = reduce(pc.and_, [pc.not_equal(columns[j], 0) for j in key_at], valid)
            rows = pc.indices_nonzero(keyed)
            pairs = _duplicate_pairs([pc.take(columns[j], rows) for j in key_at], rows)
            if pairs:
                dup = pc.is_in(pa.array(range(n), pa.int64()), value_set=pa.array([r for r, _ in pairs], pa.int64()))
                first_key = schema.column(key[0])
                for row, first in pairs:
                    before = stats.rejected
                    stats.duplicates += 1
                    error = _duplicate_error(
                        lines[row].as_py(),
                        (lines[first].as_py(), _fingerprint(columns, first)),
                        _fingerprint(columns, row),
                        labels,
                        key,
                        first_key,
                        states[key_at[0]],
                        int(columns[key_at[0]][row].as_py()),
                        stats,
                    )
                    conflicting += stats.rejected - before
                    stats.rejected = before
                    events.append((row, [error]))
        candidates = pc.and_(valid, pc.invert(dup))
        refused = pa.array([False] * n)
        for j in county_checks:
            state = states[j]
            outside = [i for i, v in enumerate(state.values) if v is not None and v[:6] != county_code]
            if not outside:
                continue
            hit = pc.and_(
                pc.and_(candidates, pc.invert(refused)), pc.is_in(columns[j], value_set=pa.array(outside, pa.int64()))
            )
            for i in pc.indices_nonzero(hit).to_pylist():
                value = state.values[int(columns[j][i].as_py())]
                events.append((i, [_county_error(lines[i].as_py(), state.column.label, value, county_code)]))
            refused = pc.or_(refused, hit)
        n_bad = n - (pc.sum(valid).as_py() or 0)
        n_dup = pc.sum(dup).as_py() or 0
        n_refused = pc.sum(refused).as_py() or 0
        stats.total = n
        stats.rejected = n_bad + conflicting + n_refused
        stats.valid = n - n_bad - n_dup - n_refused
        keep = pc.and_(candidates, pc.invert(refused))
        if id_at is not None:
            for i in pc.indices_nonzero(pc.and_(keep, pc.equal(columns[id_at], 0))).to_pylist():
                events.append((i, [missing_id_warning(lines[i].as_py(), schema)]))
    for _, row_errors in sorted(events, key=lambda e: e[0]):
        errors.extend(row_errors)
    return StandardizedFeed(
        schema=schema,
        table=_assemble(
            schema,
            names,
            states,
            [[c] for c in columns],
            amount_chunks,
            [keep],
            pc.filter(lines, keep),
            protector,
            county_code,
        ),
        errors=errors,
        stats=stats,
        extra_columns=list(table.extra_columns),
        format=table.format,
        encoding=table.encoding,
        sheet=table.sheet,
    )


def _dense(values: pa.Array) -> tuple[pa.Array, int]:
    encoded = pc.dictionary_encode(values)
    return pc.cast(encoded.indices, pa.int64()), len(encoded.dictionary)


def _duplicate_pairs(keys: list[pa.Array], rows: pa.Array) -> list[tuple[int, int]]:
    """(row, first row with the same key) for every row whose key an earlier row has.

    The key's columns are folded into one exact integer id, column by column, re-densified
    after each step (so the product stays below rows² < 2⁶³); counting that id is one pass.
    """
    if not len(rows):
        return []
    packed, _ = _dense(keys[0])
    for k in keys[1:]:
        ids, width = _dense(k)
        packed, _ = _dense(pc.add(pc.multiply(packed, width), ids))
    counts = pc.value_counts(packed)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if not len(repeated):
        return []
    hit = pc.is_in(packed, value_set=repeated)
    firsts: dict[int, int] = {}
    pairs = []
    for value, row in zip(pc.filter(packed, hit).to_pylist(), pc.filter(rows, hit).to_pylist(), strict=True):
        first = firsts.setdefault(value, row)  # rows come in file order: the first is the earliest
        if first != row:
            pairs.append((row, first))
    return sorted(pairs)


def _fingerprint(canon: list[pa.Array], i: int) -> int:
    return hash(tuple(int(c[i].as_py()) for c in canon))


def _bad_row_errors(
    states: list[_ColumnState], raw_columns: list[Any], lines: pa.Array, canon: list[pa.Array], i: int
) -> list[RowError]:
    out = []
    line = lines[i].as_py()
    for state, column, ids in zip(states, raw_columns, canon, strict=True):
        if ids[i].as_py() != _BAD:
            continue
        raw = column[i].as_py() if isinstance(column, pa.Array) else column[i]
        exc = state.errors.get(state.key(raw), REQUIRED)  # absent: a blank ID without a name
        is_id = state.column.type is ColumnType.ID_NUMBER
        out.append(RowError(line, state.column.label, display_value(raw, is_id=is_id), exc.reason_zh, exc.reason_en))
    return out


__all__ = ["Fallback", "finish", "standardize_csv_arrow", "standardize_rows_arrow"]
