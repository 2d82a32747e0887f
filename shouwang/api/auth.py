"""Who is calling: a signed-in browser session (CSRF enforced) or a bearer token.

- `SessionAuth` serves the web's own scripts and the token-management endpoints; unsafe
  methods need the CSRF token, as everywhere else in the web UI.
- `TokenAuth` reads ``Authorization: Bearer sw_…``. An unknown, revoked or expired token, or
  one whose owner is deactivated, is refused with 401 — and a request that presents a token
  is never let through on another credential. `last_used_at` is written at most once a
  minute, and each token may make ``SHOUWANG_API_RATE_LIMIT`` requests a minute (default
  120); beyond that the API answers 429 with a ``Retry-After`` header.

Both resolve to the owning `User`, so the rest of the API scopes every read with
`restrict()`/`access_object()` exactly like the web views.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer

from shouwang.accounts.models import User
from shouwang.accounts.roles import ADMIN_ROLES
from shouwang.api.actions import may_hold_tokens
from shouwang.api.models import TOKEN_PREFIX, ApiToken, hash_token

logger = logging.getLogger(__name__)
LAST_USED_EVERY = dt.timedelta(minutes=1)
DEFAULT_RATE_PER_MINUTE = 120


class ApiError(HttpError):
    """An error answered as ``{"detail": <Chinese message>, "code": <stable code>}``."""

    def __init__(self, status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, message)
        self.code = code
        self.headers = headers or {}


def rate_per_minute() -> int:
    return int(getattr(settings, "SHOUWANG_API_RATE_LIMIT", DEFAULT_RATE_PER_MINUTE))


def check_rate(token: ApiToken) -> None:
    """Fixed one-minute windows per token in Django's cache (shared by the processes when the
    cache is shared; per process with the default local-memory cache)."""
    limit = rate_per_minute()
    if limit <= 0:
        return
    now = time.time()
    window = int(now // 60)
    key = f"shouwang:api-rate:{token.token_hash[:32]}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > limit:
        retry = max(1, int(60 - now % 60))
        raise ApiError(
            429,
            "rate_limited",
            f"请求过于频繁：每个令牌每分钟最多 {limit} 次请求，请 {retry} 秒后再试。",
            headers={"Retry-After": str(retry)},
        )


def touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def token_user(plaintext: str) -> tuple[ApiToken, User] | None:
    """The usable token and its active owner, or None."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("owner", "owner__region")
        .filter(token_hash=hash_token(plaintext))
        .first()
    )
    owner = token.owner if token else None
    if token is None or owner is None or not owner.is_active or owner.is_superuser or owner.role in ADMIN_ROLES:
        return None
    return token, token.owner


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        # Overridden so the header is never logged (ninja logs unexpected schemes in DEBUG).
        value = request.headers.get(self.header)
        if not value:
            return None
        scheme, _, credential = value.partition(" ")
        if scheme.lower() != "bearer":
            raise ApiError(401, "unauthenticated", "仅支持 Authorization: Bearer <令牌> 方式认证。")
        return self.authenticate(request, credential.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_user(token)
        if found is None:
            # An authentication failure is logged with the visible prefix only, never the secret.
            logger.warning(
                "API token refused: prefix=%r ip=%s path=%s",
                token[: len(TOKEN_PREFIX) + 8],
                request.META.get("REMOTE_ADDR"),
                request.path,
            )
            raise ApiError(401, "invalid_token", "令牌无效、已过期或已被吊销。")
        api_token, user = found
        check_rate(api_token)
        touch(api_token)
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


class SessionAuth(APIKeyCookie):
    """Django's session; CSRF is checked for unsafe methods by ninja's cookie auth."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        if request.headers.get("Authorization"):
            return None  # a request carrying a token is judged on that token alone
        if not request.user.is_authenticated:
            return None  # nobody signed in: 401, no CSRF question to ask
        return super().__call__(request)  # checks CSRF on unsafe methods

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and user.is_active:
            request.api_token = None  # type: ignore[attr-defined]
            return user
        return None


class TokenHolderSessionAuth(SessionAuth):
    """Session auth for issuing tokens: the three administrators and superusers may not hold
    any (decided before the request body is read, so the answer is 403 whatever was sent)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and not may_hold_tokens(user):
            raise ApiError(403, "forbidden", "管理员账号不能创建接口令牌。")
        return user


token_auth = TokenAuth()
token_holder_auth = TokenHolderSessionAuth()
session_auth = SessionAuth()
# Token first: a request that presents a token is decided by it (TokenAuth raises on a bad one).
ANY_AUTH = [token_auth, session_auth]
