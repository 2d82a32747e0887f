"""Registry snapshots for the batch engine: registry → Arrow/Parquet, one way through the seam.

The engine joins on integers and ID hashes; it never sees a raw ID number or the database.
A snapshot carries, per member: member_key (Member.pk), household_key, id_hash, name,
birth_date, sex, village_code and whether the member is deceased.
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

from shouwang.registry.models import Household, Member

SCHEMA = pa.schema(
    [
        ("member_key", pa.int64()),
        ("household_key", pa.int64()),
        ("id_hash", pa.string()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
        ("village_code", pa.string()),
        ("deceased", pa.bool_()),
    ]
)
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
