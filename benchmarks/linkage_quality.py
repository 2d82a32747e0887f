"""Linkage quality: precision, recall and F1 of the feed import's linkage, and its speed.

    uv run python benchmarks/linkage_quality.py [--households 30000] [--seed 1] [--skip-febrl]

(a) The synthetic county, through the importer's own code path. A county is generated in a
    temporary directory; its registry is read from registry_members.csv (ID numbers hashed
    with a throw-away key, then dropped — no raw ID is written anywhere); every feed file with
    people in it goes, one file per batch as in the app, through `engine.feeds.standardize_feed`
    (the default columnar path: a wrong check digit is rejected, a blank ID with a name kept),
    `engine.feeds.link_exact` and `engine.feeds.linking.link_probabilistic` (the county's
    divisions resolve 所在村 / 乡镇（街道） / addresses), exactly what `do_import_feed` calls.
    Ground truth: truth/noise.csv names the person of every row with planted noise (and
    `not_in_registry` rows have none); a row without noise carries its person's true ID, so its
    member is the one with that hash.
(b) FEBRL 4 (data/febrl/, 5,000 originals in A, one corrupted copy of each in B), through
    `engine.linkage`: a `LinkSettings` for FEBRL's columns whose m/u `estimate_settings`
    estimates from A and B without labels, then `link_records` (all A rows one group: each B
    record is linked at most once).

A prediction is a link the importer stores as `exact` or `probabilistic`; a true positive is a
link to the right member. Rows sent to review count as not linked (neither TP nor FP; the
review share and the recall if reviewers chose the first candidate are reported). Rows the
importer rejects (a wrong check digit …) are reported separately, and counted as missed in the
"end to end" figure. Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.feeds import link_exact, standardize_feed  # noqa: E402
from engine.feeds.linking import LinkStatus, link_probabilistic, linkage_feed  # noqa: E402
from engine.ids import parse_id_number  # noqa: E402
from engine.linkage import (  # noqa: E402
    PLACES_SCHEMA,
    ComparisonSpec,
    Level,
    LinkSettings,
    estimate_settings,
    find_duplicate_persons,
    link_records,
)
from engine.protect import Protector  # noqa: E402
from engine.schemas.feeds import FEED_SCHEMAS  # noqa: E402
from engine.schemas.registry import REGISTRY_MEMBERS  # noqa: E402
from engine.synth import generate_county  # noqa: E402
from engine.synth.names import homophone_typo  # noqa: E402

FEBRL_DIR = ROOT / "data" / "febrl"
DIVISIONS_DIR = ROOT / "data" / "divisions"
COUNTY = "522630"
ID_NOISE = ("id_missing", "id_check_digit", "not_in_registry")
REJECTED = "rejected by the importer"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 5), "recall": round(r, 5), "f1": round(f, 5), "tp": tp, "fp": fp, "fn": fn}


# --------------------------------------------------------------------------------- synthetic
def read_registry(path: Path, protector: Protector) -> tuple[pa.Table, dict[str, int], dict[str, int]]:
    """Registry Arrow table (as `member_snapshot` gives it), and person_key → member_key and
    id_hash → member_key maps."""
    label = {c.label: c.name for c in REGISTRY_MEMBERS.columns}
    cols: dict[str, list[Any]] = defaultdict(list)
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
            member_key = len(cols["member_key"]) + 1
            idn = parse_id_number(row[at["id_number"]])
            h = protector.hash(idn.value)
            cols["member_key"].append(member_key)
            cols["household_key"].append(household_keys.setdefault(number, len(household_keys) + 1))
            cols["id_hash"].append(h)
            cols["name"].append(row[at["name"]])
            cols["birth_date"].append(idn.birth_date)
            cols["sex"].append(idn.sex)
            cols["village_code"].append(row[at["village_code"]])
            person[f"{number}-{position[number]:02d}"] = member_key
            by_hash[h] = member_key
    types = {"member_key": pa.int64(), "household_key": pa.int64(), "birth_date": pa.date32()}
    table = pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})
    return table, person, by_hash


def county_places(county: str) -> pa.Table:
    """The county's villages and townships from the shipped division codes — what the app's
    Region table holds after `load_divisions` (shouwang.exchange.linking.county_places)."""

    def rows(name: str) -> list[dict[str, str]]:
        with gzip.open(DIVISIONS_DIR / name, "rt", encoding="utf-8", newline="") as fh:
            return [r for r in csv.DictReader(fh) if r["code"].startswith(county)]

    townships = {r["code"]: r["name"] for r in rows("streets.csv.gz")}
    villages = rows("villages.csv.gz")
    return pa.table(
        {
            "village_code": [v["code"] for v in villages],
            "village_name": [v["name"] for v in villages],
            "township_code": [v["code"][:9] for v in villages],
            "township_name": [townships.get(v["code"][:9], "") for v in villages],
        },
        schema=PLACES_SCHEMA,
    )


def kind_of(name: str) -> str | None:
    return next((k for k in sorted(FEED_SCHEMAS, key=len, reverse=True) if name.startswith(k)), None)


class Batch:
    """One imported file: its stored rows, what linkage saw per row, first review candidates."""

    def __init__(self, file: str, table: pa.Table, seen: list[dict[str, Any]], first: dict[int, int]) -> None:
        self.file, self.table, self.seen, self.first = file, table, seen, first


def import_feeds(
    feeds_dir: Path, protector: Protector, registry: pa.Table, places: pa.Table
) -> tuple[list[Batch], dict[str, set[int]], dict[str, float]]:
    """Every person feed file through the importer's path: the stored batches, the lines each
    file rejected, and seconds spent standardizing and linking."""
    keys = dict(
        zip(
            registry.column("id_hash").to_pylist(),
            zip(registry.column("member_key").to_pylist(), registry.column("household_key").to_pylist(), strict=True),
            strict=True,
        )
    )
    out: list[Batch] = []
    rejected: dict[str, set[int]] = {}
    seconds = Counter[str]()
    for path in sorted(feeds_dir.iterdir()):
        kind = kind_of(path.name)
        if kind is None or kind == "water_safety":
            continue
        t = time.perf_counter()
        result = standardize_feed(path, FEED_SCHEMAS[kind], protector=protector, county_code=COUNTY)
        seconds["standardize"] += time.perf_counter() - t
        rejected[path.name] = {_line(e.line) for e in result.errors if not e.warning}
        t = time.perf_counter()
        table = link_exact(result.table, keys)
        outcome = link_probabilistic(table, registry, places=places, kind=kind)
        seconds["link"] += time.perf_counter() - t
        seen = linkage_feed(outcome.table, kind, places)
        first = {r.row_id: r.candidates[0]["member_key"] for r in outcome.reviews if r.candidates}
        out.append(
            Batch(
                path.name,
                outcome.table,
                seen.select(["birth_date", "village_code", "township_code", "sex"]).to_pylist(),
                first,
            )
        )
    return out, rejected, dict(seconds)


def _line(line: str) -> int:
    return int(str(line).rsplit("!", 1)[-1])


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


def evidence(row: dict[str, Any]) -> str:
    """What a row without an ID offers besides its name: birth date first, then village,
    township, sex — as the importer resolved them."""
    if row["birth_date"]:
        return "name+birth_date"
    if row["village_code"]:
        return "name+village"
    if row["township_code"]:
        return "name+township"
    return "name+sex" if row["sex"] else "name_only"


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


class Tally:
    """TP / FP / FN, review and rejected rows of one subset."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()

    def add(self, want: int | None, got: int | None, status: str, first_candidate: int | None) -> None:
        c = self.c
        c["rows"] += 1
        if status == REJECTED:
            c["rejected"] += 1
            c["rejected_with_member"] += int(want is not None)
            return
        if got is not None and got == want:
            c["tp"] += 1
        else:
            c["fp"] += int(got is not None)
            c["fn"] += int(want is not None)
        if status == LinkStatus.REVIEW:
            c["review"] += 1
            c["review_right"] += int(first_candidate is not None and first_candidate == want)

    def block(self) -> dict[str, Any]:
        c = self.c
        positives = c["tp"] + c["fn"]
        out = {
            **prf(c["tp"], c["fp"], c["fn"]),
            "rows": c["rows"] - c["rejected"],
            "review": c["review"],
            "recall_after_review": round((c["tp"] + c["review_right"]) / positives, 5) if positives else 1.0,
        }
        if c["rejected"]:
            end = prf(c["tp"], c["fp"], c["fn"] + c["rejected_with_member"])
            out["rejected_rows"] = c["rejected"]
            out["end_to_end"] = {k: end[k] for k in ("precision", "recall", "f1")}
        return out


