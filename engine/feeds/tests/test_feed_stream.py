"""A CSV standardized block by block into a sink: the same rows, errors and counts as the
whole-table path, a block at a time, and nothing left behind when something fails."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.feeds import link_exact, stage_feed, standardize_feed, standardize_feed_to
from engine.feeds.blocks import _SortedIndex
from engine.feeds.linking import (
    LinkStatus,
    add_row_ids,
    exact_counts,
    link_counts,
    linked_batches,
    no_overrides,
)
from engine.feeds.sandbox import STAGED_REPORT, STAGED_ROWS, stage_in_sandbox
from engine.feeds.sinks import MemorySink
from engine.feeds.storage import BatchWriter, read_batch
from engine.ids import make_id_number
from engine.protect import Protector, generate_key
from engine.schemas.feeds import FEED_SCHEMAS
from engine.validate import report_rows

COUNTY = "522630"
PROTECTOR = Protector.from_settings("aes", generate_key(), generate_key())
CLAIMS = FEED_SCHEMAS["medical_claims"]


def idn(n: int) -> str:
    return make_id_number(COUNTY, dt.date(1960, 1, 1) + dt.timedelta(days=n), n, "M")


def claims(n: int = 400) -> bytes:
    """Claims of 40 people with every kind of trouble spread over the file: exact repeats and
    conflicting repeats far from their first row, bad IDs, missing IDs, another county."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付", "行政区划代码"])
    rows: list[list[str]] = []
    for i in range(n):
        person = i % 40
        number = idn(person) if i % 7 else idn(person).lower()  # (two spellings of a number ending in X)
        row = [number, f"病人{person}", f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", "门诊", f"{100 + i}", "30", ""]
        if i % 50 == 49:
            row = list(rows[i - 45])  # an exact repeat of a row far above
        if i % 61 == 60:
            row = [rows[i - 40][0], "别人", *rows[i - 40][2:]]  # the same key, other content
        if i % 83 == 82:
            row[0] = idn(person)[:17] + ("0" if idn(person)[17] != "0" else "1")  # wrong check digit
        if i % 97 == 96:
            row[0] = ""  # missing ID, with a name
        if i % 89 == 88:
            row[6] = "522631"  # another county
        rows.append(row)
        w.writerow(row)
    return out.getvalue().encode("utf-8-sig")


def test_a_multi_block_csv_reaches_the_sink_block_by_block_with_the_whole_tables_result(monkeypatch):
    data = claims()
    whole = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY, method="reference")
    assert whole.stats.duplicates and whole.stats.rejected and whole.errors
    monkeypatch.setattr("engine.feeds.fastcsv.BLOCK_BYTES", 2048)
    sink = MemorySink()
    result = standardize_feed_to(data, CLAIMS, sink, protector=PROTECTOR, county_code=COUNTY)
    assert len(sink.tables) > 5  # one table a block
    assert max(t.num_rows for t in sink.tables) < 40
    assert result.stats == whole.stats and result.table.num_rows == 0
    assert result.stored_rows == whole.table.num_rows and result.periods == whole.periods
    assert sink.errors == whole.errors
    assert sink.table(whole.table.schema).to_pylist() == whole.table.to_pylist()


def test_a_staged_feed_is_a_parquet_file_and_a_report(tmp_path, monkeypatch):
    data = claims()
    whole = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    monkeypatch.setattr("engine.feeds.fastcsv.BLOCK_BYTES", 4096)
    monkeypatch.setattr("engine.feeds.sinks.KEEP_ERRORS", 3)
    staged = stage_feed(data, CLAIMS, PROTECTOR, COUNTY, None, tmp_path)
    back = pq.read_table(tmp_path / STAGED_ROWS)
    assert back.schema == whole.table.schema and back.to_pylist() == whole.table.to_pylist()
    assert pq.ParquetFile(tmp_path / STAGED_ROWS).num_row_groups > 1
    with open(tmp_path / STAGED_REPORT, encoding="utf-8-sig", newline="") as fh:
        report = [tuple(r) for r in csv.reader(fh)][1:]
    assert report == list(report_rows(whole.errors))
    assert staged.errors == whole.errors[:3] and len(whole.errors) > 3
    assert staged.error_count + staged.warning_count == len(whole.errors)
    assert staged.warning_count == sum(e.warning for e in whole.errors)


def test_the_sandbox_stages_what_the_caller_would(tmp_path):
    data = claims(120)
    direct = stage_feed(data, CLAIMS, PROTECTOR, COUNTY, None, tmp_path / "direct")
    boxed = stage_in_sandbox(data, CLAIMS, tmp_path / "boxed", protector=PROTECTOR, county_code=COUNTY)
    assert boxed.stats == direct.stats and boxed.errors == direct.errors
    assert pq.read_table(tmp_path / "boxed" / STAGED_ROWS).equals(pq.read_table(tmp_path / "direct" / STAGED_ROWS))


