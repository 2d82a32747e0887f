"""Exact linkage of feed rows to registry members by ID hash (the first linkage step).

"Join on integers" (DESIGN.md): once a feed row is linked, it carries the member's and the
household's integer keys; the hash stays for audit and later linkage. Rows whose ID is
missing or matches nobody stay `unmatched` with null keys — probabilistic linkage
(`engine.linkage`) takes those on; nothing here guesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc


class LinkStatus(StrEnum):
    EXACT = "exact"  # the ID hash equals a registry member's
    UNMATCHED = "unmatched"  # no or no matching ID: for probabilistic linkage
    NOT_APPLICABLE = "not_applicable"  # a village-level feed (water_safety): nobody to link


LINK_COLUMNS = (
    pa.field("member_key", pa.int64()),
    pa.field("household_key", pa.int64()),
    pa.field("link_status", pa.string(), nullable=False),
)


def link_exact(table: pa.Table, registry: Mapping[str, tuple[int, int]]) -> pa.Table:
    """Add `member_key`, `household_key` and `link_status` to a standardized feed.

    `registry` maps a member's ID hash to (member key, household key) — the members of the
    feed's county. A table without `id_hash` values (a village-level feed) is marked
    `not_applicable`.
    """
    hashes = table.column("id_hash")
    n = table.num_rows
    if "village_code" in table.column_names:
        members = pa.nulls(n, pa.int64())
        status = pa.array([LinkStatus.NOT_APPLICABLE.value] * n, pa.string())
        return _append(table, members, members, status)
    keys = list(registry)
    lookup = pa.array(keys, pa.string())
    index = pc.index_in(hashes, value_set=lookup)
    member_values = pa.array([registry[k][0] for k in keys], pa.int64())
    household_values = pa.array([registry[k][1] for k in keys], pa.int64())
    members = pc.take(member_values, index) if keys else pa.nulls(n, pa.int64())
    households = pc.take(household_values, index) if keys else pa.nulls(n, pa.int64())
    matched = pc.is_valid(members)
    status = pc.if_else(matched, LinkStatus.EXACT.value, LinkStatus.UNMATCHED.value)
    return _append(table, members, households, status)


def _append(table: pa.Table, members: pa.Array, households: pa.Array, status: pa.Array) -> pa.Table:
    for field_, values in zip(LINK_COLUMNS, (members, households, status), strict=True):
        table = table.append_column(field_, values)
    return table


def link_counts(table: pa.Table) -> dict[str, float | int]:
    """Rows by link status and the exact match rate among rows that have an ID hash."""
    status = table.column("link_status").to_pylist() if table.num_rows else []
    exact = sum(1 for s in status if s == LinkStatus.EXACT)
    unmatched = sum(1 for s in status if s == LinkStatus.UNMATCHED)
    with_id = table.num_rows - table.column("id_hash").null_count if table.num_rows else 0
    return {
        "exact": exact,
        "unmatched": unmatched,
        "with_id": with_id,
        "exact_rate": round(exact / with_id, 4) if with_id else 0.0,
    }
