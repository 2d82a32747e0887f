"""Linking department feed rows to registry members: exact on the ID hash, then probabilistic.

Arrow in, Arrow out, no Django. Step 1 joins on the keyed ID hash in DuckDB: a row whose hash
is a member's is that member. Step 2 takes the rest — rows whose ID was missing or matches
nobody — through a Fellegi–Sunter model run by Splink on the same connection: names (exact,
homophone pinyin, 模糊音, Jaro-Winkler on pinyin), birth date, sex, village or township, and
the ID itself (a valid ID that differs from a candidate's counts against it).

The prior is the batch's own: the share of its rows with a valid ID that are registry members
says how likely a row without one is a member (`LinkSettings.member_prior`). Rows of one
`group_key` (a kind that lists a person once per year, per date …) are distinct people: a
member already linked by ID in the group is an unlikely candidate for another of its rows, and
two rows of a group are not both linked to one member. Each row keeps its best candidate; its
probability is normalised over the row's candidates and "nobody", so two equally good members
(same name and birth date in one village) share it and the row goes to review instead of
being linked to either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.linkage.backends import DuckDBEngine, SparkEngine, check_backend, open_engine
from engine.linkage.prepare import check_columns, prepare_records
from engine.linkage.settings import DEFAULT, LinkSettings

Engine = DuckDBEngine | SparkEngine
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
_PSEUDO_ROWS = 10  # imagined rows at the no-information rate, for batches with few ID links


@dataclass(frozen=True)
class LinkResult:
    """The links of one batch, its review-queue candidates, counts, the prior used and timings.

    `links`: one row per feed row — `row_id`, `member_key` (null when unmatched),
    `match_probability` (normalised over the row's candidates; 1.0 for an exact ID link),
    `pair_probability` (the best candidate's own Splink probability), `method`
    (`exact_id` | `probabilistic`), `status` (`accepted` | `review` | `unmatched`), `candidates`
    (how many members were scored).
    `candidates`: up to `max_candidates` ranked members for every probabilistic row that has
    any — what a reviewer chooses from.
    `member_prior`: the chance, before comparing, that a row without a usable ID is a member.
    """

    links: pa.Table
    candidates: pa.Table
    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    member_prior: float = 0.5

    @property
    def match_rate(self) -> float:
        """Share of the batch's rows linked (accepted), exact or probabilistic."""
        rows = self.counts["rows"]
        return (self.counts["exact_id"] + self.counts["probabilistic_accepted"]) / rows if rows else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            **self.counts,
            "match_rate": round(self.match_rate, 6),
            "member_prior": round(self.member_prior, 6),
            "seconds": self.seconds,
        }


def batch_member_prior(rows_with_id: int, exact: int, settings: LinkSettings = DEFAULT) -> float:
    """The prior that a row without a usable ID is a registry member: `settings.member_prior`,
    or the batch's own rate — rows whose valid ID is a member's among rows with a valid ID,
    with one imagined row of each kind (so a batch without IDs says 0.5) — at most
    `settings.max_member_prior`."""
    if settings.member_prior is not None:
        return settings.member_prior
    return min((exact + 1) / (rows_with_id + 2), settings.max_member_prior)


def link_records(
    feed: pa.Table,
    registry: pa.Table,
    settings: LinkSettings = DEFAULT,
    *,
    backend: str = "duckdb",
    threads: int | None = None,
    spark: Any = None,
) -> LinkResult:
    """Link each feed row to at most one registry member.

    `feed`: `row_id` int64 and, all nullable, `id_hash` (null when missing or invalid),
    `group_key` (rows sharing one are distinct people) and the columns the comparisons of
    `settings` compare — by default name, birth_date date32, sex (男/女 or M/F), village_code
    (12 digits) and optionally township_code (9 digits). `registry`: `member_key` int64,
    `id_hash` and the same compared columns. Pass the whole batch, rows with IDs included:
    they set the prior and which members a group has already. Deterministic: the same
    inputs and settings give the same links, on DuckDB (`threads`) and on Spark (`spark`: a
    session; by default the active one or a local one).
    """
    check_backend(backend)
    check_columns(feed, ("row_id",), "feed")
    check_columns(registry, ("member_key",), "registry")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    con = open_engine(backend, threads=threads, spark=spark)
    try:
        feed_in = _with_columns(feed, {"id_hash": pa.string(), "group_key": pa.string()})
        registry_in = _with_columns(registry, {"id_hash": pa.string(), "birth_date": pa.date32()})
        con.register("in_feed", feed_in.select(["row_id", "id_hash", "group_key"]))
        con.register("in_registry", registry_in.select(["member_key", "id_hash", "birth_date"]))
        # Step 1: exact on the ID hash. Two members sharing a hash would be a registry error:
        # the row then goes to review rather than to either of them.
        con.create(
            "exact",
            """
            SELECT f.row_id, min(r.member_key) AS member_key, count(*) AS n
            FROM in_feed f JOIN in_registry r ON f.id_hash = r.id_hash AND f.id_hash <> ''
            GROUP BY f.row_id
            """,
        )
        ((with_id, exact),) = con.rows(
            "SELECT count(*) FILTER (WHERE id_hash IS NOT NULL AND id_hash <> ''), "
            "(SELECT count(*) FROM exact) FROM in_feed"
        )
        prior = batch_member_prior(int(with_id), int(exact), settings)
        residual_ids = con.arrow(
            "SELECT row_id FROM in_feed f WHERE NOT EXISTS (SELECT 1 FROM exact e WHERE e.row_id = f.row_id)"
        )
        seconds["exact"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        if residual_ids.num_rows and registry.num_rows:
            residual = feed_in.filter(pc.is_in(feed_in.column("row_id"), value_set=residual_ids.column("row_id")))
            _probabilistic(con, residual, registry_in, settings, prior, seconds)
        else:
            con.create("scored", _EMPTY_SCORED)
            con.create("shown", "SELECT 0::BIGINT AS row_id, 0.0::DOUBLE AS shown_probability LIMIT 0")
        seconds["probabilistic"] = time.perf_counter() - t1
        links, candidates = _assemble(con, settings)
    finally:
        con.close()
    counts = _count(links)
    seconds["total"] = time.perf_counter() - t0
    return LinkResult(links, candidates, counts, {k: round(v, 3) for k, v in seconds.items()}, prior)


def _with_columns(table: pa.Table, wanted: dict[str, pa.DataType]) -> pa.Table:
    for name, type_ in wanted.items():
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, type_))
        elif table.schema.field(name).type != type_:
            table = table.set_column(table.column_names.index(name), name, table.column(name).cast(type_))
    return table


