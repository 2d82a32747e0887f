"""API tokens (接口令牌): per user, for department systems and mobile clients.

A token is a bearer secret ``sw_<43 url-safe characters>``. Only its keyed hash (HMAC with
the platform's hash key) is stored, plus a short visible prefix that identifies it in lists
and audit records; the plaintext is shown once, when it is created. A token carries no scope
of its own: every request made with it runs as its owner, with the owner's role and region
*as they are at the time of the request* — a token never grants more than its owner has, and
an owner who is moved, demoted or deactivated takes their tokens along.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shouwang.core.protection import protector

TOKEN_PREFIX = "sw_"  # noqa: S105 -- the public scheme prefix, not a secret
VISIBLE_CHARS = 8  # characters after "sw_" kept in clear for identification


def hash_token(plaintext: str) -> str:
    """Keyed hash of a token (64 hex characters); the only form in which tokens are stored."""
    return protector().hash("api-token:" + plaintext)


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now: dt.datetime | None = None) -> ApiTokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("所属用户"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    label = models.CharField(_("名称"), max_length=100, help_text=_("例如：县医保局结算系统"))
    token_hash = models.CharField(_("令牌哈希"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("令牌前缀"), max_length=16, editable=False, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    expires_at = models.DateTimeField(_("有效期至"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label}（{self.prefix}…）"

    @classmethod
    def issue(cls, owner: Any, label: str, *, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
        """Create a token; returns it and its plaintext, which is not kept anywhere."""
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            owner=owner,
            label=label,
            token_hash=hash_token(plaintext),
            prefix=plaintext[: len(TOKEN_PREFIX) + VISIBLE_CHARS],
            expires_at=expires_at,
        )
        return token, plaintext

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    @property
    def state(self) -> str:
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"

    @property
    def state_display(self) -> str:
        return str({"revoked": _("已吊销"), "expired": _("已过期"), "active": _("有效")}[self.state])

    def revoke(self) -> bool:
        """Revoke once; returns False if it already was."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
        return True
