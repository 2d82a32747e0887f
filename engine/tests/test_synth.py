"""The synthetic county: deterministic, clean registry, every feed kind, truth that points at
real lines and holds no ID number."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from engine.ids import IDNumberError, parse_id_number
from engine.schema import ColumnType
from engine.schemas.feeds import FEED_SCHEMAS
from engine.schemas.registry import REGISTRY_ACCOUNTS, REGISTRY_MEMBERS
from engine.synth import SynthSummary, UnknownCountyError, generate_county
from engine.synth.divisions import DIVISIONS_DIR
from engine.synth.writers import EXTRA_HEADERS, format_amount, format_date

COUNTY = "522630"
HOUSEHOLDS = 400


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("synth")
    return out, generate_county(COUNTY, HOUSEHOLDS, 7, out)


def _registry(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def members(county) -> list[dict[str, str]]:
    return _registry(county[0] / "registry_members.csv")


@pytest.fixture(scope="module")
def manifest(county) -> dict:
    return json.loads((county[0] / "truth" / "manifest.json").read_text(encoding="utf-8"))


def read_feed(path: Path, encoding: str) -> list[list[str]]:
    """All rows of a feed file, row i at index i - 1 (physical CSV line or XLSX sheet row)."""
    if encoding == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            return [["" if v is None else str(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    text = path.read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline="")))


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_arguments_give_the_same_bytes(county, tmp_path):
    generate_county(COUNTY, HOUSEHOLDS, 7, tmp_path)
    first, second = _digests(county[0]), _digests(tmp_path)
    assert first == second
    assert any(name.endswith(".xlsx") for name in first)


def test_another_seed_gives_another_county(county, tmp_path):
    generate_county(COUNTY, HOUSEHOLDS, 8, tmp_path)
    assert _digests(county[0])["registry_members.csv"] != _digests(tmp_path)["registry_members.csv"]


def test_registry_headers_are_the_schema_labels_in_order(county):
    for name, schema in (("registry_members.csv", REGISTRY_MEMBERS), ("registry_accounts.csv", REGISTRY_ACCOUNTS)):
        raw = (county[0] / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert header == [c.label for c in schema.columns]


def test_every_id_is_valid_unique_and_of_the_county(members):
    ids = [r["身份证号"] for r in members]
    assert len(ids) == len(set(ids))
    for value in ids:
        parsed = parse_id_number(value)
        assert parsed.value == value
        assert value.startswith(COUNTY)


def test_villages_are_real_and_in_the_county(members):
    with gzip.open(DIVISIONS_DIR / "villages.csv.gz", "rt", encoding="utf-8") as fh:
        real = {r["code"]: r["areaCode"] for r in csv.DictReader(fh) if r["code"].startswith(COUNTY)}
    codes = {r["村代码"] for r in members}
    assert len(codes) > 20  # spread over many villages
    for code in codes:
        assert real.get(code) == COUNTY


def test_every_code_value_lies_in_its_list_and_required_values_are_present(county, members):
    accounts = _registry(county[0] / "registry_accounts.csv")
    for rows, schema in ((members, REGISTRY_MEMBERS), (accounts, REGISTRY_ACCOUNTS)):
        for column in schema.columns:
            values = {r[column.label] for r in rows}
            if column.type == ColumnType.CODES:  # a combination: 长期慢性病、残疾
                values = {v for cell in values for v in (cell.split("、") if cell else [""])}
            if column.choices:
                assert values <= {*column.choices, ""}, column.name
            if column.required:
                assert "" not in values, column.name
            if column.type == ColumnType.AMOUNT:
                assert all(v == "" or float(v) >= 0 for v in values), column.name


def test_households_are_consistent(members):
    household_columns = [c.label for c in REGISTRY_MEMBERS.columns[:15]]
    assert household_columns[-1] == "不愁吃穿"
    by_household: dict[str, list[dict[str, str]]] = {}
    for r in members:
        by_household.setdefault(r["户编号"], []).append(r)
    assert len(by_household) == HOUSEHOLDS
    for number, rows in by_household.items():
        assert number.startswith(COUNTY) and len(number) == 12
        assert len({tuple(r[c] for c in household_columns) for r in rows}) == 1
        heads = [r for r in rows if r["与户主关系"] == "户主"]
        assert len(heads) == 1
        head_birth = parse_id_number(heads[0]["身份证号"]).birth_date
        assert head_birth <= dt.date(2007, 12, 31)  # an adult
        for r in rows:
            birth = parse_id_number(r["身份证号"]).birth_date
            gap = (head_birth - birth).days / 365.25  # > 0: older than the head
            rel = r["与户主关系"]
            if rel in ("子", "女", "儿媳", "女婿"):
                assert gap <= -12, rel
            elif rel == "孙子女":
                assert gap <= -30, rel
            elif rel in ("父母", "祖父母"):
                assert gap >= 15, rel
        h = rows[0]
        if h["户类型"] == "脱贫户":
            assert 2014 <= int(h["脱贫年度"]) <= 2020
        else:
            assert h["脱贫年度"] == ""
        if h["监测状态"] == "未纳入":
            assert h["监测对象类别"] == ""
        else:
            allowed = (
                {"脱贫不稳定户", "突发严重困难户"} if h["户类型"] == "脱贫户" else {"边缘易致贫户", "突发严重困难户"}
            )
            assert h["监测对象类别"] in allowed


def test_members_are_plausible(members):
    this_year = 2025
    for r in members:
        age = this_year - int(r["身份证号"][6:10])
        health = r["健康状况"].split("、")
        disabled = "残疾" in health
        assert bool(r["残疾类别"]) == disabled and bool(r["残疾等级"]) == disabled
        assert health == ["健康"] or "健康" not in health
        if 7 <= age <= 14:
            assert r["在校生情况"] in ("小学", "七至九年级")
        if age < 16:
            assert r["劳动技能"] == "无劳动力"
            assert r["务工状况"] in ("在校", "不适用")
        if r["务工状况"] in ("省外务工", "省内县外务工"):
            assert r["务工所在地"]
            assert r["劳动技能"] in ("技能劳动力", "普通劳动力")
    assert any(r["死亡日期"] for r in members)


def test_shares_are_within_documented_ranges(county, members):
    heads = [r for r in members if r["与户主关系"] == "户主"]
    escaped = sum(r["户类型"] == "脱贫户" for r in heads) / len(heads)
    assert 0.18 <= escaped <= 0.34  # docs: 台江县 ~26% (approximation)
    disabled = sum("残疾" in r["健康状况"].split("、") for r in members) / len(members)
    assert 0.04 <= disabled <= 0.09  # docs: ~6.3% (CDPF 2006 survey, 6.34%)
    insured = sum(r["参加基本医疗保险"] == "是" for r in members) / len(members)
    assert 0.96 <= insured <= 1.0
    miao = sum(r["民族"] == "苗族" for r in members) / len(members)
    assert miao > 0.9
    monitored = sum(r["监测状态"] == "监测中" for r in heads) / len(heads)
    assert 0.005 <= monitored <= 0.08
    assert county[1].members / HOUSEHOLDS == pytest.approx(3.6, abs=0.5)


def test_accounts_have_two_years_per_household(county):
    accounts = _registry(county[0] / "registry_accounts.csv")
    assert len(accounts) == 2 * HOUSEHOLDS
    assert {r["年度"] for r in accounts} == {"2024", "2025"}
    assert len({(r["户编号"], r["年度"]) for r in accounts}) == len(accounts)


def test_every_feed_kind_is_written_with_schema_headers(county, manifest):
    files = manifest["counts"]["files"]
    feeds = {name: info for name, info in files.items() if name.startswith("feeds/")}
    assert {info["kind"] for info in feeds.values()} == set(FEED_SCHEMAS)
    encodings = {info["encoding"] for info in feeds.values()}
    assert {"utf-8-sig", "xlsx"} <= encodings and encodings & {"gbk", "gb18030"}
    for name, info in feeds.items():
        schema = FEED_SCHEMAS[info["kind"]]
        rows = read_feed(county[0] / name, info["encoding"])
        header = rows[info["header_line"] - 1]
        known = {h: c.name for c in schema.columns for h in c.headers}
        names = [known.get(h) for h in header]
        for h, n in zip(header, names, strict=True):
            assert n or h in EXTRA_HEADERS.values(), (name, h)
        assert {c.name for c in schema.required} <= set(names), name
        if info["rows"]:
            assert len(rows) >= info["header_line"] + info["rows"]


def _amount(text: str) -> float:
    return float(text.replace(",", "").replace("元", "").replace("￥", ""))


def test_each_planted_shock_points_at_its_row(county, manifest, members):
    root = county[0]
    files = manifest["counts"]["files"]
    ids = {}
    seqs: dict[str, int] = {}
    for r in members:
        seqs[r["户编号"]] = seqs.get(r["户编号"], 0) + 1
        ids[f"{r['户编号']}-{seqs[r['户编号']]:02d}"] = r["身份证号"]
    with (root / "truth" / "noise.csv").open(encoding="utf-8-sig") as fh:
        noisy = {(r["file"], int(r["line"])) for r in csv.DictReader(fh)}
    with (root / "truth" / "shocks.csv").open(encoding="utf-8-sig") as fh:
        shocks = list(csv.DictReader(fh))
    kinds = {s["shock_type"] for s in shocks}
    for expected in (
        "large_medical_oop",
        "death",
        "school_dropout",
        "housing_unsafe",
        "disaster_severe",
        "migrant_return",
        "water_problem",
        "dibao_granted",
        "medical_not_enrolled",
        "income_drop",
    ):
        assert expected in kinds, expected
    cache: dict[str, list[list[str]]] = {}
    for s in shocks:
        path = s["file"] if s["feed_kind"] == "registry_accounts" else f"feeds/{s['file']}"
        info = files[path]
        if path not in cache:
            cache[path] = read_feed(root / path, info["encoding"])
        rows = cache[path]
        line = int(s["line"])
        header = rows[info.get("header_line", 1) - 1]
        assert info.get("header_line", 1) < line <= len(rows), s
        row = dict(zip(header, rows[line - 1], strict=False))
        assert any(v.strip() for v in row.values()) and "合计" not in row.values()
        if s["feed_kind"] == "registry_accounts":
            assert row["户编号"] == s["household_number"]
            continue
        if s["feed_kind"] == "water_safety":
            assert row["村代码"] == s["village_code"]
            continue
        id_header = next(h for h in header if h in ("身份证号", "公民身份号码", "证件号码", "身份证号码"))
        if (s["file"], line) not in noisy:  # unless an ID/name noise was recorded on that line
            assert row[id_header] == ids[s["person_key"]], s
        if s["shock_type"] == "large_medical_oop":
            oop_header = "个人负担" if "个人负担" in row else "个人自付"
            figures = dict(kv.split("=") for kv in s["figures"].split(";"))
            assert _amount(row[oop_header]) == pytest.approx(float(figures["out_of_pocket"]), abs=0.01)


def test_recorded_id_noise_is_what_the_file_holds(county, manifest, members):
    root = county[0]
    files = manifest["counts"]["files"]
    ids: dict[str, str] = {}
    seqs: dict[str, int] = {}
    for r in members:
        seqs[r["户编号"]] = seqs.get(r["户编号"], 0) + 1
        ids[f"{r['户编号']}-{seqs[r['户编号']]:02d}"] = r["身份证号"]
    with (root / "truth" / "noise.csv").open(encoding="utf-8-sig") as fh:
        noise = [r for r in csv.DictReader(fh) if r["noise_type"].startswith("id_")]
    assert {r["noise_type"] for r in noise} >= {"id_missing", "id_check_digit", "id_full_width", "id_lowercase_x"}
    cache: dict[str, list[list[str]]] = {}
    for n in noise:
        path = f"feeds/{n['file']}"
        info = files[path]
        rows = cache.setdefault(path, read_feed(root / path, info["encoding"]))
        header = rows[info["header_line"] - 1]
        row = dict(zip(header, rows[int(n["line"]) - 1], strict=False))
        raw = next(row[h] for h in header if h in ("身份证号", "公民身份号码", "证件号码", "身份证号码"))
        if n["noise_type"] == "id_missing":
            assert raw == ""
            continue
        if not n["person_key"]:  # a person outside the registry (not_in_registry)
            continue
        true = ids[n["person_key"]]
        if n["noise_type"] == "id_check_digit":
            with pytest.raises(IDNumberError) as err:
                parse_id_number(raw)
            assert err.value.code == "check_digit"
        else:  # 15 digits, full width, spaces, lowercase x: all normalise to the true number
            assert raw != true
            assert parse_id_number(raw).value == true


def test_background_claims_stay_below_and_planted_ones_above_the_warning_line(county, manifest, members):
    root = county[0]
    files = manifest["counts"]["files"]
    with (root / "truth" / "shocks.csv").open(encoding="utf-8-sig") as fh:
        planted = {
            (r["file"], int(r["line"])): r["person_key"]
            for r in csv.DictReader(fh)
            if r["shock_type"] == "large_medical_oop"
        }
    with (root / "truth" / "noise.csv").open(encoding="utf-8-sig") as fh:
        skip = {
            (r["file"], int(r["line"]))
            for r in csv.DictReader(fh)
            if r["noise_type"] in ("duplicate_row", "totals_row", "title_row", "blank_row")
        }
    background: dict[str, float] = {}
    planted_total: dict[str, float] = {}
    for path, info in files.items():
        if info.get("kind") != "medical_claims":
            continue
        rows = read_feed(root / path, info["encoding"])
        header = rows[info["header_line"] - 1]
        name = path.removeprefix("feeds/")
        for line, cells in enumerate(rows[info["header_line"] :], start=info["header_line"] + 1):
            if (name, line) in skip or not any(cells):
                continue
            row = dict(zip(header, cells, strict=False))
            oop = _amount(row.get("个人自付") or row["个人负担"])
            if (name, line) in planted:
                key = planted[(name, line)]
                planted_total[key] = planted_total.get(key, 0.0) + oop
                assert oop >= 8_000
            else:
                raw = next(row[h] for h in header if h in ("身份证号", "身份证号码"))
                try:
                    value = parse_id_number(raw).value
                except IDNumberError:  # missing or wrong check digit: cannot be summed per person
                    continue
                background[value] = background.get(value, 0.0) + oop
    assert planted_total
    assert max(background.values()) < 6_000 + 0.01
    assert min(planted_total.values()) >= 8_000


def test_truth_holds_no_id_number(county, members):
    ids = {r["身份证号"] for r in members}
    for path in (county[0] / "truth").iterdir():
        text = path.read_text(encoding="utf-8-sig")
        assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", text), path.name
        assert not re.search(r"(?<!\d)\d{15}(?!\d)", text), path.name
        assert not any(i in text for i in list(ids)[:200])


def test_formats_cover_the_messy_forms():
    d = dt.date(2025, 5, 1)
    assert [format_date(d, s) for s in ("iso", "slash", "compact", "chinese", "dot", "serial")] == [
        "2025-05-01",
        "2025/5/1",
        "20250501",
        "2025年5月1日",
        "2025.05.01",
        45778,
    ]
    assert [format_amount(1200.5, s) for s in ("plain", "comma", "yuan", "yen")] == [
        "1200.50",
        "1,200.50",
        "1200.50元",
        "￥1,200.50",
    ]
    assert format_amount(1200, "yuan") == "1200元" and format_amount(1200, "yen") == "￥1,200"


@pytest.mark.parametrize("code", ["999999", "5226", "abcdef", "", "110100"])
def test_an_unknown_county_is_a_clear_error(code, tmp_path):
    with pytest.raises(UnknownCountyError) as err:
        generate_county(code, 10, 1, tmp_path)
    assert "区划" in str(err.value)
    assert not (tmp_path / "registry_members.csv").exists()


@pytest.mark.parametrize("households", [0, -3])
def test_a_bad_household_count_is_a_clear_error(households, tmp_path):
    with pytest.raises(ValueError, match="户数"):
        generate_county(COUNTY, households, 1, tmp_path)


def test_another_province_defaults_to_han(tmp_path):
    summary = generate_county("110105", 60, 1, tmp_path)  # 朝阳区: villages exist, no Miao profile
    rows = _registry(tmp_path / "registry_members.csv")
    assert summary.households == 60
    assert sum(r["民族"] == "汉族" for r in rows) / len(rows) > 0.8
