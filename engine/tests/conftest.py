"""Engine fixtures: a small synthetic county ready to screen, and one local Spark session.

The county is generated once per test process and shared by the tests that screen it end to
end (planted shocks, DuckDB/Spark parity); building it reads the registry files and every feed
exactly as the importer does (standardise, hash IDs, link on the hash), without Django.

Spark starts in ~10 s and holds ~0.75 GiB, so all Spark tests share one session. It is not
optional where it is asked for: a missing PySpark or Java is a failure, not a skip, because
the parity it proves is a promise of the project (`make test` installs the `spark` group).
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

SYNTH_COUNTY, SYNTH_HOUSEHOLDS, SYNTH_SEED = "522630", 400, 3


@dataclass
class ScreenableCounty:
    """The synthetic county as screening inputs, with the truth it was generated from."""

    out: Path
    members: pa.Table
    households: pa.Table
    accounts: pa.Table
    feeds: dict[str, pa.Table]
    number_of: dict[int, str]  # household_key → household number of the registry files
    noise: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (file, line) → noise types

    def shocks(self) -> list[dict[str, str]]:
        with open(self.out / "truth" / "shocks.csv", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))


def build_screenable_county(out: Path, county: str = SYNTH_COUNTY, households: int = SYNTH_HOUSEHOLDS) -> Any:
    from engine.feeds import link_exact, standardize_feed
    from engine.protect import Protector, generate_key
    from engine.schemas.feeds import FEED_SCHEMAS
    from engine.schemas.registry import REGISTRY_ACCOUNTS, REGISTRY_MEMBERS
    from engine.screening.inputs import ACCOUNTS_SCHEMA, HOUSEHOLDS_SCHEMA, MEMBERS_SCHEMA
    from engine.synth import generate_county
    from engine.tabular import open_table
    from engine.validate import RowError, validate_rows

    generate_county(county, households=households, seed=SYNTH_SEED, out_dir=out)
    protector = Protector.from_settings("aes", generate_key(), generate_key())

    def read(name: str, schema: Any) -> list[dict[str, Any]]:
        errors: list[RowError] = []
        rows = [r.values for r in validate_rows(schema, open_table(out / name, schema).rows(), errors)]
        assert errors == []
        return rows

    people = read("registry_members.csv", REGISTRY_MEMBERS)
    key = {n: i + 1 for i, n in enumerate(sorted({p["household_number"] for p in people}))}
    registry = pa.Table.from_pylist(
        [
            {
                "member_key": i + 1,
                "household_key": key[p["household_number"]],
                "id_hash": protector.hash(p["id_number"].value),
                "name": p["name"],
                "birth_date": p["id_number"].birth_date,
                "sex": p["id_number"].sex,
                "village_code": p["village_code"],
                "deceased": p.get("death_date") is not None,
            }
            for i, p in enumerate(people)
        ],
        schema=MEMBERS_SCHEMA,
    )
    flags = {
        key[p["household_number"]]: {
            "household_key": key[p["household_number"]],
            "village_code": p["village_code"],
            "household_type": p["household_type"],
            "monitoring_state": p.get("monitoring_state") or "未纳入",
        }
        for p in people
    }
    hh = pa.Table.from_pylist(list(flags.values()), schema=HOUSEHOLDS_SCHEMA)
    living = Counter(key[p["household_number"]] for p in people if p.get("death_date") is None)
    accounts_rows = []
    for r in read("registry_accounts.csv", REGISTRY_ACCOUNTS):
        household = key[r["household_number"]]
        row = {c: r.get(c) for c in ACCOUNTS_SCHEMA.names if c not in ("household_key", "population")}
        accounts_rows.append(
            {**row, "household_key": household, "population": r.get("population") or living[household]}
        )
    acc = pa.Table.from_pylist(accounts_rows, schema=ACCOUNTS_SCHEMA)
    lookup = {protector.hash(p["id_number"].value): (i + 1, key[p["household_number"]]) for i, p in enumerate(people)}
    parts: dict[str, list[pa.Table]] = defaultdict(list)
    for batch, path in enumerate(sorted((out / "feeds").iterdir()), start=1):
        kind = max((k for k in FEED_SCHEMAS if path.name.startswith(k)), key=len)
        table = link_exact(
            standardize_feed(path, FEED_SCHEMAS[kind], protector=protector, county_code=county).table, lookup
        )
        parts[kind].append(table.append_column("batch_id", pa.array([batch] * table.num_rows, pa.int64())))
    feeds = {k: pa.concat_tables(v, promote_options="default") for k, v in parts.items()}

    noise: dict[tuple[str, str], set[str]] = defaultdict(set)
    with open(out / "truth" / "noise.csv", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            noise[r["file"], r["line"]].add(r["noise_type"])
    return ScreenableCounty(
        out=out,
        members=registry,
        households=hh,
        accounts=acc,
        feeds=feeds,
        number_of={v: k for k, v in key.items()},
        noise=dict(noise),
    )


@pytest.fixture(scope="session")
def screenable_county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScreenableCounty]:
    out = tmp_path_factory.mktemp("screenable") / "county"
    yield build_screenable_county(out)
    shutil.rmtree(out.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail("Spark tests need a Java runtime: .ci/run installs one (apt-get install default-jre-headless)")
    try:
        from engine.screening.run import local_spark_session
    except ImportError as exc:  # pragma: no cover - the engine module itself is always there
        pytest.fail(f"cannot import the Spark helper: {exc}")
    try:
        session = local_spark_session()
    except Exception as exc:
        pytest.fail(f"local Spark did not start (make test installs the spark group: uv sync --group spark): {exc}")
    yield session
    session.stop()
