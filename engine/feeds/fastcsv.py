"""The fast paths of the columnar standardizer: a CSV read by Arrow block by block, a workbook's
rows turned into Arrow columns, and validity, duplicates and output as array operations.

A CSV is read in blocks of `BLOCK_BYTES` cut at line breaks. Each block is parsed twice by
Arrow's own CSV reader (multi-threaded C++): once as whole lines, which tell blank rows, the
rows with quotes and what could be a totals row, and once into cells. Only the few lines that
need a closer look reach Python (a quoted line is split by the csv module, exactly as the
reference path splits it). Each column of a block is dictionary-encoded and only its
*distinct* values are parsed — by the same `engine.parsing` functions as the reference path,
remembered across blocks — so what stays of a block is one small integer per cell: memory
grows with the file's rows by those integers and by the result, not by its text.

Whatever this reader would not do exactly as `csv.reader` does — a quoted field spanning
lines, a bare carriage return, a NUL byte, UTF-16 — raises `Fallback`, and the caller uses
the columnar path instead; a block Arrow cannot cut into equal rows (ragged lines) is split by
the slower string path below. Identical results to the reference path are tested.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from engine.feeds.blocks import BlockFinisher, encode_id_block
from engine.feeds.columnar import (
    _PLAIN_AMOUNT,
    _blank,
    _ColumnState,
    _data_rows,
    state_column,
)
from engine.feeds.sinks import FeedSink
from engine.feeds.standardize import Progress, StandardizedFeed
from engine.parsing import normalize_header
from engine.protect import Protector
from engine.schema import ColumnType, TableSchema
from engine.tabular import TOTALS_WORDS, Source, Table

BLOCK_BYTES = 8 * 1024 * 1024
_LETTERS = r"[0-9A-Za-z\x{3400}-\x{9fff}]"
_TOTALS_HINT = r"[合总\x{2E80}-\x{2FDF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"
_SPECIAL = r"[\r\x00\"合总\x{2E80}-\x{2FDF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"
_LINE_SEPARATORS = ("\x1e", "\x1f", "\x1d", "\x1c", "\x01", "\x02")  # one that no line holds
_PARSE_BLOCK = 1 << 20  # Arrow parses a block's megabytes on as many threads as there are cores


class Fallback(Exception):
    """This file needs the general path."""


# -- reading ------------------------------------------------------------------------------------


def _byte_blocks(source: Source, encoding: str) -> Iterator[bytes]:
    """The file as UTF-8 in blocks that end at a line break (the last one wherever). A line
    break byte never occurs inside a UTF-8 or GB18030 character, so blocks cut there decode
    on their own."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(Path(source), "rb")  # noqa: SIM115
    carry = b""
    first = True
    with stream:
        while True:
            data = stream.read(BLOCK_BYTES)
            if first and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            first = False
            if not data:
                block, carry = carry, b""
            else:
                data = carry + data
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                block, carry = data[: cut + 1], data[cut + 1 :]
            if not block:
                return
            carriage = block.count(b"\r")
            if b"\x00" in block or (carriage and carriage != block.count(b"\r\n")):
                raise Fallback  # NUL, or a bare carriage return (csv.reader's own line break)
            yield block if encoding == "utf-8-sig" else block.decode(encoding).encode("utf-8")
            if not data:
                return


def _delimiter(source: Source, encoding: str) -> str:
    sample = next(_byte_blocks(source, encoding), b"")[:16384].decode("utf-8", errors="replace")
    return "\t" if sample.count("\t") > sample.count(",") else ","


def _arrow_lines(block: bytes) -> pa.Array | None:
    """The block's lines (CRLF folded), one string each, or None if Arrow cannot tell them."""
    separator = next((s for s in _LINE_SEPARATORS if s.encode() not in block), None)
    if separator is None:
        return None
    try:
        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(column_names=["line"], block_size=_PARSE_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter=separator, quote_char=False, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()}, check_utf8=False),
        )
    except pa.ArrowInvalid:
        return None
    lines = table.column("line").combine_chunks()
    expected = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    return lines if len(lines) == expected else None


