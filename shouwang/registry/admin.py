"""Read-only, region-scoped admin pages of the registry (edits belong to the registry pages)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from shouwang.core.admin import ScopedModelAdmin
from shouwang.registry.models import AnnualAccount, ChangeRecord, Household, Member


class MemberInline(admin.TabularInline):
    model = Member
    fields = (
        "name",
        "relationship",
        "masked_id",
        "sex",
        "birth_date",
        "health",
        "disabled",
        "labour_capacity",
        "death_date",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description=_("身份证号"))
    def masked_id(self, obj: Member) -> str:
        return obj.id_number_masked

    def has_add_permission(self, request: HttpRequest, obj: Household | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Household | None = None) -> bool:
        return False


@admin.register(Household)
class HouseholdAdmin(ScopedModelAdmin):
    list_display = (
        "number",
        "village",
        "household_type",
        "monitoring_state",
        "monitoring_category",
        "housing_grade",
        "updated_at",
    )
    list_filter = ("household_type", "monitoring_state", "monitoring_category", "housing_grade")
    search_fields = ("=number",)
    list_select_related = ("village",)
    inlines = [MemberInline]


@admin.register(Member)
class MemberAdmin(ScopedModelAdmin):
    list_display = ("name", "masked_id", "household", "relationship", "sex", "birth_date", "health", "disabled")
    list_filter = ("health", "disabled", "relationship", "dibao", "tekun")
    search_fields = ("name", "=id_number_tail", "=household__number")
    list_select_related = ("household",)
    exclude = ("id_number_hash", "id_number_encrypted")
    readonly_fields = ("masked_id",)

    @admin.display(description=_("身份证号"))
    def masked_id(self, obj: Member) -> str:
        return obj.id_number_masked


@admin.register(AnnualAccount)
class AnnualAccountAdmin(ScopedModelAdmin):
    list_display = ("household", "year", "population", "net_income", "per_capita_net_income")
    list_filter = ("year",)
    search_fields = ("=household__number",)
    list_select_related = ("household",)


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ScopedModelAdmin):
    list_display = ("at", "household", "actor", "source", "object_type", "object_label", "field", "before", "after")
    list_filter = ("object_type", "source")
    search_fields = ("=household__number", "object_label", "field")
    list_select_related = ("household", "actor")
    date_hierarchy = "at"
