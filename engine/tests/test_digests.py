"""A stored file's digest is recorded once, beside it, and trusted only while the file is unchanged."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.digests import file_sha256, record_sha256, sidecar
from engine.feeds.storage import BatchWriter, remove_batch, rewrite_batch_file, write_batch
from engine.screening.run import _sha256


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(n: int) -> pa.Table:
    return pa.table({"member_key": list(range(n)), "period": ["2025-01"] * n})


def test_a_recorded_digest_stands_for_the_file_while_it_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "batch-1.parquet"
    path.write_bytes(b"first")
    assert record_sha256(path) == _sha(path) == file_sha256(path)
    assert sidecar(path).name == ".batch-1.parquet.sha256"  # hidden from Spark and Hive-style readers

    # the recorded value is what is used: a sidecar claiming another digest for the same
    # size and time is believed (provenance, not tamper evidence: see engine.digests)
    recorded = sidecar(path).read_text()
    sidecar(path).write_text(recorded.replace(_sha(path), "0" * 64))
    assert file_sha256(path) == "0" * 64


def test_a_file_changed_after_its_digest_was_recorded_is_hashed_again(tmp_path: Path) -> None:
    path = tmp_path / "batch-1.parquet"
    path.write_bytes(b"first")
    record_sha256(path)
    stat = path.stat()
    path.write_bytes(b"other")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))
    assert file_sha256(path) == _sha(path)
    path.write_bytes(b"longer text")
    assert file_sha256(path) == _sha(path)


def test_a_missing_or_broken_sidecar_means_the_file_is_hashed(tmp_path: Path) -> None:
    path = tmp_path / "batch-1.parquet"
    path.write_bytes(b"first")
    assert file_sha256(path) == _sha(path)
    sidecar(path).write_text("{not json")
    assert file_sha256(path) == _sha(path)
    sidecar(path).write_text(json.dumps({"sha256": "not hex", "size": 5, "mtime_ns": path.stat().st_mtime_ns}))
    assert file_sha256(path) == _sha(path)


def test_stored_batches_record_their_digests_and_take_them_away_with_them(tmp_path: Path) -> None:
    written = write_batch(_rows(3), data_dir=tmp_path, kind="deaths", county="522630", batch_id=7)
    writer = BatchWriter(data_dir=tmp_path, kind="deaths", county="522630", batch_id=8)
    writer.write(_rows(4))
    written += writer.close()
    for rel in written:
        path = tmp_path / rel
        assert sidecar(path).exists() and file_sha256(path) == _sha(path)

    # an erasure rewrites a file in place: its digest is recorded again
    rewrite_batch_file(tmp_path, written[0], lambda table: table.slice(1))
    assert pq.read_table(tmp_path / written[0]).num_rows == 2
    assert file_sha256(tmp_path / written[0]) == _sha(tmp_path / written[0])

    remove_batch(tmp_path, written)
    assert not list(tmp_path.rglob("*.sha256")) and not list(tmp_path.rglob("*.parquet"))


def test_an_inputs_manifest_digest_is_the_same_whether_or_not_digests_were_recorded(tmp_path: Path) -> None:
    written = write_batch(_rows(3), data_dir=tmp_path, kind="deaths", county="522630", batch_id=7)
    directory = (tmp_path / written[0]).parent.parent
    with_sidecars = _sha256(directory)
    for rel in written:
        sidecar(tmp_path / rel).unlink()
    assert _sha256(directory) == with_sidecars
    (tmp_path / written[0]).write_bytes((tmp_path / written[0]).read_bytes() + b"\0")  # changed content
    assert _sha256(directory) != with_sidecars
