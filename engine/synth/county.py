"""Generate a synthetic county: clean registry files, one year of department feeds with planted
shocks and noise, and a ground truth that holds no ID number."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import multiprocessing
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from engine.schemas.feeds import FEED_SCHEMAS
from engine.schemas.monitoring import MONITORING_RECORDS
from engine.schemas.registry import REGISTRY_ACCOUNTS, REGISTRY_MEMBERS
from engine.synth.divisions import DIVISIONS_DIR, County, load_county
from engine.synth.feeds import GENERATORS, Context, plan_deaths, plan_serious
from engine.synth.monitoring import roster
from engine.synth.names import NamePool
from engine.synth.population import Household, IdAllocator, add_illness_of_disabled, build_households
from engine.synth.profiles import profile_for
from engine.synth.writers import FeedWriter, NoiseRow, TruthRow, Written

PARALLEL_XLSX_FROM = 5_000  # households

GENERATOR_VERSION = "1.0"
STEPS_PER_HOUSEHOLD = 2  # progress units: one per household built, one per household of feeds
MAX_HOUSEHOLDS = 2_000_000

Progress = Callable[[int], object]


@dataclass
class SynthSummary:
    county_code: str
    county_name: str
    year: int
    seed: int
    households: int
    members: int
    living_members: int
    villages: int
    escaped_households: int
    monitored_households: int
    files: dict[str, dict[str, object]] = field(default_factory=dict)
    shocks: dict[str, int] = field(default_factory=dict)
    noise: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    out_dir: str = ""

    @property
    def households_per_second(self) -> float:
        return self.households / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        d["households_per_second"] = round(self.households_per_second, 1)
        return d


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def _d(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else str(value))


def write_registry(households: list[Household], out_dir: Path, year: int) -> dict[Household, int]:
    """registry_members.csv and registry_accounts.csv (UTF-8 with BOM, Chinese labels as headers).

    Returns the line of each household's `year` row in registry_accounts.csv.
    """
    rows: list[list[str]] = [[c.label for c in REGISTRY_MEMBERS.columns]]
    for hh in households:
        household = [
            hh.number,
            hh.village.code,
            hh.address,
            hh.phone,
            hh.household_type,
            hh.poverty_exit_year,
            hh.monitoring_category,
            hh.monitoring_state,
            hh.housing_grade,
            _d(hh.housing_appraised_on),
            *hh.water,
            hh.food_clothing_ok,
        ]
        for m in hh.members:
            rows.append(
                [
                    *household,
                    m.name,
                    m.id_number,
                    m.relationship,
                    m.ethnicity,
                    m.education,
                    m.school_status,
                    m.health_text,
                    m.disability_type,
                    m.disability_grade,
                    m.labour,
                    m.work_status,
                    m.work_place,
                    m.medical_insurance,
                    m.pension_insurance,
                    m.dibao,
                    m.tekun,
                    _d(m.death_date),
                ]
            )
    assert len(rows[0]) == len(rows[1]) if len(rows) > 1 else True
    (out_dir / "registry_members.csv").write_bytes(_csv_bytes(rows))
    names = [c.name for c in REGISTRY_ACCOUNTS.columns]
    acc: list[list[str]] = [[c.label for c in REGISTRY_ACCOUNTS.columns]]
    lines: dict[Household, int] = {}
    for hh in households:
        for y in sorted(hh.accounts):
            values = {"household_number": hh.number, "year": y, **hh.accounts[y]}
            acc.append([str(values[n]) for n in names])
            if y == year:
                lines[hh] = len(acc)
    (out_dir / "registry_accounts.csv").write_bytes(_csv_bytes(acc))
    return lines


def write_monitoring_roster(households: list[Household], out_dir: Path, year: int) -> int:
    """monitoring_records.csv: the households already monitored or risk-eliminated."""
    rows = roster(households, year)
    names = [c.name for c in MONITORING_RECORDS.columns]
    table = [[c.label for c in MONITORING_RECORDS.columns], *([r[n] for n in names] for r in rows)]
    (out_dir / "monitoring_records.csv").write_bytes(_csv_bytes(table))
    return len(rows)


def _per_capita(account: dict[str, int]) -> float:
    net = (
        account["wage_income"]
        + account["operating_income"]
        - account["operating_cost"]
        + account["property_income"]
        + account["transfer_income"]
    )
    return net / max(1, account["population"])


def generate_county(
    county_code: str,
    households: int,
    seed: int,
    out_dir: Path,
    year: int = 2025,
    progress: Progress | None = None,
    divisions_dir: Path = DIVISIONS_DIR,
) -> SynthSummary:
    """Write a synthetic county into `out_dir` (created if missing); same arguments, same bytes.

    Raises ValueError (UnknownCountyError for the county) with a Chinese message on bad input.
    `progress(n)` is called with increments; the total is households × STEPS_PER_HOUSEHOLD.
    """
    started = time.perf_counter()
    if not isinstance(households, int) or households < 1:
        raise ValueError(f"户数应为正整数：{households!r}")
    if households > MAX_HOUSEHOLDS:
        raise ValueError(f"户数不能超过 {MAX_HOUSEHOLDS}：{households}")
    if not 2016 <= year <= 2100:
        raise ValueError(f"年度应在 2016–2100 之间：{year}")
    county: County = load_county(county_code, divisions_dir)
    profile = profile_for(county.code)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "feeds").mkdir(exist_ok=True)
    (out_dir / "truth").mkdir(exist_ok=True)

    names = NamePool(seed, county.code)
    ids = IdAllocator(county.code, random.Random(f"{seed}:{county.code}:{year}:ids"))
    hhs = build_households(
        county, profile, names, households, year, random.Random(f"{seed}:{county.code}:{year}:registry"), ids, progress
    )
    add_illness_of_disabled(hhs, random.Random(f"{seed}:{county.code}:{year}:comorbidity"))
    ctx = Context(county=county, profile=profile, year=year, seed=seed, households=hhs, names=names, ids=ids)
    plan_deaths(ctx)
    plan_serious(ctx)
    written: list[Written] = []
    share, done = households // len(GENERATORS), 0
    # openpyxl is the slowest part: on a big county write the XLSX files in a second process
    # while the rest is generated (same bytes either way).
    executor = _xlsx_executor(households)
    try:
        for i, (kind, generate) in enumerate(GENERATORS):
            schema = FEED_SCHEMAS[kind]
            for spec, records in generate(ctx):
                writer = FeedWriter(schema, spec, ctx.rng(f"write:{spec.filename}"))
                written.append(writer.write(records, out_dir / "feeds", executor))
            step = households - done if i == len(GENERATORS) - 1 else share
            done += step
            if progress is not None and step:
                progress(step)
        shocks, noise = _finish_registry_and_truth(ctx, out_dir, written)
        for w in written:
            w.wait()
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)

    members = sum(len(hh.members) for hh in hhs)
    summary = SynthSummary(
        county_code=county.code,
        county_name=county.name,
        year=year,
        seed=seed,
        households=households,
        members=members,
        living_members=sum(len(hh.living) for hh in hhs),
        villages=len({hh.village.code for hh in hhs}),
        escaped_households=sum(1 for hh in hhs if hh.escaped),
        monitored_households=sum(1 for hh in hhs if hh.monitored),
        files={
            "registry_members.csv": {"rows": members, "format": "csv", "encoding": "utf-8-sig"},
            "registry_accounts.csv": {"rows": 2 * households, "format": "csv", "encoding": "utf-8-sig"},
            "monitoring_records.csv": {"rows": len(roster(hhs, year)), "format": "csv", "encoding": "utf-8-sig"},
            **{
                f"feeds/{w.spec.filename}": {
                    "kind": w.spec.kind,
                    "rows": w.data_rows,
                    "lines": w.lines,
                    "format": w.spec.fmt,
                    "encoding": w.encoding,
                    "title_rows": len(w.spec.titles),
                    "header_line": len(w.spec.titles) + 1,
                    "date_style": w.spec.date_style,
                    "amount_style": w.spec.amount_style,
                }
                for w in written
            },
        },
        shocks=dict(sorted(Counter(t.shock_type for t in shocks).items())),
        noise=dict(sorted(Counter(n.noise_type for n in noise).items())),
        out_dir=str(out_dir),
    )
    manifest = {
        "generator": "engine.synth",
        "generator_version": GENERATOR_VERSION,
        "arguments": {"county": county.code, "households": households, "seed": seed, "year": year},
        "county": {
            "code": county.code,
            "name": county.name,
            "city": county.city_name,
            "province": county.province_name,
            "villages_in_county": len(county.villages),
        },
        "profile": dataclasses.asdict(profile),
        "counts": {
            k: v for k, v in summary.to_dict().items() if k not in ("seconds", "out_dir", "households_per_second")
        },
        "truth": {"shocks.csv": len(shocks), "noise.csv": len(noise)},
        "notes": "No ID number appears under truth/. Lines are 1-based physical CSV lines or XLSX sheet rows.",
    }
    (out_dir / "truth" / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _xlsx_executor(households: int) -> ProcessPoolExecutor | None:
    """A one-worker process pool for openpyxl on big counties, when a spawned child can start:
    spawn re-imports the main script, which an interactive or stdin session does not have."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if households < PARALLEL_XLSX_FROM or not main_file or not Path(main_file).is_file():
        return None
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def _write_truth(out_dir: Path, shocks: list[TruthRow], noise: list[NoiseRow]) -> None:
    shock_rows = [
        [
            "feed_kind",
            "file",
            "line",
            "household_number",
            "person_key",
            "village_code",
            "shock_type",
            "event_date",
            "figures",
        ]
    ]
    shock_rows += [
        [
            t.kind,
            t.file,
            str(t.line),
            t.household_number,
            t.person_key,
            t.village_code,
            t.shock_type,
            t.event_date,
            t.figures,
        ]
        for t in shocks
    ]
    (out_dir / "truth" / "shocks.csv").write_bytes(_csv_bytes(shock_rows))
    noise_rows = [["feed_kind", "file", "line", "person_key", "noise_type"]]
    noise_rows += [[n.kind, n.file, str(n.line), n.person_key, n.noise_type] for n in noise]
    (out_dir / "truth" / "noise.csv").write_bytes(_csv_bytes(noise_rows))


