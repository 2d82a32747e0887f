"""Rule parameters in force for one's county (参数设定), and the county's local values.

A county officer (RUN_SCREENING) sees, for a year, every parameter the rules read with its
value, unit, the region it comes from, its source and grade — local values marked 本地设定 —
and the history of the county's versions; sets a value for the county or a township below it
(a new version, audited) or withdraws one (audited). Another county's values answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from engine.screening import ParameterError, resolve_parameters
from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.scoping import access_object
from shouwang.regions.models import Level, Region
from shouwang.screening.actions import MIN_YEAR
from shouwang.screening.models import Grade, ParameterOverride
from shouwang.screening.parameters import (
    EDITABLE_PARAMETERS,
    ParameterRequestError,
    current_overrides,
    do_set_parameter,
    do_withdraw_parameter,
    effective_parameter_table,
    is_local,
)
from shouwang.screening.text import PARAMETER_LABELS

FIELDS = ("name", "region", "first_year", "last_year", "value", "unit", "source", "grade", "note")


def _county_officer(request: HttpRequest) -> Any:
    user = current_user(request)
    if not user.can(Capability.RUN_SCREENING) or user.region is None or user.region.level != Level.COUNTY:
        raise PermissionDenied
    return user


def _year(raw: str | None) -> int:
    this_year = dt.date.today().year
    try:
        year = int(raw or "")
    except ValueError:
        return this_year - 1
    return year if MIN_YEAR <= year <= this_year + 1 else this_year - 1


def _regions(user: Any) -> list[Region]:
    """The county and its townships: where a local value may apply."""
    return [
        user.region,
        *Region.objects.filter(code__startswith=user.region.code, level=Level.TOWNSHIP).order_by("code"),
    ]


class ParameterListView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _county_officer(request)
        year = _year(request.GET.get("year"))
        regions = _regions(user)
        region = next((r for r in regions if r.code == request.GET.get("region")), user.region)
        error = ""
        try:
            params = resolve_parameters(effective_parameter_table(region.code), region.code, year)
        except ParameterError as exc:
            params, error = None, _("参数表无法使用：%(error)s") % {"error": exc}
        names = {
            r.code: r.name
            for r in Region.objects.filter(
                code__in=[pv.region_code for pv in (params.values.values() if params else ()) if pv.region_code]
            )
        }
        local = {(o.name, o.region_id, o.first_year): o for o in current_overrides(region.code)}
        rows = []
        for name in EDITABLE_PARAMETERS:
            pv = params.values.get(name) if params else None
            override = local.get((name, pv.region_code, pv.year_from or 0)) if pv and is_local(pv) else None
            rows.append(
                {
                    "name": name,
                    "label": PARAMETER_LABELS.get(name, name),
                    "pv": pv,
                    "region_name": (
                        names.get(pv.region_code, pv.region_code) if pv.region_code else _("全国（所有区划）")
                    )
                    if pv
                    else "",
                    "local": is_local(pv),
                    "override_id": override.pk if override else None,
                }
            )
        history = ParameterOverride.objects.restrict(user, Capability.RUN_SCREENING).select_related(
            "region", "created_by"
        )
        context = {
            "year": year,
            "region": region,
            "regions": regions,
            "rows": rows,
            "error": error,
            "history": [
                (n, PARAMETER_LABELS.get(n, n), [o for o in history if o.name == n]) for n in EDITABLE_PARAMETERS
            ],
        }
        return render(request, "screening/parameter_list.html", context)


class ParameterSetView(View):
    """New local value (no pk) or a new version of one (pk: the version it replaces)."""

    def _target(self, request: HttpRequest, pk: int | None) -> tuple[Any, ParameterOverride | None]:
        if pk is None:
            return _county_officer(request), None
        user = current_user(request)
        override = access_object(
            ParameterOverride.objects.filter(superseded_at__isnull=True), user, Capability.RUN_SCREENING, pk=pk
        )
        return _county_officer(request), override

    def _render(self, request: HttpRequest, user: Any, old: ParameterOverride | None, data: dict, status: int = 200):
        context = {
            "old": old,
            "data": data,
            "regions": _regions(user),
            "names": [(n, PARAMETER_LABELS.get(n, n)) for n in EDITABLE_PARAMETERS],
            "grades": Grade.choices,
        }
        return render(request, "screening/parameter_form.html", context, status=status)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        user, old = self._target(request, pk)
        if old is not None:
            data = {f: getattr(old, "region_id" if f == "region" else f) for f in FIELDS}
            data["value"] = f"{old.value.normalize():f}"
            data["last_year"] = old.last_year or ""
        else:
            data = {
                "name": request.GET.get("name", ""),
                "region": request.GET.get("region", user.region.code),
                "first_year": _year(request.GET.get("year")),
            }
        return self._render(request, user, old, data)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        user, old = self._target(request, pk)
        data = {f: request.POST.get(f, "").strip() for f in FIELDS}
        if old is not None:
            data["name"] = old.name
        try:
            new = do_set_parameter(
                user,
                name=data["name"],
                region_code=data["region"],
                first_year=data["first_year"],
                last_year=data["last_year"],
                value=data["value"],
                unit=data["unit"],
                source=data["source"],
                grade=data["grade"],
                note=data["note"],
                replaces=old,
                request=request,
            )
        except ParameterRequestError as exc:
            messages.error(request, str(exc))
            return self._render(request, user, old, data, status=400)
        messages.success(
            request,
            _("已设定 %(label)s = %(value)s，依据已记录")
            % {"label": PARAMETER_LABELS.get(new.name, new.name), "value": f"{new.value.normalize():f}"},
        )
        return HttpResponseRedirect(
            f"{reverse('screening:parameter_list')}?year={new.first_year}&region={new.region_id}"
        )


class ParameterWithdrawView(View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        override = access_object(
            ParameterOverride.objects.filter(superseded_at__isnull=True), user, Capability.RUN_SCREENING, pk=pk
        )
        _county_officer(request)
        try:
            do_withdraw_parameter(override, user, request=request)
        except ParameterRequestError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已撤销本地设定，恢复使用上级或默认参数"))
        return HttpResponseRedirect(reverse("screening:parameter_list"))