_EMPTY_SCORED = (
    "SELECT 0::BIGINT AS row_id, 0::BIGINT AS member_key, 0.0::DOUBLE AS match_weight, "
    "0.0::DOUBLE AS pair_probability, 0.0::DOUBLE AS match_probability, 0::INTEGER AS rank, "
    "0::INTEGER AS n, NULL::VARCHAR AS group_key WHERE false"
)


def _probabilistic(
    con: Engine,
    residual: pa.Table,
    registry: pa.Table,
    settings: LinkSettings,
    member_prior: float,
    seconds: dict[str, float],
) -> None:
    from splink import Linker  # probabilistic linkage (Fellegi–Sunter) on the same connection

    t = time.perf_counter()
    left = prepare_records(residual, "row_id", settings)
    right = prepare_records(registry, "member_key", settings)
    seconds["prepare"] = time.perf_counter() - t
    prior = settings.pair_prior(registry.num_rows, member_prior)
    db_api = con.splink_api()
    linker = Linker(
        [db_api.register(left, table_name="feed"), db_api.register(right, table_name="registry")],
        settings.splink_settings(prior=prior, dialect=con.dialect),
        log_level=None,
    )
    register_registry_term_frequencies(con, linker, db_api, right, settings.term_frequency_columns())
    predictions = linker.inference.predict(
        threshold_match_probability=settings.min_pair_probability, warning_mode="never"
    )
    con.register("residual_groups", residual.select(["row_id", "group_key"]))
    # Orient each pair (feed → registry), then weigh what the batch itself says about who its
    # rows without an ID are likely to be. Its rows linked by ID show which kind of member its
    # rows are: by five-year birth cohort, and whether the member has another row in the batch
    # ("listed"). A candidate of a cell (cohort, listed or not) is P_batch(cell) / P_registry(cell)
    # times as likely as an average member to be this row: a quarter's claims repeat their
    # people, so a name alone points to the namesake who has claims; a school list is children;
    # an enrolment list naming all but a few hundred members points to those few. The batch's
    # shares are smoothed towards the registry's (no information) with ten imagined rows, and no
    # cell counts for less than ε (`repeat_in_group`). In a group (a kind listing a person once
    # per year, per date …) a member the group lists already is ε times as likely. Then the
    # odds are normalised over the row's candidates: p_i = odds_i / (1 + Σ odds_j), the "1"
    # standing for "not in the registry". Only trusted text is interpolated here and below:
    # Splink's table names, our constants, column names and numbers from LinkSettings.
    eps = settings.repeat_in_group
    n = max(registry.num_rows, 1)
    con.create(
        "scored",
        f"""
        WITH p AS (
            SELECT
                CASE WHEN source_dataset_l = 'feed' THEN uid_l ELSE uid_r END AS row_id,
                CASE WHEN source_dataset_l = 'feed' THEN uid_r ELSE uid_l END AS member_key,
                match_weight
            FROM {predictions.physical_name}
        ), listed AS (
            SELECT member_key, count(*) AS k FROM exact WHERE n = 1 GROUP BY member_key
        ), cell_of AS (
            SELECT r.member_key, coalesce(year(r.birth_date) // 5, -1) AS age, l.k IS NOT NULL AS listed,
                   coalesce(l.k, 0) AS k
            FROM in_registry r LEFT JOIN listed l ON l.member_key = r.member_key
        ), members AS (
            SELECT age, listed, count(*) / {n}::DOUBLE AS share FROM cell_of GROUP BY age, listed
        ), batch_rows AS (
            -- an ID row's member is "listed" from another row's point of view if it has another row
            SELECT age, k >= 2 AS listed, sum(k) AS rows FROM cell_of WHERE k > 0 GROUP BY age, k >= 2
        ), total AS (
            SELECT coalesce(sum(rows), 0) AS rows FROM batch_rows
        ), presence AS (
            SELECT m.age, m.listed,
                   log2(greatest((coalesce(b.rows, 0) + {_PSEUDO_ROWS} * m.share) / (t.rows + {_PSEUDO_ROWS}),
                                 {eps} * m.share) / m.share) AS shift
            FROM members m CROSS JOIN total t LEFT JOIN batch_rows b ON b.age = m.age AND b.listed = m.listed
        ), taken AS (
            SELECT DISTINCT f.group_key, e.member_key
            FROM exact e JOIN in_feed f ON f.row_id = e.row_id
            WHERE f.group_key IS NOT NULL AND e.n = 1
        ), w AS (
            SELECT p.row_id, p.member_key, g.group_key,
                   least(greatest(p.match_weight + CASE WHEN t.member_key IS NOT NULL THEN log2({eps})
                                                        ELSE coalesce(x.shift, 0.0) END,
                                  -{_MAX_WEIGHT}), {_MAX_WEIGHT}) AS match_weight
            FROM p JOIN residual_groups g ON g.row_id = p.row_id
            LEFT JOIN cell_of c ON c.member_key = p.member_key
            LEFT JOIN presence x ON x.age = c.age AND x.listed = c.listed
            LEFT JOIN taken t ON t.group_key = g.group_key AND t.member_key = p.member_key
        ), o AS (
            SELECT *, pow(2.0, match_weight) AS odds FROM w
        )
        SELECT row_id, member_key, group_key, match_weight, odds / (1.0 + odds) AS pair_probability,
               odds / (1.0 + sum(odds) OVER (PARTITION BY row_id)) AS match_probability,
               row_number() OVER (PARTITION BY row_id ORDER BY match_weight DESC, member_key)::INTEGER AS rank,
               count(*) OVER (PARTITION BY row_id)::INTEGER AS n
        FROM o
        """,  # noqa: S608
    )
    # What a reviewer is shown: the best `max_candidates`, and how probable it is that the
    # person is one of them (a name shared by thirty members is no question for a reviewer).
    con.create(
        "shown",
        f"""
        SELECT row_id, sum(match_probability) AS shown_probability
        FROM scored WHERE rank <= {int(settings.max_candidates)} GROUP BY row_id
        """,  # noqa: S608
    )
    predictions.drop_table_from_database_and_remove_from_cache()
    con.unregister("residual_groups")


