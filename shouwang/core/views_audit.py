"""The audit log, readable by the audit administrator only (三员分立)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.views.generic import ListView

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.models import AuditEvent


class AuditLogView(ListView):
    template_name = "core/audit_log.html"
    paginate_by = 100
    context_object_name = "events"

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not current_user(request).can(Capability.READ_AUDIT):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[AuditEvent]:
        # The auditor sees events of their own subtree, and events without a region
        # (logins, administration) when they sit at the top of it.
        prefix = current_user(self.request).region_prefix or ""
        qs = AuditEvent.objects.filter(region_code__startswith=prefix) | AuditEvent.objects.filter(region_code="")
        action = self.request.GET.get("action", "").strip()
        if action:
            qs = qs.filter(action__startswith=action)
        return qs.select_related("actor").order_by("-at", "-id")
