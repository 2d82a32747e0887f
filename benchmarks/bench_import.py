"""Feed import throughput: `make bench-import` (or `python benchmarks/bench_import.py --rows N`).

Writes a medical_claims file of N rows (default 1,000,000) as CSV and as XLSX in a temporary
directory — synthetic, valid ID numbers of 台江县 drawn from a pool of N/5 people, the date
and amount forms FEEDS.md lists — and measures, each stage in a fresh process:

- baselines: DuckDB's own `read_csv(all_varchar)` of the CSV into Arrow, and python-calamine's
  read of the XLSX sheet (the bare reading the importer cannot beat); with `--compare REF`
  also the engine as it is at git REF, on the same files in the same run;
- the engine: `engine.feeds.standardize_feed` (parse, validate, hash, type; the whole table in
  memory) of the CSV at N/4 and N rows — peak memory of both, and what of it is the result
  table — and of the XLSX, with the Arrow memory pool of the sandboxed child that parses
  every upload (jemalloc);
- standardize + write: `engine.feeds.stage_feed` (what the import's sandboxed child runs: the
  CSV block by block, each block's rows to a staged Parquet file) at N/4 and N rows — the
  memory target is the ratio of their peaks;
- linkage: N feed rows (1 % without an ID, 0.5 % with a homophone typo, 2 % people outside the
  registry) against a registry of 300,000 members, through the importer's own functions
  (`link_exact`, then `engine.feeds.linking.link_probabilistic`);
- the whole `do_import_feed` of the CSV (sandboxed parsing, linkage, Parquet, manifest) on a
  throw-away SQLite database with an empty registry, at N/4 and N rows: the importing
  process's peak and the sandboxed child's.

pyarrow imports pandas on its first use when pandas is installed (≈ 2–3 s here); each stage
pays that before its clock starts and reports it as `first_arrow_use_seconds`.

Prints the figures and, last, one JSON line with every target, its measured value and pass /
fail. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import itertools
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tarfile
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
REGISTRY_MEMBERS = 300_000
TARGETS = {"csv_rows_per_second": 300_000, "xlsx_rows_per_second": 50_000, "linkage_seconds": 60.0}
# Memory "does not grow with the file" (CSV) when the peak of standardize + write — the
# import's sandboxed step, `stage_feed` — at N rows is at most this times its peak at N/4.
MEMORY_GROWTH_LIMIT = 1.2


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


def write_csv(path: Path, n: int, rows: int | None = None) -> None:
    """The claims of a county whose file of `n` rows has n/5 people; `rows` keeps only the
    first rows of that file (the same people over a shorter period)."""
    rng = random.Random(3)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for r in itertools.islice(claim_rows(n), rows):
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


def _warm(code_root: str | None = None) -> dict[str, float]:
    """Import what the stage needs and use pyarrow once (which imports pandas, if installed),
    before any clock starts; `code_root` puts another checkout of the engine first."""
    if code_root:
        sys.path.insert(0, code_root)
        for name in [m for m in sys.modules if m == "engine" or m.startswith("engine.")]:
            del sys.modules[name]
    started = time.perf_counter()
    import pyarrow as pa

    pa.array([0])
    return {"first_arrow_use_seconds": round(time.perf_counter() - started, 2), "base_mib": _peak_mib()}


def duckdb_read(path: str) -> dict[str, Any]:
    warm = _warm()
    import duckdb

    started = time.perf_counter()
    table = duckdb.read_csv(path, all_varchar=True, header=True).arrow()
    rows = table.num_rows if hasattr(table, "num_rows") else table.read_all().num_rows
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_mib": _peak_mib(), **warm}


def calamine_read(path: str) -> dict[str, Any]:
    warm = _warm()
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    return {"rows": len(rows) - 1, "seconds": time.perf_counter() - started, "peak_mib": _peak_mib(), **warm}


def _child_pool() -> str:
    """The Arrow memory pool of the sandboxed child that parses every uploaded file
    (`engine.feeds.sandbox.use_child_memory_pool`: jemalloc unless ARROW_DEFAULT_MEMORY_POOL
    says otherwise), set the same way for an engine at another ref that lacks the function.
    The pool matters: Arrow's default mimalloc made `standardize_feed` of 1M CSV rows ~1.4×
    slower here (4.9 against 3.4 s, fresh processes, interleaved)."""
    import pyarrow as pa

    try:
        from engine.feeds.sandbox import use_child_memory_pool
    except ImportError:
        if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        return str(pa.default_memory_pool().backend_name)
    return use_child_memory_pool()


def engine_standardize(path: str, code_root: str | None = None) -> dict[str, Any]:
    warm = _warm(code_root)
    import engine.feeds.columnar
    import engine.feeds.fastcsv  # noqa: F401  (imported by the first call otherwise, inside the clock)
    from engine.feeds import standardize_feed
    from engine.protect import Protector, generate_key
    from engine.schemas.feeds import FEED_SCHEMAS

    pool = _child_pool()
    protector = Protector.from_settings("aes", generate_key(), generate_key())
    started = time.perf_counter()
    cpu = time.process_time()
    result = standardize_feed(Path(path), FEED_SCHEMAS["medical_claims"], protector=protector, county_code=COUNTY)
    seconds = time.perf_counter() - started
    return {
        "rows": result.stats.total,
        "valid": result.stats.valid,
        "errors": len(result.errors),
        "seconds": seconds,
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "peak_mib": _peak_mib(),
        "table_mib": round(result.table.nbytes / 2**20, 1),
        "memory_pool": pool,
        **warm,
    }


def engine_stage(path: str, tmp: str) -> dict[str, Any]:
    """Standardize + write, as the import's sandboxed step does it: `engine.feeds.stage_feed`
    reads the CSV block by block and writes each block's rows to a staged Parquet file (and
    its errors to the report) before reading the next — with the child's Arrow memory pool."""
    warm = _warm()
    import engine.feeds.blocks
    import engine.feeds.fastcsv  # noqa: F401  (imported by the first call otherwise, inside the clock)
    from engine.feeds import stage_feed
    from engine.feeds.sandbox import STAGED_ROWS, use_child_memory_pool
    from engine.protect import Protector, generate_key
    from engine.schemas.feeds import FEED_SCHEMAS

    pool = use_child_memory_pool()  # as in the sandboxed child
    protector = Protector.from_settings("aes", generate_key(), generate_key())
    out = Path(tempfile.mkdtemp(prefix="stage-", dir=tmp))
    started = time.perf_counter()
    cpu = time.process_time()
    result = stage_feed(Path(path), FEED_SCHEMAS["medical_claims"], protector, COUNTY, None, out)
    seconds = time.perf_counter() - started
    staged = (out / STAGED_ROWS).stat().st_size / 2**20
    shutil.rmtree(out)
    return {
        "rows": result.stats.total,
        "stored": result.stored_rows,
        "seconds": seconds,
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "peak_mib": _peak_mib(),
        "staged_parquet_mib": round(staged, 1),
        "memory_pool": pool,
        **warm,
    }


