"""The same rules on Spark: a county screened on local Spark raises exactly DuckDB's warnings.

Each rule is written once; SQLGlot renders it for each backend. These tests are the proof
that "written once" holds: the synthetic county (every rule has findings there), screened
from Arrow tables and from the stored Parquet layout, gives the same warnings, byte for byte,
evidence included.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.screening import ALL_RULES, RULES_BY_ID, ScreeningError, evaluate_rules, load_parameters, resolve_parameters

pytestmark = pytest.mark.spark

COUNTY, YEAR = "522630", 2025


def _screen(county: Any, backend: str, spark: Any, **inputs: Any) -> Any:
    params = resolve_parameters(load_parameters(), COUNTY, YEAR)
    return evaluate_rules(
        inputs.get("members", county.members),
        inputs.get("accounts", county.accounts),
        inputs.get("feeds", county.feeds),
        params,
        backend=backend,
        households=inputs.get("households", county.households),
        backend_options={"spark": spark} if backend == "spark" else None,
    )


def _differences(a: pa.Table, b: pa.Table) -> list[tuple[str, Any]]:
    left, right = Counter(map(str, a.to_pylist())), Counter(map(str, b.to_pylist()))
    return [("duckdb only", r) for r in (left - right)] + [("spark only", r) for r in (right - left)]


def _with_a_dropout(county: Any) -> dict[str, pa.Table]:
    """The county's feeds plus one 辍学 record of a ten-year-old: a county of 400 households
    may plant no dropout, and the parity must cover every rule."""
    members = county.members.to_pylist()
    child = next(m for m in members if m["birth_date"].year == YEAR - 10 and not m["deceased"])
    school = county.feeds["school_enrolment"]
    row = school.slice(0, 1).to_pylist()[0]  # a real row's bookkeeping (line, hashes), re-aimed
    row.update(
        member_key=child["member_key"],
        household_key=child["household_key"],
        school_stage="小学",
        status="辍学",
        as_of_date=dt.date(YEAR, 9, 1),
        batch_id=999,
    )
    extra = pa.Table.from_pylist([row], schema=school.schema)
    return {**county.feeds, "school_enrolment": pa.concat_tables([school, extra])}


def test_spark_raises_exactly_the_warnings_duckdb_raises_on_the_synthetic_county(
    screenable_county: Any, spark: Any
) -> None:
    feeds = _with_a_dropout(screenable_county)
    duck = _screen(screenable_county, "duckdb", spark, feeds=feeds)
    sparked = _screen(screenable_county, "spark", spark, feeds=feeds)
    assert sparked.manifest["skipped"] == {} == duck.manifest["skipped"]
    assert _differences(duck.warnings, sparked.warnings) == []
    assert sparked.warnings.equals(duck.warnings)  # same order too: the run sorts
    assert sparked.manifest["counts"] == duck.manifest["counts"]
    assert sparked.manifest["backend"] == "spark"
    # Not an empty agreement: every rule of the library fires somewhere in the county.
    assert {rule for rule, n in duck.manifest["counts"].items() if n > 0} == {r.id for r in ALL_RULES}


def test_spark_reads_the_stored_parquet_layout_like_duckdb(screenable_county: Any, spark: Any, tmp_path: Path) -> None:
    feeds = {}
    for kind, table in screenable_county.feeds.items():
        directory = tmp_path / "feeds" / f"kind={kind}" / f"county={COUNTY}"
        directory.mkdir(parents=True)
        half = table.num_rows // 2  # two files per kind, as two batches would leave them
        pq.write_table(table.slice(0, half), directory / "batch-1.parquet")
        pq.write_table(table.slice(half), directory / "batch-2.parquet")
        feeds[kind] = tmp_path / "feeds" / f"kind={kind}"
    members = tmp_path / "members.parquet"
    pq.write_table(screenable_county.members, members)
    duck = _screen(screenable_county, "duckdb", spark, feeds=feeds, members=members)
    sparked = _screen(screenable_county, "spark", spark, feeds=feeds, members=members)
    assert _differences(duck.warnings, sparked.warnings) == []
    assert sparked.manifest["inputs"] == duck.manifest["inputs"]  # the same files, hashed alike


def test_a_rule_that_fails_on_spark_is_a_clear_screening_error(screenable_county: Any, spark: Any) -> None:
    broken = RULES_BY_ID["serious_illness"]
    from dataclasses import replace

    broken = replace(broken, sql=broken.sql.replace("s.diagnosis", "s.no_such_column"))
    params = resolve_parameters(load_parameters(), COUNTY, YEAR)
    with pytest.raises(ScreeningError, match="rule serious_illness failed"):
        evaluate_rules(
            screenable_county.members,
            None,
            screenable_county.feeds,
            params,
            rules=(broken,),
            backend="spark",
            backend_options={"spark": spark},
        )
    # the session survives for the next run, without the failed run's views
    assert not [t for t in spark.catalog.listTables() if t.name == "serious_illness"]