def accept_sweep(rows: list[tuple[str, float, int | None, int | None]]) -> dict[str, dict[str, float]]:
    """P/R/F1 of the planted-noise rows had `LinkSettings.accept` been another value: a row
    whose best candidate reaches it is linked to that candidate (exact links stay)."""
    out: dict[str, dict[str, float]] = {}
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99):
        tp = fp = fn = 0
        for status, p, best, want in rows:
            got = best if status == LinkStatus.EXACT or p >= threshold else None
            tp += int(got is not None and got == want)
            fp += int(got is not None and got != want)
            fn += int(want is not None and got != want)
        out[str(threshold)] = {k: v for k, v in prf(tp, fp, fn).items() if k in ("precision", "recall", "f1")}
    return out


def synthetic(households: int, seed: int) -> dict[str, Any]:
    protector = Protector("aes", os.urandom(32), os.urandom(32))  # throw-away keys
    with tempfile.TemporaryDirectory(prefix="shouwang-linkage-") as tmp:
        out = Path(tmp)
        t = time.perf_counter()
        generate_county(COUNTY, households=households, seed=seed, out_dir=out)
        gen_s = time.perf_counter() - t
        registry, person_member, hash_member = read_registry(out / "registry_members.csv", protector)
        places = county_places(COUNTY)
        batches, rejected, seconds = import_feeds(out / "feeds", protector, registry, places)
        truth_person, noise = read_truth(out / "truth")
    t = time.perf_counter()
    with_dups, planted = plant_duplicates(registry, seed)
    duplicates = find_duplicate_persons(with_dups)
    dup_s = time.perf_counter() - t
    pairs = duplicates.select(["member_key_l", "member_key_r"]).to_pydict()
    listed = set(zip(pairs["member_key_l"], pairs["member_key_r"], strict=True))
    dup_quality = prf(len(listed & planted), len(listed - planted), len(planted - listed))

    def truth_of(file: str, line: int, id_hash: str | None) -> tuple[int | None, bool]:
        if (file, line) in truth_person:
            pk = truth_person[(file, line)]
            return (person_member[pk] if pk is not None else None), True
        if id_hash is not None and id_hash in hash_member:
            return hash_member[id_hash], True
        return None, False

    tallies: dict[str, Tally] = defaultdict(Tally)
    unknown = 0
    stored = 0
    statuses: Counter[str] = Counter()
    review_rows: dict[str, int] = Counter()
    sweep: list[tuple[str, float, int | None, int | None]] = []  # planted-noise rows: status, p, best, truth
    for batch in batches:
        file, table = batch.file, batch.table
        stored += table.num_rows
        cols = table.select(["line", "id_hash", "member_key", "link_status", "row_id", "link_probability"]).to_pydict()
        for i, line_text in enumerate(cols["line"]):
            line = _line(line_text)
            want, known = truth_of(file, line, cols["id_hash"][i])
            unknown += int(not known)
            status = cols["link_status"][i]
            statuses[status] += 1
            got = cols["member_key"][i] if status in (LinkStatus.EXACT, LinkStatus.PROBABILISTIC) else None
            first = batch.first.get(cols["row_id"][i])
            kinds = noise.get((file, line), set()) - {"duplicate_row"}
            subsets = ["all"]
            if kinds:
                subsets.append("planted_noise")
            if status != LinkStatus.EXACT:
                subsets.append("probabilistic")
                label = next(iter(sorted(kinds & set(ID_NOISE))), "other")
                subsets.append(f"noise/{label}")
                if label == "id_missing":
                    subsets.append(f"noise/id_missing/{evidence(batch.seen[i])}")
            subsets += [f"noise/{k}" for k in kinds & {"name_homophone", "name_whitespace"}]
            if status == LinkStatus.REVIEW:
                review_rows[file] += 1
            for s in subsets:
                tallies[s].add(want, got, status, first)
            if "planted_noise" in subsets:
                best = first if status == LinkStatus.REVIEW else got
                sweep.append((status, cols["link_probability"][i] or 0.0, best, want))
    # Rows the importer refused: missed by every measure "end to end".
    for file, lines in rejected.items():
        for line in lines:
            kinds = noise.get((file, line), set()) - {"duplicate_row"}
            want, _ = truth_of(file, line, None)
            for s in ["all", *(["planted_noise"] if kinds else []), *(f"noise/{k}" for k in kinds)]:
                tallies[s].add(want, None, REJECTED, None)
    linked = statuses[LinkStatus.EXACT] + statuses[LinkStatus.PROBABILISTIC]
    return {
        "households": households,
        "seed": seed,
        "registry_members": registry.num_rows,
        "feed_rows_stored": stored,
        "feed_rows_rejected": sum(len(v) for v in rejected.values()),
        "rows_without_truth": unknown,
        "overall": tallies["all"].block(),
        "planted_noise": tallies["planted_noise"].block(),
        "planted_noise_if_accept_were": accept_sweep(sweep),
        "probabilistic": tallies["probabilistic"].block(),
        "by_noise": {k.split("/", 1)[1]: t.block() for k, t in sorted(tallies.items()) if k.startswith("noise/")},
        "link_status": dict(statuses),
        "review_rows_by_file": dict(sorted(review_rows.items())),
        "match_rate": round(linked / stored, 5) if stored else 0.0,
        "duplicates": {**dup_quality, "planted": len(planted), "listed": len(listed)},
        "duplicate_pairs_by_reason": dict(Counter(duplicates.column("reason").to_pylist())),
        "seconds": {
            "generate": round(gen_s, 2),
            "standardize": round(seconds.get("standardize", 0.0), 2),
            "link": round(seconds.get("link", 0.0), 2),
            "duplicates": round(dup_s, 2),
        },
    }


