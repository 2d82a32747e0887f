"""Helpers shared by the API's routers and its error handlers."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja.errors import AuthenticationError

from shouwang.accounts.models import User
from shouwang.accounts.roles import Capability
from shouwang.api import schemas as s
from shouwang.api.auth import ApiError

ERRORS = {400: s.ErrorOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut, 422: s.ErrorOut, 429: s.ErrorOut}


def error(request: HttpRequest, status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    # Imported here, not at the top: shouwang.api.api imports the routers to mount them.
    from shouwang.api.api import api

    response = api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def invalid(detail: str) -> ApiError:
    return ApiError(422, "invalid_request", detail)


def caller(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    if not isinstance(user, User):
        raise AuthenticationError()
    return user


def require(user: User, capability: Capability) -> None:
    if not user.can(capability):
        raise PermissionDenied
