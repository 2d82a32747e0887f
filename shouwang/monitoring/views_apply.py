"""农户自主申报: the public form a household reaches by its village's QR code (一码申报), the
poster with that code, and the form on which cadres record a hotline or in-person application.

The public form asks for a name, an ID number, a phone number and what happened — nothing
else — and keeps them only as the case needs them (the ID number hashed and encrypted, the
phone encrypted). It never says whether the person is known to the registry. It is limited in
rate per address and per village, and reached only through a signed link: nobody can file
applications into a village by guessing its code.
"""

from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from engine.ids import IDNumberError, parse_id_number
from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.monitoring import procedure as p
from shouwang.monitoring.forms import ApplicationForm, StaffApplicationForm
from shouwang.monitoring.models import Source
from shouwang.regions.models import Level, Region

SALT = "shouwang.monitoring.apply"
PER_ADDRESS_PER_HOUR = 5
PER_VILLAGE_PER_DAY = 200


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, sep=".")  # "." is URL-safe and not in the signature's alphabet


def village_token(code: str) -> str:
    return _signer().sign(code)


def village_from_token(token: str) -> Region:
    try:
        code = _signer().unsign(token)
    except signing.BadSignature:
        raise Http404 from None
    region = Region.objects.filter(pk=code, level=Level.VILLAGE).first()
    if region is None:
        raise Http404
    return region


def _limited(request: HttpRequest, village: Region) -> bool:
    """Count one submission; True when this address or village is over its limit."""
    address = request.META.get("REMOTE_ADDR", "-")
    keys = [
        (f"apply:ip:{address}", 3600, PER_ADDRESS_PER_HOUR),
        (f"apply:v:{village.code}", 86400, PER_VILLAGE_PER_DAY),
    ]
    over = False
    for key, ttl, limit in keys:
        cache.add(key, 0, ttl)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, ttl)
            count = 1
        over = over or count > limit
    return over


@method_decorator(login_not_required, name="dispatch")
class PublicApplyView(View):
    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        village = village_from_token(token)
        return render(request, "monitoring/apply_public.html", {"village": village, "form": ApplicationForm()})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        village = village_from_token(token)
        form = ApplicationForm(request.POST)
        if _limited(request, village):
            return render(
                request,
                "monitoring/apply_public.html",
                {"village": village, "form": form, "limited": True},
                status=429,
            )
        if form.is_valid():
            d = form.cleaned_data
            try:
                id_number = parse_id_number(d["id_number"])
            except IDNumberError as exc:
                form.add_error("id_number", exc.reason_zh)
            else:
                try:
                    p.open_self_application(
                        village,
                        name=d["name"],
                        id_number=id_number,
                        phone=d["phone"],
                        reason=d["reason"],
                        channel=Source.SELF_ONLINE,
                    )
                except p.ProcedureError as exc:
                    form.add_error(None, str(exc))
                else:
                    return render(request, "monitoring/apply_done.html", {"village": village})
        return render(request, "monitoring/apply_public.html", {"village": village, "form": form}, status=400)


class ApplyPosterView(View):
    """The village's QR code and link, to print and post (一码申报)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        if user.region is None or user.region.level != Level.VILLAGE or not user.can(Capability.EDIT_REGISTRY):
            raise PermissionDenied
        url = request.build_absolute_uri(reverse("apply", args=[village_token(user.region.code)]))
        out = io.BytesIO()
        segno.make(url, error="m").save(out, kind="svg", scale=6, xmldecl=False, svgns=True, title=_("一码申报"))
        qr = out.getvalue().decode("utf-8")
        return render(request, "monitoring/apply_poster.html", {"village": user.region, "url": url, "qr": qr})


class StaffApplicationView(View):
    """A hotline call or a visit to the village office, recorded by a cadre."""

    def _villages(self, user: Any) -> list[tuple[str, str]]:
        return list(
            Region.objects.filter(code__startswith=user.region_prefix, level=Level.VILLAGE)
            .order_by("code")
            .values_list("code", "name")[:2000]
        )

    def _user(self, request: HttpRequest) -> Any:
        user = current_user(request)
        if not user.can(Capability.EDIT_REGISTRY) or not user.region_prefix:
            raise PermissionDenied
        return user

    def get(self, request: HttpRequest) -> HttpResponse:
        user = self._user(request)
        form = StaffApplicationForm(villages=self._villages(user))
        return render(request, "monitoring/apply_staff.html", {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        user = self._user(request)
        form = StaffApplicationForm(request.POST, villages=self._villages(user))
        if form.is_valid():
            d = form.cleaned_data
            try:
                id_number = parse_id_number(d["id_number"])
            except IDNumberError as exc:
                form.add_error("id_number", exc.reason_zh)
            else:
                try:
                    case = p.open_self_application(
                        Region.objects.get(pk=d["village"]),
                        name=d["name"],
                        id_number=id_number,
                        phone=d["phone"],
                        reason=d["reason"],
                        channel=d["channel"],
                        user=user,
                        request=request,
                    )
                except p.ProcedureError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, _("已登记自主申报，已推送到村"))
                    if case.village_id.startswith(user.region_prefix or "-"):
                        return HttpResponseRedirect(reverse("monitoring:case_detail", args=[case.pk]))
                    return HttpResponseRedirect(reverse("monitoring:inbox"))
        return render(request, "monitoring/apply_staff.html", {"form": form}, status=400)
