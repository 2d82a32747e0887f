"""The web page where users manage their own API tokens, and the guard of the OpenAPI document."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from shouwang.accounts.models import current_user
from shouwang.api.actions import MAX_DAYS, TokenRefused, issue_token, may_hold_tokens, revoke_token
from shouwang.api.auth import ApiError, check_rate, token_user
from shouwang.api.models import ApiToken


def openapi_guard(view: Any) -> Any:
    """The OpenAPI document, for a signed-in user or a valid token; otherwise 401 JSON."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
            found = token_user(credential.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                response = JsonResponse(
                    {"detail": "需要登录，或在 Authorization 头中提供有效的接口令牌。", "code": "unauthenticated"},
                    status=401,
                    json_dumps_params={"ensure_ascii": False},
                )
                response["WWW-Authenticate"] = 'Bearer realm="shouwang"'
                return response
            try:
                check_rate(found[0])
            except ApiError as exc:
                response = JsonResponse(
                    {"detail": exc.message, "code": exc.code}, status=429, json_dumps_params={"ensure_ascii": False}
                )
                for name, value in exc.headers.items():
                    response[name] = value
                return response
        return view(request, *args, **kwargs)

    return guarded


def _page(
    request: HttpRequest, *, created: ApiToken | None = None, plaintext: str = "", status: int = 200
) -> HttpResponse:
    user = current_user(request)
    response = render(
        request,
        "api/tokens.html",
        {
            "tokens": ApiToken.objects.filter(owner=user),
            "may_hold": may_hold_tokens(user),
            "created": created,
            "plaintext": plaintext,
            "max_days": MAX_DAYS,
            "api_base": request.build_absolute_uri(reverse("api:api-root")),
            "docs_url": reverse("api:openapi-view"),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"  # the page may carry a token's plaintext
    return response


class TokenListView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return _page(request)


class TokenCreateView(View):
    """Creates a token and shows its plaintext in this one response (not after a redirect, so
    it is never stored in the session)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        if not may_hold_tokens(user):
            raise PermissionDenied
        try:
            days = int(request.POST.get("expires_in_days") or 365)
        except ValueError:
            days = 0
        try:
            token, plaintext = issue_token(user, request.POST.get("label", ""), days, request=request, channel="web")
        except TokenRefused as exc:
            messages.error(request, exc.message)
            return _page(request, status=400)
        return _page(request, created=token, plaintext=plaintext)


class TokenRevokeView(View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        token = ApiToken.objects.select_related("owner").filter(owner=user, pk=pk).first()
        if token is None:
            raise Http404
        if revoke_token(token, actor=user, request=request, channel="web"):
            messages.success(
                request, _("令牌“%(label)s”（%(prefix)s…）已吊销。") % {"label": token.label, "prefix": token.prefix}
            )
        return redirect("apiweb:tokens")
