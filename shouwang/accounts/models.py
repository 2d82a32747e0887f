"""Users: every account has one role and one region, and sees only that region's subtree."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from shouwang.accounts.roles import ADMIN_ROLES, CAPABILITIES, ROLE_LEVEL, Capability, Role


class User(AbstractUser):
    """An official. `region` is the root of everything they may see."""

    # Blank until the security administrator authorises the account: no role, no capability.
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, blank=True)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def clean(self) -> None:
        super().clean()
        if self.is_superuser:
            return
        region = self.region if self.region_id else None
        if region is None:
            raise ValidationError({"region": _("请选择所属区划")})
        level = ROLE_LEVEL.get(self.role)
        if level is not None and region.level != level:
            raise ValidationError({"region": _("该角色的所属区划层级不符")})

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The admin site is the console of the three administrators, and only theirs.
        if not self.is_superuser:
            self.is_staff = self.role in ADMIN_ROLES
        super().save(*args, **kwargs)

    def can(self, capability: Capability) -> bool:
        """Whether the role grants the capability. Superusers exist for break-glass only and
        get no personal-data capability either: data access is always through a role."""
        return self.is_active and capability in CAPABILITIES.get(self.role, frozenset())

    @property
    def region_prefix(self) -> str | None:
        """The code prefix of the user's subtree; None means no region (sees nothing)."""
        return self.region_id or None


def current_user(request: HttpRequest) -> User:
    """The signed-in user of a request. LoginRequiredMiddleware guarantees one on every view
    that is not explicitly public; this makes that guarantee explicit (and typed)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user
