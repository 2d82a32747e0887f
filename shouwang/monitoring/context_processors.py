"""The number of the user's tasks, in the navigation (待办数)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from shouwang.accounts.roles import Capability

CACHE_SECONDS = 30  # a few COUNTs, but on every page: a count half a minute old is fine


def task_count(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.can(Capability.VIEW_REGISTRY):
        return {}
    key = f"monitoring:tasks:{user.pk}"
    count = cache.get(key)
    if count is None:
        from shouwang.monitoring.inbox import task_count as count_tasks

        count = count_tasks(user)
        cache.set(key, count, CACHE_SECONDS)
    return {"monitoring_tasks": count}


def forget(user: Any) -> None:
    """After the user acted, their count is stale."""
    cache.delete(f"monitoring:tasks:{getattr(user, 'pk', None)}")