# --------------------------------------------------------------------------------- FEBRL 4
def _lev(column: str, m: tuple[float, ...], u: tuple[float, ...], thresholds: tuple[int, ...]) -> ComparisonSpec:
    labels = ("exact", *(f"within_{t}" for t in thresholds), "else")
    return ComparisonSpec(
        column,
        tuple(Level(lb, mm, uu) for lb, mm, uu in zip(labels, m, u, strict=True)),
        method="levenshtein",
        thresholds=tuple(float(t) for t in thresholds),
    )


def _jw(column: str, thresholds: tuple[float, ...], *, tf: bool = False) -> ComparisonSpec:
    labels = ("exact", *(f"jw_{t}" for t in thresholds), "else")
    n = len(labels)
    # Starting values only: estimate_settings replaces them from the data.
    m = (0.8, *([0.15 / max(n - 2, 1)] * (n - 2)), 0.05)
    u = (0.01, *([0.04 / max(n - 2, 1)] * (n - 2)), 0.95)
    return ComparisonSpec(
        column,
        tuple(Level(lb, mm, uu) for lb, mm, uu in zip(labels, m, u, strict=True)),
        method="jaro_winkler",
        thresholds=thresholds,
        term_frequency=tf,
    )


def febrl_settings() -> LinkSettings:
    """A model for FEBRL's columns (names and addresses in Latin script, a date of birth and a
    social security number as digit strings), before training."""
    exact = (Level("exact", 0.8, 0.05), Level("else", 0.2, 0.95))
    return LinkSettings(
        comparisons=(
            _jw("given_name", (0.9, 0.8), tf=True),
            _jw("surname", (0.9, 0.8), tf=True),
            _lev("date_of_birth", (0.8, 0.1, 0.05, 0.05), (0.0001, 0.002, 0.01, 0.9879), (1, 2)),
            _lev("soc_sec_id", (0.8, 0.1, 0.05, 0.05), (0.00001, 0.0001, 0.001, 0.99889), (1, 2)),
            ComparisonSpec("street_number", exact, method="exact"),
            _jw("address_1", (0.9, 0.7)),
            _jw("suburb", (0.9,)),
            _lev("postcode", (0.8, 0.1, 0.1), (0.001, 0.01, 0.989), (1,)),
            ComparisonSpec("state", (Level("exact", 0.9, 0.3), Level("else", 0.1, 0.7)), method="exact"),
        ),
        blocking_rules=(
            "l.given_name = r.given_name AND l.surname = r.surname",
            "l.date_of_birth = r.date_of_birth",
            "l.soc_sec_id = r.soc_sec_id",
            "l.postcode = r.postcode AND l.street_number = r.street_number",
            "l.surname = r.surname AND l.suburb = r.suburb",
        ),
        duplicate_blocking_rules=("l.date_of_birth = r.date_of_birth",),
    )


