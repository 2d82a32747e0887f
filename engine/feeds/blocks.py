"""From one block of canonical value ids to its standardized rows and errors, with what must
be remembered across blocks kept small.

`BlockFinisher.block` does for a block of rows what the reference path does row by row: bad
rows, duplicates, the county checks, counts, errors in file order, the typed rows — and hands
the rows and errors to a sink (`engine.feeds.sinks`) before the next block is read. A CSV is
finished block by block (`engine.feeds.fastcsv`), a workbook as one block.

Across blocks only this is kept, none of it the file's text or rows:

- the columns' parsed distinct values (`_ColumnState`), each state let go of when it passes
  `STATE_LIMIT` raw values (a column of names, addresses): it is rebuilt by the next blocks;
- per distinct ID number seen, its keyed hash (`_IdHashes`: sorted Arrow runs, ≈ 76 bytes a
  number, at most `ID_CACHE_LIMIT` numbers — beyond it numbers are hashed again in every
  block they occur in);
- per keyed row kept so far, a 96-bit digest of its key, its line and a 64-bit fingerprint of
  its values (`_Duplicates`: 24 bytes a row) — so a row that repeats a row of an earlier
  block is found, and told exact or conflicting, as the whole-file check told it.

The digests stand in for the values: each column's canonical value has a 64-bit code (an ID
number as one integer, an amount in cents, a date's ordinal, else the value's hash), mixed
(splitmix64) for one fold and taken as it is for the other (of which 32 bits are kept). Two
different keys share a digest with a probability around n² / 2⁹⁷ for n rows (10⁻¹⁷ for a
million); the fingerprint tells an exact repeat from a conflicting one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, reduce
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.feeds.columnar import (
    _BAD,
    REQUIRED,
    _amounts,
    _canonical_valid_ids,
    _ColumnState,
    _masked,
    fast_id_hasher,
)
from engine.feeds.sinks import FeedSink
from engine.feeds.standardize import (
    COMMON_COLUMNS,
    StandardizedFeed,
    _county_error,
    _period,
    arrow_schema,
    missing_id_warning,
    own_columns,
    period_column,
)
from engine.ids import IDNumber
from engine.parsing import ParseError, parse_cell
from engine.protect import Protector
from engine.schema import Column, ColumnType, TableSchema
from engine.tabular import Table
from engine.validate import RowError, ValidationStats, display_value

STATE_LIMIT = 100_000  # raw values a column's state remembers before it is let go of
ID_CACHE_LIMIT = 1_000_000  # distinct ID numbers whose hashes are remembered
_U64 = pa.uint64()
_FOLD = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
_SALT = (0x243F6A8885A308D3, 0x13198A2E03707344)


@cache
def _u64(value: int) -> pa.Scalar:
    return pa.scalar(value, _U64)


def _mix(codes: pa.Array, salt: int) -> pa.Array:
    """splitmix64's finaliser of `codes ^ salt`: nearby codes become unrelated numbers."""
    z = pc.bit_wise_xor(codes, _u64(salt))
    z = pc.multiply(pc.bit_wise_xor(z, pc.shift_right(z, _u64(30))), _u64(0xBF58476D1CE4E5B9))
    z = pc.multiply(pc.bit_wise_xor(z, pc.shift_right(z, _u64(27))), _u64(0x94D049BB133111EB))
    return pc.bit_wise_xor(z, pc.shift_right(z, _u64(31)))


def _fold(parts: list[pa.Array], multiplier: int) -> pa.Array:
    out = parts[0]
    for part in parts[1:]:
        out = pc.add(pc.multiply(out, _u64(multiplier)), part)  # (wrapping arithmetic)
    return out


def _positions(n: int) -> pa.Array:
    """0 … n-1 as uint64, without a Python object per number."""
    return pc.indices_nonzero(pc.is_null(pa.nulls(n, pa.bool_()))) if n else pa.array([], _U64)


# -- sorted runs: a compact index of 64-bit keys ------------------------------------------------


