"""Linkage of feed rows to registry members: exact by ID hash, then probabilistic.

"Join on integers" (DESIGN.md): once a feed row is linked, it carries the member's and the
household's integer keys; the hash stays for audit and later linkage. `link_exact` is the
first step; rows whose ID is missing or matches nobody stay `unmatched` with null keys, and
`link_probabilistic` takes those through `engine.linkage.link_records` (names with pinyin,
birth date, sex, village): above the threshold a row is linked (`probabilistic`), in the grey
zone it waits for a person (`review`, with its ranked candidates), below it stays
`unmatched` and is listed back to the department.

An import's rows are staged on disk (`engine.feeds.sandbox.stage_feed`): `exact_counts`,
`linkage_rows` (the columns linkage reads, only when rows are left to link and the county has
members), `link_overrides` and `linked_batches` link them without holding the whole batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


class LinkStatus(StrEnum):
    EXACT = "exact"  # the ID hash equals a registry member's
    PROBABILISTIC = "probabilistic"  # linked by the model above its acceptance threshold
    CONFIRMED = "confirmed"  # a review item whose candidate a person accepted
    REVIEW = "review"  # in the grey zone: waits in the review queue
    UNMATCHED = "unmatched"  # no member found (listed back to the department)
    NOT_APPLICABLE = "not_applicable"  # a village-level feed (water_safety): nobody to link


LINKED = (LinkStatus.EXACT, LinkStatus.PROBABILISTIC, LinkStatus.CONFIRMED)


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
    # Each distinct hash looked up once in the mapping (a file repeats its people; the
    # registry may be far larger than the file, or a batch of it).
    encoded = pc.dictionary_encode(hashes.combine_chunks() if isinstance(hashes, pa.ChunkedArray) else hashes)
    found = [registry.get(h) for h in encoded.dictionary.to_pylist()] if registry else []
    if any(f is not None for f in found):
        member_values = pa.array([f[0] if f else None for f in found], pa.int64())
        household_values = pa.array([f[1] if f else None for f in found], pa.int64())
        members = pc.take(member_values, encoded.indices)
        households = pc.take(household_values, encoded.indices)
    else:
        members = households = pa.nulls(n, pa.int64())
    matched = pc.is_valid(members)
    status = pc.if_else(matched, LinkStatus.EXACT.value, LinkStatus.UNMATCHED.value)
    return _append(table, members, households, status)


def _append(table: pa.Table, members: pa.Array, households: pa.Array, status: pa.Array) -> pa.Table:
    for field_, values in zip(LINK_COLUMNS, (members, households, status), strict=True):
        table = table.append_column(field_, values)
    return table


def link_counts(table: pa.Table) -> dict[str, float | int]:
    """Rows by link status, the exact match rate among rows that have an ID hash and the
    batch's match rate (rows linked, exactly, by the model or by a reviewer, among the rows
    there is somebody to link)."""
    counter = LinkCounter()
    counter.add(table)
    return counter.counts()


class LinkCounter:
    """`link_counts` of a batch that comes in pieces."""

    def __init__(self) -> None:
        self.by = dict.fromkeys(LinkStatus, 0)
        self.rows = self.with_id = 0

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        counts = pc.value_counts(table.column("link_status"))
        for value, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True):
            self.by[LinkStatus(value)] += count
        self.rows += table.num_rows
        self.with_id += table.num_rows - table.column("id_hash").null_count

    def counts(self) -> dict[str, float | int]:
        return _counts(self.by, self.rows, self.with_id)


def _counts(by: dict[LinkStatus, int], rows: int, with_id: int) -> dict[str, float | int]:
    linkable = rows - by[LinkStatus.NOT_APPLICABLE]
    linked = sum(by[s] for s in LINKED)
    return {
        "exact": by[LinkStatus.EXACT],
        "probabilistic": by[LinkStatus.PROBABILISTIC],
        "confirmed": by[LinkStatus.CONFIRMED],
        "review": by[LinkStatus.REVIEW],
        "unmatched": by[LinkStatus.UNMATCHED],
        "with_id": with_id,
        "without_id": linkable - with_id if linkable else 0,
        "exact_rate": round(by[LinkStatus.EXACT] / with_id, 4) if with_id else 0.0,
        "match_rate": round(linked / linkable, 4) if linkable else 0.0,
    }


@dataclass
class ReviewItem:
    """A feed row in the grey zone and the members it may be (best first)."""

    row_id: int
    line: str
    name: str | None
    birth_date: dt.date | None
    candidates: list[dict[str, Any]] = field(default_factory=list)  # member_key, household_key, probability


@dataclass
class ProbabilisticOutcome:
    table: pa.Table
    reviews: list[ReviewItem]
    summary: dict[str, Any]


def add_row_ids(table: pa.Table) -> pa.Table:
    """`row_id`: the row's position in its batch — its identity in the stored Parquet."""
    if "row_id" in table.column_names:
        return table
    return table.append_column(
        pa.field("row_id", pa.int64(), nullable=False), pa.array(range(table.num_rows), pa.int64())
    )


