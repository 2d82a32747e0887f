"""Writing audit events; the only entry point is `record_event`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shouwang.core.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    obj: Any = None,
    region_code: str = "",
    **detail: Any,
) -> AuditEvent:
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        region_code=region_code,
        ip=client_ip(request),
        detail=detail,
    )
