"""The home page: an overview of the user's region, computed with a few aggregate queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from shouwang.accounts.roles import CAPABILITIES, Capability
from shouwang.regions.models import CODE_LENGTHS, Level, Region
from shouwang.registry import choices as c
from shouwang.registry.models import Household, Member

if TYPE_CHECKING:
    from shouwang.accounts.models import User

UNSAFE_HOUSING = Q(housing_grade__in=c.UNSAFE_HOUSING)
WATER_PROBLEM = (
    Q(water_quantity_ok=False)
    | Q(water_quality_ok=False)
    | Q(water_convenience_ok=False)
    | Q(water_reliability_ok=False)
)
MONITORED = Q(monitoring_state="监测中")

# What each capability lets the user do, for the page of roles that see no registry data.
CAPABILITY_TEXT = {
    Capability.VIEW_REGISTRY: _("查看本辖区农户和家庭成员信息（身份证号脱敏显示）"),
    Capability.EDIT_REGISTRY: _("修改农户和家庭成员信息，每次修改留有记录"),
    Capability.IMPORT_REGISTRY: _("批量导入农户信息（先校验、后提交）"),
    Capability.REVEAL_ID_NUMBER: _("查看完整身份证号（每次查看均记入审计日志）"),
    Capability.UPLOAD_FEEDS: _("上传行业部门数据，用于数据比对预警"),
    Capability.VIEW_FEEDS: _("查看本县部门数据批次的处理结果和错误报告（不含数据明细）"),
    Capability.MANAGE_FEEDS: _("撤回本县的部门数据批次（记入审计日志）"),
    Capability.MANAGE_USERS: _("管理用户账号和系统配置（不接触个人信息）"),
    Capability.MANAGE_ROLES: _("管理角色权限和密钥"),
    Capability.READ_AUDIT: _("查阅审计日志"),
    Capability.VIEW_JOBS: _("查看后台任务的进度和结果"),
    Capability.RUN_SCREENING: _("对本县运行部门数据筛查预警"),
}


def household_counts(qs: Any) -> dict[str, Any]:
    """The overview figures as one aggregate query."""
    return dict(
        qs.aggregate(
            total=Count("pk"),
            escaped=Count("pk", filter=Q(household_type=c.POVERTY_ESCAPED)),
            monitored=Count("pk", filter=MONITORED),
            unsafe_housing=Count("pk", filter=UNSAFE_HOUSING),
            water_problem=Count("pk", filter=WATER_PROBLEM),
        )
    )


class HomeView(TemplateView):
    template_name = "core/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        user = cast("User", self.request.user)  # LoginRequiredMiddleware: never anonymous here
        region: Region | None = user.region
        ctx["region"] = region
        ctx["region_full_name"] = region.full_name if region else ""
        ctx["role_label"] = user.get_role_display() if user.role else ""
        if not user.can(Capability.VIEW_REGISTRY) or region is None:
            ctx["sees_registry"] = False
            granted = CAPABILITIES.get(user.role, frozenset())
            ctx["abilities"] = [CAPABILITY_TEXT[cap] for cap in Capability if cap in granted]
            return ctx
        ctx["sees_registry"] = True
        list_url = reverse("registry:household_list")
        ctx["list_url"] = list_url
        aggregated = self.from_statistics(region, list_url)
        if aggregated is not None:
            ctx.update(aggregated)
            return ctx
        households = Household.objects.restrict(user, Capability.VIEW_REGISTRY)
        ctx["stats"] = household_counts(households)
        ctx["members"] = Member.objects.restrict(user, Capability.VIEW_REGISTRY).filter(death_date__isnull=True).count()
        by_state = dict(households.order_by().values_list("monitoring_state").annotate(n=Count("pk")))
        ctx["by_state"] = [
            {
                "state": state,
                "count": by_state.get(state, 0),
                "url": f"{list_url}?{urlencode({'monitoring_state': state})}",
            }
            for state, _label in c.MONITORING_STATES
        ]
        by_category = dict(
            households.filter(MONITORED).order_by().values_list("monitoring_category").annotate(n=Count("pk"))
        )
        ctx["by_category"] = [(cat, by_category.get(cat, 0)) for cat, _label in c.MONITORING_CATEGORIES]
        ctx["children"], ctx["child_level"] = self.children(households, region)
        return ctx

    def from_statistics(self, region: Region, list_url: str) -> dict[str, Any] | None:
        """The same figures from the pre-aggregated statistics, when they cover the region
        (at province scale, counting the records on every visit to the home page would take
        seconds); None before the first refresh, and the records are counted instead."""
        from shouwang.insights.figures import CHILD_METRICS, Figures
        from shouwang.insights.models import Refresh

        above = [region.code[:n] for n in CODE_LENGTHS.values() if n <= len(region.code)]
        if not Refresh.objects.filter(code__in=above).exists():
            return None
        f = Figures.of(region.code)

        def counts(fig: Figures) -> dict[str, int]:
            return {
                "total": fig.total("households"),
                "escaped": fig.total("households", p0=c.POVERTY_ESCAPED),
                "monitored": fig.total("households", p1="监测中"),
                "unsafe_housing": fig.total("indicators", p0="housing"),
                "water_problem": fig.total("indicators", p0="water"),
            }

        children: list[dict[str, Any]] = []
        child_level = None
        if region.level < Level.VILLAGE:
            child_level = Level(region.level + 1).label
            regions = list(Region.objects.filter(parent=region).order_by("code"))
            figs = Figures.of_many([r.code for r in regions], (*CHILD_METRICS, "indicators"))
            children = [{"region": r, "url": f"{list_url}?region={r.code}", **counts(figs[r.code])} for r in regions]
        return {
            "stats": counts(f),
            "members": f.total("members"),
            "by_state": [
                {
                    "state": state,
                    "count": f.total("households", p1=state),
                    "url": f"{list_url}?{urlencode({'monitoring_state': state})}",
                }
                for state, _label in c.MONITORING_STATES
            ],
            "by_category": [
                (cat, f.total("households", p1="监测中", p2=cat)) for cat, _label in c.MONITORING_CATEGORIES
            ],
            "children": children,
            "child_level": child_level,
            "from_statistics": True,
        }

    def children(self, households: Any, region: Region) -> tuple[list[dict[str, Any]], Any]:
        """One row per division directly below the user's region, from one grouped query."""
        if region.level >= Level.VILLAGE:
            return [], None
        child_level = Level(region.level + 1)
        length = CODE_LENGTHS[child_level]
        rows = {
            row["child"]: row
            for row in households.order_by()
            .annotate(child=Substr("village_id", 1, length))
            .values("child")
            .annotate(
                total=Count("pk"),
                escaped=Count("pk", filter=Q(household_type=c.POVERTY_ESCAPED)),
                monitored=Count("pk", filter=MONITORED),
                unsafe_housing=Count("pk", filter=UNSAFE_HOUSING),
                water_problem=Count("pk", filter=WATER_PROBLEM),
            )
        }
        list_url = reverse("registry:household_list")
        children = []
        for child in Region.objects.filter(parent=region).order_by("code"):
            row = rows.get(child.code, {})
            children.append(
                {
                    "region": child,
                    "url": f"{list_url}?region={child.code}",
                    **{k: row.get(k, 0) for k in ("total", "escaped", "monitored", "unsafe_housing", "water_problem")},
                }
            )
        return children, child_level.label