def _arrow_cells(
    block: bytes, delimiter: str, quoted: bool, rows: int, at: list[int] | None = None
) -> list[pa.Array] | None:
    """The block's cells, column by column (only the columns `at` when given, in that order;
    "" where a row is shorter), or None for a block of rows of unequal length."""
    invalid: list[int] = []

    def handler(_row: Any) -> str:
        invalid.append(1)
        return "skip"

    wanted = None if at is None else [f"f{p}" for p in at]
    try:
        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=_PARSE_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoted else False,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(1024)},
                check_utf8=False,
                include_columns=wanted,
                include_missing_columns=True,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if invalid or table.num_rows != rows:
        return None
    return [pc.fill_null(c.combine_chunks(), "") for c in table.columns]


@dataclass
class _Chunk:
    """Non-blank data lines of one block: line numbers and the schema's raw cells."""

    numbers: pa.Array
    columns: list[pa.Array]
    totals_last: bool  # its last row is a totals row (dropped if nothing follows)

    def __len__(self) -> int:
        return len(self.numbers)

    def without_last(self) -> _Chunk:
        n = len(self) - 1
        return _Chunk(self.numbers.slice(0, n), [c.slice(0, n) for c in self.columns], False)


def _chunks(source: Source, encoding: str, delimiter: str, start: int, at: list[int]) -> Iterator[_Chunk]:
    width = max(at) + 1
    first_line = 1
    for block in _byte_blocks(source, encoding):
        count = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        if first_line + count <= start:
            first_line += count
            continue
        if first_line < start:  # the header is in this block: cut the lines above the data
            skip = start - first_line
            offset = 0
            for _ in range(skip):
                offset = block.index(b"\n", offset) + 1
            block, first_line, count = block[offset:], start, count - skip
        if not block:
            continue
        numbers = pa.array(range(first_line, first_line + count), pa.int32())
        first_line += count
        chunk = _chunk(block, numbers, delimiter, at, width)
        if chunk is not None:
            yield chunk


def _chunk(block: bytes, numbers: pa.Array, delimiter: str, at: list[int], width: int) -> _Chunk | None:
    if b'"' not in block:
        cells = _arrow_cells(block, delimiter, False, len(numbers), at)
        if cells is not None:
            return _plain_chunk(block, cells, numbers, delimiter)
    return _general_chunk(block, numbers, delimiter, at, width)


def _plain_chunk(block: bytes, columns: list[pa.Array], numbers: pa.Array, delimiter: str) -> _Chunk | None:
    """A block without quotes that Arrow cut into rows of equal length (`columns`: the
    schema's). A row with a letter, digit or character in one of those cells is not blank;
    the few others are looked at whole, in Python: blank when every cell is. Whether a row is
    a totals row matters only for the block's last row (dropped only at the end of the file)."""
    n = len(numbers)
    found = pa.array([False] * n)
    for column in columns:  # the first column with text usually settles every row
        found = pc.or_(found, pc.fill_null(pc.match_substring_regex(column, _LETTERS), False))
        if pc.all(found).as_py():
            break
    lines: list[str] = []

    def line(i: int) -> list[str]:
        if i == n - 1 and not lines:  # the last line, without splitting the block
            text = block[:-1] if block.endswith(b"\n") else block
            return text.rsplit(b"\n", 1)[-1].decode("utf-8").removesuffix("\r").split(delimiter)
        if not lines:
            lines.extend(block.decode("utf-8").split("\n"))
        return lines[i].removesuffix("\r").split(delimiter)

    blank_at = [i for i in pc.indices_nonzero(pc.invert(found)).to_pylist() if all(_blank(c) for c in line(i))]
    if blank_at:
        keep = pc.invert(pc.is_in(pa.array(range(n), pa.int64()), value_set=pa.array(blank_at, pa.int64())))
        numbers, columns = pc.filter(numbers, keep), [pc.filter(c, keep) for c in columns]
        last = int(pc.max(pc.indices_nonzero(keep)).as_py()) if len(numbers) else -1
    else:
        last = n - 1
    if not len(numbers):
        return None
    first = next((c for c in line(last) if not _blank(c)), None)
    return _Chunk(numbers, columns, first is not None and normalize_header(first) in TOTALS_WORDS)


