"""Stored claims are clustered by visit type: each type's rows in row groups of their own, so
that a rule reading the inpatient stays skips the outpatient row groups by their statistics —
whether the batch is written whole, streamed in chunks or rewritten, and with every row kept."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from engine.feeds import storage
from engine.feeds.storage import BatchWriter, read_batch, rewrite_batch_file, write_batch

COUNTY = "522630"
TYPES = ["门诊", "住院", "门诊", "门诊慢特病", None, "门诊", "住院"]


def claims(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "member_key": pa.array(range(start, start + n), pa.int64()),
            "period": pa.array(["2025-05" if i % 5 else "2025-06" for i in range(start, start + n)]),
            "visit_type": pa.array([TYPES[i % len(TYPES)] for i in range(start, start + n)]),
            "out_of_pocket": pa.array([float(i % 900) for i in range(start, start + n)]),
        }
    )


def row_group_types(path) -> list[set]:
    """The visit types in each row group of a file."""
    f = pq.ParquetFile(path)
    return [set(f.read_row_group(g, columns=["visit_type"]).column(0).to_pylist()) for g in range(f.num_row_groups)]


def same_rows(a: pa.Table, b: pa.Table) -> bool:
    key = lambda r: r["member_key"]  # noqa: E731
    return sorted(a.to_pylist(), key=key) == sorted(b.to_pylist(), key=key)


def test_a_written_claims_batch_keeps_each_visit_type_in_row_groups_of_its_own(tmp_path):
    table = claims(500)
    paths = write_batch(table, data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=1)
    assert len(paths) == 2
    for rel in paths:
        groups = row_group_types(tmp_path / rel)
        assert all(len(types) == 1 for types in groups)
        assert [next(iter(t)) for t in groups] == ["住院", "门诊", "门诊慢特病", None]  # values in order, nulls last
    back = read_batch(tmp_path, paths)
    assert same_rows(back.drop_columns(["batch_id"]), table)


def test_a_streamed_claims_batch_is_clustered_and_buffers_a_bounded_number_of_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "ROW_GROUP_ROWS", 40)
    monkeypatch.setattr(storage, "BUFFERED_ROWS", 100)
    writer = BatchWriter(data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=2)
    chunks = [claims(37, start) for start in range(0, 37 * 12, 37)]
    for chunk in chunks:
        writer.write(chunk)
        assert writer.buffered <= 100
    paths = writer.close()
    assert writer.buffered == 0
    for rel in paths:
        assert all(len(types) == 1 for types in row_group_types(tmp_path / rel))
    assert same_rows(read_batch(tmp_path, paths).drop_columns(["batch_id"]), pa.concat_tables(chunks))


def test_each_row_group_s_statistics_name_one_visit_type_so_a_reader_can_skip_the_others(tmp_path):
    paths = write_batch(claims(2000), data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=3)
    for rel in paths:
        f = pq.ParquetFile(tmp_path / rel)
        column = f.schema_arrow.get_field_index("visit_type")
        for g in range(f.num_row_groups):
            stats = f.metadata.row_group(g).column(column).statistics
            if stats.null_count == f.metadata.row_group(g).num_rows:
                continue  # the rows without a visit type: no min or max to read
            assert stats.has_min_max and stats.null_count == 0 and stats.min == stats.max


def test_a_rewritten_file_stays_clustered(tmp_path):
    paths = write_batch(claims(300), data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=4)
    rewrite_batch_file(tmp_path, paths[0], lambda t: t.filter(pa.compute.greater(t.column("member_key"), 10)))
    groups = row_group_types(tmp_path / paths[0])
    assert len(groups) == 4 and all(len(types) == 1 for types in groups)


def test_other_kinds_are_written_in_the_rows_order(tmp_path):
    table = claims(50)
    paths = write_batch(table, data_dir=tmp_path, kind="deaths", county=COUNTY, batch_id=5)
    for rel in paths:
        keys = pq.read_table(tmp_path / rel).column("member_key").to_pylist()
        assert keys == sorted(keys)
    assert same_rows(read_batch(tmp_path, paths).drop_columns(["batch_id"]), table)