def linkage(n: int, members: int, seed: int = 4) -> dict[str, Any]:
    """`n` feed rows against `members` registry members, through the importer's functions."""
    warm = _warm()
    import pyarrow as pa

    registry, feed, truth = _linkage_data(n, members, seed)
    from engine.feeds import link_exact
    from engine.feeds.linking import link_probabilistic
    from engine.linkage import PLACES_SCHEMA

    places = pa.table(
        {
            "village_code": [v.code for v in _villages()],
            "village_name": [v.name for v in _villages()],
            "township_code": [v.township_code for v in _villages()],
            "township_name": [v.township_name for v in _villages()],
        },
        schema=PLACES_SCHEMA,
    )
    keys = dict(
        zip(
            registry.column("id_hash").to_pylist(),
            zip(registry.column("member_key").to_pylist(), registry.column("household_key").to_pylist(), strict=True),
            strict=True,
        )
    )
    started = time.perf_counter()
    cpu = time.process_time()
    exact = link_exact(feed, keys)
    exact_s = time.perf_counter() - started
    outcome = link_probabilistic(exact, registry, places=places, kind="medical_claims")
    seconds = time.perf_counter() - started
    got = outcome.table.select(["row_id", "member_key", "link_status"]).to_pydict()
    right = wrong = 0
    for row, member, status in zip(got["row_id"], got["member_key"], got["link_status"], strict=True):
        if status == "probabilistic":
            right += int(truth.get(row) == member)
            wrong += int(truth.get(row) != member)
    statuses = dict(zip(*pa.compute.value_counts(outcome.table.column("link_status")).flatten(), strict=True))
    return {
        "rows": n,
        "registry_members": registry.num_rows,
        "seconds": seconds,
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "exact_seconds": round(exact_s, 2),
        "engine_seconds": outcome.summary.get("seconds", {}),
        "link_status": {str(k): int(v) for k, v in statuses.items()},
        "probabilistic_right": right,
        "probabilistic_wrong": wrong,
        "member_prior": outcome.summary.get("member_prior"),
        "peak_mib": _peak_mib(),
        **warm,
    }


