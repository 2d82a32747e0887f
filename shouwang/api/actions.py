"""Issuing and revoking tokens, shared by the API, the web page and the admin; all audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.accounts.roles import ADMIN_ROLES
from shouwang.api.models import ApiToken
from shouwang.core.audit import record_event

MAX_ACTIVE_TOKENS = 10
MAX_DAYS = 730


class TokenRefused(Exception):
    """A token may not be issued; the message is for the user (Chinese)."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def may_hold_tokens(user: Any) -> bool:
    """The three administrators work in the console only; superusers are break-glass."""
    return bool(user.is_active and not user.is_superuser and user.role and user.role not in ADMIN_ROLES)


def issue_token(user: Any, label: str, days: int, *, request: HttpRequest | None, channel: str) -> tuple[ApiToken, str]:
    label = (label or "").strip()
    if not may_hold_tokens(user):
        raise TokenRefused(_("管理员账号不能创建接口令牌。"), status=403)
    if not label:
        raise TokenRefused(_("请填写令牌名称。"))
    if len(label) > 100:
        raise TokenRefused(_("令牌名称不能超过 100 个字符。"))
    if not 1 <= days <= MAX_DAYS:
        raise TokenRefused(_("有效天数须在 1 到 %(max)s 之间。") % {"max": MAX_DAYS})
    with transaction.atomic():
        if ApiToken.objects.usable().filter(owner=user).count() >= MAX_ACTIVE_TOKENS:
            raise TokenRefused(
                _("每个账号最多持有 %(max)s 个有效令牌，请先吊销不用的令牌。") % {"max": MAX_ACTIVE_TOKENS}
            )
        token, plaintext = ApiToken.issue(user, label, expires_at=timezone.now() + dt.timedelta(days=days))
        record_event(
            "api.token_create",
            actor=user,
            request=request,
            obj=token,
            region_code=user.region_id or "",
            label=label,
            prefix=token.prefix,
            expires_at=token.expires_at.isoformat() if token.expires_at else None,
            channel=channel,
        )
    return token, plaintext


def revoke_token(token: ApiToken, *, actor: Any, request: HttpRequest | None, channel: str) -> bool:
    """Revoke and audit; revoking a revoked token changes nothing and records nothing."""
    with transaction.atomic():
        if not token.revoke():
            return False
        record_event(
            "api.token_revoke",
            actor=actor,
            request=request,
            obj=token,
            region_code=token.owner.region_id or "",
            label=token.label,
            prefix=token.prefix,
            owner=token.owner.username,
            channel=channel,
        )
    return True
