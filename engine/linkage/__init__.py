"""Record linkage: department feed rows to registry members, and duplicates inside the registry.

Public API (plain Python, Arrow in, Arrow out):

- `link_records(feed, registry, settings=DEFAULT, *, backend="duckdb") -> LinkResult`
- `find_duplicate_persons(registry, settings=DEFAULT) -> pa.Table`
- `LinkSettings` (frozen, serialisable) and its `DEFAULT`; `ComparisonSpec`, `Level`;
- `estimate_settings(feed, registry, settings, em_blocking_rules=...)`: m/u from unlabelled
  data, for a source with other columns;
- `resolve_places(places, n, village=, township=, address=)`: place names → division codes.

The method, the measured quality and the command that reproduces it: docs/linkage.md.
"""

from engine.linkage.duplicates import find_duplicate_persons
from engine.linkage.link import LinkResult, batch_member_prior, link_records
from engine.linkage.places import PLACES_SCHEMA, resolve_places
from engine.linkage.settings import DEFAULT, ComparisonSpec, Level, LinkSettings
from engine.linkage.train import estimate_settings

__all__ = [
    "DEFAULT",
    "PLACES_SCHEMA",
    "ComparisonSpec",
    "Level",
    "LinkResult",
    "LinkSettings",
    "batch_member_prior",
    "estimate_settings",
    "find_duplicate_persons",
    "link_records",
    "resolve_places",
]
