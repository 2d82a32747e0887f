"""Feed import throughput: `make bench-import` (or `python benchmarks/bench_import.py --rows N`).

Writes a medical_claims file of N rows (default 1,000,000) as CSV and as XLSX in a temporary
directory — synthetic, valid ID numbers of 台江县 drawn from a pool of N/5 people, the date
and amount forms FEEDS.md lists — and measures, each in a fresh process:

- baseline: DuckDB's own `read_csv(all_varchar)` of the CSV into Arrow, and python-calamine's
  read of the XLSX sheet (the bare reading the importer cannot beat);
- the engine: `engine.feeds.standardize_feed` (parse, validate, hash, type) of the CSV at N/4
  and N rows (peak memory of both, to see whether it grows with the file) and of the XLSX;
- the whole `do_import_feed` of the CSV (sandboxed parsing, exact linkage, Parquet, manifest)
  on a throw-away SQLite database.

Prints the figures and, last, one JSON line. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = [
    "序号",
    "身份证号",
    "姓名",
    "结算日期",
    "就诊类型",
    "医疗机构级别",
    "医疗总费用",
    "基本医保支付",
    "大病保险支付",
    "医疗救助支付",
    "个人自付",
]
COUNTY = "522630"


def people(n: int, seed: int = 1) -> list[tuple[str, str]]:
    from engine.ids import make_id_number

    rng = random.Random(seed)
    surnames, given = "杨张吴龙王李刘潘石邰", "华明芳强英军丽波勇娟"
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        birth = dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(80 * 365))
        number = make_id_number(COUNTY, birth, rng.randrange(500), rng.choice("MF"))
        if number in seen:
            continue
        seen.add(number)
        out.append((number, rng.choice(surnames) + rng.choice(given) + rng.choice(given)))
    return out


def _date(day: dt.date, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.85:
        return day.isoformat()
    if r < 0.9:
        return f"{day.year}/{day.month}/{day.day}"
    if r < 0.95:
        return f"{day:%Y%m%d}"
    return f"{day.year}年{day.month}月{day.day}日"


def claim_rows(n: int, seed: int = 2) -> Any:
    rng = random.Random(seed)
    pool = people(max(n // 5, 1))
    start = dt.date(2025, 1, 1)
    for i in range(n):
        number, name = pool[rng.randrange(len(pool))]
        total = round(rng.lognormvariate(5.5, 1.2), 2)
        basic = round(total * rng.uniform(0.3, 0.8), 2)
        yield (
            i + 1,
            number,
            name,
            start + dt.timedelta(days=rng.randrange(365)),
            rng.choice(("门诊", "门诊", "门诊", "住院", "门诊慢特病")),
            rng.choice(("乡镇", "县级", "市级", "省级及以上")),
            total,
            basic,
            0.0,
            0.0,
            round(total - basic, 2),
        )


def write_csv(path: Path, n: int) -> None:
    rng = random.Random(3)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for r in claim_rows(n):
            writer.writerow(
                [r[0], r[1], r[2], _date(r[3], rng), r[4], r[5], f"{r[6]:.2f}", f"{r[7]:.2f}", "0", "0", f"{r[10]:.2f}"]
            )


def write_xlsx(path: Path, n: int) -> None:
    """An XLSX as Excel writes it (shared-string-free inline text, dates as serial numbers),
    built directly: openpyxl would take minutes for a million rows."""
    from openpyxl import Workbook

    skeleton = io.BytesIO()
    Workbook().save(skeleton)
    source = zipfile.ZipFile(io.BytesIO(skeleton.getvalue()))
    epoch = dt.date(1899, 12, 30)
    letters = "ABCDEFGHIJK"

    def cell(ref: str, value: Any) -> str:
        if isinstance(value, str):
            return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
        return f'<c r="{ref}"><v>{value}</v></c>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, source.read(info))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            sheet.write(
                (
                    '<row r="1">' + "".join(cell(f"{c}1", h) for c, h in zip(letters, HEADER, strict=True)) + "</row>"
                ).encode()
            )
            chunk: list[str] = []
            for i, r in enumerate(claim_rows(n), 2):
                values = (r[0], r[1], r[2], (r[3] - epoch).days, r[4], r[5], r[6], r[7], 0, 0, r[10])
                chunk.append(
                    f'<row r="{i}">'
                    + "".join(cell(f"{c}{i}", v) for c, v in zip(letters, values, strict=True))
                    + "</row>"
                )
                if len(chunk) >= 20_000:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            sheet.write(("".join(chunk) + "</sheetData></worksheet>").encode())


# -- measurements, each in a fresh process --------------------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def duckdb_read(path: str) -> dict[str, Any]:
    import duckdb

    started = time.perf_counter()
    table = duckdb.read_csv(path, all_varchar=True, header=True).arrow()
    rows = table.num_rows if hasattr(table, "num_rows") else table.read_all().num_rows
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_mib": _peak_mib()}


def calamine_read(path: str) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    return {"rows": len(rows) - 1, "seconds": time.perf_counter() - started, "peak_mib": _peak_mib()}


def engine_standardize(path: str) -> dict[str, Any]:
    from engine.feeds import standardize_feed
    from engine.protect import Protector, generate_key
    from engine.schemas.feeds import FEED_SCHEMAS

    protector = Protector.from_settings("aes", generate_key(), generate_key())
    started = time.perf_counter()
    result = standardize_feed(Path(path), FEED_SCHEMAS["medical_claims"], protector=protector, county_code=COUNTY)
    seconds = time.perf_counter() - started
    return {
        "rows": result.stats.total,
        "valid": result.stats.valid,
        "errors": len(result.errors),
        "seconds": seconds,
        "peak_mib": _peak_mib(),
    }


def whole_import(path: str, data_dir: str) -> dict[str, Any]:
    os.environ["SHOUWANG_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings.test")
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DATA_DIR = Path(data_dir)
    call_command("migrate", verbosity=0)
    from shouwang.regions.loading import load_divisions

    load_divisions(COUNTY)
    from shouwang.exchange.actions import do_import_feed

    started = time.perf_counter()
    outcome = do_import_feed(
        Path(path), filename="bench.csv", kind="medical_claims", county=COUNTY, user=None, dry_run=False, channel="cli"
    )
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "rows": outcome.stats.total,
        "stored": outcome.stored_rows,
        "committed": outcome.committed,
        "seconds": seconds,
        "peak_mib": _peak_mib(),
        "sandbox_peak_mib": children,
    }


def _run(conn: Any, fn: Any, args: tuple[Any, ...]) -> None:
    conn.send(fn(*args))
    conn.close()


def measure(fn: Any, *args: Any) -> dict[str, Any]:
    """`fn(*args)` in a fresh (non-daemonic: the import spawns its own sandbox) process."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_run, args=(child, fn, args))
    process.start()
    child.close()
    result: dict[str, Any] = parent.recv()
    process.join()
    result["rows_per_second"] = round(result["rows"] / result["seconds"]) if result["seconds"] else 0
    result["seconds"] = round(result["seconds"], 2)
    result["peak_mib"] = round(result["peak_mib"], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--skip-whole", action="store_true", help="skip the whole do_import_feed run")
    args = parser.parse_args()
    n = args.rows
    figures: dict[str, Any] = {"rows": n}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmpdir = Path(tmp)
        csv_path, quarter_path, xlsx_path = tmpdir / "claims.csv", tmpdir / "claims-quarter.csv", tmpdir / "claims.xlsx"
        started = time.perf_counter()
        write_csv(csv_path, n)
        write_csv(quarter_path, max(n // 4, 1))
        print(
            f"wrote {n:,} CSV rows ({csv_path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s"
        )
        figures["csv_baseline_duckdb"] = measure(duckdb_read, str(csv_path))
        figures["csv_engine_quarter"] = measure(engine_standardize, str(quarter_path))
        figures["csv_engine"] = measure(engine_standardize, str(csv_path))
        for name in ("csv_baseline_duckdb", "csv_engine_quarter", "csv_engine"):
            print(f"{name:24} {figures[name]}")
        if not args.skip_whole:
            figures["csv_do_import_feed"] = measure(whole_import, str(csv_path), str(tmpdir / "data"))
            print(f"{'csv_do_import_feed':24} {figures['csv_do_import_feed']}")
        if not args.skip_xlsx:
            started = time.perf_counter()
            write_xlsx(xlsx_path, n)
            size = xlsx_path.stat().st_size / 2**20
            print(f"wrote {n:,} XLSX rows ({size:.0f} MiB) in {time.perf_counter() - started:.1f} s")
            figures["xlsx_baseline_calamine"] = measure(calamine_read, str(xlsx_path))
            figures["xlsx_engine"] = measure(engine_standardize, str(xlsx_path))
            for name in ("xlsx_baseline_calamine", "xlsx_engine"):
                print(f"{name:24} {figures[name]}")
    engine, base = figures["csv_engine"], figures["csv_baseline_duckdb"]
    figures["csv_ratio_to_duckdb"] = round(engine["rows_per_second"] / max(base["rows_per_second"], 1), 3)
    figures["csv_memory_growth_quarter_to_full"] = round(
        engine["peak_mib"] / max(figures["csv_engine_quarter"]["peak_mib"], 1), 2
    )
    if "xlsx_engine" in figures:
        figures["xlsx_ratio_to_calamine"] = round(
            figures["xlsx_engine"]["rows_per_second"] / max(figures["xlsx_baseline_calamine"]["rows_per_second"], 1), 3
        )
    figures["targets"] = {"csv_rows_per_second": 300_000, "xlsx_rows_per_second": 50_000}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
