"""Display helpers for the registry pages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()

# NBS names of villages are the names of their committees: "文山村村民委员会" reads as "文山村".
COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会", "村委会", "居委会")


@register.filter
def short_region_name(name: str) -> str:
    for suffix in COMMITTEE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


# Figures are grouped by thousands with a comma in every language, as in the counties' own
# spreadsheets (Django's zh-Hans format groups by nothing).
@register.filter
def yuan(value: Any) -> str:
    """An amount in yuan: `8333.333` → `8,333.33`; empty for no value."""
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


@register.filter
def count_shown(paginator: Any) -> str:
    """A paginator's count, `10,000+` when it stopped counting at its cap (core.paging)."""
    return f"{paginator.count:,}+" if getattr(paginator, "capped", False) else f"{paginator.count:,}"


@register.filter
def grouped(value: Any) -> str:
    """A count: `30127` → `30,127`."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