def _general_chunk(block: bytes, numbers: pa.Array, delimiter: str, at: list[int], width: int) -> _Chunk | None:
    lines = _arrow_lines(block)
    text: str | None = None
    if lines is None:
        text = block.decode("utf-8")
        arr = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n")).cast(pa.string())
        lines = arr.slice(0, len(numbers))
        crlf = pc.ends_with(lines, "\r")
        if pc.any(crlf).as_py():
            lines = pc.if_else(crlf, pc.utf8_slice_codeunits(lines, 0, -1), lines)
    n = len(lines)
    # One pass finds the few lines that need a closer look: quotes, stray CR or NUL, and
    # what could be a totals word.
    quoted = maybe_totals = pa.array([False] * n)
    special_at = pc.indices_nonzero(pc.match_substring_regex(lines, _SPECIAL))
    if len(special_at):
        some = pc.take(lines, special_at)
        quotes = pc.count_substring(some, '"')
        if pc.any(pc.equal(pc.bit_wise_and(quotes, 1), 1)).as_py():
            raise Fallback  # a quoted field spanning lines, or a stray quote
        every = pa.array(range(n), pa.int64())
        quoted = pc.is_in(every, value_set=pc.take(special_at, pc.indices_nonzero(pc.greater(quotes, 0))))
        hints = pc.indices_nonzero(pc.match_substring_regex(some, _TOTALS_HINT))
        maybe_totals = pc.is_in(every, value_set=pc.take(special_at, hints))
    certain_blank = pc.match_substring_regex(lines, f"^[\\s{_re(delimiter)}]*$")
    maybe_blank = pc.and_(pc.invert(certain_blank), pc.invert(pc.match_substring_regex(lines, _LETTERS)))
    look = pc.or_(pc.or_(quoted, maybe_blank), maybe_totals)
    has_quotes = bool(pc.any(quoted).as_py())
    cells = _arrow_cells(block, delimiter, True, n) if text is None and has_quotes else None
    if cells is not None:
        empty = pa.array([""] * n, pa.string())
        columns = [cells[p] if p < len(cells) else empty for p in at]
    else:
        padded = pc.binary_join_element_wise(lines, pa.scalar(delimiter * width), "")
        parts = pc.split_pattern(padded, delimiter)
        columns = [pc.list_element(parts, p) for p in at]
    blank = certain_blank
    totals = pa.array([False] * n)
    look_at = pc.indices_nonzero(look)
    if len(look_at):
        raw_lines = pc.take(lines, look_at).to_pylist()
        quoted_rows = set(pc.indices_nonzero(pc.take(quoted, look_at)).to_pylist())
        cells_of: list[list[str]] = []
        for j, line in enumerate(raw_lines):
            if j in quoted_rows:
                try:
                    cells_of.append(next(csv.reader([line], delimiter=delimiter), []))
                except csv.Error:
                    raise Fallback from None
            else:
                cells_of.append(line.split(delimiter))
        blank_flags, totals_flags = blank.to_pylist(), [False] * n
        for i, row in zip(look_at.to_pylist(), cells_of, strict=True):
            first = next((c for c in row if not _blank(c)), None)
            blank_flags[i] = first is None
            totals_flags[i] = first is not None and normalize_header(first) in TOTALS_WORDS
        blank, totals = pa.array(blank_flags), pa.array(totals_flags)
        mask = pc.is_in(pa.array(range(n), pa.int64()), value_set=look_at)
        for k, p in enumerate(at):
            values = [row[p] if p < len(row) else "" for row in cells_of]
            columns[k] = pc.replace_with_mask(columns[k], mask, pa.array(values, pa.string()))
    keep = pc.invert(blank)
    numbers = pc.filter(numbers, keep)
    if not len(numbers):
        return None
    totals = pc.filter(totals, keep)
    return _Chunk(numbers, [pc.filter(c, keep) for c in columns], bool(totals[len(totals) - 1].as_py()))


def _re(char: str) -> str:
    return "\\t" if char == "\t" else char


# -- encoding: each column's distinct values parsed once ----------------------------------------


def _encode_text(state: _ColumnState, column: pa.Array) -> pa.Array:
    """Canonical ids of a column of text cells (a block of a CSV, a workbook's text column)."""
    encoded = pc.dictionary_encode(column)
    if state.column.type is ColumnType.AMOUNT:
        values = state.amount_ids(encoded.dictionary)
    else:
        distinct = encoded.dictionary.to_pylist()
        ids = state.id_indices(distinct) if state.column.type is ColumnType.ID_NUMBER else state.indices(distinct)
        values = pa.array(ids, pa.int32())  # (distinct values of a column: far below 2**31)
    return pc.take(values, encoded.indices)


