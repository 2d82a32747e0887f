"""村内公示: posting a notice of the village's appraised households, the printable notice
(no ID number, phone or health detail), objections, and closing it when its days are over."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.scoping import access_object
from shouwang.monitoring import procedure as p
from shouwang.monitoring.forms import NoticeForm, ObjectionForm, SettleForm
from shouwang.monitoring.models import Case, Notice, Step
from shouwang.regions.models import Level


def _village_editor(request: HttpRequest) -> Any:
    user = current_user(request)
    if not user.can(Capability.EDIT_REGISTRY) or user.region is None or user.region.level != Level.VILLAGE:
        raise PermissionDenied
    return user


def _waiting(user: Any) -> Any:
    """The village's appraised cases not on an open notice yet."""
    # Not exclude(notices__closed_at__isnull=True): a case on no notice at all joins to a null
    # `closed_at` and would be left out with the ones on an open notice.
    on_notice = Notice.cases.through.objects.filter(notice__closed_at__isnull=True).values("case_id")
    return (
        Case.objects.restrict(user, Capability.EDIT_REGISTRY)
        .filter(step=Step.NOTICE)
        .exclude(pk__in=on_notice)
        .select_related("household")
    )


class NoticeNewView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _village_editor(request)
        limits = p.deadlines(user.region.code, timezone.localdate().year)
        start = timezone.localdate()
        form = NoticeForm(
            cases=_waiting(user),
            initial={
                "starts_on": start,
                "ends_on": start + dt.timedelta(days=limits.notice_min_days - 1),
                "cases": list(_waiting(user)),
            },
        )
        return render(request, "monitoring/notice_form.html", {"form": form, "min_days": limits.notice_min_days})

    def post(self, request: HttpRequest) -> HttpResponse:
        user = _village_editor(request)
        form = NoticeForm(request.POST, cases=_waiting(user))
        limits = p.deadlines(user.region.code, timezone.localdate().year)
        if form.is_valid():
            d = form.cleaned_data
            try:
                notice = p.do_post_notice(
                    user.region,
                    list(d["cases"]),
                    user=user,
                    starts_on=d["starts_on"],
                    ends_on=d["ends_on"],
                    request=request,
                )
            except p.ProcedureError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("已发布公示，请打印张贴"))
                return HttpResponseRedirect(reverse("monitoring:notice_detail", args=[notice.pk]))
        return render(
            request, "monitoring/notice_form.html", {"form": form, "min_days": limits.notice_min_days}, status=400
        )


def _notice(user: Any, pk: int) -> Notice:
    return access_object(Notice.objects.select_related("village"), user, Capability.VIEW_REGISTRY, pk=pk)


def notice_rows(notice: Notice) -> list[dict[str, Any]]:
    """What a notice shows of each household: the head's name, the household's size and the
    category proposed — never an ID number, a phone number or a health condition (policy.md
    §3.2), so no risk causes either (因病 and 因残 are health)."""
    rows = []
    for i, case in enumerate(notice.cases.select_related("household").order_by("id"), start=1):
        household = case.household
        head = household.head if household else None
        rows.append(
            {
                "n": i,
                "case": case,
                "head": head.name if head else case.applicant_name,
                "size": len(household.living_members()) if household else "",
                "category": case.category if case.kind == "identification" else "",
            }
        )
    return rows


class NoticeDetailView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        notice = _notice(user, pk)
        is_village = (
            user.region is not None and user.region.level == Level.VILLAGE and user.can(Capability.EDIT_REGISTRY)
        )
        context = {
            "notice": notice,
            "rows": notice_rows(notice),
            "objections": notice.objections.select_related("case__household"),
            "can_edit": is_village and notice.closed_at is None,
            "can_close": is_village and notice.closed_at is None and timezone.localdate() > notice.ends_on,
            "objection_form": ObjectionForm(),
            "settle_form": SettleForm(),
        }
        return render(request, "monitoring/notice_detail.html", context)


class NoticePrintView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        notice = _notice(user, pk)
        return render(request, "monitoring/notice_print.html", {"notice": notice, "rows": notice_rows(notice)})


class NoticeActionView(View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        notice = access_object(Notice.objects.select_related("village"), user, Capability.EDIT_REGISTRY, pk=pk)
        if user.region is None or user.region.level != Level.VILLAGE:
            raise PermissionDenied  # the village holds its notice; the levels above only read it
        action = request.POST.get("action")
        try:
            if action == "objection":
                form = ObjectionForm(request.POST)
                if not form.is_valid():
                    raise p.ProcedureError(_("请填写异议内容和收到日期"))
                case = notice.cases.filter(pk=form.cleaned_data["case"]).first()
                if case is None:
                    raise p.ProcedureError(_("该农户不在本次公示中"))
                p.do_record_objection(
                    notice,
                    case,
                    user=user,
                    received_on=form.cleaned_data["received_on"],
                    content=form.cleaned_data["content"],
                    request=request,
                )
                messages.success(request, _("已登记异议"))
            elif action == "settle":
                settle = SettleForm(request.POST)
                if not settle.is_valid():
                    raise p.ProcedureError(_("请填写处理意见"))
                objection = notice.objections.filter(pk=settle.cleaned_data["objection"]).first()
                if objection is None:
                    raise Http404
                p.do_settle_objection(
                    objection,
                    user=user,
                    upheld=settle.cleaned_data["upheld"] == "yes",
                    resolution=settle.cleaned_data["resolution"],
                    request=request,
                )
                messages.success(request, _("已登记处理意见"))
            elif action == "close":
                moved = p.do_close_notice(notice, user=user, request=request)
                messages.success(request, _("公示已结束，%(n)s 户已转入下一环节") % {"n": len(moved)})
            else:
                raise Http404
        except p.ProcedureError as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("monitoring:notice_detail", args=[notice.pk]))
