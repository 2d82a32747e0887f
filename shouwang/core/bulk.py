"""Many rows into one table without a model per row: `COPY` on PostgreSQL, one prepared
`INSERT` run over all of them elsewhere.

`bulk_create` builds a model and adapts every field of every row; for the tables written
tens of thousands of rows at a time — a county's warnings after a screening, a county's
statistics after a refresh — that is most of the time. The caller gives values already in
the database's form (numbers, text, None, or what the field's `get_db_prep_save` made once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

_BATCH = 5000


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (one value per name of `fields`, by attribute name) into `model`'s table;
    returns how many. Every other column must have a database default or allow null."""
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [name for name in fields if name not in by_name]
    if unknown:
        raise ValueError(f"{model.__name__} has no field {', '.join(unknown)}")
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(str(by_name[name].column)) for name in fields)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == _BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count