def standardize_csv_arrow(
    source: Source,
    table: Table,
    schema: TableSchema,
    *,
    key: tuple[str, ...],
    protector: Protector,
    county_code: str,
    sink: FeedSink,
    progress: Progress | None = None,
) -> StandardizedFeed:
    """An opened CSV table, block by block into `sink` (or `Fallback`, possibly after some
    blocks went out: the caller resets the sink)."""
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
    id_at = next((j for j, st in enumerate(states) if st.column.type is ColumnType.ID_NUMBER), None)
    finisher = BlockFinisher(schema, names, states, key, protector, county_code, sink)
    estimated = max(table.estimated_rows, 1)

    # The ID column (its numbers checked, hashed, looked up) is a block's largest piece of work
    # and shares nothing with the other columns: it is encoded on a second thread meanwhile.
    # Arrow's kernels let go of the GIL, so both cores work; the block is finished once both
    # are done, and nothing of the next block starts before.
    id_worker = ThreadPoolExecutor(1, thread_name_prefix="feed-ids") if id_at is not None else None

    def process(chunk: _Chunk, last: bool) -> None:
        pending_ids = None
        if id_worker is not None and id_at is not None:
            pending_ids = id_worker.submit(encode_id_block, states[id_at], chunk.columns[id_at], finisher.hashes)
        ids: list[pa.Array] = [
            column if j == id_at else _encode_text(states[j], column) for j, column in enumerate(chunk.columns)
        ]
        id_values = per_id = None
        if pending_ids is not None and id_at is not None:
            ids[id_at], id_values, per_id = pending_ids.result()
        lines = pc.cast(chunk.numbers, pa.string())
        finisher.block(lines, chunk.numbers, ids, chunk.columns, id_values, last=last, per_id=per_id)
        if progress is not None:
            progress(finisher.stats.total, max(estimated, finisher.stats.total))

    # A block is finished once the next one shows it is not the file's last (whose last row
    # may be a totals row to drop).
    pending: _Chunk | None = None
    try:
        for chunk in _chunks(source, table.encoding, delimiter, start, at):
            if pending is not None:
                process(pending, False)
            pending = chunk
        if pending is not None:
            process(pending.without_last() if pending.totals_last else pending, True)
    finally:
        if id_worker is not None:
            id_worker.shutdown(cancel_futures=True)
    return finisher.result(table)


# -- a workbook's rows ---------------------------------------------------------------------------


def standardize_rows_arrow(
    table: Table,
    schema: TableSchema,
    *,
    key: tuple[str, ...],
    protector: Protector,
    county_code: str,
    sink: FeedSink,
    progress: Progress | None = None,
) -> StandardizedFeed:
    """The same for a workbook: calamine's rows filtered in Python (blank and totals rows),
    then each column turned into Arrow where its cells are all text or all numbers, so that
    only its distinct values are parsed."""
    if table._rows is None:
        raise RuntimeError("the table has been read already")
    source, table._rows = table._rows, None
    positions = table.header.positions
    names, at = list(positions.values()), list(positions.keys())
    states = [_ColumnState(state_column(schema, n), typed_keys=True) for n in names]
    try:
        rows = list(_data_rows(source))
    finally:
        table.close()
    lines = [line for line, _ in rows]
    cells_list = [cells for _, cells in rows]
    del rows
    width = max(at) + 1
    if cells_list and min(map(len, cells_list)) >= width:
        every = list(zip(*cells_list, strict=False))
        raw_columns: list[Any] = [every[i] for i in at]
        del every
    else:
        raw_columns = [[c[i] if i < len(c) else None for c in cells_list] for i in at]
    cells_list.clear()
    labels = pa.array(lines, pa.string())
    del lines
    ids = [_encode_cells(state, column) for state, column in zip(states, raw_columns, strict=True)]
    id_at = next((j for j, st in enumerate(states) if st.column.type is ColumnType.ID_NUMBER), None)
    id_values = None
    if id_at is not None:
        values = states[id_at].values
        id_values = pa.array([v if v is None or isinstance(v, str) else v.value for v in values], pa.string())
    finisher = BlockFinisher(schema, names, states, key, protector, county_code, sink)
    finisher.block(labels, None, ids, raw_columns, id_values, last=True)
    if progress is not None:
        progress(len(labels), max(len(labels), 1))
    return finisher.result(table)