class _SortedIndex:
    """64-bit keys with payload columns, held as at most two sorted runs — a large one and a
    small one that takes the new keys and is merged into the large one when it reaches a
    quarter of its size — and looked up with Arrow's `search_sorted`: a few bytes a key, two
    binary searches a lookup, and no hash table of every key rebuilt per block."""

    def __init__(self) -> None:
        self.runs: list[tuple[pa.Array, dict[str, pa.Array]]] = []
        self.size = 0

    def find(self, keys: pa.Array) -> tuple[pa.Array, dict[str, pa.Array]]:
        """Whether each key is held, and its payload (null where not)."""
        found = pa.array([False] * len(keys), pa.bool_())
        payload: dict[str, pa.Array] = {}
        for run_keys, run_payload in self.runs:
            at = _search(run_keys, keys)
            hit = pc.and_(pc.equal(pc.take(run_keys, at), keys), pc.invert(found))
            if not pc.any(hit).as_py():
                continue
            for name, values in run_payload.items():
                taken = pc.take(values, at)
                payload[name] = pc.if_else(hit, taken, payload[name]) if name in payload else _where(hit, taken)
            found = pc.or_(found, hit)
        return found, payload

    def add(self, keys: pa.Array, payload: dict[str, pa.Array], *, is_sorted: bool = False) -> None:
        if not len(keys):
            return
        if is_sorted:
            new = (keys, dict(payload))
        else:
            order = pc.sort_indices(keys)
            new = (pc.take(keys, order), {k: pc.take(v, order) for k, v in payload.items()})
        self.size += len(keys)
        if len(self.runs) == 2:
            new = _merge(self.runs.pop(), new)
        if len(self.runs) == 1 and 4 * len(new[0]) >= len(self.runs[0][0]):
            new = _merge(self.runs.pop(), new)
        self.runs.append(new)


def _where(hit: pa.Array, values: pa.Array) -> pa.Array:
    return pc.if_else(hit, values, pa.scalar(None, values.type))