def febrl() -> dict[str, Any]:
    def load(name: str, key: str) -> pa.Table:
        with (FEBRL_DIR / name).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, skipinitialspace=True)
            header = [h.strip() for h in next(reader)]
            cols: dict[str, list[str | None]] = {h: [] for h in header}
            for row in reader:
                for h, v in zip(header, row, strict=True):
                    cols[h].append(v.strip() or None)
        table = pa.table({h: pa.array(v, pa.string()) for h, v in cols.items()})
        numbers = [int(r.split("-")[1]) for r in cols["rec_id"]]  # rec-N-org / rec-N-dup-0
        return table.append_column(key, pa.array(numbers, pa.int64()))

    a, b = load("dataset4a.csv", "row_id"), load("dataset4b.csv", "member_key")
    a = a.append_column("group_key", pa.array(["febrl_a"] * a.num_rows, pa.string()))  # one B record each
    t = time.perf_counter()
    settings = estimate_settings(
        a,
        b,
        febrl_settings(),
        em_blocking_rules=(
            "l.date_of_birth = r.date_of_birth",
            "l.given_name = r.given_name AND l.surname = r.surname",
            "l.soc_sec_id = r.soc_sec_id",
        ),
    )
    trained_s = time.perf_counter() - t
    t = time.perf_counter()
    result = link_records(a, b, settings)
    link_s = time.perf_counter() - t
    links = result.links
    accepted = links.filter(pc.equal(links.column("status"), "accepted"))
    tp = int(pc.sum(pc.equal(accepted.column("row_id"), accepted.column("member_key"))).as_py() or 0)
    fp = accepted.num_rows - tp
    fn = a.num_rows - tp  # every A record has exactly one true partner in B
    return {
        **prf(tp, fp, fn),
        "records_a": a.num_rows,
        "records_b": b.num_rows,
        "review": result.counts["review"],
        "member_prior": result.member_prior,
        "seconds": {"estimate": round(trained_s, 2), "link": round(link_s, 2)},
    }


