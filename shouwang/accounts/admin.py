"""User administration for the three administrators (三员分立), scoped to their subtree.

GB/T 22239 §8.1.5 gives the system administrator users and resources and the security
administrator "subject authorisation" (主体授权). Here that means:

- the system administrator creates accounts, keeps their names and contacts, activates and
  deactivates them and resets passwords — and grants nothing: a new account has no role, and
  once it has one, its role and its region (together: what and where it may see) are no
  longer the system administrator's to change;
- the security administrator assigns roles and regions, and touches no password, so they can
  never sign in as an account they have just empowered;
- nobody edits their own account here (own password: the admin's "change password" page);
- nobody resets the password of a security or audit administrator here: whoever could would
  sign in as them and grant roles or read the audit log. Their passwords are reset on the
  server (`shouwang changepassword`), outside the application's roles.

Neither administrator sees personal data of the registry, touches an account outside their
region, deletes an account or makes anyone a superuser.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from shouwang.accounts.models import User, current_user
from shouwang.accounts.roles import Capability, Role
from shouwang.core.audit import record_event

admin.site.site_header = _("守望 · 系统管理")
admin.site.site_title = _("守望")
admin.site.unregister(Group)  # roles are the only grouping; Django groups would be a second one

# Accounts whose password the system administrator may not reset (see the module docstring).
PASSWORD_RESET_ON_SERVER_ONLY = frozenset({Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


def may_reset_password(actor: User, target: User | None) -> bool:
    return (
        actor.can(Capability.MANAGE_USERS)
        and target is not None
        and target.pk != actor.pk
        and target.role not in PASSWORD_RESET_ON_SERVER_ONLY
    )


def may_set_region(actor: User, target: User | None) -> bool:
    """Region is part of the authorisation once the account has a role."""
    if actor.can(Capability.MANAGE_ROLES):
        return True
    return actor.can(Capability.MANAGE_USERS) and (target is None or not target.role)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "region", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "first_name", "last_name")
    raw_id_fields = ("region",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("last_name", "first_name", "email", "phone")}),
        (_("角色与区划"), {"fields": ("role", "region", "is_active")}),
        (_("时间"), {"fields": ("last_login", "date_joined")}),
    )
    # No role here: an account is created without privileges and authorised by the security
    # administrator afterwards.
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "usable_password",
                    "password1",
                    "password2",
                    "last_name",
                    "first_name",
                    "region",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        prefix = current_user(request).region_prefix or "-"
        return super().get_queryset(request).filter(region__pk__startswith=prefix, is_superuser=False)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or may_reset_password(current_user(request), obj):
            return fieldsets
        # The password row links to the reset form; who may not reset does not get the link.
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f != "password"]}) for name, opts in fieldsets]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []  # only the system administrator reaches the add form, and it has no role
        actor = current_user(request)
        readonly = ["last_login", "date_joined"]
        if not actor.can(Capability.MANAGE_ROLES):
            readonly.append("role")
        if not may_set_region(actor, obj):
            readonly.append("region")
        if not actor.can(Capability.MANAGE_USERS):
            readonly += ["username", "last_name", "first_name", "email", "phone", "is_active"]
        return readonly

    def has_module_permission(self, request: HttpRequest) -> bool:
        actor = current_user(request)
        return actor.can(Capability.MANAGE_USERS) or actor.can(Capability.MANAGE_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # One's own account is shown, never changed here: no one grants themselves a role,
        # widens their own region or resets their own password without the old one.
        return self.has_module_permission(request) and (obj is None or obj.pk != current_user(request).pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return current_user(request).can(Capability.MANAGE_USERS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # accounts are deactivated, never deleted: the audit log refers to them

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        target = self.get_object(request, unquote(id))
        if target is not None and not may_reset_password(current_user(request), target):
            raise PermissionDenied
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302 and target is not None:
            record_event("accounts.password_reset", request=request, obj=target, region_code=target.region_id or "")
        return response

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        prefix = current_user(request).region_prefix or "-"

        class ScopedUserForm(form):  # type: ignore[misc, valid-type]
            def clean_region(self) -> Any:
                region = self.cleaned_data.get("region")
                if region is not None and not region.code.startswith(prefix):
                    raise ValidationError(_("只能把账号设在您所管辖的区划内"))
                return region

        return ScopedUserForm

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        obj.is_superuser = False
        before = User.objects.filter(pk=obj.pk).values("role", "region_id").first() if change else None
        super().save_model(request, obj, form, change)
        detail: dict[str, Any] = {"fields": sorted(form.changed_data)}
        if before and (before["role"], before["region_id"]) != (obj.role, obj.region_id):
            detail |= {"role": [before["role"], obj.role], "region": [before["region_id"], obj.region_id]}
        record_event(
            "accounts.user_change" if change else "accounts.user_add",
            request=request,
            obj=obj,
            region_code=obj.region_id or "",
            **detail,
        )