def linkage_feed(table: pa.Table, kind: str | None = None, places: pa.Table | None = None) -> pa.Table:
    """What `engine.linkage.link_records` compares, from a standardized (and exactly linked)
    feed: the ID hash, name, birth date, sex (the ID's, else the file's 性别), the village and
    township the file names (所在村, 乡镇（街道）, a housing address — resolved against the
    county's `places`), and the group of rows that are distinct people by the kind's key."""
    from engine.linkage.places import resolve_places
    from engine.linkage.prepare import normalize_sex

    n = table.num_rows
    columns = table.column_names

    def text(name: str) -> pa.ChunkedArray | None:
        return table.column(name) if name in columns and table.column(name).null_count < n else None

    sex = table.column("sex")
    stated = text(STATED_SEX)
    if stated is not None:
        distinct = pc.unique(stated)
        folded = pa.array([normalize_sex(v) for v in distinct.to_pylist()], pa.string())
        sex = pc.coalesce(sex, pc.take(folded, pc.index_in(stated, value_set=distinct)))
    if places is not None and places.num_rows:
        village, township = resolve_places(
            places, n, village=text("village"), township=text("township"), address=text("address")
        )
    else:
        village = township = pa.nulls(n, pa.string())
    return pa.table(
        {
            "row_id": table.column("row_id"),
            "id_hash": table.column("id_hash"),
            "name": table.column("name"),
            "birth_date": table.column("birth_date"),
            "sex": sex,
            "village_code": village,
            "township_code": township,
            "group_key": group_keys(table, kind),
        }
    )


STATED_SEX = "stated_sex"


def group_keys(table: pa.Table, kind: str | None = None) -> pa.Array:
    """Rows that are distinct people: the kind's key without the ID number (a person is
    enrolled once a year, dies once …), over the key columns the file has; null where a key
    value is missing, and for kinds without such a key."""
    from engine.schemas.feeds import FEED_SCHEMAS

    n = table.num_rows
    kind = kind or (table.schema.metadata or {}).get(b"kind", b"").decode()
    schema = FEED_SCHEMAS.get(kind)
    if schema is None or "id_number" not in schema.key:
        return pa.nulls(n, pa.string())
    parts = [
        pc.cast(table.column(c), pa.string())
        for c in schema.key
        if c != "id_number" and c in table.column_names and table.column(c).null_count < n
    ]
    if not parts:
        return pa.array([kind] * n, pa.string())  # one row per person in the whole file
    joined = pc.binary_join_element_wise(*parts, "\x1f") if len(parts) > 1 else parts[0]
    return pc.binary_join_element_wise(pa.scalar(kind), joined, "\x1f").combine_chunks()


