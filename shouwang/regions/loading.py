"""Load NBS division codes from the shipped CSV files into the Region table."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from shouwang.regions.models import CODE_LENGTHS, Level, Region

DIVISIONS_DIR = Path(settings.BASE_DIR) / "data" / "divisions"
FILES = (
    (Level.PROVINCE, "provinces.csv.gz", None),
    (Level.PREFECTURE, "cities.csv.gz", "provinceCode"),
    (Level.COUNTY, "areas.csv.gz", "cityCode"),
    (Level.TOWNSHIP, "streets.csv.gz", "areaCode"),
    (Level.VILLAGE, "villages.csv.gz", "streetCode"),
)
BATCH = 5000


class DivisionError(ValueError):
    pass


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _insert(rows: list[tuple[str, str, int, str | None]]) -> None:
    # Plain executemany: model instances cost more than the insert itself at 665,000 rows.
    if not rows:
        return
    table = connection.ops.quote_name(Region._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is PostgreSQL's bulk path; executemany costs a round trip per row.
            with cursor.cursor.copy(f"COPY {table} (code, name, level, parent_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(f"INSERT INTO {table} (code, name, level, parent_id) VALUES (%s, %s, %s, %s)", rows)  # noqa: S608


def _in_scope(code: str, prefix: str) -> bool:
    # A region is loaded if it lies inside the prefix or is one of its ancestors.
    return code.startswith(prefix) or prefix.startswith(code)


def load_divisions(
    prefix: str = "",
    directory: Path = DIVISIONS_DIR,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Insert divisions under `prefix` (all of China when empty) and their ancestors.

    Idempotent: existing codes are kept (names refreshed only by a full reload), so running
    it again costs one scan of the files. Returns the number of new regions per level.
    """
    if prefix and (not prefix.isdigit() or len(prefix) not in CODE_LENGTHS.values()):
        raise DivisionError(f"区划代码前缀应为2、4、6、9或12位数字：{prefix!r}")
    existing = set(Region.objects.filter(code__startswith=prefix[:2]).values_list("code", flat=True))
    counts: dict[str, int] = {}
    with transaction.atomic():
        for level, filename, parent_column in FILES:
            batch: list[tuple[str, str, int, str | None]] = []
            added = 0
            for row in _rows(directory / filename):
                code = row["code"]
                if len(code) != CODE_LENGTHS[level]:
                    raise DivisionError(f"{filename}: 代码 {code} 的位数与层级不符")
                if code in existing or not _in_scope(code, prefix):
                    continue
                batch.append((code, row["name"], int(level), row[parent_column] if parent_column else None))
                existing.add(code)
                if len(batch) >= BATCH:
                    _insert(batch)
                    added += len(batch)
                    if progress:
                        progress(len(batch))
                    batch = []
            _insert(batch)
            added += len(batch)
            if progress and batch:
                progress(len(batch))
            counts[Level(level).name.lower()] = added
    if prefix and not Region.objects.filter(code=prefix).exists():
        raise DivisionError(f"区划代码 {prefix} 不存在于 2023 年统计用区划代码中")
    return counts
