"""Record linkage: department feed rows to registry members, and duplicates inside the registry.

Public API (plain Python, Arrow in, Arrow out):

- `link_records(feed, registry, settings=DEFAULT, *, backend="duckdb") -> LinkResult`
- `find_duplicate_persons(registry, settings=DEFAULT) -> pa.Table`
- `LinkSettings` (frozen, serialisable) and its `DEFAULT`.

The method, the measured quality and the command that reproduces it: docs/linkage.md.
"""

from engine.linkage.duplicates import find_duplicate_persons
from engine.linkage.link import LinkResult, link_records
from engine.linkage.settings import DEFAULT, ComparisonSpec, Level, LinkSettings

__all__ = [
    "DEFAULT",
    "ComparisonSpec",
    "Level",
    "LinkResult",
    "LinkSettings",
    "find_duplicate_persons",
    "link_records",
]
