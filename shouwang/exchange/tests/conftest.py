"""Fixtures of the feed-exchange tests: a small synthetic county, its registry in the test
database, and a data directory of each test's own."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest

from engine.ids import make_id_number
from engine.schemas.feeds import FEED_SCHEMAS
from engine.synth import generate_county

COUNTY = "522630"


@pytest.fixture(scope="session")
def synth_county(tmp_path_factory) -> Path:
    """A ~300-household synthetic 台江县: registry files, every feed kind, the truth."""
    out = tmp_path_factory.mktemp("taijiang")
    generate_county(COUNTY, households=300, seed=7, out_dir=out, year=2025)
    return out


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR


@pytest.fixture
def registry(db, synth_county):
    """The synthetic county's members imported into the registry (for exact linkage)."""
    from shouwang.registry.importing import run_registry_import

    outcome = run_registry_import(
        synth_county / "registry_members.csv", filename="registry_members.csv", user=None, dry_run=False
    )
    assert outcome.committed, outcome.as_dict()
    return outcome


def kind_of(name: str) -> str:
    return next(k for k in sorted(FEED_SCHEMAS, key=len, reverse=True) if name.startswith(k))


def idn(n: int, *, birth: dt.date = dt.date(1970, 1, 1)) -> str:
    return make_id_number(COUNTY, birth + dt.timedelta(days=n), n, "M" if n % 2 else "F")


def claims_csv(rows: list[list[str]], *, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付"])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def good_claims(n: int = 3, *, start: int = 1) -> bytes:
    return claims_csv(
        [[idn(i), f"病人{i}", f"2025-0{1 + i % 3}-15", "门诊", "100.00", "30"] for i in range(start, start + n)]
    )


# What the generator's noise does to a row (shared FEEDS.md): a wrong check digit is an error;
# a missing ID with a name is kept (for linkage) but gives no key to find duplicates by; the
# rest (15 digits, full-width, spaces, lower-case x, name typos) is accepted.
REJECTING_NOISE = frozenset({"id_check_digit"})
KEYLESS_NOISE = frozenset({"id_missing"})


def planted_counts(synth: Path) -> dict[str, dict[str, int]]:
    """Per feed file, the counts an import must report, from the generator's truth alone:
    its data rows (truth/manifest.json) and the noise planted in them (truth/noise.csv).

    A repeated row is an exact copy of an earlier row of the same person: of the row just
    above it when the truth says that row is the person's (an immediate repeat), else of an
    earlier row of theirs — a clean one unless the noise touched the ID of one (two such rows,
    and the truth cannot tell which was copied: that fails loudly)."""
    files = json.loads((synth / "truth" / "manifest.json").read_text(encoding="utf-8"))["counts"]["files"]
    noise: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    with open(synth / "truth" / "noise.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            noise[row["file"]].append((int(row["line"]), row["person_key"], row["noise_type"]))
    counts = {}
    for name, facts in files.items():
        if not name.startswith("feeds/"):
            continue
        entries = noise[name.removeprefix("feeds/")]
        kinds_at: dict[int, set[str]] = defaultdict(set)
        person_at: dict[int, str] = {}
        for line, person, kind in entries:
            kinds_at[line].add(kind)
            person_at[line] = person
        repeats = [(line, person) for line, person, kind in entries if kind == "duplicate_row"]
        rejected = sum(1 for _, _, kind in entries if kind in REJECTING_NOISE)
        duplicates = 0
        for line, person in repeats:
            if person_at.get(line - 1) == person and "duplicate_row" not in kinds_at[line - 1]:
                original = kinds_at[line - 1]
            else:
                touched = [
                    kinds_at[ln]
                    for ln, p in person_at.items()
                    if p == person and ln < line and kinds_at[ln] & (REJECTING_NOISE | KEYLESS_NOISE)
                ]
                assert len(touched) <= 1, f"{name}:{line}: which row does this repeat?"
                original = touched[0] if touched else set()
            if original & REJECTING_NOISE:
                rejected += 1  # the copy of a bad row is as bad
            elif not original & KEYLESS_NOISE:
                duplicates += 1  # (a copy of a row without an ID has no key: kept like any row)
        total = int(facts["rows"]) + len(repeats)
        counts[name.removeprefix("feeds/")] = {
            "total": total,
            "valid": total - rejected - duplicates,
            "rejected": rejected,
            "duplicates": duplicates,
        }
    return counts


def counts_of(result: dict) -> dict[str, int]:
    return {k: result[k] for k in ("total", "valid", "rejected", "duplicates")}