def _villages() -> Any:
    from engine.synth.divisions import load_county

    return load_county(COUNTY).villages


def _linkage_data(n: int, members: int, seed: int) -> tuple[Any, Any, dict[int, int]]:
    """A registry of `members` people with realistic names (the synthetic county's name pool)
    and a claims feed of `n` rows drawn from a quarter of them — as `standardize_feed` would
    have made it — with rows without an ID, homophone typos and people outside the registry."""
    import pyarrow as pa

    from engine.ids import make_id_number
    from engine.protect import Protector, generate_key
    from engine.synth.names import NamePool, homophone_typo

    rng = random.Random(seed)
    protector = Protector.from_settings("aes", generate_key(), generate_key())
    names = NamePool(seed, COUNTY)
    villages = [v.code for v in _villages()]
    cols: dict[str, list[Any]] = {
        k: [] for k in ("member_key", "household_key", "id_hash", "name", "birth_date", "sex")
    }
    cols["village_code"] = []
    seen: set[str] = set()
    while len(cols["member_key"]) < members:
        sex = rng.choice("MF")
        birth = dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(88 * 365))
        number = make_id_number(COUNTY, birth, rng.randrange(1000), sex)
        if number in seen:
            continue
        seen.add(number)
        k = len(cols["member_key"]) + 1
        cols["member_key"].append(k)
        cols["household_key"].append((k + 3) // 4)
        cols["id_hash"].append(protector.hash(number))
        cols["name"].append(names.surname(rng) + names.given(rng, sex))
        cols["birth_date"].append(birth)
        cols["sex"].append(sex)
        cols["village_code"].append(villages[((k + 3) // 4) % len(villages)])
    registry = pa.table(
        {
            **{k: pa.array(v, pa.int64()) for k, v in cols.items() if k.endswith("_key")},
            "id_hash": pa.array(cols["id_hash"], pa.string()),
            "name": pa.array(cols["name"], pa.string()),
            "birth_date": pa.array(cols["birth_date"], pa.date32()),
            "sex": pa.array(cols["sex"], pa.string()),
            "village_code": pa.array(cols["village_code"], pa.string()),
            "deceased": pa.array([False] * members, pa.bool_()),
        }
    )
    claimants = rng.sample(range(members), max(1, members // 4))
    outsiders = [protector.hash(make_id_number(COUNTY[:4] + "01", dt.date(1960, 1, 1), i, "M")) for i in range(2000)]
    feed: dict[str, list[Any]] = {
        k: [] for k in ("line", "id_hash", "name", "birth_date", "sex", "settle_date", "total_cost", "out_of_pocket")
    }
    truth: dict[int, int] = {}
    day0 = dt.date(2025, 1, 1)
    for i in range(n):
        r = rng.random()
        if r < 0.02:  # somebody the registry does not have: a valid ID that matches nobody
            feed["id_hash"].append(rng.choice(outsiders))
            feed["name"].append(names.surname(rng) + names.given(rng, "M"))
            feed["birth_date"].append(dt.date(1960, 1, 1))
            feed["sex"].append("M")
        else:
            m = claimants[rng.randrange(len(claimants))]
            truth[i] = m + 1
            name = cols["name"][m]
            if rng.random() < 0.005:
                name = homophone_typo(name, rng) or name
            missing = rng.random() < 0.01
            feed["id_hash"].append(None if missing else cols["id_hash"][m])
            feed["name"].append(name)
            feed["birth_date"].append(None if missing and rng.random() < 0.5 else cols["birth_date"][m])
            feed["sex"].append(None if missing else cols["sex"][m])
        feed["line"].append(str(i + 2))
        feed["settle_date"].append(day0 + dt.timedelta(days=rng.randrange(365)))
        feed["total_cost"].append(rng.randrange(10, 100_000))
        feed["out_of_pocket"].append(rng.randrange(0, 10_000))
    table = pa.table(
        {
            "line": pa.array(feed["line"], pa.string()),
            "id_hash": pa.array(feed["id_hash"], pa.string()),
            "name": pa.array(feed["name"], pa.string()),
            "birth_date": pa.array(feed["birth_date"], pa.date32()),
            "sex": pa.array(feed["sex"], pa.string()),
            "county_code": pa.array([COUNTY] * n, pa.string()),
            "settle_date": pa.array(feed["settle_date"], pa.date32()),
            "visit_type": pa.array(["门诊"] * n, pa.string()),
            "total_cost": pa.array(feed["total_cost"], pa.int64()),
            "out_of_pocket": pa.array(feed["out_of_pocket"], pa.int64()),
        }
    )
    return registry, table, truth


def whole_import(path: str, tmp: str) -> dict[str, Any]:
    warm = _warm()
    data_dir = tempfile.mkdtemp(prefix="data-", dir=tmp)  # a fresh one per run: the same file twice imports nothing
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
        "peak_mib": _peak_mib(),  # the importing process (linkage, the final Parquet, the database)
        "sandbox_peak_mib": round(children, 1),  # the sandboxed child (standardize + staged write)
        **warm,
    }


def _run(conn: Any, fn: Any, args: tuple[Any, ...]) -> None:
    conn.send(fn(*args))
    conn.close()


def measure(fn: Any, *args: Any) -> dict[str, Any]:
    """`fn(*args)` in a fresh (non-daemonic: the import spawns its own sandbox) process."""
    context = multiprocessing.get_context("spawn")
    load = os.getloadavg()[0]
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_run, args=(child, fn, args))
    process.start()
    child.close()
    result: dict[str, Any] = parent.recv()
    process.join()
    result["rows_per_second"] = round(result["rows"] / result["seconds"]) if result["seconds"] else 0
    result["seconds"] = round(result["seconds"], 2)
    result["peak_mib"] = round(result["peak_mib"], 1)
    result["load_1min"] = round(load, 1)
    return result


def checkout(ref: str, into: Path) -> str:
    """The engine as it is at git `ref`, unpacked under `into` (for --compare)."""
    command = ["git", "-C", str(ROOT), "archive", ref, "engine"]  # (a ref the operator typed)
    data = subprocess.run(command, check=True, capture_output=True).stdout  # noqa: S603
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(into, filter="data")
    return str(into)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=REGISTRY_MEMBERS, help="registry size for the linkage stage")
    parser.add_argument("--repeat", type=int, default=1, help="measure each engine stage this many times")
    parser.add_argument("--compare", metavar="REF", help="also measure the engine as it is at git REF")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--skip-linkage", action="store_true")
    parser.add_argument("--skip-whole", action="store_true", help="skip the whole do_import_feed run")
    args = parser.parse_args()
    n = args.rows
    figures: dict[str, Any] = {"rows": n, "load_at_start": _load()}

    def best(name: str, fn: Any, *fn_args: Any) -> dict[str, Any]:
        runs = [measure(fn, *fn_args) for _ in range(args.repeat)]
        out = min(runs, key=lambda r: r["seconds"])
        if len(runs) > 1:
            out["seconds_range"] = [min(r["seconds"] for r in runs), max(r["seconds"] for r in runs)]
        print(f"{name:26} {out}")
        figures[name] = out
        return out

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmpdir = Path(tmp)
        csv_path, quarter_path, xlsx_path = tmpdir / "claims.csv", tmpdir / "claims-quarter.csv", tmpdir / "claims.xlsx"
        started = time.perf_counter()
        write_csv(csv_path, n)
        # The quarter is the first quarter of the same file: the same county's people over a
        # quarter of the period, so that the two peaks differ by the file's length alone (a
        # quarter drawn from a quarter of the people also remembered a quarter of the IDs).
        write_csv(quarter_path, n, max(n // 4, 1))
        print(
            f"wrote {n:,} CSV rows ({csv_path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s"
        )
        baseline = checkout(args.compare, tmpdir / "baseline") if args.compare else None
        best("csv_baseline_duckdb", duckdb_read, str(csv_path))
        best("csv_engine_quarter", engine_standardize, str(quarter_path))
        best("csv_engine", engine_standardize, str(csv_path))
        best("csv_stage_quarter", engine_stage, str(quarter_path), str(tmpdir))
        best("csv_stage", engine_stage, str(csv_path), str(tmpdir))
        if baseline:
            best("csv_engine_quarter_at_ref", engine_standardize, str(quarter_path), baseline)
            best("csv_engine_at_ref", engine_standardize, str(csv_path), baseline)
        if not args.skip_linkage:
            best("linkage", linkage, n, args.members)
        if not args.skip_whole:
            best("csv_do_import_feed_quarter", whole_import, str(quarter_path), str(tmpdir))
            best("csv_do_import_feed", whole_import, str(csv_path), str(tmpdir))
        if not args.skip_xlsx:
            started = time.perf_counter()
            write_xlsx(xlsx_path, n)
            size = xlsx_path.stat().st_size / 2**20
            print(f"wrote {n:,} XLSX rows ({size:.0f} MiB) in {time.perf_counter() - started:.1f} s")
            best("xlsx_baseline_calamine", calamine_read, str(xlsx_path))
            best("xlsx_engine", engine_standardize, str(xlsx_path))
            if baseline:
                best("xlsx_engine_at_ref", engine_standardize, str(xlsx_path), baseline)
    figures["load_at_end"] = _load()
    print(json.dumps(summarise(figures), ensure_ascii=False))


def _beyond_result(stage: dict[str, Any]) -> float:
    """Peak memory of a standardize stage beyond its interpreter and its result table."""
    return max(stage["peak_mib"] - stage["base_mib"] - stage["table_mib"], 1.0)


def summarise(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures, the ratios to the baselines, and each target with pass / fail."""
    engine, quarter, base = figures["csv_engine"], figures["csv_engine_quarter"], figures["csv_baseline_duckdb"]
    figures["csv_ratio_to_duckdb"] = round(engine["rows_per_second"] / max(base["rows_per_second"], 1), 3)
    figures["csv_peak_growth_quarter_to_full"] = round(engine["peak_mib"] / max(quarter["peak_mib"], 1), 2)
    figures["csv_memory_beyond_result_growth_quarter_to_full"] = round(
        _beyond_result(engine) / _beyond_result(quarter), 2
    )
    stage, stage_quarter = figures["csv_stage"], figures["csv_stage_quarter"]
    growth = round(stage["peak_mib"] / max(stage_quarter["peak_mib"], 1), 2)
    if "csv_do_import_feed_quarter" in figures:
        whole, whole_quarter = figures["csv_do_import_feed"], figures["csv_do_import_feed_quarter"]
        figures["csv_import_sandbox_peak_growth_quarter_to_full"] = round(
            whole["sandbox_peak_mib"] / max(whole_quarter["sandbox_peak_mib"], 1), 2
        )
        figures["csv_import_parent_peak_growth_quarter_to_full"] = round(
            whole["peak_mib"] / max(whole_quarter["peak_mib"], 1), 2
        )
    targets: dict[str, Any] = {
        "csv_rows_per_second": {
            "target": f">= {TARGETS['csv_rows_per_second']}",
            "measured": engine["rows_per_second"],
            "pass": engine["rows_per_second"] >= TARGETS["csv_rows_per_second"],
        },
        "csv_standardize_and_write_peak_growth_quarter_to_full": {
            "target": f"<= {MEMORY_GROWTH_LIMIT}",
            "measured": growth,
            "pass": growth <= MEMORY_GROWTH_LIMIT,
            "peak_mib": [stage_quarter["peak_mib"], stage["peak_mib"]],
        },
    }
    if "csv_engine_at_ref" in figures:
        figures["csv_speedup_over_ref"] = round(
            engine["rows_per_second"] / figures["csv_engine_at_ref"]["rows_per_second"], 2
        )
    if "xlsx_engine" in figures:
        xlsx = figures["xlsx_engine"]
        figures["xlsx_ratio_to_calamine"] = round(
            xlsx["rows_per_second"] / max(figures["xlsx_baseline_calamine"]["rows_per_second"], 1), 3
        )
        targets["xlsx_rows_per_second"] = {
            "target": f">= {TARGETS['xlsx_rows_per_second']}",
            "measured": xlsx["rows_per_second"],
            "pass": xlsx["rows_per_second"] >= TARGETS["xlsx_rows_per_second"],
        }
        if "xlsx_engine_at_ref" in figures:
            figures["xlsx_speedup_over_ref"] = round(
                xlsx["rows_per_second"] / figures["xlsx_engine_at_ref"]["rows_per_second"], 2
            )
    if "linkage" in figures:
        link = figures["linkage"]
        targets["linkage_seconds"] = {
            "target": f"< {TARGETS['linkage_seconds']:.0f}",
            "rows": link["rows"],
            "registry_members": link["registry_members"],
            "measured": link["seconds"],
            "pass": link["seconds"] < TARGETS["linkage_seconds"],
        }
    figures["targets"] = targets
    figures["all_targets_pass"] = all(t["pass"] for t in targets.values())
    return figures


if __name__ == "__main__":
    main()