def _np(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An index's keys or integer payload (never null) as numpy sees them: no copy for one chunk."""
    return values.to_numpy()


def _search(run: pa.Array, keys: pa.Array) -> pa.Array:
    """Per key, a position in the sorted `run` that holds it if any does (else any position).
    numpy's binary search over the Arrow buffers: five times Arrow's `search_sorted` here."""
    if not len(run):
        return pa.array(np.zeros(len(keys), np.int64))
    at = np.searchsorted(_np(run), _np(keys))
    np.minimum(at, len(run) - 1, out=at)
    return pa.array(at)


def _merge(
    older: tuple[pa.Array, dict[str, pa.Array]], newer: tuple[pa.Array, dict[str, pa.Array]]
) -> tuple[pa.Array, dict[str, pa.Array]]:
    """Two sorted runs as one, in one pass: `newer[j]` goes right after the elements of
    `older` not greater than it (ties: older first), so its place is its rank plus that
    count, and `older`'s elements fill the other places in their order. Each column is
    scattered into place (numpy, for the integer columns: five times the Arrow merge this
    replaced) and each input let go once its merged column is built — a merge holds one
    column twice, not the whole index."""
    a, b = older[0], newer[0]
    at_b = np.searchsorted(_np(a), _np(b), side="right")
    at_b += np.arange(len(b), dtype=at_b.dtype)
    from_a = np.ones(len(a) + len(b), dtype=bool)
    from_a[at_b] = False
    payload: dict[str, pa.Array] = {}
    for k in list(older[1]):
        payload[k] = _interleaved(older[1].pop(k), newer[1].pop(k), at_b, from_a)
    return _interleaved(a, b, at_b, from_a), payload


def _interleaved(x: pa.Array, y: pa.Array, at_y: np.ndarray, from_x: np.ndarray) -> pa.Array:
    """`y`'s values at `at_y`, `x`'s at the places `from_x` marks, in order."""
    if pa.types.is_integer(x.type) and not x.null_count and not y.null_count:
        out = np.empty(len(x) + len(y), dtype=x.type.to_pandas_dtype())
        out[at_y] = _np(y)
        out[from_x] = _np(x)
        return pa.array(out, x.type)
    source = np.empty(len(x) + len(y), dtype=np.int64)  # merged place → input element
    source[at_y] = np.arange(len(x), len(x) + len(y))
    source[from_x] = np.arange(len(x))
    merged = pc.take(pa.chunked_array([x, y], x.type), pa.array(source))
    return merged.chunk(0) if merged.num_chunks == 1 else merged.combine_chunks()


# -- ID numbers: keyed hashes remembered compactly ----------------------------------------------


def _id_keys(numbers: pa.Array) -> pa.Array:
    """A normalised 18-character ID number as one 64-bit integer (17 digits × 11 + check)."""
    digits = pc.cast(pc.utf8_slice_codeunits(numbers, 0, 17), pa.int64())
    last = pc.utf8_slice_codeunits(numbers, 17, 18)
    check = pc.cast(pc.if_else(pc.equal(last, "X"), pa.scalar("10"), last), pa.int64())
    return pc.cast(pc.add(pc.multiply(digits, 11), check), _U64)


class _IdHashes:
    """Per normalised ID number: its keyed hash (`Protector.hash`, hex) — computed once per
    number, remembered up to `ID_CACHE_LIMIT` numbers — and two 64-bit codes for the key
    digests (mixed from the number itself: one number, one code)."""

    def __init__(self, protector: Protector) -> None:
        self.hash_id = fast_id_hasher(protector)
        self.index = _SortedIndex()

    def of(self, numbers: pa.Array, *, remember: bool = True) -> dict[str, pa.Array]:
        """`id_hash`, `a`, `b` for distinct, non-null, normalised numbers."""
        keys = _id_keys(numbers)
        return {"id_hash": self.hashes(numbers, keys, remember=remember), **_id_codes(keys)}

    def hashes(self, numbers: pa.Array, keys: pa.Array, *, remember: bool = True) -> pa.Array:
        if not len(numbers):
            return pa.array([], pa.string())
        found, payload = self.index.find(keys)
        missing = pc.invert(found)
        if not pc.any(missing).as_py():
            return payload["id_hash"]
        new = pa.array([self.hash_id(v) for v in pc.filter(numbers, missing).to_pylist()], pa.string())
        if remember and self.index.size + len(new) <= ID_CACHE_LIMIT:
            self.index.add(pc.filter(keys, missing), {"id_hash": new})
        if not payload:
            return new
        return pc.replace_with_mask(payload["id_hash"], missing, new)


def _id_codes(keys: pa.Array) -> dict[str, pa.Array]:
    return {"a": _mix(keys, _SALT[0]), "b": _mix(keys, _SALT[1])}


def _cell(column: Any, i: int) -> Any:
    return column[i].as_py() if isinstance(column, pa.Array | pa.ChunkedArray) else column[i]


def _with_blank(values: pa.Array) -> pa.Array:
    """`values` shifted to start at canonical id 1 (id 0: blank, null)."""
    return pa.concat_arrays([pa.nulls(1, values.type), values])


def encode_id_block(
    state: _ColumnState, text: pa.Array, hashes: _IdHashes
) -> tuple[pa.Array, pa.Array, dict[str, pa.Array]]:
    """A block's ID cells → (canonical id per row, the block's normalised numbers by id, their
    hashes and codes by id) — id 0 is a blank cell (null number), `_BAD` an invalid one, and
    two spellings of one number share an id.

    A cell that is a number already hashed (the cache holds only valid, normalised numbers)
    is taken as it is; the other numbers in canonical form are checked against GB 11643 in
    Arrow; only the rest reach `parse_cell` (errors kept in `state.errors` for the block's
    report)."""
    encoded = pc.dictionary_encode(text)
    distinct = encoded.dictionary
    m = len(distinct)
    shaped = pc.fill_null(pc.match_substring_regex(distinct, r"^[0-9]{17}[0-9X]$"), False)
    keys = _id_keys(pc.if_else(shaped, distinct, pa.scalar("110101188001010000")))
    found, known = hashes.index.find(keys)
    found = pc.and_(found, shaped)
    ok = found
    todo = pc.indices_nonzero(pc.invert(found))
    if len(todo):
        checked = pc.filter(todo, _canonical_valid_ids(pc.take(distinct, todo)))
        if len(checked):
            ok = pc.or_(found, pc.is_in(_positions(m), value_set=checked))
    others = pc.indices_nonzero(pc.invert(ok))
    if not len(others):
        # Every cell a valid number in canonical form (the usual block): they are their own
        # normal forms, one id each.
        id_hash = known["id_hash"] if known else None
        if id_hash is None or found.true_count != m:
            fresh = pc.invert(found)
            new = hashes.hashes(pc.filter(distinct, fresh), pc.filter(keys, fresh))
            id_hash = new if id_hash is None else pc.replace_with_mask(id_hash, fresh, new)
        per_id = {"id_hash": id_hash, **_id_codes(keys)}
        ids = pc.add(pc.cast(encoded.indices, pa.int64()), 1)
        return ids, _with_blank(distinct), {k: _with_blank(v) for k, v in per_id.items()}
    normal = pc.if_else(ok, distinct, pa.scalar(None, pa.string()))
    flags = None
    if len(others):
        replaced: list[str | None] = []
        kinds: list[int] = []
        for raw in pc.take(distinct, others).to_pylist():
            try:
                parsed = parse_cell(state.column, raw)
            except ParseError as exc:
                exc.__traceback__ = None
                state.errors[state.key(raw)] = exc
                replaced.append(None)
                kinds.append(_BAD)
                continue
            value = parsed.value if isinstance(parsed, IDNumber) else parsed
            replaced.append(value)
            kinds.append(0 if value is None else 1)
        normal = pc.replace_with_mask(normal, pc.invert(ok), pa.array(replaced, pa.string()))
        flags = pc.replace_with_mask(pa.array([1] * m, pa.int64()), pc.invert(ok), pa.array(kinds, pa.int64()))
    canon = pc.dictionary_encode(normal)
    values = canon.dictionary
    ids = pc.fill_null(pc.add(pc.cast(canon.indices, pa.int64()), 1), 0)  # 0 where blank or bad
    if flags is not None:
        ids = pc.if_else(pc.equal(flags, _BAD), pa.scalar(_BAD, pa.int64()), ids)
    per_id = _hashes_by_id(hashes, values, canon.indices, found, known)
    return pc.take(ids, encoded.indices), _with_blank(values), {k: _with_blank(v) for k, v in per_id.items()}


def _hashes_by_id(
    hashes: _IdHashes, values: pa.Array, canon_of: pa.Array, found: pa.Array, known: dict[str, pa.Array]
) -> dict[str, pa.Array]:
    """Per normalised number of a block: the cached hashes of the cells found in the cache,
    the others looked up (or hashed) by number; the codes from the numbers."""
    n = len(values)
    keys = _id_keys(values)
    at = pc.indices_nonzero(found)
    if not len(at) or not hasattr(pc, "scatter"):
        return {"id_hash": hashes.hashes(values, keys), **_id_codes(keys)}
    where = pc.cast(pc.take(canon_of, at), pa.int64())  # (a cached cell is its own normal form)
    covered = pc.is_valid(pc.scatter(pc.is_valid(at), where, max_index=n - 1))
    id_hash = pc.scatter(pc.take(known["id_hash"], at), where, max_index=n - 1)
    rest = pc.invert(covered)
    if pc.any(rest).as_py():
        new = hashes.hashes(pc.filter(values, rest), pc.filter(keys, rest))
        id_hash = pc.replace_with_mask(id_hash, rest, new)
    return {"id_hash": id_hash, **_id_codes(keys)}


# -- duplicates across blocks -------------------------------------------------------------------


def _low32(values: pa.Array) -> pa.Array:
    return pc.cast(pc.bit_wise_and(values, _u64(0xFFFFFFFF)), pa.uint32())


class _Duplicates:
    """The keyed rows kept so far, by a 96-bit digest of their key (64 bits the index key,
    32 bits checked on a hit): line and fingerprint — 24 bytes a row."""

    def __init__(self) -> None:
        self.index = _SortedIndex()

    def find(
        self,
        rows: pa.Array,
        a: pa.Array,
        b: pa.Array,
        fingerprint: pa.Array,
        lines: pa.Array,
        numbers: pa.Array | None,
        *,
        remember: bool,
    ) -> list[tuple[int, str, bool]]:
        """(row, line of the first row with its key, whether it is an exact repeat) for every
        row of `rows` (the block's keyed rows, in file order) whose key came before — in an
        earlier block or earlier in this one. The block's other rows are remembered (unless
        `remember` is false: the file's last block)."""
        out: list[tuple[int, str, bool]] = []
        found, before = self.index.find(a) if self.index.runs else (None, {})
        if before:
            found = pc.fill_null(pc.and_(found, pc.equal(before["b"], _low32(b))), False)
            for k in pc.indices_nonzero(found).to_pylist():
                same = before["fp"][k].as_py() == fingerprint[k].as_py()
                out.append((int(rows[k].as_py()), str(before["line"][k].as_py()), same))
        # The rest, sorted by digest: repeats within the block are neighbours, and the sorted
        # run is what the index takes.
        some = found is not None and found.true_count
        at = pc.indices_nonzero(pc.invert(found)) if some else _positions(len(a))
        order = pc.take(at, pc.sort_indices(pc.take(a, at)))
        sorted_a = pc.take(a, order)
        n = len(sorted_a)
        repeats = pc.equal(sorted_a.slice(1), sorted_a.slice(0, n - 1)) if n > 1 else None
        if repeats is not None and pc.any(repeats).as_py():
            repeated = pc.unique(pc.filter(sorted_a.slice(1), repeats))
            involved = pc.filter(at, pc.is_in(pc.take(a, at), value_set=repeated))  # in file order
            firsts: dict[tuple[int, int], tuple[int, int]] = {}
            again: list[int] = []
            for k, ka, kb, fp in zip(
                involved.to_pylist(),
                pc.take(a, involved).to_pylist(),
                pc.take(b, involved).to_pylist(),
                pc.take(fingerprint, involved).to_pylist(),
                strict=True,
            ):
                first = firsts.setdefault((ka, kb), (k, fp))  # in file order: the first is the earliest
                if first[0] != k:
                    again.append(k)
                    row = int(rows[k].as_py())
                    out.append((row, lines[int(rows[first[0]].as_py())].as_py(), first[1] == fp))
            if again:
                order = pc.filter(order, pc.invert(pc.is_in(order, value_set=pa.array(again, _U64))))
                sorted_a = pc.take(a, order)
        if remember:
            if numbers is None:
                raise ValueError("rows to remember need their line numbers")
            self.index.add(
                sorted_a,
                {
                    "b": _low32(pc.take(b, order)),
                    "line": pc.take(numbers, pc.take(rows, order)),
                    "fp": pc.take(fingerprint, order),
                },
                is_sorted=True,
            )
        return sorted(out)


# -- one block ----------------------------------------------------------------------------------


@dataclass
class BlockFinisher:
    """Finishes a file's blocks one after the other into `sink`; `result` sums them up."""

    schema: TableSchema
    names: list[str]
    states: list[_ColumnState]
    key: tuple[str, ...]
    protector: Protector
    county_code: str
    sink: FeedSink
    stats: ValidationStats = field(default_factory=ValidationStats)
    periods: set[str] = field(default_factory=set)
    rows_written: int = 0

    def __post_init__(self) -> None:
        self.column_of = {name: i for i, name in enumerate(self.names)}
        self.key_at = [self.column_of[k] for k in self.key]
        village = "village_code" if "village_code" in self.column_of else None
        self.county_checks = [self.column_of[c] for c in ("county_code", village) if c and c in self.column_of]
        self.labels = "、".join(self.schema.column(k).label for k in self.key)
        self.id_at = self.column_of.get("id_number")
        self.name_at = self.column_of.get("name")
        self.hashes = _IdHashes(self.protector)
        self.duplicates = _Duplicates()
        self.arrow = arrow_schema(self.schema)
        self.period_name = period_column(self.schema)
        self.period_type = self.schema.column(self.period_name).type

    def block(
        self,
        lines: pa.Array,
        numbers: pa.Array | None,
        columns: list[pa.Array],
        cells: list[Any],
        id_values: pa.Array | None,
        *,
        last: bool,
        per_id: dict[str, pa.Array] | None = None,
    ) -> None:
        """One block: `lines` (labels), `numbers` (line numbers, for a stream's later blocks),
        each column's canonical ids (`columns`), the raw cells (`cells`, for error reports) and,
        with an ID column, the normalised numbers by canonical id (`id_values`, id 0 null) and,
        if known, their hashes and codes by id (`per_id`)."""
        n = len(lines)
        if not n:
            return
        states, stats = self.states, self.stats
        id_at = self.id_at
        columns = list(columns)
        if id_at is not None:
            # A blank ID (index 0) is an error unless the row has a name (index > 0).
            no_name = (
                pc.less_equal(columns[self.name_at], 0)
                if self.name_at is not None
                else pa.array([True] * n, pa.bool_())
            )
            missing = pc.and_(pc.equal(columns[id_at], 0), no_name)
            columns[id_at] = pc.if_else(missing, _BAD, columns[id_at])
        bad = reduce(pc.or_, [pc.equal(c, _BAD) for c in columns])
        events: list[tuple[int, list[RowError]]] = []
        for i in pc.indices_nonzero(bad).to_pylist():
            events.append((i, self._bad_row_errors(lines, columns, cells, i)))
        valid = pc.invert(bad)
        if per_id is None:
            per_id = {}
            if id_at is not None and id_values is not None:
                coded = self.hashes.of(id_values.slice(1), remember=not last)
                per_id = {k: _with_blank(v) for k, v in coded.items()}
        dup_rows: list[int] = []
        conflicting = 0
        if self.key_at:
            repeats = self._repeats(columns, valid, lines, numbers, id_values, per_id, last=last)
            for row, error in repeats:
                stats.duplicates += 1
                conflicting += 0 if error.warning else 1
                events.append((row, [error]))
                dup_rows.append(row)
        dup = (
            pc.is_in(_positions(n), value_set=pa.array(dup_rows, _U64))
            if dup_rows
            else pa.array([False] * n, pa.bool_())
        )
        candidates = pc.and_(valid, pc.invert(dup))
        refused = pa.array([False] * n, pa.bool_())
        for j in self.county_checks:
            state = states[j]
            outside = [i for i, v in enumerate(state.values) if v is not None and v[:6] != self.county_code]
            if not outside:
                continue
            hit = pc.and_(
                pc.and_(candidates, pc.invert(refused)),
                pc.is_in(columns[j], value_set=pa.array(outside, columns[j].type)),
            )
            for i in pc.indices_nonzero(hit).to_pylist():
                value = state.values[int(columns[j][i].as_py())]
                events.append((i, [_county_error(lines[i].as_py(), state.column.label, value, self.county_code)]))
            refused = pc.or_(refused, hit)
        n_bad = n - (pc.sum(valid).as_py() or 0)
        n_refused = pc.sum(refused).as_py() or 0
        stats.total += n
        stats.rejected += n_bad + conflicting + n_refused
        stats.valid += n - n_bad - len(dup_rows) - n_refused
        keep = pc.and_(candidates, pc.invert(refused))
        if id_at is not None:
            for i in pc.indices_nonzero(pc.and_(keep, pc.equal(columns[id_at], 0))).to_pylist():
                events.append((i, [missing_id_warning(lines[i].as_py(), self.schema)]))
        if events:
            self.sink.report([e for _, row_errors in sorted(events, key=lambda e: e[0]) for e in row_errors])
        table = self._assemble(columns, keep, lines, id_values, per_id)
        if table.num_rows:
            self.periods.update(pc.unique(table.column("period")).to_pylist())
            self.rows_written += table.num_rows
            self.sink.write(table)
        for j, state in enumerate(states):
            if j == id_at:
                state.errors.clear()  # (a stream's ID state keeps nothing else)
            elif len(state.by_raw) > STATE_LIMIT:
                state.forget()

    def _repeats(
        self,
        columns: list[pa.Array],
        valid: pa.Array,
        lines: pa.Array,
        numbers: pa.Array | None,
        id_values: pa.Array | None,
        per_id: dict[str, pa.Array],
        *,
        last: bool,
    ) -> list[tuple[int, RowError]]:
        """The block's rows whose key came before, with their errors (in a method of its own:
        its digests are let go before the block's rows are built)."""
        keyed = reduce(pc.and_, [pc.not_equal(columns[j], 0) for j in self.key_at], valid)
        rows = pc.indices_nonzero(keyed)
        if not len(rows):
            return []
        everyone = len(rows) == len(lines)  # (then the columns themselves, not a copy)
        ids = columns if everyone else [pc.take(c, rows) for c in columns]
        a, b = self._digest(ids, per_id)
        # (the fingerprint only tells rows of one key apart: a plain fold of the codes)
        fingerprint = _fold([self._code(j, ids[j], per_id, "a") for j in range(len(columns))], _FOLD[2])
        first_key = self.schema.column(self.key[0])
        out = []
        for row, first_line, same in self.duplicates.find(rows, a, b, fingerprint, lines, numbers, remember=not last):
            value = self._key_value(columns, id_values, row)
            out.append((row, _duplicate(lines[row].as_py(), first_line, same, self, first_key, value)))
        return out

    def result(self, table: Table) -> StandardizedFeed:
        """What the file yielded, its rows and errors being in the sink."""
        return StandardizedFeed(
            schema=self.schema,
            table=self.arrow.empty_table(),
            stats=self.stats,
            extra_columns=list(table.extra_columns),
            format=table.format,
            encoding=table.encoding,
            sheet=table.sheet,
            stored_rows=self.rows_written,
            stored_periods=sorted(self.periods),
        )

    # -- pieces ------------------------------------------------------------------------------

    def _code(self, j: int, ids: pa.Array, per_id: dict[str, pa.Array], half: str) -> pa.Array:
        """The 64-bit code of column `j`'s values (ids of keyed rows: never blank-or-bad)."""
        if j == self.id_at:
            return pc.take(per_id[half], ids)
        state = self.states[j]
        if state.cents_ids:
            return pc.cast(ids, _U64)
        return pc.take(state.code_array(), ids)

    def _digest(self, ids: list[pa.Array], per_id: dict[str, pa.Array]) -> tuple[pa.Array, pa.Array]:
        parts_a, parts_b = [], []
        for j in self.key_at:
            if j == self.id_at:
                parts_a.append(self._code(j, ids[j], per_id, "a"))
                parts_b.append(self._code(j, ids[j], per_id, "b"))
            else:
                # Mixed for one fold, plain for the other: two keys that differ share both
                # digests only if they collide in a well-spread hash and in an exact fold.
                code = self._code(j, ids[j], per_id, "a")
                parts_a.append(_mix(code, _SALT[0]))
                parts_b.append(code)
        return _fold(parts_a, _FOLD[0]), _fold(parts_b, _FOLD[1])

    def _key_value(self, columns: list[pa.Array], id_values: pa.Array | None, row: int) -> Any:
        j = self.key_at[0]
        index = int(columns[j][row].as_py())
        if j == self.id_at and id_values is not None:
            return id_values[index].as_py()
        value = self.states[j].values[index]
        return value.value if isinstance(value, IDNumber) else value

    def _bad_row_errors(self, lines: pa.Array, columns: list[pa.Array], cells: list[Any], i: int) -> list[RowError]:
        out = []
        line = lines[i].as_py()
        for j, (state, ids) in enumerate(zip(self.states, columns, strict=True)):
            if ids[i].as_py() != _BAD:
                continue
            raw = _cell(cells[j], i)
            exc = state.errors.get(state.key(raw), REQUIRED)  # absent: a blank ID without a name
            is_id = state.column.type is ColumnType.ID_NUMBER
            out.append(
                RowError(line, state.column.label, display_value(raw, is_id=is_id), exc.reason_zh, exc.reason_en)
            )
        return out

    def _assemble(
        self,
        columns: list[pa.Array],
        keep: pa.Array,
        lines: pa.Array,
        id_values: pa.Array | None,
        per_id: dict[str, pa.Array],
    ) -> pa.Table:
        """The block's kept rows, typed: one `take` per column of its converted distinct values."""
        everything = keep.true_count == len(keep)

        def kept(values: pa.Array) -> pa.Array:
            return values if everything else pc.filter(values, keep)

        labels = kept(lines)
        n = len(labels)
        ids_of = {name: kept(columns[j]) for j, name in enumerate(self.names)}
        state_of = dict(zip(self.names, self.states, strict=True))

        def column(name: str, type_: pa.DataType, convert: Callable[[Any], Any] | None = None) -> pa.Array:
            if name not in state_of:
                return pa.nulls(n, type_)
            state = state_of[name]
            if state.cents_ids:
                return _amounts(ids_of[name])
            return pc.take(state.arrow_values((name, str(type_)), type_, convert), ids_of[name])

        arrays: dict[str, pa.Array] = {
            "line": labels,
            "name": column("name", pa.string()),
            "county_code": pa.array([self.county_code] * n, pa.string()),
        }
        if "id_number" in state_of and id_values is not None:
            at = ids_of["id_number"]
            numbers = pc.take(id_values, at)
            arrays["id_hash"] = pc.take(per_id["id_hash"], at)
            arrays["id_masked"] = _masked(numbers)
            arrays["sex"] = pc.if_else(
                pc.equal(pc.bit_wise_and(pc.cast(pc.utf8_slice_codeunits(numbers, 16, 17), pa.int64()), 1), 1),
                "M",
                "F",
            )
            births = pc.cast(
                pc.strptime(pc.utf8_slice_codeunits(numbers, 6, 14), format="%Y%m%d", unit="s", error_is_null=True),
                pa.date32(),
            )
            arrays["birth_date"] = pc.coalesce(births, column("birth_date", pa.date32()))
        else:
            arrays["id_hash"] = pa.nulls(n, pa.string())
            arrays["id_masked"] = pa.nulls(n, pa.string())
            arrays["birth_date"] = column("birth_date", pa.date32())
            arrays["sex"] = pa.nulls(n, pa.string())
        period_type = self.period_type
        arrays["period"] = column(self.period_name, pa.string(), lambda v: _period(v, period_type))
        for name in own_columns(self.schema):
            arrays[name] = column(name, self.arrow.field(name).type)
        assert set(arrays) == {*COMMON_COLUMNS, *own_columns(self.schema)}
        return pa.Table.from_arrays([arrays[f.name] for f in self.arrow], schema=self.arrow)


def _duplicate(line: str, first_line: str, same: bool, finisher: BlockFinisher, column: Column, value: Any) -> RowError:
    shown = display_value(value, is_id=column.type is ColumnType.ID_NUMBER)
    if same:
        return RowError(
            line,
            column.label,
            shown,
            f"与第 {first_line} 行完全重复，只保留一行",
            f"exact duplicate of row {first_line}; kept once",
            warning=True,
        )
    return RowError(
        line,
        column.label,
        shown,
        f"{finisher.labels}与第 {first_line} 行相同，但内容不同",
        f"same {', '.join(finisher.key)} as row {first_line} but different content",
    )


__all__ = ["ID_CACHE_LIMIT", "STATE_LIMIT", "BlockFinisher", "encode_id_block"]
