"""User administration for the three administrators (三员分立), scoped to their subtree.

The system administrator creates and maintains accounts (names, region, active, password);
the security administrator assigns roles. Neither sees personal data of the registry, and
neither can touch an account outside their region or make anyone a superuser.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from shouwang.accounts.models import User, current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event

admin.site.site_header = "守望 · 系统管理"
admin.site.site_title = "守望"
admin.site.unregister(Group)  # roles are the only grouping; Django groups would be a second one


def _can(request: HttpRequest, *caps: Capability) -> bool:
    return any(current_user(request).can(c) for c in caps)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "region", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "first_name", "last_name")
    raw_id_fields = ("region",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("个人信息", {"fields": ("last_name", "first_name", "email", "phone")}),
        ("角色与区划", {"fields": ("role", "region", "is_active")}),
        ("时间", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2", "role", "region")}),
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        prefix = current_user(request).region_prefix or "-"
        return super().get_queryset(request).filter(region__pk__startswith=prefix, is_superuser=False)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["last_login", "date_joined"]
        if not current_user(request).can(Capability.MANAGE_ROLES):
            readonly.append("role")  # only the security administrator assigns roles
        if not current_user(request).can(Capability.MANAGE_USERS):
            readonly += ["username", "last_name", "first_name", "email", "phone", "region", "is_active"]
        return readonly if obj else []

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _can(request, Capability.MANAGE_USERS, Capability.MANAGE_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _can(request, Capability.MANAGE_USERS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # accounts are deactivated, never deleted: the audit log refers to them

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        prefix = current_user(request).region_prefix or "-"

        class ScopedUserForm(form):  # type: ignore[misc, valid-type]
            def clean_region(self) -> Any:
                region = self.cleaned_data.get("region")
                if region is not None and not region.code.startswith(prefix):
                    raise ValidationError("只能把账号设在您所管辖的区划内")
                return region

        return ScopedUserForm

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        obj.is_superuser = False
        super().save_model(request, obj, form, change)
        record_event(
            "accounts.user_change" if change else "accounts.user_add",
            request=request,
            obj=obj,
            region_code=obj.region_id or "",
            fields=sorted(form.changed_data),
        )
