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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from engine.feeds.columnar import (
    _BAD,
    _PLAIN_AMOUNT,
    REQUIRED,
    _blank,
    _ColumnState,
    _data_rows,
    _duplicate_error,
    assemble,
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


@dataclass
class _Encoded:
    """A file's rows as canonical value ids, column by column, and the raw cells of bad rows.

    Columns in `deferred` (a CSV's ID numbers: hundreds of thousands of distinct values, each
    block repeating most of them) keep their text until the end and are encoded once."""

    states: list[_ColumnState]
    deferred: frozenset[int] = frozenset()
    lines: list[pa.Array] = field(default_factory=list)  # line labels per chunk
    ids: list[list[pa.Array]] = field(default_factory=list)  # per column, per chunk
    bad_cells: dict[int, list[Any]] = field(default_factory=dict)  # row → raw cells
    rows: int = 0

    def __post_init__(self) -> None:
        self.ids = [[] for _ in self.states]
        self._raw: dict[int, pa.Array] = {}

    def add(self, lines: pa.Array, columns: list[Any], encode: Callable[[int, Any], pa.Array]) -> None:
        ids = [column if j in self.deferred else encode(j, column) for j, column in enumerate(columns)]
        checked = [c for j, c in enumerate(ids) if j not in self.deferred]
        bad = reduce(pc.or_, [pc.equal(c, _BAD) for c in checked]) if checked else None
        if bad is not None:
            for i in pc.indices_nonzero(bad).to_pylist():
                self.bad_cells[self.rows + i] = [_cell(c, i) for c in columns]
        for target, values in zip(self.ids, ids, strict=True):
            target.append(values)
        self.lines.append(lines)
        self.rows += len(lines)

    def column(self, j: int) -> pa.Array:
        """Column `j`'s ids for the whole file (its chunks are let go)."""
        chunks, self.ids[j] = self.ids[j], []
        if j in self.deferred:
            raw = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
            self._raw[j] = raw
            return _encode_text(self.states[j], raw) if len(raw) else pa.array([], pa.int64())
        return pa.concat_arrays(chunks) if chunks else pa.array([], pa.int64())

    def cell(self, i: int, j: int) -> Any:
        """The raw cell of row `i`, column `j`, for an error report (bad rows only)."""
        if i in self.bad_cells:
            return self.bad_cells[i][j]
        return self._raw[j][i].as_py() if j in self._raw else None


def _cell(column: Any, i: int) -> Any:
    return column[i].as_py() if isinstance(column, pa.Array | pa.ChunkedArray) else column[i]


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
    deferred = frozenset(j for j, st in enumerate(states) if st.column.type is ColumnType.ID_NUMBER)
    encoded = _Encoded(states, deferred)
    estimated = max(table.estimated_rows, 1)

    def process(chunk: _Chunk) -> None:
        encoded.add(chunk.numbers, chunk.columns, lambda j, column: _encode_text(states[j], column))
        if progress is not None:
            progress(encoded.rows, max(estimated, encoded.rows))

    # A block is encoded once the next one shows it is not the file's last (whose last row
    # may be a totals row to drop).
    pending: _Chunk | None = None
    for chunk in _chunks(source, table.encoding, delimiter, start, at):
        if pending is not None:
            process(pending)
        pending = chunk
    if pending is not None:
        process(pending.without_last() if pending.totals_last else pending)
    # The blocks' text is gone: give its pages back before the result is built beside the ids.
    pa.default_memory_pool().release_unused()
    lines = pc.cast(pa.concat_arrays(encoded.lines), pa.string()) if encoded.lines else pa.array([], pa.string())
    return finish(table, schema, names, encoded, lines, key=key, protector=protector, county_code=county_code)


# -- a workbook's rows ---------------------------------------------------------------------------


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
    encoded = _Encoded(states)
    labels = pa.array(lines, pa.string())
    del lines
    encoded.add(labels, raw_columns, lambda j, column: _encode_cells(states[j], column))
    if progress is not None:
        progress(len(labels), max(len(labels), 1))
    return finish(table, schema, names, encoded, labels, key=key, protector=protector, county_code=county_code)


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


# -- from ids to the result ----------------------------------------------------------------------


def finish(
    table: Table,
    schema: TableSchema,
    names: list[str],
    encoded: _Encoded,
    lines: pa.Array,
    *,
    key: tuple[str, ...],
    protector: Protector,
    county_code: str,
) -> StandardizedFeed:
    """From each row's canonical value ids to the result: bad rows, duplicates (one group-by
    over the file), the county checks, counts, errors in file order, the Arrow table."""
    states = encoded.states
    n = len(lines)
    columns = [encoded.column(j) for j in range(len(names))]
    for state in states:  # every cell is an id now: the lookups by raw text are done with
        state.by_raw.clear()
        state.canon.clear()
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
        missing = pc.and_(pc.equal(columns[id_at], 0), no_name)
        columns[id_at] = pc.if_else(missing, _BAD, columns[id_at])
    if n:
        bad = reduce(pc.or_, [pc.equal(c, _BAD) for c in columns])
        for i in pc.indices_nonzero(bad).to_pylist():
            events.append((i, _bad_row_errors(states, encoded, lines, columns, i)))
        valid = pc.invert(bad)
        dup = pa.array([False] * n)
        conflicting = 0
        if key_at:
            # Duplicates over the whole file at once: group the keyed rows by key; only the
            # groups of more than one row come back to Python.
            keyed = reduce(pc.and_, [pc.not_equal(columns[j], 0) for j in key_at], valid)
            pairs = _duplicate_pairs([columns[j] for j in key_at], keyed)
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
                pc.and_(candidates, pc.invert(refused)),
                pc.is_in(columns[j], value_set=pa.array(outside, columns[j].type)),
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
        table=assemble(schema, names, states, columns, keep, lines, protector, county_code),  # (uses up `columns`)
        errors=errors,
        stats=stats,
        extra_columns=list(table.extra_columns),
        format=table.format,
        encoding=table.encoding,
        sheet=table.sheet,
    )


