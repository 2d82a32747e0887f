"""Feed batches on disk: Parquet partitioned by kind / county / period, a manifest per batch.

    DATA_DIR/feeds/kind=<kind>/county=<code>/period=<p>/batch-<id>.parquet
    DATA_DIR/feeds/manifests/batch-<id>.json

Hive-style directory names, so DuckDB or Spark read `feeds/kind=medical_claims/**/*.parquet`
with the partition columns for free. Every file is written under a temporary name in its
final directory and renamed, so a reader (or a crash) never sees half a file; a failed batch
removes what it wrote.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
            _atomic_write(path, lambda tmp, part=part: pq.write_table(part, tmp, compression="zstd"))
            written.append(str(path.relative_to(data_dir)))
    except BaseException:
        remove_batch(data_dir, written)
        raise
    return written


def write_manifest(data_dir: Path, batch_id: int, manifest: dict[str, Any]) -> str:
    path = manifest_path(data_dir, batch_id)
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()
    _atomic_write(path, lambda tmp: tmp.write_bytes(body))
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
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return old


def restore_batch_file(data_dir: Path, rel: str, body: bytes) -> None:
    _atomic_write(Path(data_dir) / rel, lambda tmp: tmp.write_bytes(body))
