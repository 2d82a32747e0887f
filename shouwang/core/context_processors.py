"""Navigation: which menu entries the user's role grants."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shouwang.accounts.roles import Capability


def navigation(request: HttpRequest) -> dict[str, Any]:
    # A request refused before the authentication middleware ran (a 400 for a bad Host header)
    # has no user, and its error page must still render.
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"caps": {cap.value: user.can(cap) for cap in Capability}}
