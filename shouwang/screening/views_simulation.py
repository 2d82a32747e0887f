"""Policy simulation page: change the line or a trigger, see the counts — nothing is written."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.regions.models import Level
from shouwang.screening.actions import MIN_YEAR
from shouwang.screening.simulation import (
    RULE_PARAMETERS,
    SimulationError,
    SimulationResult,
    check_region,
    current_parameters,
    parameter_fields,
    simulate,
)
from shouwang.screening.views import default_year


def can_simulate(user: Any) -> bool:
    """County officers simulate their county, township officers their township: the counts
    are registry figures of the user's own region (VIEW_REGISTRY), and nothing is written."""
    return (
        user.can(Capability.VIEW_REGISTRY)
        and user.region is not None
        and user.region.level in (Level.COUNTY, Level.TOWNSHIP)
    )


class SimulationView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        if not can_simulate(user):
            raise PermissionDenied
        region = user.region
        assert region is not None  # can_simulate
        errors: list[str] = []
        raw_year = request.GET.get("year", "").strip()
        try:
            year = int(raw_year) if raw_year else default_year()
        except ValueError:
            errors.append(_("年度“%(year)s”不是数字") % {"year": raw_year})
            year = default_year()
        if not MIN_YEAR <= year <= dt.date.today().year:
            errors.append(
                _("年度 %(year)s 无效：只能模拟 %(first)s 年至 %(last)s 年")
                % {"year": year, "first": MIN_YEAR, "last": dt.date.today().year}
            )
            year = default_year()
        check_region(region.code, year)
        fields = parameter_fields(current_parameters(region.code, year))
        given = {name: request.GET.get(name, "") for name in RULE_PARAMETERS}
        result: SimulationResult | None = None
        if "run" in request.GET and not errors:
            unknown = [k for k in request.GET if k not in {*RULE_PARAMETERS, "year", "run"}]
            overrides: dict[str, Any] = {k: request.GET[k] for k in unknown}
            overrides.update({k: v for k, v in given.items() if v.strip()})
            try:
                result = simulate(region.code, year, overrides)
            except SimulationError as exc:
                errors.append(str(exc))
        context = {
            "region": region,
            "year": year,
            "min_year": MIN_YEAR,
            "max_year": dt.date.today().year,
            "fields": [(f, given.get(f.name, "")) for f in fields],
            "result": result,
            "errors": errors,
            "chart": _chart(result) if result else None,
            "rows": [(a, a.rule_counts(result.rules)) for a in result.areas] if result else [],
            "total_rules": result.total.rule_counts(result.rules) if result else [],
        }
        return render(request, "screening/simulation.html", context, status=400 if errors else 200)


def _chart(result: SimulationResult) -> dict[str, Any]:
    """Grouped bars per township (village): warned and under the line, today and simulated."""
    areas = result.areas or [result.total]
    return {
        "categories": [a.name for a in areas],
        "series": [
            {"name": _("今日预警户数"), "data": [a.warned_today for a in areas]},
            {"name": _("模拟预警户数"), "data": [a.warned_simulated for a in areas]},
            {"name": _("今日低于监测标准户数"), "data": [a.below_today for a in areas]},
            {"name": _("模拟低于监测标准户数"), "data": [a.below_simulated for a in areas]},
        ],
    }
