"""The import's pipeline threads: the next CSV block read ahead, a block's rows written behind.

Neither may lose an error, hang, or leave a thread or file behind when the work stops early.
"""

from __future__ import annotations

import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.feeds.ahead import ahead
from engine.feeds.sinks import ParquetSink


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(name)]


def test_items_read_ahead_come_in_order_and_all_of_them():
    assert list(ahead(iter(range(1000)), depth=2, name="t-order")) == list(range(1000))
    assert not _threads("t-order")


def test_an_error_while_reading_ahead_is_raised_where_its_item_would_have_come():
    def blocks():
        yield 1
        yield 2
        raise ValueError("第 3 块无法读取")

    got = []
    with pytest.raises(ValueError, match="第 3 块"):
        for item in ahead(blocks(), name="t-error"):
            got.append(item)
    assert got == [1, 2]
    assert not _threads("t-error")


def test_a_consumer_that_stops_early_stops_the_reader_and_closes_its_file():
    closed = threading.Event()
    made = []

    def blocks():
        try:
            for i in range(10_000):
                made.append(i)
                yield i
        finally:
            closed.set()

    items = ahead(blocks(), name="t-stop")
    with pytest.raises(RuntimeError):
        for item in items:
            if item == 3:
                raise RuntimeError("处理失败")
    items.close()
    assert closed.is_set()
    assert len(made) <= 6  # one ahead, one waiting at most: not the rest of the file
    assert not _threads("t-stop")


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
