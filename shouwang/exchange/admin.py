"""Read-only, county-scoped admin page of the feed batches (writes go through the actions)."""

from __future__ import annotations

from django.contrib import admin

from shouwang.accounts.roles import Capability
from shouwang.core.admin import ScopedModelAdmin
from shouwang.exchange.models import FeedBatch


@admin.register(FeedBatch)
class FeedBatchAdmin(ScopedModelAdmin):
    capability = Capability.VIEW_FEEDS
    list_display = ("id", "kind", "county", "status", "channel", "filename", "created_by", "created_at")
    list_filter = ("kind", "status", "channel")
    search_fields = ("=sha256", "filename")
    list_select_related = ("county", "created_by")
    exclude = ("upload_token",)