def link_probabilistic(
    table: pa.Table,
    registry: pa.Table,
    settings: Any = None,
    *,
    places: pa.Table | None = None,
    kind: str | None = None,
    backend: str = "duckdb",
    spark: Any = None,
) -> ProbabilisticOutcome:
    """Link the `unmatched` rows of an exactly linked feed with `engine.linkage.link_records`.

    `registry`: the county's members (member_key, household_key, id_hash, name, birth_date,
    sex, village_code — `shouwang.registry.snapshot.member_snapshot`); `places`: the county's
    villages and townships (`engine.linkage.places.PLACES_SCHEMA`), so that the names a file
    gives become codes. The whole batch goes to the linkage — its rows with an ID set the
    prior and show who a group already lists. Accepted rows get the member's and household's
    keys and `probabilistic`; grey-zone rows `review` (their candidates come back as
    `ReviewItem`s); the rest stay `unmatched`. The table gains `row_id` and
    `link_probability` (1 for exact links, the model's normalised probability of the best
    candidate for the rest it scored). `backend="spark"` links on a Spark session (`spark`).
    """
    from engine.linkage import DEFAULT, link_records

    table = add_row_ids(table)
    n = table.num_rows
    status = table.column("link_status")
    exact = pc.equal(status, LinkStatus.EXACT.value)
    probability = pc.if_else(exact, pa.scalar(1.0), pa.scalar(None, pa.float64()))
    todo = pc.equal(status, LinkStatus.UNMATCHED.value)
    if not n or not pc.any(todo).as_py() or not registry.num_rows:
        return ProbabilisticOutcome(table.append_column("link_probability", probability), [], {"rows": 0})
    result = link_records(
        linkage_feed(table, kind, places), registry, settings or DEFAULT, backend=backend, spark=spark
    )
    links = result.links
    at = pc.index_in(table.column("row_id"), value_set=links.column("row_id"))
    new_status = pc.if_else(todo, pc.take(links.column("status"), at), pa.scalar(None, pa.string()))
    accepted = pc.fill_null(pc.equal(new_status, "accepted"), False)
    member_of = pc.take(links.column("member_key"), at)
    households = registry.column("household_key")
    member_keys = registry.column("member_key")
    household_of = pc.take(households, pc.index_in(member_of, value_set=member_keys))
    members = pc.if_else(accepted, member_of, table.column("member_key"))
    homes = pc.if_else(accepted, household_of, table.column("household_key"))
    mapped = pc.if_else(
        accepted,
        pa.scalar(LinkStatus.PROBABILISTIC.value),
        pc.if_else(pc.fill_null(pc.equal(new_status, "review"), False), pa.scalar(LinkStatus.REVIEW.value), status),
    )
    scored = pc.take(links.column("match_probability"), at)
    probability = pc.if_else(
        exact, pa.scalar(1.0), pc.if_else(pc.greater(scored, 0.0), scored, pa.scalar(None, pa.float64()))
    )
    out = table
    for name, values in (
        ("member_key", members),
        ("household_key", homes),
        ("link_status", mapped),
    ):
        i = out.column_names.index(name)
        out = out.set_column(i, out.schema.field(name), values)
    out = out.append_column("link_probability", pc.cast(probability, pa.float64()))
    reviews = _review_items(out, result.candidates, registry)
    return ProbabilisticOutcome(out, reviews, result.summary())


def _review_items(table: pa.Table, candidates: pa.Table, registry: pa.Table) -> list[ReviewItem]:
    review = table.filter(pc.equal(table.column("link_status"), LinkStatus.REVIEW.value))
    if not review.num_rows:
        return []
    household = dict(
        zip(registry.column("member_key").to_pylist(), registry.column("household_key").to_pylist(), strict=True)
    )
    wanted = candidates.filter(pc.is_in(candidates.column("row_id"), value_set=review.column("row_id")))
    by_row: dict[int, list[dict[str, Any]]] = {}
    for c in wanted.to_pylist():
        by_row.setdefault(c["row_id"], []).append(
            {
                "member_key": c["member_key"],
                "household_key": household.get(c["member_key"]),
                "probability": round(float(c["match_probability"]), 6),
                "pair_probability": round(float(c["pair_probability"]), 6),
            }
        )
    return [
        ReviewItem(r["row_id"], r["line"], r["name"], r["birth_date"], by_row.get(r["row_id"], []))
        for r in review.select(["row_id", "line", "name", "birth_date"]).to_pylist()
    ]


def confirm_link(table: pa.Table, row_id: int, member_key: int | None, household_key: int | None) -> pa.Table:
    """A reviewed row: linked to the member a person chose (`confirmed`), or, with
    `member_key=None`, rejected (`unmatched`)."""
    hit = pc.equal(table.column("row_id"), row_id)
    linked = member_key is not None
    status = LinkStatus.CONFIRMED.value if linked else LinkStatus.UNMATCHED.value
    for name, value, type_ in (
        ("member_key", member_key, pa.int64()),
        ("household_key", household_key, pa.int64()),
        ("link_status", status, pa.string()),
    ):
        i = table.column_names.index(name)
        values = pc.if_else(hit, pa.scalar(value, type_), table.column(name))
        table = table.set_column(i, table.schema.field(name), values)
    return table


# -- a staged batch (the import's rows on disk), batch by batch ---------------------------------

STAGED_BATCH_ROWS = 65_536


