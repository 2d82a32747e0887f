"""Match rates of the feed import: every synthetic feed of a county through `do_import_feed`.

    uv run python benchmarks/exchange_linkage.py [--households 2000] [--seed 1]

Generates the synthetic county (docs/synthetic-county.md) in a temporary directory, imports
its registry into a fresh SQLite database there, then imports every feed file for real (valid
rows only, as the CLI would) — exact linkage on the ID hash, then probabilistic linkage of the
rest inside the same import — and reports, per feed kind, the rows stored and how many were
linked exactly, probabilistically, sent to review or left unmatched. The probabilistic links
are checked against the generator's ground truth (truth/noise.csv: which person a noisy row
is). Prints a table and a final JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COUNTY = "522630"
PARTS = ("exact", "probabilistic", "review", "unmatched")


def kind_of(name: str) -> str:
    from engine.schemas.feeds import FEED_SCHEMAS

    return next(k for k in sorted(FEED_SCHEMAS, key=len, reverse=True) if name.startswith(k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sw-linkage-") as tmp:
        result = run(Path(tmp), args.households, args.seed)
    print(json.dumps(result, ensure_ascii=False))


def run(tmp: Path, households: int, seed: int) -> dict[str, Any]:
    data_dir = tmp / "data"
    data_dir.mkdir()
    os.environ["SHOUWANG_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings.test")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/linkage.sqlite3"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DATA_DIR = data_dir
    call_command("migrate", verbosity=0)
    from shouwang.regions.loading import load_divisions

    load_divisions(COUNTY)
    from engine.feeds.storage import read_batch
    from engine.ids import parse_id_number
    from engine.synth import generate_county
    from shouwang.core.protection import protector
    from shouwang.exchange.actions import do_import_feed
    from shouwang.exchange.models import LinkReview
    from shouwang.registry.importing import run_registry_import
    from shouwang.registry.models import Member

    out = tmp / "county"
    started = time.perf_counter()
    generate_county(COUNTY, households=households, seed=seed, out_dir=out, year=2025)
    registry = run_registry_import(
        out / "registry_members.csv", filename="registry_members.csv", user=None, dry_run=False
    )
    assert registry.committed, registry.as_dict()
    prepared = time.perf_counter() - started

    # ground truth: person_key → member pk (through the ID hash), (file, line) → person_key
    member_of_hash = dict(Member.objects.values_list("id_number_hash", "pk"))
    person_member: dict[str, int] = {}
    position: dict[str, int] = defaultdict(int)
    with (out / "registry_members.csv").open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            number = row.get("户编号") or row.get("household_number") or ""
            position[number] += 1
            raw = row.get("身份证号") or row.get("id_number") or ""
            person_member[f"{number}-{position[number]:02d}"] = member_of_hash.get(
                protector().hash(parse_id_number(raw).value), 0
            )
    truth: dict[tuple[str, int], int | None] = {}
    with (out / "truth" / "noise.csv").open(encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            key = (rec["file"], int(rec["line"]))
            if rec["noise_type"] == "not_in_registry":
                truth[key] = None
            elif rec["person_key"]:
                truth.setdefault(key, person_member.get(rec["person_key"]))

    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds = 0.0
    for path in sorted((out / "feeds").iterdir()):
        kind = kind_of(path.name)
        t = time.perf_counter()
        outcome = do_import_feed(
            path,
            filename=path.name,
            kind=kind,
            county=COUNTY,
            user=None,
            dry_run=False,
            valid_rows_only=True,
            channel="cli",
        )
        seconds += time.perf_counter() - t
        counts = per_kind[kind]
        counts["files"] += 1
        counts["rows"] += outcome.stats.total
        counts["stored"] += outcome.stored_rows
        links = outcome.links
        for part in PARTS:
            counts[part] += int(links.get(part, 0))
        counts["without_id"] += int(links.get("without_id", 0))
        if not outcome.committed:
            continue
        table = read_batch(data_dir, list(outcome.batch.storage_paths))
        for row in table.select(["line", "member_key", "link_status"]).to_pylist():
            if row["link_status"] != "probabilistic":
                continue
            line = int(str(row["line"]).rpartition("!")[2])
            key = (path.name, line)
            if key not in truth:
                counts["probabilistic_unknown"] += 1
            elif truth[key] == row["member_key"]:
                counts["probabilistic_correct"] += 1
            else:
                counts["probabilistic_wrong"] += 1
    total: dict[str, int] = defaultdict(int)
    for counts in per_kind.values():
        for k, v in counts.items():
            total[k] += v
    print(f"{'kind':<22}{'stored':>8}{'no ID':>7}{'exact':>8}{'prob.':>7}{'review':>8}{'unmatched':>10}{'match':>8}")
    for kind, counts in [*sorted(per_kind.items()), ("all", total)]:
        linkable = sum(counts[p] for p in PARTS)
        rate = (counts["exact"] + counts["probabilistic"]) / linkable if linkable else 0.0
        print(
            f"{kind:<22}{counts['stored']:>8}{counts['without_id']:>7}{counts['exact']:>8}"
            f"{counts['probabilistic']:>7}{counts['review']:>8}{counts['unmatched']:>10}"
            f"{(f'{100 * rate:.2f}%' if linkable else '—'):>8}"
        )
    print(
        f"probabilistic links checked against the truth: {total['probabilistic_correct']} right, "
        f"{total['probabilistic_wrong']} wrong, {total['probabilistic_unknown']} without truth; "
        f"review items: {LinkReview.objects.count()}; members: {Member.objects.count()}; "
        f"generate + registry {prepared:.1f} s, imports {seconds:.1f} s"
    )
    return {
        "households": households,
        "seed": seed,
        "members": Member.objects.count(),
        "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
        "total": dict(total),
        "review_items": LinkReview.objects.count(),
        "import_seconds": round(seconds, 1),
    }


if __name__ == "__main__":
    main()