def _finish_registry_and_truth(
    ctx: Context, out_dir: Path, written: list[Written]
) -> tuple[list[TruthRow], list[NoiseRow]]:
    """Apply the income drops, write the registry files and truth/shocks.csv, truth/noise.csv."""
    year, hhs = ctx.year, ctx.households
    # income drops seen in the accounts (务工返乡, 失业, a labourer's death): the year's wage falls
    rng = ctx.rng("income-drops")
    for hh, _cause in ctx.income_drops.items():
        current = hh.accounts[year]
        previous = hh.accounts[year - 1]
        current["wage_income"] = round(previous["wage_income"] * rng.uniform(0.3, 0.6))
    account_lines = write_registry(hhs, out_dir, year)
    write_monitoring_roster(hhs, out_dir, year)
    line = ctx.profile.monitoring_line
    registry_shocks: list[TruthRow] = []
    for hh in hhs:
        before, now = _per_capita(hh.accounts[year - 1]), _per_capita(hh.accounts[year])
        figures = f"per_capita_{year - 1}={before:.2f};per_capita_{year}={now:.2f}"
        if hh in ctx.income_drops:
            registry_shocks.append(
                _account_shock(hh, account_lines[hh], year, "income_drop", f"{ctx.income_drops[hh]};{figures}")
            )
        if hh.monitoring_state == "未纳入" and now < line:
            registry_shocks.append(
                _account_shock(
                    hh, account_lines[hh], year, "income_below_line_unmonitored", f"line={line:.2f};{figures}"
                )
            )

    shocks = [t for w in written for t in w.shocks] + registry_shocks
    noise = [n for w in written for n in w.noise]
    _write_truth(out_dir, shocks, noise)
    return shocks, noise


def _account_shock(hh: Household, line: int, year: int, shock_type: str, figures: str) -> TruthRow:
    return TruthRow(
        kind="registry_accounts",
        file="registry_accounts.csv",
        line=line,
        household_number=hh.number,
        person_key="",
        village_code=hh.village.code,
        shock_type=shock_type,
        event_date=f"{year}-12-31",
        figures=figures,
    )
