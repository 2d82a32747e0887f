"""Dashboards (统计看板): one page per region, from the province down to a village, each
number clickable down to the households behind it.

A user sees the dashboards of their own region and everything below; any other code answers
404, exactly like a code that does not exist. The pages read the pre-aggregated figures only
(a few hundred rows), never the records.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from shouwang.accounts.models import User, current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.insights import exports, figures
from shouwang.insights.figures import CHILD_METRICS, Figures
from shouwang.insights.models import Refresh
from shouwang.insights.refresh import stale_within
from shouwang.regions.models import CODE_LENGTHS, Level, Region
from shouwang.registry.models import Household


def dashboard_region(user: User, code: str) -> Region:
    """The region `code` if the user may see its figures; 404 otherwise, as for no region."""
    prefix = user.region_prefix
    if not user.can(Capability.VIEW_REGISTRY) or not prefix or not code.startswith(prefix):
        raise Http404
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404
    return region


def breadcrumb(region: Region, user: User) -> list[dict[str, Any]]:
    """From the user's own region down to `region` (the levels above are not theirs to open)."""
    prefix = user.region_prefix or "\x00"
    crumbs = []
    for r in [*region.ancestors(), region]:
        if not r.code.startswith(prefix) or r.name == "市辖区":
            continue
        url = reverse("insights:dashboard", args=[r.code]) if r.code != region.code else None
        crumbs.append({"code": r.code, "name": r.name, "url": url})
    return crumbs


def freshness(code: str) -> dict[str, Any]:
    above = [code[:n] for n in CODE_LENGTHS.values() if n <= len(code)]
    refreshes = list(Refresh.objects.filter(code__in=above).values_list("computed_at", "as_of")) + list(
        Refresh.objects.filter(code__startswith=code).exclude(code__in=above).values_list("computed_at", "as_of")
    )
    latest = max(refreshes, default=None)
    return {"computed_at": latest[0] if latest else None, "stale": stale_within(code)}


class HomeView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        if not user.can(Capability.VIEW_REGISTRY) or not user.region_prefix:
            raise Http404
        return redirect("insights:dashboard", code=user.region_prefix)


class DashboardView(TemplateView):
    template_name = "insights/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        user = current_user(self.request)
        region = dashboard_region(user, kwargs["code"])
        today = timezone.localdate()
        f = Figures.of(region.code)
        medians = figures.warnings_section(f)[2]
        sections = figures.all_sections(f, today)
        children: list[Region] = []
        if region.level < Level.VILLAGE:
            children = list(Region.objects.filter(parent=region).order_by("code"))
            child_figures = Figures.of_many([c.code for c in children], CHILD_METRICS)
            sections.insert(
                0,
                figures.children_section(
                    children, child_figures, lambda code: reverse("insights:dashboard", args=[code])
                ),
            )
        ctx.update(
            region=region,
            level_label=Level(region.level).label,
            breadcrumb=breadcrumb(region, user),
            overview=figures.overview(f),
            medians=medians,
            sections=sections,
            charts={s.slug: s.chart for s in sections if s.chart and s.rows},
            freshness=freshness(region.code),
            empty=f.empty,
            list_url=reverse("registry:household_list") + f"?region={region.code}",
        )
        if region.level == Level.VILLAGE:
            ctx["households"] = (
                Household.objects.restrict(user)
                .filter(village_id=region.code, monitoring_state__in=(figures.MONITORED, figures.ELIMINATED))
                .order_by("monitoring_state", "number")
                .select_related("monitoring")[:500]
            )
        return ctx


class SectionExportView(View):
    """One section's table, as the page shows it (`?public=1`: small counts as "<5")."""

    def get(self, request: HttpRequest, code: str, slug: str, fmt: str) -> HttpResponse:
        user = current_user(request)
        region = dashboard_region(user, code)
        if fmt not in ("xlsx", "csv"):
            raise Http404
        f = Figures.of(region.code)
        sections = figures.all_sections(f, timezone.localdate())
        if region.level < Level.VILLAGE:
            children = list(Region.objects.filter(parent=region).order_by("code"))
            sections.append(
                figures.children_section(children, Figures.of_many([c.code for c in children], CHILD_METRICS), str)
            )
        section = next((s for s in sections if s.slug == slug), None)
        if section is None:
            raise Http404
        public = request.GET.get("public") == "1"
        rows = exports.public_rows(section.columns, section.rows) if public else section.rows
        record_event(
            "insights.export", actor=user, request=request, region_code=region.code, section=slug, public=public
        )
        name = f"{region.code}-{slug}{'-public' if public else ''}.{fmt}"
        if fmt == "csv":
            body, content_type = exports.as_csv(section.columns, rows), "text/csv; charset=utf-8"
        else:
            body = exports.as_xlsx(str(section.title), section.columns, rows)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
