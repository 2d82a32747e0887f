"""Region scoping, enforced in one place (after NetBox's restricted querysets).

Every model that holds data about a place declares `region_field`, the lookup path to a
division code (through `__pk`: `village__pk` compiles to `village_id` without a join). A
subtree is the codes that start with the region's code; since codes are digits of at most 12,
that is the range `code BETWEEN '5226' AND '522699999999'` (`subtree`), which an ordinary
B-tree index serves — also to sort by (village, …) — where `LIKE '5226%'` needs an index of
its own operator class under a non-C collation and can never give an order.
`Model.objects.restrict(user, capability)` is the only way views read such models: it yields
nothing unless the user's role grants the capability, and otherwise only the rows whose code
starts with the user's region code. Objects outside answer 404 through
`access_object`, exactly like objects that do not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.http import Http404

from shouwang.accounts.roles import Capability

if TYPE_CHECKING:
    from shouwang.accounts.models import User

M = TypeVar("M", bound=models.Model)

CODE_WIDTH = 12  # a village's code; every division code is a prefix of its villages' codes


def subtree(field: str, prefix: str) -> models.Q:
    """`field` is the code of a division inside `prefix`'s subtree (or `prefix` itself)."""
    return models.Q(**{f"{field}__gte": prefix, f"{field}__lte": prefix + "9" * (CODE_WIDTH - len(prefix))})


class RegionScopedQuerySet(models.QuerySet):
    def restrict(self, user: User | Any, capability: Capability = Capability.VIEW_REGISTRY) -> RegionScopedQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if not user.can(capability):
            return self.none()
        prefix = user.region_prefix
        if not prefix:
            return self.none()
        field: str = self.model.region_field  # type: ignore[attr-defined]
        return self.filter(subtree(field, prefix))


class RegionScopedManager(models.Manager.from_queryset(RegionScopedQuerySet)):  # type: ignore[misc]
    pass


def access_object(
    queryset: RegionScopedQuerySet, user: User, capability: Capability = Capability.VIEW_REGISTRY, **lookup: Any
) -> Any:
    """Fetch one object the user may see, or 404 alike for absent and forbidden."""
    try:
        return queryset.restrict(user, capability).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def user_region_contains(user: User, code: str) -> bool:
    prefix = user.region_prefix
    return prefix is not None and code.startswith(prefix)
