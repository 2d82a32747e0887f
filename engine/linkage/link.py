"""Linking department feed rows to registry members: exact on the ID hash, then probabilistic.

Arrow in, Arrow out, no Django. Step 1 joins on the keyed ID hash in DuckDB: a row whose hash
is a member's is that member. Step 2 takes the rest — rows whose ID was missing, invalid
(wrong check digit) or matches nobody — through a Fellegi–Sunter model run by Splink on the
same DuckDB connection: names (exact, homophone pinyin, 模糊音, Jaro-Winkler on pinyin), birth
date, sex, village, and the ID itself (a valid ID that differs from a candidate's counts
against it). Each row keeps its best candidate; its probability is normalised over the row's
candidates, so two equally good members (same name and birth date in one village) share it
and the row goes to review instead of being linked to either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from engine.linkage.backends import check_backend, duckdb_connection, splink_db_api
from engine.linkage.prepare import FEED_COLUMNS, REGISTRY_COLUMNS, check_columns, prepare_records
from engine.linkage.settings import DEFAULT, LinkSettings

METHODS = ("exact_id", "probabilistic")
STATUSES = ("accepted", "review", "unmatched")
LINKS_SCHEMA = pa.schema(
    [
        ("row_id", pa.int64()),
        ("member_key", pa.int64()),
        ("match_probability", pa.float64()),
        ("pair_probability", pa.float64()),
        ("method", pa.string()),
        ("status", pa.string()),
        ("candidates", pa.int32()),
    ]
)
CANDIDATES_SCHEMA = pa.schema(
    [
        ("row_id", pa.int64()),
        ("rank", pa.int32()),
        ("member_key", pa.int64()),
        ("match_probability", pa.float64()),
        ("pair_probability", pa.float64()),
        ("match_weight", pa.float64()),
    ]
)
_MAX_WEIGHT = 500.0  # 2**500 still fits a double; clamps the odds before summing


@dataclass(frozen=True)
class LinkResult:
    """The links of one batch, its review-queue candidates, counts and timings.

    `links`: one row per feed row — `row_id`, `member_key` (null when unmatched),
    `match_probability` (normalised over the row's candidates; 1.0 for an exact ID link),
    `pair_probability` (the best candidate's own Splink probability), `method`
    (`exact_id` | `probabilistic`), `status` (`accepted` | `review` | `unmatched`), `candidates`
    (how many members were scored).
    `candidates`: up to `max_candidates` ranked members for every probabilistic row that has
    any — what a reviewer chooses from.
    """

    links: pa.Table
    candidates: pa.Table
    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def match_rate(self) -> float:
        """Share of the batch's rows linked (accepted), exact or probabilistic."""
        rows = self.counts["rows"]
        return (self.counts["exact_id"] + self.counts["probabilistic_accepted"]) / rows if rows else 0.0

    def summary(self) -> dict[str, Any]:
        return {**self.counts, "match_rate": round(self.match_rate, 6), "seconds": self.seconds}


def link_records(
    feed: pa.Table,
    registry: pa.Table,
    settings: LinkSettings = DEFAULT,
    *,
    backend: str = "duckdb",
    threads: int | None = None,
) -> LinkResult:
    """Link each feed row to at most one registry member.

    `feed`: row_id int64, id_hash string (null when missing or invalid), name, birth_date date32,
    sex (男/女 or M/F), village_code (12 digits), optionally township_code (9 digits) — all but
    row_id nullable. `registry`: member_key int64, id_hash, name, birth_date, sex, village_code,
    household_key int64. Deterministic: the same inputs and settings give the same links.
    """
    check_backend(backend)
    check_columns(feed, (*FEED_COLUMNS[:1], "id_hash", "name"), "feed")
    check_columns(registry, REGISTRY_COLUMNS[:3], "registry")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    con = duckdb_connection(threads)
    try:
        con.register("in_feed", feed.select([c for c in feed.column_names if c in (*FEED_COLUMNS, "township_code")]))
        con.register("in_registry", registry.select([c for c in registry.column_names if c in REGISTRY_COLUMNS]))
        # Step 1: exact on the ID hash. Two members sharing a hash would be a registry error:
        # the row then goes to review rather than to either of them.
        con.execute(
            """
            CREATE TABLE exact AS
            SELECT f.row_id, min(r.member_key) AS member_key, count(*) AS n
            FROM in_feed f JOIN in_registry r ON f.id_hash = r.id_hash AND f.id_hash <> ''
            GROUP BY f.row_id
            """
        )
        residual = con.sql(
            "SELECT * FROM in_feed f WHERE NOT EXISTS (SELECT 1 FROM exact e WHERE e.row_id = f.row_id)"
        ).to_arrow_table()
        seconds["exact"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        if residual.num_rows:
            _probabilistic(con, residual, registry, settings, seconds)
        else:
            con.execute(f"CREATE TABLE scored AS SELECT * FROM ({_EMPTY_SCORED})")  # noqa: S608  (constant)
        seconds["probabilistic"] = time.perf_counter() - t1
        links, candidates = _assemble(con, settings)
    finally:
        con.close()
    counts = _count(links)
    seconds["total"] = time.perf_counter() - t0
    return LinkResult(links, candidates, counts, {k: round(v, 3) for k, v in seconds.items()})


_EMPTY_SCORED = (
    "SELECT 0::BIGINT AS row_id, 0::BIGINT AS member_key, 0.0::DOUBLE AS match_weight, "
    "0.0::DOUBLE AS pair_probability, 0.0::DOUBLE AS match_probability, 0::INTEGER AS rank, "
    "0::INTEGER AS n WHERE false"
)


def _probabilistic(
    con: duckdb.DuckDBPyConnection,
    residual: pa.Table,
    registry: pa.Table,
    settings: LinkSettings,
    seconds: dict[str, float],
) -> None:
    from splink import Linker  # probabilistic linkage (Fellegi–Sunter) on the same connection

    t = time.perf_counter()
    left = prepare_records(residual, "row_id")
    right = prepare_records(registry, "member_key")
    seconds["prepare"] = time.perf_counter() - t
    prior = settings.probability_two_random_records_match or 1.0 / max(registry.num_rows, 1)
    db_api = splink_db_api(con)
    linker = Linker(
        [db_api.register(left, table_name="feed"), db_api.register(right, table_name="registry")],
        settings.splink_settings(prior=prior),
        log_level=None,
    )
    if settings.term_frequency_names:
        register_registry_term_frequencies(con, linker, db_api, right)
    predictions = linker.inference.predict(
        threshold_match_probability=settings.min_pair_probability, warning_mode="never"
    )
    # Orient each pair (feed → registry), then normalise the odds over the row's candidates:
    # p_i = odds_i / (1 + Σ odds_j), the "1" standing for "the person is not in the registry".
    # Only trusted text is interpolated here and below: Splink's table names, our constants,
    # column names and numbers from LinkSettings.
    con.execute(
        f"""
        CREATE TABLE scored AS
        WITH p AS (
            SELECT
                CASE WHEN source_dataset_l = 'feed' THEN uid_l ELSE uid_r END AS row_id,
                CASE WHEN source_dataset_l = 'feed' THEN uid_r ELSE uid_l END AS member_key,
                least(greatest(match_weight, -{_MAX_WEIGHT}), {_MAX_WEIGHT}) AS match_weight,
                match_probability AS pair_probability
            FROM {predictions.physical_name}
        ), o AS (
            SELECT *, pow(2.0, match_weight) AS odds FROM p
        )
        SELECT row_id, member_key, match_weight, pair_probability,
               odds / (1.0 + sum(odds) OVER (PARTITION BY row_id)) AS match_probability,
               row_number() OVER (PARTITION BY row_id ORDER BY match_weight DESC, member_key)::INTEGER AS rank,
               count(*) OVER (PARTITION BY row_id)::INTEGER AS n
        FROM o
        """  # noqa: S608
    )
    predictions.drop_table_from_database_and_remove_from_cache()


def register_registry_term_frequencies(
    con: duckdb.DuckDBPyConnection, linker: Any, db_api: Any, registry: pa.Table
) -> None:
    """Name frequencies among registry members only: the chance that a *different* member bears
    the name. Splink would otherwise count the feed's rows too (a person with ten claims in the
    batch would make their own name look common)."""
    con.register("tf_source", registry.select(["name", "name_pinyin"]))
    n = max(registry.num_rows, 1)
    for column in ("name", "name_pinyin"):
        table = con.sql(
            f"SELECT {column}, count(*) / {n}::DOUBLE AS tf_{column} FROM tf_source "  # noqa: S608
            f"WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY {column}"
        ).to_arrow_table()
        linker.table_management.register_term_frequency_lookup(
            db_api.register(table, table_name=f"registry_tf_{column}"), column
        )
    con.unregister("tf_source")


def _assemble(con: duckdb.DuckDBPyConnection, s: LinkSettings) -> tuple[pa.Table, pa.Table]:
    links = con.sql(
        f"""
        SELECT f.row_id,
            CASE WHEN e.row_id IS NOT NULL THEN e.member_key
                 WHEN b.match_probability >= {s.accept} OR b.pair_probability >= {s.review} THEN b.member_key
            END AS member_key,
            CASE WHEN e.row_id IS NOT NULL THEN 1.0 / e.n ELSE coalesce(b.match_probability, 0.0) END
                AS match_probability,
            CASE WHEN e.row_id IS NOT NULL THEN 1.0 / e.n ELSE coalesce(b.pair_probability, 0.0) END
                AS pair_probability,
            CASE WHEN e.row_id IS NOT NULL THEN 'exact_id' ELSE 'probabilistic' END AS method,
            CASE WHEN e.row_id IS NOT NULL THEN (CASE WHEN e.n = 1 THEN 'accepted' ELSE 'review' END)
                 WHEN b.match_probability >= {s.accept} THEN 'accepted'
                 WHEN b.pair_probability >= {s.review} THEN 'review'
                 ELSE 'unmatched' END AS status,
            CASE WHEN e.row_id IS NOT NULL THEN e.n ELSE coalesce(b.n, 0) END::INTEGER AS candidates
        FROM in_feed f
        LEFT JOIN exact e ON e.row_id = f.row_id
        LEFT JOIN (SELECT * FROM scored WHERE rank = 1) b ON b.row_id = f.row_id
        ORDER BY f.row_id
        """  # noqa: S608
    ).to_arrow_table()
    candidates = con.sql(
        f"""
        SELECT row_id, rank, member_key, match_probability, pair_probability, match_weight
        FROM scored WHERE rank <= {int(s.max_candidates)}
        ORDER BY row_id, rank
        """  # noqa: S608
    ).to_arrow_table()
    return links.cast(LINKS_SCHEMA), candidates.cast(CANDIDATES_SCHEMA)


def _count(links: pa.Table) -> dict[str, int]:
    method, status = links.column("method"), links.column("status")

    def n(mask: pa.ChunkedArray) -> int:
        return int(pc.sum(mask.cast(pa.int64())).as_py() or 0)

    accepted = pc.equal(status, "accepted")
    return {
        "rows": links.num_rows,
        "exact_id": n(pc.and_(pc.equal(method, "exact_id"), accepted)),
        "probabilistic_accepted": n(pc.and_(pc.equal(method, "probabilistic"), accepted)),
        "review": n(pc.equal(status, "review")),
        "unmatched": n(pc.equal(status, "unmatched")),
    }
