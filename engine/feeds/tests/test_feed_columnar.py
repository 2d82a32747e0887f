"""The columnar fast path gives exactly the reference path's result: same rows, same typed
values, same errors in the same order, same counts — on every synthetic feed and on files
made to hit the edge cases."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import Workbook

from engine.feeds import standardize_feed
from engine.ids import make_id_number
from engine.protect import Protector, generate_key
from engine.schemas.feeds import FEED_SCHEMAS
from engine.synth import generate_county

COUNTY = "522630"
PROTECTOR = Protector.from_settings("aes", generate_key(), generate_key())


def kind_of(name: str) -> str:
    return next(k for k in sorted(FEED_SCHEMAS, key=len, reverse=True) if name.startswith(k))


def both(source, kind):
    schema = FEED_SCHEMAS[kind]
    ref = standardize_feed(source, schema, protector=PROTECTOR, county_code=COUNTY, method="reference")
    fast = standardize_feed(source, schema, protector=PROTECTOR, county_code=COUNTY, method="columnar")
    rowwise = standardize_feed(source, schema, protector=PROTECTOR, county_code=COUNTY, method="rowwise-columnar")
    assert_same(ref, rowwise)
    return ref, fast


def assert_same(ref, fast):
    assert fast.stats == ref.stats
    assert fast.errors == ref.errors
    assert fast.table.schema == ref.table.schema
    assert fast.table.to_pylist() == ref.table.to_pylist()
    assert fast.extra_columns == ref.extra_columns


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate_county(COUNTY, households=250, seed=11, out_dir=out, year=2025)
    return sorted((out / "feeds").iterdir())


def test_every_synthetic_feed_gives_identical_results(feeds):
    assert len({kind_of(p.name) for p in feeds}) == 12
    for path in feeds:
        ref, fast = both(path, kind_of(path.name))
        assert_same(ref, fast)


def idn(n: int) -> str:
    return make_id_number(COUNTY, dt.date(1960, 1, 1) + dt.timedelta(days=n), n, "M")


def test_edge_cases_give_identical_results():
    a, b, c = idn(1), idn(2), idn(3)
    header = ["序号", "身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付", "行政区划代码", "出生日期"]
    rows = [
        ["台江县医保结算"],
        [],
        header,
        ["1", a, "张三", "2025-05-01", "门诊", "100", "20", "522630", ""],
        ["2", a, "张三", "2025/5/1", "门诊", "100.00", "20元", "", ""],  # exact duplicate after parsing
        ["3", a, "张三", "2025-05-01", "门诊", "100", "21", "", ""],  # same key, other content? (key includes oop)
        ["4", a, "张三", "2025-05-01", "门诊", "100", "20", "", "1999-01-01"],  # differs in birth date only
        ["5", b[:17] + "0" if b[17] != "0" else b[:17] + "1", "李四", "2025-13-01", "急诊", "-1", "x", "", ""],
        [" ", "", "", "", "", "", "", "", ""],
        ["6", c.lower(), "Ｗａｎｇ", "20250501", "", "1,200.50", "￥1,200", "522631", ""],
        ["7", c[:6] + c[8:17], " 王五 ", "2025年5月1日", "住院", "5", "1", "522630001001", ""],
        ["8", "", "", "", "", "", "", "", ""],
        ["9", b, "赵六", "45778", "门诊", "1", "1"],  # a short row
        ["合计", "", "", "", "", "1000", "100", "", ""],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    data = out.getvalue().encode("utf-8-sig")
    ref, fast = both(data, "medical_claims")
    assert ref.stats.total == 9 and ref.stats.duplicates == 2 and ref.errors
    assert_same(ref, fast)
    assert_same(*both(out.getvalue().encode("gb18030"), "medical_claims"))

    book = Workbook()
    for row in rows:
        book.active.append([dt.datetime(2025, 5, 1) if v == "45778" else v for v in row])
    book.active.append(["10", a, "张三", 45778.0, "门诊", 100, 20.0, 522630, None])
    book.active.append(["11", float(b[:17]), "李四", 45778, "门诊", 100, 20.0, None, None])  # Excel made a number of it
    xlsx = io.BytesIO()
    book.save(xlsx)
    ref, fast = both(xlsx.getvalue(), "medical_claims")
    assert ref.stats.total >= 9
    assert_same(ref, fast)


def test_a_yearly_and_a_village_kind_give_identical_results():
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["证件号码", "参保年度", "参保状态", "资助类别"])
    w.writerows([[idn(1), "2025", "已参保", "无"], [idn(1), "2025年", "已参保", "无"], [idn(2), "2025", "未知", ""]])
    assert_same(*both(out.getvalue().encode(), "medical_enrolment"))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["村代码", "问题类型", "上报日期", "解决日期"])
    w.writerows([["522630001001", "水量", "2025-05-01", ""], ["522631001001", "水质", "2025-05-01", "2025-06-01"]])
    assert_same(*both(out.getvalue().encode(), "water_safety"))


def test_small_blocks_and_cross_block_duplicates_give_identical_results(feeds, monkeypatch):
    monkeypatch.setattr("engine.feeds.fastcsv.BLOCK_BYTES", 97)  # many blocks, lines cut anywhere
    for path in feeds:
        if path.suffix == ".csv":
            assert_same(*both(path, kind_of(path.name)))
    a = idn(1)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["身份证号", "结算日期", "医疗总费用", "个人自付"])
    w.writerows(
        [[a, "2025-05-01", "1", "1"], ["", "", "", ""], [a, "2025-05-01", "1", "1"], [a, "2025-05-01", "1", "2"]]
    )
    w.writerow(["合计", "", "2", "3"])
    assert_same(*both(out.getvalue().encode(), "medical_claims"))


def test_a_quoted_field_spanning_lines_falls_back_to_the_general_path():
    data = f'身份证号,姓名,结算日期,医疗总费用,个人自付\n{idn(1)},"张\n三",2025-05-01,1,1\n'.encode()
    ref, fast = both(data, "medical_claims")
    assert_same(ref, fast)


def test_numeric_amount_cells_of_a_workbook_give_identical_results():
    book = Workbook()
    book.active.append(["身份证号", "结算日期", "医疗总费用", "个人自付", "基本医保支付"])
    values = [100, 20.5, -5.0, 0.1 + 0.2, 1e-05, 12345678901.5, 2.675, None, float("nan"), 7]
    for n, amount in enumerate(values, 1):
        book.active.append([idn(n), dt.datetime(2025, 5, n), amount, 1.0, amount])
    out = io.BytesIO()
    book.save(out)
    ref, fast = both(out.getvalue(), "medical_claims")
    assert ref.stats.rejected >= 3
    assert_same(ref, fast)


def test_missing_ids_give_identical_results():
    """A blank ID with a name is kept (a warning, null hash, for probabilistic linkage); a
    blank ID without a name, and an invalid ID, are still errors — on every path alike."""
    a, b = idn(1), idn(2)
    bad = b[:17] + ("0" if b[17] != "0" else "1")
    rows = [
        ["身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付", "出生日期"],
        [a, "张三", "2025-05-01", "门诊", "100", "20", ""],
        ["", "李四", "2025-05-01", "门诊", "100", "20", "1980-02-03"],  # kept, warning
        ["  ", "李四", "2025-05-01", "门诊", "100", "20", "1980-02-03"],  # kept too (no key: no duplicate)
        ["", "", "2025-05-01", "门诊", "100", "20", ""],  # no ID, no name: required
        ["", " ", "2025-13-01", "门诊", "100", "20", ""],  # no ID, blank name, bad date: both errors
        ["", "王五", "2025-13-01", "门诊", "100", "20", ""],  # name but a bad date: rejected, date only
        [bad, "赵六", "2025-05-01", "门诊", "100", "20", ""],  # invalid ID: rejected
        ["", "钱七" * 30, "2025-05-01", "门诊", "100", "20", ""],  # a name too long: both errors
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    ref, fast = both(out.getvalue().encode("utf-8-sig"), "medical_claims")
    assert_same(ref, fast)
    assert ref.stats.total == 8 and ref.stats.valid == 3 and ref.stats.rejected == 5
    warnings = [e for e in ref.errors if e.warning]
    assert [e.line for e in warnings] == ["3", "4"]
    assert warnings[0].reason_zh.startswith("身份证号缺失")
    kept = {r["line"]: r for r in ref.table.to_pylist()}
    assert kept["3"]["id_hash"] is None and kept["3"]["name"] == "李四"
    assert kept["3"]["birth_date"] == dt.date(1980, 2, 3)
    assert [(e.line, e.column) for e in ref.errors if not e.warning] == [
        ("5", "身份证号"),
        ("6", "身份证号"),
        ("6", "结算日期"),
        ("7", "结算日期"),
        ("8", "身份证号"),
        ("9", "身份证号"),
        ("9", "姓名"),
    ]
    book = Workbook()
    for row in rows:
        book.active.append([None if v == "" else v for v in row])
    xlsx = io.BytesIO()
    book.save(xlsx)
    assert_same(*both(xlsx.getvalue(), "medical_claims"))


def test_formula_cells_give_identical_results():
    a, b = idn(1), idn(2)
    rows = [
        ["身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付"],
        [a, '=HYPERLINK("http://x","a")', "2025-05-01", "门诊", "100", "20"],
        [b, "李四", "2025-05-01", "=1+2", "-5", "20"],
        ["", "+cmd|' /C calc'!A0", "2025-05-02", "门诊", "100", "20"],  # a formula is no name to link by
        [b, "李四", "2025-05-03", "门诊", "100", "+86 138 0000 0000"],
        [a, "张三", "2025-05-04", "门诊", "100", "20"],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    ref, fast = both(out.getvalue().encode("utf-8-sig"), "medical_claims")
    assert_same(ref, fast)
    assert (ref.stats.valid, ref.stats.rejected) == (1, 4)
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.active.append([b, "王五", dt.datetime(2025, 5, 5), "门诊", "=SUM(1,2)", 20.0])
    xlsx = io.BytesIO()
    book.save(xlsx)
    ref, fast = both(xlsx.getvalue(), "medical_claims")
    assert_same(ref, fast)
    assert (ref.stats.valid, ref.stats.rejected) == (1, 5)