def _duplicate_pairs(keys: list[pa.Array], keyed: pa.Array) -> list[tuple[int, int]]:
    """(row, first row with the same key) for every keyed row whose key an earlier row has.

    The key's columns are folded into one 64-bit number (multiply and add, wrapping around);
    counting those is one pass over the file. Rows whose number repeats — the duplicates, and
    the once-in-a-lifetime collision — are compared on the key itself, in Python."""
    rows = pc.indices_nonzero(keyed)
    if not len(rows):
        return []
    folded = pc.cast(pc.take(keys[0], rows), pa.uint64())
    for k in keys[1:]:
        folded = pc.add(
            pc.multiply(folded, pa.scalar(0x9E3779B97F4A7C15, pa.uint64())), pc.cast(pc.take(k, rows), pa.uint64())
        )
    counts = pc.value_counts(folded)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if not len(repeated):
        return []
    hit = pc.is_in(folded, value_set=repeated)
    positions = pc.filter(rows, hit)
    tuples = zip(*(pc.take(k, positions).to_pylist() for k in keys), strict=True)
    firsts: dict[tuple[int, ...], int] = {}
    pairs = []
    for key, row in zip(tuples, positions.to_pylist(), strict=True):
        first = firsts.setdefault(key, row)  # rows come in file order: the first is the earliest
        if first != row:
            pairs.append((row, first))
    return sorted(pairs)


def _fingerprint(canon: list[pa.Array], i: int) -> int:
    return hash(tuple(int(c[i].as_py()) for c in canon))


def _bad_row_errors(
    states: list[_ColumnState], encoded: _Encoded, lines: pa.Array, canon: list[pa.Array], i: int
) -> list[RowError]:
    out = []
    line = lines[i].as_py()
    for j, (state, ids) in enumerate(zip(states, canon, strict=True)):
        if ids[i].as_py() != _BAD:
            continue
        raw = encoded.cell(i, j)
        exc = state.errors.get(state.key(raw), REQUIRED)  # absent: a blank ID without a name
        is_id = state.column.type is ColumnType.ID_NUMBER
        out.append(RowError(line, state.column.label, display_value(raw, is_id=is_id), exc.reason_zh, exc.reason_en))
    return out


__all__ = ["Fallback", "finish", "standardize_csv_arrow", "standardize_rows_arrow"]
