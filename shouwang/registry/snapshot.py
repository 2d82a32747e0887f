"""Registry snapshots for the batch engine: registry → Arrow/Parquet, one way through the seam.

The engine joins on integers and ID hashes; it never sees a raw ID number or the database.
Three relations, in the shapes `engine.screening.inputs` declares: members (member_key,
household_key, id_hash, name, birth_date, sex, village_code, deceased), households (the flags
the rules weigh) and accounts (年度收支, one row per household and year).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection

from engine.screening.inputs import ACCOUNTS_SCHEMA, HOUSEHOLDS_SCHEMA, MEMBERS_SCHEMA
from shouwang.registry.models import AnnualAccount, Household, Member

# The engine owns the shapes of its inputs; the registry fills them.
SCHEMA = MEMBERS_SCHEMA
_CHUNK = 50_000


def member_snapshot(region_code: str) -> pa.Table:
    """Members of households in the region's subtree, read with one streaming query.

    A plain cursor rather than model instances: a county has ~100,000 members and a
    province millions, and the engine wants columns, not objects.
    """
    member, household = Member._meta.db_table, Household._meta.db_table
    sql = (
        f"SELECT m.id, m.household_id, m.id_number_hash, m.name, m.birth_date, m.sex, h.village_id, "  # noqa: S608
        f"m.death_date IS NOT NULL FROM {member} m JOIN {household} h ON h.id = m.household_id "
        f"WHERE h.village_id LIKE %s ORDER BY m.id"
    )
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [region_code + "%"])
        while rows := cursor.fetchmany(_CHUNK):
            columns: list[Any] = [list(c) for c in zip(*rows, strict=True)]
            columns[4] = [_as_date(v) for v in columns[4]]
            columns[7] = [bool(v) for v in columns[7]]
            batches.append(
                pa.record_batch([pa.array(c, type=f.type) for c, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA)
            )
    return pa.Table.from_batches(batches, schema=SCHEMA)


def household_snapshot(region_code: str) -> pa.Table:
    """Households of the region's subtree with the flags screening weighs."""
    rows = (
        Household.objects.filter(village__pk__startswith=region_code)
        .order_by("pk")
        .values_list(
            "pk",
            "village_id",
            "household_type",
            "monitoring_state",
            "monitoring_category",
            "housing_grade",
            "water_quantity_ok",
            "water_quality_ok",
            "water_convenience_ok",
            "water_reliability_ok",
        )
    )
    return _table(rows, HOUSEHOLDS_SCHEMA, blank_as_null={4, 5})


def account_snapshot(region_code: str) -> pa.Table:
    """Annual accounts of the region's households; net incomes are derived by the rules."""
    rows = (
        AnnualAccount.objects.filter(household__village__pk__startswith=region_code)
        .order_by("household_id", "year")
        .values_list(
            "household_id",
            "year",
            "wage_income",
            "operating_income",
            "operating_cost",
            "property_income",
            "transfer_income",
            "population",
            "medical_expense",
            "education_expense",
        )
    )
    return _table(rows, ACCOUNTS_SCHEMA)


def _table(rows: Any, schema: pa.Schema, blank_as_null: set[int] | None = None) -> pa.Table:
    columns: list[list[Any]] = [[] for _ in schema]
    for row in rows.iterator(chunk_size=_CHUNK):
        for i, value in enumerate(row):
            columns[i].append(None if blank_as_null and i in blank_as_null and value == "" else value)
    return pa.table([pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)


def _as_date(value: str | dt.date) -> dt.date:
    # SQLite hands dates back as ISO strings, PostgreSQL as dates.
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def write_member_snapshot(region_code: str, directory: Path | None = None) -> Path:
    """Write the snapshot as Parquet under the data directory, atomically; returns its path."""
    directory = directory or Path(settings.DATA_DIR) / "snapshots" / "registry" / f"region={region_code}"
    directory.mkdir(parents=True, exist_ok=True)
    table = member_snapshot(region_code)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".parquet.tmp")
    os.close(fd)
    pq.write_table(table, tmp, compression="zstd")
    target = directory / "members.parquet"
    os.replace(tmp, target)
    return target
