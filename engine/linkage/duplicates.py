"""Probable duplicate persons inside one registry (一人多户): the same person under two members.

A county registry keys members by ID number, so the same ID cannot be registered twice; what
slips through is the same person entered again with another (mistyped, old, borrowed) ID or
none, typically in a second household (a daughter married out and still listed at home). The
same model as feed linkage finds them — names with pinyin and 模糊音, birth date, sex, village —
minus the ID comparison (differing IDs are the point), within blocks of equal birth date and
fuzzy name. Pairs that do share an ID hash (a registry loaded without its uniqueness check)
are listed too, with probability 1.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from engine.linkage.backends import check_backend, open_engine
from engine.linkage.prepare import REGISTRY_COLUMNS, check_columns, prepare_records
from engine.linkage.settings import DEFAULT, LinkSettings

DUPLICATES_SCHEMA = pa.schema(
    [
        ("member_key_l", pa.int64()),
        ("member_key_r", pa.int64()),
        ("household_key_l", pa.int64()),
        ("household_key_r", pa.int64()),
        ("match_probability", pa.float64()),
        ("same_household", pa.bool_()),
        ("reason", pa.string()),  # same_id_hash | same_name | homophone_name | similar_name
    ]
)


def find_duplicate_persons(
    registry: pa.Table, settings: LinkSettings = DEFAULT, *, backend: str = "duckdb", spark: Any = None
) -> pa.Table:
    """Pairs of different members (member_key_l < member_key_r) that are probably one person.

    Listed when the pair's probability reaches `settings.review`; ordered by probability, then
    keys. `registry` as for `link_records` (one county: members of different counties are never
    the same registry row to compare).
    """
    check_backend(backend)
    check_columns(registry, REGISTRY_COLUMNS, "registry")
    from splink import Linker  # the same Fellegi–Sunter model, in deduplication mode

    con = open_engine(backend, spark=spark)
    try:
        con.register("in_registry", registry.select(list(REGISTRY_COLUMNS)))
        prepared = prepare_records(registry, "member_key", settings)
        # Even odds that a member was entered twice, spread over the registry (1 / size per pair).
        prior = settings.pair_prior(registry.num_rows, 0.5)
        db_api = con.splink_api()
        linker = Linker(
            db_api.register(prepared, table_name="registry_members"),
            settings.splink_settings(prior=prior, link_type="dedupe_only", with_id=False, dialect=con.dialect),
            log_level=None,
        )
        pairs = linker.inference.predict(threshold_match_probability=settings.review, warning_mode="never")
        con.register("prepared", prepared)
        table = con.arrow(  # only Splink's own table name is interpolated
            f"""
            WITH scored AS (
                SELECT least(uid_l, uid_r) AS a, greatest(uid_l, uid_r) AS b, match_probability
                FROM {pairs.physical_name}
            ), same_id AS (
                SELECT x.member_key AS a, y.member_key AS b, 1.0 AS match_probability
                FROM in_registry x JOIN in_registry y
                  ON x.id_hash = y.id_hash AND x.member_key < y.member_key
            ), candidates AS (
                SELECT a, b, max(match_probability) AS match_probability, bool_or(from_id) AS same_id
                FROM (SELECT *, false AS from_id FROM scored UNION ALL SELECT *, true FROM same_id)
                GROUP BY a, b
            )
            SELECT c.a AS member_key_l, c.b AS member_key_r,
                   x.household_key AS household_key_l, y.household_key AS household_key_r,
                   c.match_probability,
                   x.household_key IS NOT DISTINCT FROM y.household_key AS same_household,
                   CASE WHEN c.same_id THEN 'same_id_hash'
                        WHEN px.name = py.name THEN 'same_name'
                        WHEN px.name_pinyin = py.name_pinyin THEN 'homophone_name'
                        ELSE 'similar_name' END AS reason
            FROM candidates c
            JOIN in_registry x ON x.member_key = c.a
            JOIN in_registry y ON y.member_key = c.b
            JOIN prepared px ON px.uid = c.a
            JOIN prepared py ON py.uid = c.b
            ORDER BY c.match_probability DESC, c.a, c.b
            """  # noqa: S608
        )
    finally:
        con.close()
    return table.cast(DUPLICATES_SCHEMA)
