"""API tokens in the console of the security administrator (安全管理员): a read-only list of the
tokens of their region's users, and an audited "revoke" action. Nobody creates or edits a
token here; token hashes are never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.api.actions import revoke_token
from shouwang.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "label",
        "prefix",
        "owner",
        "state_display",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("label", "prefix", "owner__username")
    fields = ("label", "prefix", "owner", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(description=_("状态"))
    def state_display(self, obj: ApiToken) -> str:
        return obj.state_display

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        prefix = current_user(request).region_prefix or "-"
        return (
            super()
            .get_queryset(request)
            .select_related("owner")
            .filter(owner__region__pk__startswith=prefix, owner__is_superuser=False)
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return current_user(request).can(Capability.MANAGE_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the audit log refers to them

    @admin.action(description=_("吊销所选令牌"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = current_user(request)
        count = sum(revoke_token(t, actor=actor, request=request, channel="admin") for t in queryset)
        self.message_user(request, _("已吊销 %(count)s 个令牌。") % {"count": count}, messages.SUCCESS)
