"""Feed batches on disk: Parquet partitioned by kind / county / period, a manifest per batch.

    DATA_DIR/feeds/kind=<kind>/county=<code>/period=<p>/batch-<id>.parquet
    DATA_DIR/feeds/manifests/batch-<id>.json

Hive-style directory names, so DuckDB or Spark read `feeds/kind=medical_claims/**/*.parquet`
with the partition columns for free. Every file is written under a temporary name in its
final directory and renamed, so a reader (or a crash) never sees half a file; a failed batch
removes what it wrote. `BatchWriter` writes a batch as its rows come (the import streams them
from the staged file), renaming its files only once all are complete. Each file's SHA-256 is
recorded beside it in a hidden sidecar (`engine.digests`), so that screening runs need not
hash the stored feeds again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.digests import forget_sha256, record_sha256
from engine.feeds.sinks import dictionary_columns
from engine.files import atomic_write

# LZ4 rather than zstd: screening reads the claims' 8-byte key and amount columns whole even
# when a filter keeps 1 % of the rows, and LZ4 pages decompress about twice as fast. On 10M
# claims (benchmarks/bench_screening.py's files, interleaved runs) the per-stay rule's scan
# took 0.23 → 0.12 s and the whole screen 1.98 → 1.70 s, for files a third larger
# (claims: 128 → 168 MiB). Files written before stay readable: each file names its codec.
FEED_COMPRESSION = "lz4"

# A stored file's rows are grouped by this column, each value in row groups of its own, so that
# a rule filtering on it reads only its value's row groups (Parquet's min/max statistics skip
# the others). The per-stay rule (engine.screening.rules.STAY_SELF_PAY) reads the inpatient
# claims, ~3 % of them: mixed with the outpatient ones its few rows fell in every page, and it
# decompressed every column whole (0.5 s of CPU over 10M claims; clustered 0.05 s).
CLUSTER_BY: dict[str, str] = {"medical_claims": "visit_type"}
# Row groups of a clustered file: DuckDB's own size. A streamed batch buffers at most
# BUFFERED_ROWS rows (the largest group is written when it would hold more).
ROW_GROUP_ROWS = 122_880
BUFFERED_ROWS = 4 * ROW_GROUP_ROWS

FEEDS_DIR = "feeds"
_SAFE = re.compile(r"^[0-9A-Za-z_-]+$")


def _part(value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError(f"unsafe partition value {value!r}")
    return value


def partition_dir(data_dir: Path, kind: str, county: str, period: str) -> Path:
    return Path(data_dir) / FEEDS_DIR / f"kind={_part(kind)}" / f"county={_part(county)}" / f"period={_part(period)}"


def manifest_path(data_dir: Path, batch_id: int) -> Path:
    return Path(data_dir) / FEEDS_DIR / "manifests" / f"batch-{int(batch_id)}.json"


def kind_of(rel: str) -> str:
    """The feed kind of a stored file, from its `kind=` directory."""
    for part in Path(rel).parts:
        if part.startswith("kind="):
            return part[len("kind=") :]
    raise ValueError(f"not a stored feed file: {rel}")


def clusters(table: pa.Table, kind: str) -> list[tuple[Any, pa.Table]]:
    """`table`'s rows by the value of the kind's `CLUSTER_BY` column (in the order of the
    values, nulls last; each part in the rows' order), or the table whole (value None)."""
    column = CLUSTER_BY.get(kind)
    if column is None or column not in table.column_names or table.num_rows == 0:
        return [(None, table)]
    values = table.column(column)
    present = sorted(pc.unique(pc.drop_null(values)).to_pylist())
    parts = [(value, table.filter(pc.equal(values, value))) for value in present]
    if values.null_count:
        parts.append((None, table.filter(pc.is_null(values))))
    return parts


def _writer(where: Path, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(where, schema, compression=FEED_COMPRESSION, use_dictionary=dictionary_columns(schema))


def _parquet(table: pa.Table, kind: str) -> Callable[[Path], None]:
    """What writes `table` as a stored feed file (for `atomic_write`): clustered by the kind's
    `CLUSTER_BY` column, each value's rows in row groups of their own."""

    def write(tmp: Path) -> None:
        with _writer(tmp, table.schema) as writer:
            for _, part in clusters(table, kind):
                writer.write_table(part, row_group_size=ROW_GROUP_ROWS)

    return write


def write_batch(table: pa.Table, *, data_dir: Path, kind: str, county: str, batch_id: int) -> list[str]:
    """Write a batch's rows, one Parquet file per period; returns the paths relative to
    `data_dir`. The partition columns (`county_code`, `period`) stay in the files too, so
    a file read alone is complete."""
    written: list[str] = []
    table = table.append_column("batch_id", pa.array([int(batch_id)] * table.num_rows, pa.int64()))
    try:
        for period in sorted(set(table.column("period").to_pylist())):
            part = table.filter(pc.equal(table.column("period"), period))
            path = partition_dir(data_dir, kind, county, period) / f"batch-{int(batch_id)}.parquet"
            atomic_write(path, _parquet(part, kind))
            written.append(str(path.relative_to(data_dir)))
            record_sha256(path)  # for the screening runs' manifests (engine.digests)
    except BaseException:
        remove_batch(data_dir, written)
        raise
    return written


class BatchWriter:
    """A batch's rows written as they come, one Parquet file per period (LZ4; the same
    layout and columns as `write_batch`), each under a temporary name in its final directory
    until `close` renames them all; `abort` (or a failed `close`) removes whatever was
    written. Holds one open writer per period, and for a clustered kind (`CLUSTER_BY`) at most
    `BUFFERED_ROWS` rows waiting to fill a row group of their value."""

    def __init__(self, *, data_dir: Path, kind: str, county: str, batch_id: int) -> None:
        self.data_dir, self.kind, self.county, self.batch_id = Path(data_dir), kind, county, int(batch_id)
        self._writers: dict[str, tuple[pq.ParquetWriter, Path, Path]] = {}
        self._schema: pa.Schema | None = None
        # by period and cluster value
        self._waiting: dict[tuple[str, Any], list[pa.Table]] = {}
        self.buffered = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        table = table.append_column("batch_id", pa.array([self.batch_id] * table.num_rows, pa.int64()))
        if self._schema is None:
            self._schema = table.schema
        periods = table.column("period")
        for period in sorted(pc.unique(periods).to_pylist()):
            part = table.filter(pc.equal(periods, period))
            if self.kind not in CLUSTER_BY:
                self._writer(period).write_table(part)
                continue
            for value, piece in clusters(part, self.kind):
                self._waiting.setdefault((period, value), []).append(piece)
                self.buffered += piece.num_rows
                if sum(t.num_rows for t in self._waiting[(period, value)]) >= ROW_GROUP_ROWS:
                    self._flush((period, value))
        while self.buffered > BUFFERED_ROWS:  # the largest group out first: the fewest small row groups
            self._flush(max(self._waiting, key=lambda key: sum(t.num_rows for t in self._waiting[key])))
        self.rows += table.num_rows

    def _flush(self, key: tuple[str, Any]) -> None:
        pieces = self._waiting.pop(key)
        self.buffered -= sum(t.num_rows for t in pieces)
        self._writer(key[0]).write_table(pa.concat_tables(pieces), row_group_size=ROW_GROUP_ROWS)

    def _writer(self, period: str) -> pq.ParquetWriter:
        if period not in self._writers:
            final = partition_dir(self.data_dir, self.kind, self.county, period) / f"batch-{self.batch_id}.parquet"
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
            assert self._schema is not None
            self._writers[period] = (_writer(tmp, self._schema), tmp, final)
        return self._writers[period][0]

    def close(self) -> list[str]:
        """Finish and rename every file; the paths relative to `data_dir`, by period."""
        done: list[str] = []
        try:
            # the groups still waiting, in the order of their values (nulls last)
            for key in sorted(self._waiting, key=lambda key: (key[0], key[1] is None, key[1] or "")):
                self._flush(key)
            for period in sorted(self._writers):
                writer, tmp, final = self._writers[period]
                writer.close()
            for period in sorted(self._writers):
                _, tmp, final = self._writers[period]
                os.replace(tmp, final)
                done.append(str(final.relative_to(self.data_dir)))
                record_sha256(final)  # for the screening runs' manifests (engine.digests)
        except BaseException:
            self.abort()
            remove_batch(self.data_dir, done)
            raise
        self._writers.clear()
        return done

    def abort(self) -> None:
        self._waiting.clear()
        self.buffered = 0
        for writer, tmp, _ in self._writers.values():
            with contextlib.suppress(Exception):
                writer.close()
            tmp.unlink(missing_ok=True)
        self._writers.clear()


def write_manifest(data_dir: Path, batch_id: int, manifest: dict[str, Any]) -> str:
    path = manifest_path(data_dir, batch_id)
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()
    atomic_write(path, lambda tmp: tmp.write_bytes(body))
    return str(path.relative_to(data_dir))


def read_batch(data_dir: Path, paths: list[str]) -> pa.Table:
    """A batch's rows back from its files (for tests, linkage and screening)."""
    tables = [pq.read_table(Path(data_dir) / p) for p in paths]
    return pa.concat_tables(tables) if tables else pa.table({})


def remove_batch(data_dir: Path, paths: list[str]) -> None:
    """Delete a batch's files (withdrawal, or a failed commit) and the emptied directories.

    Only paths inside `data_dir/feeds` are touched, whatever the list says."""
    root = (Path(data_dir) / FEEDS_DIR).resolve()
    for rel in paths:
        path = (Path(data_dir) / rel).resolve()
        if root not in path.parents:
            continue
        path.unlink(missing_ok=True)
        forget_sha256(path)
        parent = path.parent
        while parent != root and root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def rewrite_batch_file(data_dir: Path, rel: str, transform: Any) -> bytes:
    """Replace one of a batch's Parquet files by `transform(table)`, atomically (a temporary
    file in the same directory, renamed); returns the old file's bytes, so a caller whose
    transaction fails can put them back with `restore_batch_file`."""
    path = Path(data_dir) / rel
    old = path.read_bytes()
    table = transform(pq.read_table(path))
    atomic_write(path, _parquet(table, kind_of(rel)))
    record_sha256(path)
    return old


def restore_batch_file(data_dir: Path, rel: str, body: bytes) -> None:
    path = Path(data_dir) / rel
    atomic_write(path, lambda tmp: tmp.write_bytes(body))
    record_sha256(path)
