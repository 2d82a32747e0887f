"""Estimating a model's m/u probabilities from unlabelled data, once, for a new kind of source.

The default model (settings.py) is fixed by hand and checked on the synthetic county; a source
with other columns (FEBRL's addresses, a province's own files) gets its m/u from the data
itself, without any truth: u by random sampling of record pairs (almost all of them are
non-matches), m by expectation maximisation within blocks (Splink's training). The result is
an ordinary `LinkSettings`, to be frozen and reused like the default — not re-estimated per
batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from engine.linkage.backends import DuckDBEngine
from engine.linkage.link import register_registry_term_frequencies
from engine.linkage.prepare import prepare_records
from engine.linkage.settings import Level, LinkSettings


def estimate_settings(
    feed: pa.Table,
    registry: pa.Table,
    settings: LinkSettings,
    *,
    em_blocking_rules: Sequence[str],
    max_pairs: float = 2e6,
    seed: int = 1,
) -> LinkSettings:
    """`settings` with every comparison's m/u estimated on `feed` × `registry`.

    `em_blocking_rules`: Splink blocking rules (`l.` feed, `r.` registry) for the EM passes;
    each pass leaves the m of the columns it blocks on as they were, so the rules should
    between them leave every column free at least once. The prior and thresholds of
    `settings` are kept.
    """
    from splink import Linker

    con = DuckDBEngine()
    try:
        left = prepare_records(feed, "row_id", settings)
        right = prepare_records(registry, "member_key", settings)
        db_api = con.splink_api()
        linker = Linker(
            [db_api.register(left, table_name="feed"), db_api.register(right, table_name="registry")],
            settings.splink_settings(prior=settings.pair_prior(registry.num_rows, 0.5)),
            log_level=None,
        )
        register_registry_term_frequencies(con, linker, db_api, right, settings.term_frequency_columns())
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        for rule in em_blocking_rules:
            linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
        model = linker.misc.save_model_to_json()
    finally:
        con.close()
    out = settings
    for comparison in model["comparisons"]:
        spec = settings.comparison(comparison["output_column_name"])
        trained = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        levels = tuple(
            Level(
                old.label, _probability(new.get("m_probability"), old.m), _probability(new.get("u_probability"), old.u)
            )
            for old, new in zip(spec.levels, trained, strict=True)
        )
        out = out.with_levels(spec.column, levels)
    return out


def _probability(value: object, fallback: float) -> float:
    """A trained probability, or the declared one where training left a level empty."""
    if not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
        return fallback
    return float(value)
