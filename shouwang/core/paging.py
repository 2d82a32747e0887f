"""Pagination that stays cheap over millions of rows: the count stops at a cap.

An exact `COUNT(*)` of a province's 2.7 million households costs half a second, on every page
of the list. `CappedPaginator` counts at most `cap` + 1 rows (`SELECT COUNT(*) FROM (… LIMIT
cap + 1)`); beyond the cap the page says "more than 10,000" and offers pages up to the cap —
the totals of a whole region are the dashboards' business, not the list's.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def _counted(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            # Unordered: how many rows there are up to the cap does not depend on their order,
            # and an ORDER BY inside the counted subquery sorts every matching row first.
            return rows.order_by()[: self.cap + 1].count()
        return len(rows)

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """More rows than counted: the count and the number of pages are lower bounds."""
        return self._counted > self.cap

    @property
    def count_display(self) -> str:
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"

    @property
    def num_pages_display(self) -> str:
        return f"{self.num_pages}+" if self.capped else str(self.num_pages)


def capped(paginator: Any) -> bool:
    return bool(getattr(paginator, "capped", False))
