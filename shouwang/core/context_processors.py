"""Navigation: which menu entries the user's role grants."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shouwang.accounts.roles import Capability


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {}
    return {"caps": {cap.value: user.can(cap) for cap in Capability}}