def _print_block(name: str, m: dict[str, Any]) -> None:
    extra = ""
    if "end_to_end" in m:
        e = m["end_to_end"]
        extra = f"; with {m['rejected_rows']} rejected rows as missed: R={e['recall']:.4f} F1={e['f1']:.4f}"
    print(
        f"  {name:34} P={m['precision']:.4f} R={m['recall']:.4f} F1={m['f1']:.4f} "
        f"(rows {m['rows']}, fp {m['fp']}, fn {m['fn']}, review {m['review']}, "
        f"after review R={m['recall_after_review']:.4f}){extra}"
    )


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
            f"{s['feed_rows_stored']} feed rows stored, {s['feed_rows_rejected']} rejected"
        )
        for part in ("overall", "planted_noise", "probabilistic"):
            _print_block(part, s[part])
        for t, m in s["planted_noise_if_accept_were"].items():
            print(f"    planted noise if accept = {t:<5} P={m['precision']:.4f} R={m['recall']:.4f} F1={m['f1']:.4f}")
        for k, m in s["by_noise"].items():
            _print_block("  " + k, m)
        print(f"  link status: {s['link_status']}; match rate {s['match_rate']:.4f}")
        d = s["duplicates"]
        print(
            f"  duplicates (一人多户), {d['planted']} planted: P={d['precision']:.4f} R={d['recall']:.4f} "
            f"F1={d['f1']:.4f}, {d['listed']} pairs listed {s['duplicate_pairs_by_reason']}"
        )
        print(f"  seconds: {s['seconds']}")
    if not args.skip_febrl:
        f = febrl()
        report["febrl4"] = f
        print(
            f"febrl4 A→B: P={f['precision']:.4f} R={f['recall']:.4f} F1={f['f1']:.4f} "
            f"(tp {f['tp']}, fp {f['fp']}, fn {f['fn']}, review {f['review']}) in {f['seconds']} s"
        )
    measured = {
        "synthetic_planted_noise_f1": report.get("synthetic", {}).get("planted_noise", {}).get("f1"),
        "febrl4_f1": report.get("febrl4", {}).get("f1"),
    }
    report["targets"] = {
        name: {"target": target, "measured": measured[name], "pass": (measured[name] or 0.0) >= target}
        for name, target in (("synthetic_planted_noise_f1", 0.98), ("febrl4_f1", 0.95))
        if measured[name] is not None
    }
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
