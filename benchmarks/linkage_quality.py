"""Linkage quality: precision, recall and F1 of `engine.linkage`, and its speed.

    uv run python benchmarks/linkage_quality.py [--households 30000] [--seed 1] [--skip-febrl]

(a) The synthetic county: a county is generated in a temporary directory; the registry is
    read from registry_members.csv (ID numbers hashed with a throw-away key, then dropped —
    no raw ID is written anywhere); every feed with person rows is read with engine.tabular
    (title rows, encodings, XLSX), each row's ID hashed when it parses (missing or invalid →
    null hash; birth date and sex kept from the first 17 digits of an ID that fails only its
    check digit), and all rows linked in one batch. Ground truth: truth/noise.csv names the
    person of every row with planted noise (and `not_in_registry` rows have none); a row
    without ID noise carries its person's true ID, so its member is the one with that hash.
(b) FEBRL 4 (data/febrl/, 5,000 originals in A, one corrupted copy of each in B): a Splink
    model on names, date of birth, address and soc_sec_id, u by random sampling and m by
    expectation maximisation, each A record linked to its best B record.

A prediction is a link with status `accepted`; a true positive is an accepted link to the
right member. Rows sent to review count as not linked (they are neither TP nor FP; the review
share is reported). Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.ids import IDNumberError, normalize_text, parse_id_number  # noqa: E402
from engine.linkage import find_duplicate_persons, link_records  # noqa: E402
from engine.parsing import ParseError, parse_date  # noqa: E402
from engine.protect import Protector  # noqa: E402
from engine.schema import Column, ColumnType, TableSchema  # noqa: E402
from engine.schemas.feeds import FEED_SCHEMAS  # noqa: E402
from engine.schemas.registry import REGISTRY_MEMBERS  # noqa: E402
from engine.synth import generate_county, load_county  # noqa: E402
from engine.synth.names import homophone_typo  # noqa: E402
from engine.tabular import open_table  # noqa: E402

FEBRL_DIR = ROOT / "data" / "febrl"
COUNTY = "522630"
# Columns some department files carry beyond their schema; linkage uses them when present.
LINKAGE_EXTRAS = (
    Column("sex", "性别"),
    Column("birth_date", "出生日期", ColumnType.DATE),
    Column("township", "乡镇（街道）", aliases=("乡镇(街道)", "乡镇")),
    Column("village", "所在村", aliases=("村名称",)),
)


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 5), "recall": round(r, 5), "f1": round(f, 5), "tp": tp, "fp": fp, "fn": fn}


# --------------------------------------------------------------------------------- synthetic
@dataclass
class FeedRow:
    file: str
    line: int
    id_hash: str | None
    name: str | None
    birth_date: dt.date | None
    sex: str | None
    village_code: str | None
    township_code: str | None


def read_registry(path: Path, protector: Protector) -> tuple[pa.Table, dict[str, int], dict[str, int]]:
    """Registry Arrow table, and person_key → member_key and id_hash → member_key maps."""
    label = {c.label: c.name for c in REGISTRY_MEMBERS.columns}
    keys: list[int] = []
    hashes: list[str] = []
    names: list[str] = []
    births: list[dt.date] = []
    sexes: list[str] = []
    villages: list[str] = []
    households: list[int] = []
    person: dict[str, int] = {}
    by_hash: dict[str, int] = {}
    household_keys: dict[str, int] = {}
    position: Counter[str] = Counter()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [label.get(h, h) for h in next(reader)]
        at = {name: i for i, name in enumerate(header)}
        for row in reader:
            number = row[at["household_number"]]
            position[number] += 1
            member_key = len(keys) + 1
            idn = parse_id_number(row[at["id_number"]])
            h = protector.hash(idn.value)
            keys.append(member_key)
            hashes.append(h)
            names.append(row[at["name"]])
            births.append(idn.birth_date)
            sexes.append(idn.sex)
            villages.append(row[at["village_code"]])
            households.append(household_keys.setdefault(number, len(household_keys) + 1))
            person[f"{number}-{position[number]:02d}"] = member_key
            by_hash[h] = member_key
    table = pa.table(
        {
            "member_key": pa.array(keys, pa.int64()),
            "id_hash": pa.array(hashes, pa.string()),
            "name": pa.array(names, pa.string()),
            "birth_date": pa.array(births, pa.date32()),
            "sex": pa.array(sexes, pa.string()),
            "village_code": pa.array(villages, pa.string()),
            "household_key": pa.array(households, pa.int64()),
        }
    )
    return table, person, by_hash


def _hint_from_invalid_id(raw: Any) -> tuple[dt.date | None, str | None]:
    """Birth date and sex from an ID that fails only its check digit (digits 7–17 intact)."""
    value = normalize_text(str(raw))
    if len(value) == 18 and value[:17].isdigit():
        try:
            return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14])), ("M" if int(value[16]) % 2 else "F")
        except ValueError:
            pass
    return None, None


def read_feeds(feeds_dir: Path, protector: Protector) -> list[FeedRow]:
    county = load_county(COUNTY)
    village_by_name: dict[str, set[str]] = defaultdict(set)
    village_by_pair: dict[tuple[str, str], str] = {}
    township_by_name: dict[str, str] = {}
    for v in county.villages:
        village_by_name[v.short_name].add(v.code)
        village_by_pair[(v.township_name, v.short_name)] = v.code
        township_by_name[v.township_name] = v.township_code
    rows: list[FeedRow] = []
    for path in sorted(feeds_dir.iterdir()):
        kind = next((k for k in sorted(FEED_SCHEMAS, key=len, reverse=True) if path.name.startswith(k)), None)
        if kind is None and path.name.startswith("deaths"):
            kind = "deaths"
        if kind is None or kind == "water_safety":
            continue
        base = FEED_SCHEMAS[kind]
        have = {c.name for c in base.columns}
        schema = TableSchema(
            base.kind, base.label, base.columns + tuple(c for c in LINKAGE_EXTRAS if c.name not in have)
        )
        table = open_table(path, schema)
        for raw in table.rows():
            cells = raw.cells
            line = int(raw.line.rsplit("!", 1)[-1])
            id_hash = birth = sex = None
            id_cell = cells.get("id_number")
            if id_cell not in (None, ""):
                try:
                    idn = parse_id_number(str(id_cell))
                    id_hash, birth, sex = protector.hash(idn.value), idn.birth_date, idn.sex
                except IDNumberError as exc:
                    if exc.code == "check_digit":
                        birth, sex = _hint_from_invalid_id(id_cell)
            if cells.get("birth_date") not in (None, ""):
                with contextlib.suppress(ParseError):
                    birth = parse_date(cells["birth_date"])
            sex = cells.get("sex") or sex
            township_name = str(cells.get("township") or "").strip()
            village_name = str(cells.get("village") or "").strip()
            village = village_by_pair.get((township_name, village_name))
            if village is None and len(village_by_name.get(village_name, ())) == 1:
                village = next(iter(village_by_name[village_name]))
            township = township_by_name.get(township_name)
            name = cells.get("name")
            rows.append(
                FeedRow(
                    path.name,
                    line,
                    id_hash,
                    str(name) if name not in (None, "") else None,
                    birth,
                    str(sex) if sex else None,
                    village,
                    township,
                )
            )
    return rows


def read_truth(truth_dir: Path) -> tuple[dict[tuple[str, int], str | None], dict[tuple[str, int], set[str]]]:
    """(file, line) → person_key (None: not in the registry) for rows with noise, and noise types."""
    person: dict[tuple[str, int], str | None] = {}
    noise: dict[tuple[str, int], set[str]] = defaultdict(set)
    with (truth_dir / "noise.csv").open(encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            if rec["noise_type"] in ("title_row", "blank_row", "totals_row"):
                continue
            key = (rec["file"], int(rec["line"]))
            noise[key].add(rec["noise_type"])
            if rec["noise_type"] == "not_in_registry":
                person[key] = None
            elif rec["person_key"]:
                person.setdefault(key, rec["person_key"])
    return person, noise


def evidence(r: FeedRow) -> str:
    """What a row offers besides its name: birth date first, then village, township, sex."""
    if r.birth_date:
        return "name+birth_date"
    if r.village_code:
        return "name+village"
    if r.township_code:
        return "name+township"
    return "name+sex" if r.sex else "name_only"


def plant_duplicates(registry: pa.Table, seed: int, share: float = 0.002) -> tuple[pa.Table, set[tuple[int, int]]]:
    """The registry plus copies of a few members (一人多户): a new member and household key, another
    ID, half of them with a homophone typo in the name, half of them in another village."""
    rng = random.Random(f"duplicates:{seed}")
    rows = registry.to_pylist()
    villages = sorted({r["village_code"] for r in rows})
    next_key = max(r["member_key"] for r in rows) + 1
    next_household = max(r["household_key"] for r in rows) + 1
    planted: set[tuple[int, int]] = set()
    copies = []
    for r in rng.sample(rows, max(1, int(len(rows) * share))):
        copy = dict(r, member_key=next_key, household_key=next_household, id_hash=f"planted-{next_key}")
        if rng.random() < 0.5:
            copy["name"] = homophone_typo(r["name"], rng) or r["name"]
        if rng.random() < 0.5:
            copy["village_code"] = rng.choice(villages)
        copies.append(copy)
        planted.add((r["member_key"], next_key))
        next_key += 1
        next_household += 1
    return pa.Table.from_pylist(rows + copies, schema=registry.schema), planted


def threshold_sweep(best: list[tuple[float, bool]], positives: int, tp0: int, fp0: int) -> dict[str, Any]:
    """P/R/F1 of the probabilistic rows had `accept` been another value (review rows included
    in `best`, accepted ones too; a lower threshold only ever adds review rows)."""
    out: dict[str, Any] = {}
    base_right = sum(1 for p, ok in best if p >= 0.95 and ok)
    base_wrong = sum(1 for p, ok in best if p >= 0.95 and not ok)
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99):
        right = sum(1 for p, ok in best if p >= threshold and ok)
        wrong = sum(1 for p, ok in best if p >= threshold and not ok)
        tp = tp0 - base_right + right
        fp = fp0 - base_wrong + wrong
        out[str(threshold)] = prf(tp, fp, positives - tp)
    return out


def synthetic(households: int, seed: int) -> dict[str, Any]:
    protector = Protector("aes", os.urandom(32), os.urandom(32))  # throw-away keys
    with tempfile.TemporaryDirectory(prefix="shouwang-linkage-") as tmp:
        out = Path(tmp)
        t = time.perf_counter()
        generate_county(COUNTY, households=households, seed=seed, out_dir=out)
        gen_s = time.perf_counter() - t
        t = time.perf_counter()
        registry, person_member, hash_member = read_registry(out / "registry_members.csv", protector)
        rows = read_feeds(out / "feeds", protector)
        truth_person, noise = read_truth(out / "truth")
        read_s = time.perf_counter() - t
    feed = pa.table(
        {
            "row_id": pa.array(range(1, len(rows) + 1), pa.int64()),
            "id_hash": pa.array([r.id_hash for r in rows], pa.string()),
            "name": pa.array([r.name for r in rows], pa.string()),
            "birth_date": pa.array([r.birth_date for r in rows], pa.date32()),
            "sex": pa.array([r.sex for r in rows], pa.string()),
            "village_code": pa.array([r.village_code for r in rows], pa.string()),
            "township_code": pa.array([r.township_code for r in rows], pa.string()),
        }
    )
    t = time.perf_counter()
    result = link_records(feed, registry)
    link_s = time.perf_counter() - t
    with_dups, planted = plant_duplicates(registry, seed)
    t = time.perf_counter()
    duplicates = find_duplicate_persons(with_dups)
    dup_s = time.perf_counter() - t
    pairs = duplicates.select(["member_key_l", "member_key_r"]).to_pydict()
    listed = set(zip(pairs["member_key_l"], pairs["member_key_r"], strict=True))
    dup_quality = prf(len(listed & planted), len(listed - planted), len(planted - listed))

    # the true member of every row
    truth: list[int | None] = []
    unknown = 0
    for r in rows:
        key = (r.file, r.line)
        if key in truth_person:
            pk = truth_person[key]
            truth.append(person_member[pk] if pk is not None else None)
        elif r.id_hash is not None and r.id_hash in hash_member:
            truth.append(hash_member[r.id_hash])
        else:
            truth.append(None)
            unknown += 1  # a row without recorded noise whose ID matches nobody: should not happen
    links = result.links.to_pydict()
    overall = Counter[str]()
    prob = Counter[str]()
    noisy = Counter[str]()  # rows with planted noise in their ID or name (or not in the registry)
    sweep: list[tuple[float, bool]] = []
    by_noise: dict[str, Counter[str]] = defaultdict(Counter)
    by_file: dict[str, Counter[str]] = defaultdict(Counter)
    for i, r in enumerate(rows):
        want = truth[i]
        got = links["member_key"][i] if links["status"][i] == "accepted" else None
        outcome = Counter[str]()
        if got is not None and got == want:
            outcome["tp"] += 1
        else:
            if got is not None:
                outcome["fp"] += 1
            if want is not None:
                outcome["fn"] += 1
        if links["status"][i] == "review":
            outcome["review"] += 1
            outcome["review_right"] += int(links["member_key"][i] == want and want is not None)
        outcome["rows"] += 1
        outcome["accepted"] += int(links["status"][i] == "accepted")
        overall.update(outcome)
        by_file[r.file].update(outcome)
        if links["method"][i] == "probabilistic":
            prob.update(outcome)
            kinds = noise.get((r.file, r.line), set()) & {"id_missing", "id_check_digit", "not_in_registry"}
            label = next(iter(sorted(kinds)), "other")
            by_noise[label].update(outcome)
            if label == "id_missing":
                by_noise[f"id_missing/{evidence(r)}"].update(outcome)
        for k in noise.get((r.file, r.line), set()) & {"name_homophone", "name_whitespace"}:
            by_noise[k].update(outcome)
        if noise.get((r.file, r.line), set()) - {"duplicate_row"}:
            noisy.update(outcome)
        if links["method"][i] == "probabilistic" and links["status"][i] in ("accepted", "review"):
            # for the threshold sweep: the best candidate and its normalised probability
            sweep.append((links["match_probability"][i], links["member_key"][i] == want))

    def block(c: Counter[str]) -> dict[str, Any]:
        # recall if reviewers accept every right candidate offered to them
        with_review = (c["tp"] + c["review_right"]) / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        return {
            **prf(c["tp"], c["fp"], c["fn"]),
            "rows": c["rows"],
            "review": c["review"],
            "recall_after_review": round(with_review, 5),
        }

    return {
        "households": households,
        "seed": seed,
        "registry_members": registry.num_rows,
        "feed_rows": feed.num_rows,
        "rows_without_truth": unknown,
        "overall": block(overall),
        "probabilistic": block(prob),
        "noisy_rows": block(noisy),
        "accept_threshold_sweep": threshold_sweep(sweep, prob["tp"] + prob["fn"], prob["tp"], prob["fp"]),
        "by_noise": {k: block(v) for k, v in sorted(by_noise.items())},
        "match_rate_by_file": {f: round(c["accepted"] / c["rows"], 4) for f, c in sorted(by_file.items()) if c["rows"]},
        "link": result.summary(),
        "candidates_per_probabilistic_row": round(
            sum(c for c, m in zip(links["candidates"], links["method"], strict=True) if m == "probabilistic")
            / max(1, prob["rows"]),
            2,
        ),
        "duplicates": {**dup_quality, "planted": len(planted), "listed": len(listed)},
        "duplicate_pairs_by_reason": dict(Counter(duplicates.column("reason").to_pylist())),
        "seconds": {
            "generate": round(gen_s, 2),
            "read_and_hash": round(read_s, 2),
            "link": round(link_s, 2),
            "duplicates": round(dup_s, 2),
        },
        "rows_per_second": round(feed.num_rows / link_s) if link_s else None,
    }


# --------------------------------------------------------------------------------- FEBRL 4
def febrl() -> dict[str, Any]:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    def load(name: str) -> pa.Table:
        with (FEBRL_DIR / name).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, skipinitialspace=True)
            header = [h.strip() for h in next(reader)]
            cols: dict[str, list[str | None]] = {h: [] for h in header}
            for row in reader:
                for h, v in zip(header, row, strict=True):
                    cols[h].append(v.strip() or None)
        table = pa.table({h: pa.array(v, pa.string()) for h, v in cols.items()})
        return table.append_column("unique_id", table.column("rec_id"))

    a, b = load("dataset4a.csv"), load("dataset4b.csv")
    t = time.perf_counter()
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    db_api = DuckDBAPI(con)
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
            block_on("surname", "suburb"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(
        [db_api.register(a, table_name="febrl_a"), db_api.register(b, table_name="febrl_b")], settings, log_level=None
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id", "date_of_birth"), block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    for rule in (block_on("date_of_birth"), block_on("given_name", "surname"), block_on("soc_sec_id")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
    predictions = linker.inference.predict(threshold_match_probability=0.01, warning_mode="never")
    # one best B record per A record (and each B at most once: the best-scoring pair wins)
    best = con.sql(
        f"""
        WITH p AS (
            SELECT CASE WHEN source_dataset_l = 'febrl_a' THEN unique_id_l ELSE unique_id_r END AS a,
                   CASE WHEN source_dataset_l = 'febrl_a' THEN unique_id_r ELSE unique_id_l END AS b,
                   match_probability
            FROM {predictions.physical_name}
        ), ra AS (
            SELECT *, row_number() OVER (PARTITION BY a ORDER BY match_probability DESC, b) AS rank_a,
                      row_number() OVER (PARTITION BY b ORDER BY match_probability DESC, a) AS rank_b
            FROM p
        )
        SELECT a, b FROM ra WHERE rank_a = 1 AND rank_b = 1 AND match_probability >= 0.5
        """  # noqa: S608
    ).fetchall()
    seconds = time.perf_counter() - t
    con.close()

    def rec(uid: str) -> str:
        return uid.split("-")[1]

    tp = sum(1 for x, y in best if rec(x) == rec(y))
    fp = len(best) - tp
    fn = a.num_rows - tp  # every A record has exactly one true partner in B
    return {**prf(tp, fp, fn), "records_a": a.num_rows, "records_b": b.num_rows, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if not args.skip_synthetic:
        s = synthetic(args.households, args.seed)
        report["synthetic"] = s
        print(
            f"synthetic county {COUNTY}: {s['households']} households, {s['registry_members']} members, "
            f"{s['feed_rows']} feed rows"
        )
        for part in ("overall", "probabilistic"):
            m = s[part]
            print(
                f"  {part:14} P={m['precision']:.4f} R={m['recall']:.4f} F1={m['f1']:.4f} "
                f"(rows {m['rows']}, tp {m['tp']}, fp {m['fp']}, fn {m['fn']}, review {m['review']}, "
                f"recall after review {m['recall_after_review']:.4f})"
            )
        m = s["noisy_rows"]
        print(
            f"  {'noisy rows':14} P={m['precision']:.4f} R={m['recall']:.4f} F1={m['f1']:.4f} "
            f"(rows {m['rows']}, fp {m['fp']}, fn {m['fn']}, review {m['review']})"
        )
        for t, m in s["accept_threshold_sweep"].items():
            print(
                f"    probabilistic rows if accept={t:<5} P={m['precision']:.4f} R={m['recall']:.4f} F1={m['f1']:.4f}"
            )
        for k, m in s["by_noise"].items():
            print(
                f"    {k:28} P={m['precision']:.4f} R={m['recall']:.4f} F1={m['f1']:.4f} "
                f"(rows {m['rows']}, fp {m['fp']}, fn {m['fn']}, review {m['review']}, "
                f"recall after review {m['recall_after_review']:.4f})"
            )
        print(f"  link: {s['link']}; {s['candidates_per_probabilistic_row']} candidates per probabilistic row")
        d = s["duplicates"]
        print(
            f"  duplicates (一人多户), {d['planted']} planted: P={d['precision']:.4f} R={d['recall']:.4f} "
            f"F1={d['f1']:.4f}, {d['listed']} pairs listed {s['duplicate_pairs_by_reason']}"
        )
        print(f"  seconds: {s['seconds']}  →  {s['rows_per_second']} feed rows/s")
    if not args.skip_febrl:
        f = febrl()
        report["febrl4"] = f
        print(
            f"febrl4 A→B: P={f['precision']:.4f} R={f['recall']:.4f} F1={f['f1']:.4f} "
            f"(tp {f['tp']}, fp {f['fp']}, fn {f['fn']}) in {f['seconds']} s"
        )
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