_NUMBER_TYPES = {int: pa.int64(), float: pa.float64()}


def _encode_cells(state: _ColumnState, raw: Any) -> pa.Array:
    """Canonical ids of a workbook column: a column of text or of one kind of number goes
    through Arrow (only its distinct values are parsed); any other mix, cell by cell."""
    try:
        text = pa.array(raw, pa.string())  # fails at once on the first cell that is not text
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        text = None
    if text is not None:
        return _encode_typed(state, text)
    classes = {v.__class__ for v in raw}
    classes.discard(type(None))
    if len(classes) == 1 and (cls := next(iter(classes))) in _NUMBER_TYPES:
        try:
            numbers = pa.array(raw, _NUMBER_TYPES[cls])
        except (pa.ArrowInvalid, OverflowError):
            numbers = None
        if numbers is not None:
            if state.column.type is ColumnType.AMOUNT:
                return _number_amounts(state, numbers)
            return _encode_typed(state, numbers)
    if state.column.type is ColumnType.AMOUNT and classes <= {int, float} and (texts := _number_texts(raw)):
        # Excel's numbers as the text `parse_amount` makes of them (str of the number).
        state.key = _text_key  # type: ignore[method-assign]
        ids, _ = state.amount_indices(texts)
        return pa.array(ids, pa.int64())
    return pa.array(state.indices(raw), pa.int64())


def _encode_typed(state: _ColumnState, column: pa.Array) -> pa.Array:
    """A column of one Python type, dictionary-encoded: its distinct values, as that type,
    through the state's parsers (typed keys: `(type, value)`); a blank cell is None's id."""
    encoded = pc.dictionary_encode(column)
    distinct = encoded.dictionary.to_pylist()
    text = pa.types.is_string(column.type)
    ids = state.id_indices(distinct) if text and state.column.type is ColumnType.ID_NUMBER else state.indices(distinct)
    values = pa.array(ids, pa.int64())
    taken = pc.take(values, encoded.indices)
    return pc.fill_null(taken, state.indices([None])[0]) if encoded.null_count else taken


def _number_amounts(state: _ColumnState, numbers: pa.Array) -> pa.Array:
    """An amount column of numbers of one type. Arrow writes each number as its shortest text,
    as `str` does (but for `.0`); where that text is a plain amount its value is the amount
    `parse_amount` makes of the number. The others — negative, three decimals, huge, nan —
    are parsed as numbers, their ids turned into cents + 1 like the rest. Each distinct
    number once."""
    state.cents_ids = True
    encoded = pc.dictionary_encode(numbers)
    distinct = encoded.dictionary
    text = pc.cast(distinct, pa.string())
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_AMOUNT), False)
    decimals = pc.cast(pc.if_else(plain, text, pa.scalar(None, pa.string())), pa.decimal128(12, 2))
    ids = pc.add(pc.cast(pc.multiply(decimals, pa.scalar(100, pa.decimal128(3, 0))), pa.int64()), 1)
    others = pc.invert(plain)
    if pc.any(others).as_py():
        parsed = state.indices(pc.filter(distinct, others).to_pylist())
        found = [v if v <= 0 else int(state.values[v] * 100) + 1 for v in parsed]
        ids = pc.replace_with_mask(ids, others, pa.array(found, pa.int64()))
    taken = pc.take(ids, encoded.indices)
    if encoded.null_count:
        (blank,) = state.indices([None])
        taken = pc.fill_null(taken, blank)
    return taken


def _number_texts(raw: list[Any]) -> list[str | None] | None:
    """`str()` of a column of numbers, when that text parses exactly as the number does
    (no bools, no exponent, no nan/inf); else None."""
    texts = [None if v is None else str(v) for v in raw]
    if any("e" in t or "n" in t for t in texts if t is not None):
        return None
    return texts


def _text_key(raw: Any) -> Any:
    return None if raw is None else str(raw)


__all__ = ["Fallback", "standardize_csv_arrow", "standardize_rows_arrow"]
