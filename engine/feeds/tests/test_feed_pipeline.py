"""The staged import's writer thread: a block's rows are written while the next is read.

It may not lose rows or an error, hang, or leave a thread or file behind.
"""

from __future__ import annotations

import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.feeds.sinks import ParquetSink


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(name)]


def _rows(n: int, start: int = 0) -> pa.Table:
    return pa.table({"line": pa.array([str(i) for i in range(start, start + n)]), "amount": list(range(n))})


def test_rows_written_behind_are_all_in_the_file_in_block_order(tmp_path):
    sink = ParquetSink(tmp_path / "rows.parquet", tmp_path / "report.csv")
    for b in range(5):
        sink.write(_rows(1000, 1000 * b))
    sink.close(_rows(0).schema)
    back = pq.read_table(tmp_path / "rows.parquet")
    assert back.column("line").to_pylist() == [str(i) for i in range(5000)]
    assert pq.ParquetFile(tmp_path / "rows.parquet").num_row_groups == 5
    assert sink.rows == 5000
    assert not _threads("parquet-sink")


def test_a_failed_write_behind_is_raised_and_the_files_can_be_discarded(tmp_path):
    sink = ParquetSink(tmp_path / "rows.parquet", tmp_path / "report.csv")
    sink.write(_rows(10))
    sink.write(pa.table({"other": [1, 2]}))  # another shape: the writer refuses it, in its thread
    with pytest.raises((ValueError, pa.ArrowInvalid)):
        sink.close(_rows(0).schema)
    sink.discard()
    assert not (tmp_path / "rows.parquet").exists()
    assert not _threads("parquet-sink")
