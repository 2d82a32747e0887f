"""standardize_feed, exact linkage and storage on the synthetic county's feeds and on
hand-made files with every form FEEDS.md lists."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from engine.feeds import link_exact, read_batch, remove_batch, standardize_feed, storage, write_batch, write_manifest
from engine.feeds.linking import LinkStatus, link_counts
from engine.feeds.standardize import id_hasher, period_column
from engine.ids import make_id_number
from engine.protect import Protector, generate_key
from engine.schemas.feeds import FEED_SCHEMAS
from engine.synth import generate_county
from engine.tabular import FileError
from engine.validate import report_rows

COUNTY = "522630"
PROTECTOR = Protector.from_settings("aes", generate_key(), generate_key())
CLAIMS = FEED_SCHEMAS["medical_claims"]
ID1 = make_id_number(COUNTY, dt.date(1960, 3, 1), 7, "M")
ID2 = make_id_number(COUNTY, dt.date(1985, 12, 31), 8, "F")


def kind_of(name: str) -> str:
    return next(k for k in sorted(FEED_SCHEMAS, key=len, reverse=True) if name.startswith(k))


@pytest.fixture(scope="module")
def synth_feeds(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate_county(COUNTY, households=120, seed=3, out_dir=out, year=2025)
    return out / "feeds"


def claims_csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    header = ["身份证号", "姓名", "结算日期", "医疗总费用", "个人自付"]
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode(encoding)


def test_every_synthetic_feed_standardizes_to_typed_hashed_rows(synth_feeds):
    files = sorted(synth_feeds.iterdir())
    assert {kind_of(f.name) for f in files} == set(FEED_SCHEMAS)
    for path in files:
        schema = FEED_SCHEMAS[kind_of(path.name)]
        result = standardize_feed(path, schema, protector=PROTECTOR, county_code=COUNTY)
        table = result.table
        assert table.num_rows == result.stats.valid, path.name
        if not table.num_rows:
            continue
        assert "id_number" not in table.column_names
        assert set(table.column("county_code").to_pylist()) == {COUNTY}
        assert table.schema.field(period_column(schema)).type in (pa.date32(), pa.int16())
        if schema.kind == "water_safety":
            assert table.column("id_hash").null_count == table.num_rows
        else:
            # Rows without an ID (but with a name) are kept for probabilistic linkage, warned.
            missing = sum(1 for e in result.errors if e.warning and e.reason_zh.startswith("身份证号缺失"))
            assert table.column("id_hash").null_count == missing, path.name
            assert all(len(h) == 64 for h in table.column("id_hash").to_pylist() if h is not None)
            assert table.column("birth_date").null_count <= missing
            assert set(table.column("sex").to_pylist()) <= {"M", "F", None}
        yearly = schema.column(period_column(schema)).type.value == "year"
        assert all(len(p) == (4 if yearly else 7) for p in table.column("period").to_pylist())


def test_the_hash_is_the_protectors_hash_of_the_normalised_number():
    fifteen = ID1[:6] + ID1[8:17]  # the first-generation form of a 19xx number
    data = claims_csv([[fifteen, "张三", "2025-05-01", "100", "20"], [ID2.lower(), "李四", "2025-05-02", "100", "20"]])
    table = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY).table
    assert table.column("id_hash").to_pylist() == [PROTECTOR.hash(ID1), PROTECTOR.hash(ID2)]
    assert table.column("birth_date").to_pylist() == [dt.date(1960, 3, 1), dt.date(1985, 12, 31)]
    assert table.column("sex").to_pylist() == ["M", "F"]
    sm = Protector.from_settings("sm", generate_key(), generate_key())
    assert id_hasher(sm)(ID1) == sm.hash(ID1)
    assert id_hasher(PROTECTOR)(ID1) == PROTECTOR.hash(ID1)


@pytest.mark.parametrize(
    "written",
    ["2025-05-01", "2025/5/1", "20250501", "2025年5月1日", "2025.05.01", "45778"],
)
def test_every_date_form_gives_the_same_day_and_period(written):
    data = claims_csv([[ID1, "张三", written, "1,200.50", "￥1,200"]])
    result = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert not result.errors
    row = result.table.to_pylist()[0]
    assert row["settle_date"] == dt.date(2025, 5, 1)
    assert row["period"] == "2025-05"
    assert row["total_cost"] == Decimal("1200.50") and row["out_of_pocket"] == Decimal("1200.00")


def test_excel_date_cells_full_width_digits_and_gbk():
    book = Workbook()
    sheet = book.active
    sheet.append(["台江县2025年医保结算"])
    sheet.append(["证件号码", "姓名", "结算日期", "医疗总费用", "个人负担"])
    sheet.append([ID1, "张三", dt.datetime(2025, 7, 3), 1200, 300.5])
    sheet.append(["合计", None, None, 1200, 300.5])
    out = io.BytesIO()
    book.save(out)
    result = standardize_feed(out.getvalue(), CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert result.stats.total == 1 and result.table.column("line").to_pylist() == ["Sheet!3"]
    assert result.table.column("period").to_pylist() == ["2025-07"]
    wide = ID2.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    gbk = claims_csv([[wide, "李四", "2025年5月1日", "100元", "20元"]], encoding="gbk")
    table = standardize_feed(gbk, CLAIMS, protector=PROTECTOR, county_code=COUNTY).table
    assert table.column("id_hash").to_pylist() == [PROTECTOR.hash(ID2)]


def test_bad_rows_are_reported_with_masked_ids_and_bilingual_reasons():
    bad_check = ID1[:17] + ("0" if ID1[17] != "0" else "1")
    data = claims_csv(
        [
            [ID1, "张三", "2025-05-01", "100", "20"],
            [bad_check, "李四", "2025-05-01", "100", "20"],
            [ID2, "王五", "2025-13-01", "100", "20"],
            [ID2, "王五", "2025-05-01", "-5", "20"],
            [ID1, "张三", "2025-05-01", "100", "20"],  # an exact repeat: kept once
        ]
    )
    # (duplicates are found by the kind's key: here its columns that the file has)
    result = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert (result.stats.total, result.stats.valid, result.stats.rejected, result.stats.duplicates) == (5, 1, 3, 1)
    lines = [e.line for e in result.errors]
    assert lines == ["3", "4", "5", "6"]
    assert result.errors[-1].warning
    for e in result.errors:
        assert e.reason_zh and e.reason_en
        assert ID1 not in e.value and bad_check not in e.value and ID2 not in e.value
    assert "校验位" in result.errors[0].reason_zh


def test_a_row_of_another_county_is_refused():
    header = ["身份证号", "结算日期", "医疗总费用", "个人自付", "行政区划代码"]
    data = "\n".join([",".join(header), f"{ID1},2025-05-01,1,1,522630", f"{ID2},2025-05-01,1,1,522631000000"]).encode()
    result = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert result.stats.valid == 1 and result.stats.rejected == 1
    assert "不属于本县" in result.errors[0].reason_zh


def test_birth_date_comes_from_the_optional_column_only_when_the_id_gives_none():
    claims = "\n".join(
        [
            "身份证号,姓名,出生日期,结算日期,医疗总费用,个人自付",
            f"{ID1},张三,1999-01-01,2025-05-01,1,1",  # the ID says 1960-03-01: the ID wins
            ",李四,1980年2月3日,2025-05-02,1,1",  # no ID: the column is all there is
            ",王五,,2025-05-03,1,1",  # neither: no birth date
        ]
    ).encode()
    for method in ("reference", "columnar"):
        result = standardize_feed(claims, CLAIMS, protector=PROTECTOR, county_code=COUNTY, method=method)
        table = result.table
        births = dict(zip(table.column("name").to_pylist(), table.column("birth_date").to_pylist(), strict=True))
        assert births == {"张三": dt.date(1960, 3, 1), "李四": dt.date(1980, 2, 3), "王五": None}, method
    water = "\n".join(["村代码,问题类型,上报日期,出生日期", "522630001001,水质,2025-05-01,1999-01-01"]).encode()
    result = standardize_feed(water, FEED_SCHEMAS["water_safety"], protector=PROTECTOR, county_code=COUNTY)
    assert result.extra_columns == ["出生日期"]  # a village has no birth date: the column is not read
    assert result.table.column("birth_date").to_pylist() == [None]


def test_a_formula_cell_is_an_error_of_its_row_and_nothing_of_it_is_kept():
    data = claims_csv(
        [
            [ID1, '=HYPERLINK("http://x","a")', "2025-05-01", "100", "20"],
            [ID2, "李四", "2025-05-01", "=1+2", "20"],
            [ID2, "李四", "2025-05-02", "-5", "20"],  # a negative amount is called that, not a formula
            [ID1, "张三", "2025-05-03", "100", "20"],
        ]
    )
    result = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert (result.stats.total, result.stats.valid, result.stats.rejected) == (4, 1, 3)
    assert result.table.column("line").to_pylist() == ["5"]
    assert [(e.line, e.column, e.value) for e in result.errors] == [
        ("2", "姓名", '=HYPERLINK("http://x","a")'),
        ("3", "医疗总费用", "=1+2"),
        ("4", "医疗总费用", "-5"),
    ]
    assert all("公式" in e.reason_zh and "formula" in e.reason_en for e in result.errors[:2])
    assert "负数" in result.errors[2].reason_zh and "formula" not in result.errors[2].reason_en


def test_a_formula_cell_of_a_workbook_is_an_error_even_with_a_cached_value():
    book = Workbook()
    book.active.append(["身份证号", "姓名", "结算日期", "医疗总费用", "个人自付"])
    book.active.append([ID1, '=HYPERLINK("http://x","a")', "2025-05-01", 100, "=10+10"])
    book.active.append([ID2, "李四", "2025-05-01", 100, 20])
    out = io.BytesIO()
    book.save(out)
    result = standardize_feed(out.getvalue(), CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert (result.stats.valid, result.stats.rejected) == (1, 1)
    assert [(e.line, e.column) for e in result.errors] == [("Sheet!2", "姓名"), ("Sheet!2", "个人自付")]
    assert result.table.column("name").to_pylist() == ["李四"]


def test_formula_cells_are_neutralised_in_the_error_report():
    data = claims_csv([[ID1, '=HYPERLINK("http://x")', "2025-05-01", "=1+1", "20"]])
    result = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert result.stats.rejected == 1
    rows = list(report_rows(result.errors))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert [row[2] for row in rows] == ['\'=HYPERLINK("http://x")', "'=1+1"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (bytes(range(256)) * 64, "binary"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 600, "xls"),
        ("身份证号,姓名\n1,2\n".encode(), "missing_column"),
        (b"a,b,c\n1,2,3\n", "no_header"),
        (b"\xff\xfe\xfd" + "身份证号".encode("utf-16-le"), "encoding"),  # a UTF-16 BOM, then not UTF-16
    ],
)
def test_broken_files_are_refused_as_a_whole(data, code):
    with pytest.raises(FileError) as info:
        standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY)
    assert info.value.code == code
    assert info.value.reason_zh and info.value.reason_en


def test_exact_linkage_carries_integer_keys_and_leaves_the_rest_unmatched():
    data = claims_csv([[ID1, "张三", "2025-05-01", "1", "1"], [ID2, "李四", "2025-05-01", "1", "1"]])
    table = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code=COUNTY).table
    linked = link_exact(table, {PROTECTOR.hash(ID1): (11, 5)})
    assert linked.column("member_key").to_pylist() == [11, None]
    assert linked.column("household_key").to_pylist() == [5, None]
    assert linked.column("link_status").to_pylist() == [LinkStatus.EXACT, LinkStatus.UNMATCHED]
    counts = link_counts(linked)
    assert {k: counts[k] for k in ("exact", "unmatched", "with_id", "exact_rate")} == {
        "exact": 1,
        "unmatched": 1,
        "with_id": 2,
        "exact_rate": 0.5,
    }
    assert counts["probabilistic"] == counts["review"] == 0 and counts["match_rate"] == 0.5
    assert link_exact(table, {}).column("link_status").to_pylist() == ["unmatched", "unmatched"]


def test_storage_is_partitioned_atomic_and_removable(tmp_path):
    rows = [[ID1, "张三", "2025-05-01", "1", "1"], [ID2, "李四", "2025-06-01", "1", "1"]]
    table = standardize_feed(claims_csv(rows), CLAIMS, protector=PROTECTOR, county_code=COUNTY).table
    table = link_exact(table, {})
    paths = write_batch(table, data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=7)
    assert paths == [
        "feeds/kind=medical_claims/county=522630/period=2025-05/batch-7.parquet",
        "feeds/kind=medical_claims/county=522630/period=2025-06/batch-7.parquet",
    ]
    assert not list(tmp_path.rglob("*.tmp"))
    back = read_batch(tmp_path, paths)
    assert back.num_rows == 2 and set(back.column("batch_id").to_pylist()) == {7}
    assert pq.read_schema(tmp_path / paths[0]).field("member_key").type == pa.int64()
    manifest = write_manifest(tmp_path, 7, {"batch_id": 7})
    remove_batch(tmp_path, [*paths, manifest, "../outside.txt"])
    assert not list((tmp_path / "feeds").rglob("*.parquet"))
    assert not (tmp_path / "feeds" / "kind=medical_claims").exists()


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    rows = [[ID1, "张三", "2025-05-01", "1", "1"], [ID2, "李四", "2025-06-01", "1", "1"]]
    table = standardize_feed(claims_csv(rows), CLAIMS, protector=PROTECTOR, county_code=COUNTY).table
    calls = []
    real = storage._parquet

    def flaky(part, kind):
        write = real(part, kind)
        calls.append(part)

        def written_then_full(tmp):  # the second file fails once written, before its rename
            write(tmp)
            if len(calls) == 2:
                raise OSError("disk full")

        return written_then_full

    monkeypatch.setattr(storage, "_parquet", flaky)
    with pytest.raises(OSError):
        write_batch(table, data_dir=tmp_path, kind="medical_claims", county=COUNTY, batch_id=8)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
