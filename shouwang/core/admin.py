"""Admin pages that obey the same scoping as the web UI, and the read-only framework tables.

Django's admin is for the administrators (三员分立); the registry's own pages are where
officials work. So every registry admin here is read-only and reads through `restrict`, and
the protected forms of the ID number (hash, ciphertext) never appear on any admin page.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from shouwang.accounts.roles import Capability
from shouwang.core.models import AuditEvent
from shouwang.core.scoping import RegionScopedQuerySet
from shouwang.regions.models import Region

# Stored forms of protected values: never listed, shown, searched or filtered on.
HIDDEN_FIELDS = frozenset({"id_number_hash", "id_number_encrypted"})


class ReadOnlyAdminMixin:
    """No add, change or delete: writes go through the actions, which record history."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ScopedModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A read-only admin over a region-scoped model: rows come from `restrict(user, capability)`.

    The model's default manager must be a `RegionScopedManager`. Users whose role lacks the
    capability see neither the module nor any row — superusers included, as in the web UI.
    """

    capability: Capability = Capability.VIEW_REGISTRY

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = cast(RegionScopedQuerySet, super().get_queryset(request))
        return queryset.restrict(request.user, self.capability)

    def _allowed(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.is_active and user.is_staff and user.can(self.capability))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    # Whatever a subclass declares, the protected stored forms stay out of every page.
    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f for f in super().get_fields(request, obj) if f not in HIDDEN_FIELDS]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*(super().get_exclude(request, obj) or ()), *sorted(HIDDEN_FIELDS)]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f for f in super().get_readonly_fields(request, obj) if f not in HIDDEN_FIELDS]

    def get_list_display(self, request: HttpRequest) -> Any:
        return [f for f in super().get_list_display(request) if f not in HIDDEN_FIELDS]

    def get_search_fields(self, request: HttpRequest) -> Any:
        return [f for f in super().get_search_fields(request) if f.lstrip("^=@") not in HIDDEN_FIELDS]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [f for f in super().get_list_filter(request) if f not in HIDDEN_FIELDS]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log, for the audit administrator only; events of their subtree and those with
    no region (logins and the like)."""

    list_display = ("at", "actor_name", "action", "object_type", "object_id", "region_code", "ip")
    list_filter = ("action",)
    search_fields = ("actor_name", "action", "object_id", "region_code")
    date_hierarchy = "at"
    readonly_fields = ("at", "actor", "actor_name", "action", "object_type", "object_id", "region_code", "ip", "detail")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        user: Any = request.user
        prefix = user.region_prefix
        qs = super().get_queryset(request)
        if not prefix or not user.can(Capability.READ_AUDIT):
            return qs.none()
        return qs.filter(Q(region_code__startswith=prefix) | Q(region_code=""))

    def _allowed(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.is_active and user.is_staff and user.can(Capability.READ_AUDIT))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)


@admin.register(Region)
class RegionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The division codes are loaded from the NBS files (`load_divisions`), never typed in."""

    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("=code", "^code", "name")
    list_select_related = ("parent",)
    show_full_result_count = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
