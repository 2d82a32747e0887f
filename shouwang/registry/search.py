"""Finding members by a part of their name among millions, on PostgreSQL by an index.

`name LIKE '%建平%'` reads every member of a province (10 million rows, seconds). Chinese names
are two to four characters, so an index of the characters themselves does the work: the GIN
index `registry_member_name_chars` on `string_to_array(name, NULL)` (migration 0004) finds the
names holding every character of the query (`@>`), and the LIKE keeps those that hold them in
that order — the same rows as the LIKE alone. Elsewhere (SQLite), and within a township or a
village (a few thousand members, read faster through their households than through the
index's long lists of common characters), the LIKE alone.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Func, Q


class HasAllChars(Func):
    """`string_to_array(name::text, NULL) @> ARRAY[chars]`: served by the GIN index."""

    output_field = BooleanField()

    def __init__(self, expression: Any, chars: list[str]) -> None:
        super().__init__(expression)
        self.chars = chars

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return f"string_to_array(({sql})::text, NULL::text) @> %s::text[]", [*params, self.chars]


# Scopes with a code this long or longer (townships, villages) do without the index.
NARROW_SCOPE = 9


def name_contains(field: str, text: str, scope: str = "") -> Any:
    """A filter: the name in `field` contains `text`; `scope` is the code searched within."""
    plain = Q(**{f"{field}__contains": text})
    chars = sorted(set(text))
    if connection.vendor != "postgresql" or not chars or len(scope) >= NARROW_SCOPE:
        return plain
    return plain & Q(HasAllChars(F(field), chars))