def register_registry_term_frequencies(
    con: Engine, linker: Any, db_api: Any, registry: pa.Table, columns: list[str]
) -> None:
    """Value frequencies among registry members only: the chance that a *different* member
    bears the name. Splink would otherwise count the feed's rows too (a person with ten claims
    in the batch would make their own name look common)."""
    if not columns:
        return
    con.register("tf_source", registry.select(columns))
    n = max(registry.num_rows, 1)
    for column in columns:
        table = con.arrow(
            f'SELECT "{column}", count(*) / {n}::DOUBLE AS "tf_{column}" FROM tf_source '  # noqa: S608
            f'WHERE "{column}" IS NOT NULL GROUP BY "{column}" ORDER BY "{column}"'
        )
        linker.table_management.register_term_frequency_lookup(
            db_api.register(table, table_name=f"registry_tf_{column}"), column
        )
    con.unregister("tf_source")


def _assemble(con: Engine, s: LinkSettings) -> tuple[pa.Table, pa.Table]:
    # Within a group two rows are two people: of the rows whose best candidate is one member,
    # only the most probable keeps the link; the others wait for a reviewer.
    links = con.arrow(
        f"""
        WITH best AS (
            SELECT scored.*, shown.shown_probability,
                   CASE WHEN group_key IS NULL OR match_probability < {s.accept} THEN 1
                        ELSE row_number() OVER (PARTITION BY group_key, member_key,
                                                match_probability >= {s.accept}
                                                ORDER BY match_probability DESC, scored.row_id) END AS claim
            FROM scored JOIN shown ON shown.row_id = scored.row_id WHERE rank = 1
        )
        SELECT f.row_id,
            CASE WHEN e.row_id IS NOT NULL THEN e.member_key
                 WHEN b.match_probability >= {s.accept} OR b.shown_probability >= {s.review} THEN b.member_key
            END AS member_key,
            CASE WHEN e.row_id IS NOT NULL THEN 1.0 / e.n ELSE coalesce(b.match_probability, 0.0) END
                AS match_probability,
            CASE WHEN e.row_id IS NOT NULL THEN 1.0 / e.n ELSE coalesce(b.pair_probability, 0.0) END
                AS pair_probability,
            CASE WHEN e.row_id IS NOT NULL THEN 'exact_id' ELSE 'probabilistic' END AS method,
            CASE WHEN e.row_id IS NOT NULL THEN (CASE WHEN e.n = 1 THEN 'accepted' ELSE 'review' END)
                 WHEN b.match_probability >= {s.accept} AND b.claim = 1 THEN 'accepted'
                 WHEN b.match_probability >= {s.accept} OR b.shown_probability >= {s.review} THEN 'review'
                 ELSE 'unmatched' END AS status,
            CASE WHEN e.row_id IS NOT NULL THEN e.n ELSE coalesce(b.n, 0) END::INTEGER AS candidates
        FROM in_feed f
        LEFT JOIN exact e ON e.row_id = f.row_id
        LEFT JOIN best b ON b.row_id = f.row_id
        ORDER BY f.row_id
        """  # noqa: S608
    )
    candidates = con.arrow(
        f"""
        SELECT row_id, rank, member_key, match_probability, pair_probability, match_weight
        FROM scored WHERE rank <= {int(s.max_candidates)}
        ORDER BY row_id, rank
        """  # noqa: S608
    )
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
