"""The caller's own API tokens (`/tokens`)."""

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Status

from shouwang.api import schemas as s
from shouwang.api.actions import TokenRefused, issue_token, revoke_token
from shouwang.api.auth import ApiError, session_auth, token_holder_auth
from shouwang.api.models import ApiToken
from shouwang.api.routers.common import ERRORS, caller

# -- tokens (session only: a token cannot mint tokens) -----------------------------------------

tokens_router = Router(tags=["接口令牌"], auth=[session_auth])


def token_out(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "label": token.label,
        "prefix": token.prefix,
        "state": token.state,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


@tokens_router.get("/tokens", response={200: list[s.TokenOut], **ERRORS}, url_name="token_list", summary="我的接口令牌")
def token_list(request: HttpRequest) -> list[dict[str, Any]]:
    user = caller(request)
    return [token_out(t) for t in ApiToken.objects.filter(owner=user)]


@tokens_router.post(
    "/tokens",
    response={201: s.TokenCreatedOut, **ERRORS},
    auth=[token_holder_auth],
    url_name="token_create",
    summary="创建接口令牌（明文只返回这一次；仅限网页会话）",
)
def token_create(request: HttpRequest, payload: s.TokenIn) -> Status:
    user = caller(request)
    try:
        token, plaintext = issue_token(user, payload.label, payload.expires_in_days, request=request, channel="api")
    except TokenRefused as exc:
        code = "forbidden" if exc.status == 403 else "invalid_request"
        raise ApiError(exc.status, code, exc.message) from None
    return Status(201, {**token_out(token), "token": plaintext})


@tokens_router.delete(
    "/tokens/{token_id}",
    response={204: None, **ERRORS},
    url_name="token_revoke",
    summary="吊销我的一个接口令牌",
)
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    user = caller(request)
    token = ApiToken.objects.select_related("owner").filter(owner=user, pk=token_id).first()
    if token is None:
        raise Http404
    revoke_token(token, actor=user, request=request, channel="api")
    return Status(204, None)