def staged_batches(path: Path, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The rows of a staged (or any) Parquet file, `STAGED_BATCH_ROWS` at a time, with the
    file's schema (nullability, metadata); only `columns` when given (those the file has)."""
    # (pre_buffer would keep every row group's column chunks read so far until the end)
    file = pq.ParquetFile(path, pre_buffer=False)
    schema = file.schema_arrow
    if columns is not None:
        columns = [c for c in columns if c in schema.names]
        schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
    for batch in file.iter_batches(batch_size=STAGED_BATCH_ROWS, columns=columns):
        yield pa.Table.from_batches([batch]).cast(schema)


def exact_counts(path: Path, registry: Mapping[str, tuple[int, int]]) -> dict[str, float | int]:
    """`link_counts` of a staged batch after `link_exact`, reading only the ID hashes."""
    counter = LinkCounter()
    for table in staged_batches(path, ["id_hash", "village_code"]):
        counter.add(link_exact(table, registry))
    return counter.counts()


def linkage_rows(path: Path, registry: Mapping[str, tuple[int, int]], kind: str) -> pa.Table:
    """The staged batch as `link_probabilistic` reads it: exactly linked, with row ids, but
    only the columns linkage and its review items use (not amounts, dates, codes …)."""
    from engine.schemas.feeds import FEED_SCHEMAS

    wanted = ["line", "id_hash", "name", "birth_date", "sex", STATED_SEX, "village", "township", "address"]
    schema = FEED_SCHEMAS.get(kind)
    wanted += [k for k in (schema.key if schema else ()) if k not in wanted and k != "id_number"]
    wanted.append("village_code")
    pieces = [link_exact(t, registry) for t in staged_batches(path, wanted)]
    if not pieces:
        return add_row_ids(link_exact(pq.read_schema(path).empty_table(), registry))
    return add_row_ids(pa.concat_tables(pieces))


_OVERRIDE_COLUMNS = ["row_id", "member_key", "household_key", "link_status", "link_probability"]


def link_overrides(table: pa.Table) -> pa.Table:
    """The rows of a probabilistically linked batch whose links are not what `link_exact`
    gave them: linked by the model, waiting for review, or scored but left unmatched."""
    status = table.column("link_status")
    moved = pc.is_in(status, value_set=pa.array([LinkStatus.PROBABILISTIC.value, LinkStatus.REVIEW.value]))
    scored = pc.and_(pc.equal(status, LinkStatus.UNMATCHED.value), pc.is_valid(table.column("link_probability")))
    return table.filter(pc.or_(moved, scored)).select(_OVERRIDE_COLUMNS)


def no_overrides() -> pa.Table:
    fields = {f.name: f for f in LINK_COLUMNS}
    return pa.schema(
        [
            pa.field("row_id", pa.int64(), nullable=False),
            fields["member_key"],
            fields["household_key"],
            fields["link_status"],
            pa.field("link_probability", pa.float64()),
        ]
    ).empty_table()


def linked_batches(
    path: Path, registry: Mapping[str, tuple[int, int]], overrides: pa.Table | None = None
) -> Iterator[pa.Table]:
    """The staged batch with its link columns, batch by batch: `link_exact`, `row_id` (the
    row's position in the batch), then the probabilistic links (`overrides`, by row id) and
    `link_probability` — the columns, and the values, the whole-table path gives."""
    overrides = overrides if overrides is not None and overrides.num_rows else None
    start = 0
    for batch in staged_batches(path):
        table = link_exact(batch, registry)
        n = table.num_rows
        row_ids = pa.array(range(start, start + n), pa.int64())
        start += n
        table = table.append_column(pa.field("row_id", pa.int64(), nullable=False), row_ids)
        exact = pc.equal(table.column("link_status"), LinkStatus.EXACT.value)
        probability = pc.if_else(exact, pa.scalar(1.0), pa.scalar(None, pa.float64()))
        if overrides is not None:
            at = pc.index_in(row_ids, value_set=overrides.column("row_id"))
            hit = pc.is_valid(at)
            if pc.any(hit).as_py():
                for name in ("member_key", "household_key", "link_status"):
                    i = table.column_names.index(name)
                    values = pc.if_else(hit, pc.take(overrides.column(name), at), table.column(name))
                    table = table.set_column(i, table.schema.field(name), values)
                probability = pc.if_else(hit, pc.take(overrides.column("link_probability"), at), probability)
        yield table.append_column("link_probability", probability)