def test_a_failure_midway_leaves_no_staged_file(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.feeds.fastcsv.BLOCK_BYTES", 2048)
    calls = []
    real = pq.ParquetWriter.write_table

    def flaky(self, table, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", flaky)
    with pytest.raises(OSError):
        stage_feed(claims(), CLAIMS, PROTECTOR, COUNTY, None, tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_file_that_needs_the_general_path_midway_starts_the_sink_again(tmp_path, monkeypatch):
    data = claims(200) + f'{idn(1)},"病\n人",2025-05-01,门诊,1,1,\n'.encode()
    whole = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY, method="reference")
    monkeypatch.setattr("engine.feeds.fastcsv.BLOCK_BYTES", 2048)
    stage_feed(data, CLAIMS, PROTECTOR, COUNTY, None, tmp_path)
    assert pq.read_table(tmp_path / STAGED_ROWS).to_pylist() == whole.table.to_pylist()


def test_the_sorted_index_finds_what_it_holds_across_merged_runs():
    index = _SortedIndex()
    held: dict[int, int] = {}
    for start in range(0, 50_000, 3_000):
        keys = list(range(start * 7 + 1, start * 7 + 1 + 3_000 * 7, 7))
        index.add(pa.array(keys, pa.uint64()), {"v": pa.array([k * 2 for k in keys], pa.int64())})
        held.update((k, k * 2) for k in keys)
    assert len(index.runs) < 6 and index.size == len(held)
    probe = [1, 8, 2, 9, 7 * 49_999 + 1, 10**15, *list(held)[::997]]
    found, payload = index.find(pa.array(probe, pa.uint64()))
    assert found.to_pylist() == [k in held for k in probe]
    assert [v for v, f in zip(payload["v"].to_pylist(), found.to_pylist(), strict=True) if f] == [
        held[k] for k in probe if k in held
    ]


def test_merged_runs_keep_each_keys_text_payload_and_stay_sorted():
    # (an ID number's hash is text: it is merged by position, not by numpy)
    index = _SortedIndex()
    odd, even = list(range(1, 4_000, 2)), list(range(0, 4_000, 2))
    index.add(pa.array(odd, pa.uint64()), {"h": pa.array([f"h{k}" for k in odd])})
    index.add(pa.array(even[::-1], pa.uint64()), {"h": pa.array([f"h{k}" for k in even[::-1]])})
    assert len(index.runs) == 1
    keys, payload = index.runs[0]
    assert keys.to_pylist() == list(range(4_000))
    assert payload["h"].to_pylist() == [f"h{k}" for k in range(4_000)]


def test_staged_rows_are_linked_and_written_as_the_whole_table_would_be(tmp_path, monkeypatch):
    data = claims()
    monkeypatch.setattr("engine.feeds.linking.STAGED_BATCH_ROWS", 50)
    stage_feed(data, CLAIMS, PROTECTOR, COUNTY, None, tmp_path / "stage")
    staged = tmp_path / "stage" / STAGED_ROWS
    table = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY).table
    keys = {PROTECTOR.hash(idn(p)): (100 + p, 200 + p // 4) for p in range(0, 40, 2)}
    expected = add_row_ids(link_exact(table, keys))
    expected = expected.append_column(
        "link_probability",
        pa.array([1.0 if s == LinkStatus.EXACT else None for s in expected.column("link_status").to_pylist()]),
    )
    pieces = list(linked_batches(staged, keys, no_overrides()))
    assert len(pieces) > 3
    assert pa.concat_tables(pieces).to_pylist() == expected.to_pylist()
    assert exact_counts(staged, keys) == link_counts(expected)

    writer = BatchWriter(data_dir=tmp_path / "data", kind="medical_claims", county=COUNTY, batch_id=3)
    for piece in linked_batches(staged, keys):
        writer.write(piece)
    paths = writer.close()
    assert len(paths) == 12 and not list((tmp_path / "data").rglob("*.tmp"))
    back = read_batch(tmp_path / "data", paths)
    assert sorted(back.drop_columns(["batch_id"]).to_pylist(), key=lambda r: r["row_id"]) == expected.to_pylist()
    assert back.schema.metadata == table.schema.metadata


def test_an_aborted_batch_writer_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.feeds.storage.BUFFERED_ROWS", 10)  # row groups written, not only buffered
    table = standardize_feed(claims(100), CLAIMS, protector=PROTECTOR, county_code=COUNTY).table
    table = add_row_ids(link_exact(table, {}))
    writer = BatchWriter(data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=4)
    writer.write(table)
    assert list(tmp_path.rglob("*.tmp"))
    writer.abort()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
