"""Pages of the monitoring loop: the inbox, what is overdue below, and a case with its steps.

Reads go through `restrict`/`access_object` (404 outside the user's subtree); writes through
`procedure`, which checks whose turn it is and the case's version. A `ProcedureError` comes
back to the page as a message in Chinese, never as an error page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views import View

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.paging import CappedPaginator
from shouwang.core.scoping import access_object
from shouwang.monitoring import inbox
from shouwang.monitoring import procedure as p
from shouwang.monitoring.forms import AppraisalForm, DecisionForm, HomeVisitForm, ProposeForm, ReasonForm
from shouwang.monitoring.models import OPEN_STEPS, Case, CaseKind, Step
from shouwang.regions.models import Level, Region
from shouwang.screening.text import rule_title, summarize


def _viewer(request: HttpRequest) -> Any:
    user = current_user(request)
    if not user.can(Capability.VIEW_REGISTRY):
        raise PermissionDenied
    return user


class InboxView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _viewer(request)
        items = inbox.tasks(user)
        counts = {c: sum(1 for t in items if t.colour == c) for c in inbox.COLOURS}
        rows = inbox.overdue_below(user)
        context = {
            "tasks": items,
            "counts": counts,
            "labels": inbox.COLOUR_LABELS,
            "rows": rows[:12],
            "below_totals": inbox.totals(rows),
            "can_apply": user.can(Capability.EDIT_REGISTRY),
            "is_village": user.region is not None and user.region.level == Level.VILLAGE,
        }
        return render(request, "monitoring/inbox.html", context)


class OverdueView(View):
    """Every level sees the overdue items of the regions below it, in three colours."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = _viewer(request)
        rows = inbox.overdue_below(user)
        return render(
            request,
            "monitoring/overdue.html",
            {"rows": rows, "totals": inbox.totals(rows), "labels": inbox.COLOUR_LABELS, "colours": inbox.COLOURS},
        )


class CaseListView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _viewer(request)
        qs = Case.objects.restrict(user).select_related("household", "village")
        step = request.GET.get("step", "open")
        if step == "open":
            qs = qs.filter(step__in=OPEN_STEPS)
        elif step in Step.values:
            qs = qs.filter(step=step)
        kind = request.GET.get("kind", "")
        if kind in CaseKind.values:
            qs = qs.filter(kind=kind)
        # Fifty a page (a province has tens of thousands of open cases); the count stops at 10,000.
        page = CappedPaginator(qs.order_by("due_on", "id"), 50).get_page(request.GET.get("page"))
        today = timezone.localdate()
        rows = [{"case": c, "colour": inbox.urgency(c.due_on, today) if c.is_open else ""} for c in page]
        return render(
            request,
            "monitoring/case_list.html",
            {
                "rows": rows,
                "page_obj": page,
                "is_paginated": page.has_other_pages(),
                "step": step,
                "kind": kind,
                "steps": Step.choices,
                "kinds": CaseKind.choices,
                "css": inbox.CSS,
            },
        )


def _case(user: Any, pk: int) -> Case:
    return access_object(
        Case.objects.select_related("household__village", "village", "created_by"),
        user,
        Capability.VIEW_REGISTRY,
        pk=pk,
    )


class CaseDetailView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        case = _case(user, pk)  # 404 alike for a case outside the user's area and for no case
        return render(request, "monitoring/case_detail.html", case_context(user, case))


def case_context(user: Any, case: Case, **forms: Any) -> dict[str, Any]:
    version = {"version": case.version}
    can = p.may_act(user, case)
    context: dict[str, Any] = {
        "case": case,
        "events": case.events.select_related("actor").order_by("at", "id"),
        "warnings": [
            (w, rule_title(w.rule_id), summarize(w.rule_id, w.period, w.evidence)) for w in case.warnings.all()
        ],
        "can_act": can,
        "colour": inbox.urgency(case.routing_due_on if case.step == Step.ROUTING else case.due_on, timezone.localdate())
        if case.is_open
        else "",
        "css": inbox.CSS,
        "notice": case.notices.filter(closed_at__isnull=True).first(),
        "can_rollback": case.step == Step.APPROVED
        and user.region is not None
        and user.region.level == Level.COUNTY
        and user.can(Capability.EDIT_REGISTRY),
        "checklist": p.elimination_checklist(case.household)
        if case.kind == CaseKind.ELIMINATION and case.household
        else [],
        "can_see_documents": user.can(Capability.EDIT_REGISTRY),
        "applicant_id_masked": _masked_applicant(case),
    }
    if can:
        context.update(
            visit_form=forms.get("visit_form") or HomeVisitForm(initial=version),
            propose_form=forms.get("propose_form")
            or ProposeForm(initial={**version, "category": case.category, "causes": case.risk_causes}),
            dismiss_form=forms.get("dismiss_form") or ReasonForm(initial=version),
            appraisal_form=forms.get("appraisal_form") or AppraisalForm(initial=version),
            decision_form=forms.get("decision_form") or DecisionForm(initial=version),
            villages=Region.objects.filter(code__startswith=case.village_id[:9], level=Level.VILLAGE).order_by("code")
            if case.step == Step.ROUTING
            else [],
        )
    return context


def _masked_applicant(case: Case) -> str:
    from engine.ids import mask
    from shouwang.core.protection import protector

    if not case.applicant_id_encrypted:
        return ""
    return mask(protector().decrypt(case.applicant_id_encrypted, context=b"case.applicant_id"))


def _upload(request: HttpRequest, name: str) -> tuple[bytes, str] | None:
    f = request.FILES.get(name)
    if f is None:
        return None
    if f.size and f.size > p.MAX_DOCUMENT_BYTES:
        raise p.ProcedureError(_("文件超过 %(mb)s MB") % {"mb": p.MAX_DOCUMENT_BYTES // (1024 * 1024)})
    return f.read(), f.name or "document"


class CaseActionView(View):
    """One POST per step's form; `action` names it."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        case = access_object(
            Case.objects.select_related("household__village", "village"), user, Capability.EDIT_REGISTRY, pk=pk
        )
        action = request.POST.get("action", "")
        handler = getattr(self, f"do_{action}", None)
        if handler is None:
            raise Http404
        try:
            response = handler(request, user, case)
        except p.ProcedureError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("monitoring:case_detail", args=[case.pk]))
        if response is not None:
            return response
        return HttpResponseRedirect(reverse("monitoring:case_detail", args=[case.pk]))

    def _invalid(self, request: HttpRequest, user: Any, case: Case, **forms: Any) -> HttpResponse:
        messages.error(request, _("请检查填写的内容"))
        return render(request, "monitoring/case_detail.html", case_context(user, case, **forms), status=400)

    def do_home_visit(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        form = HomeVisitForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._invalid(request, user, case, visit_form=form)
        d = form.cleaned_data
        p.do_record_home_visit(
            case,
            version=d["version"],
            user=user,
            visited_on=d["visited_on"],
            findings=d["findings"],
            authorisation=_upload(request, "authorisation"),
            request=request,
        )
        messages.success(request, _("已登记入户核实情况"))
        return None

    def do_propose(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        form = ProposeForm(request.POST)
        if not form.is_valid():
            return self._invalid(request, user, case, propose_form=form)
        d = form.cleaned_data
        p.do_propose(case, version=d["version"], user=user, category=d["category"], causes=d["causes"], request=request)
        messages.success(request, _("已提交民主评议"))
        return None

    def do_dismiss(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return self._invalid(request, user, case, dismiss_form=form)
        p.do_dismiss(
            case, version=form.cleaned_data["version"], user=user, reason=form.cleaned_data["reason"], request=request
        )
        messages.success(request, _("已排除，理由已反馈给预警来源"))
        return None

    def do_appraisal(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        form = AppraisalForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._invalid(request, user, case, appraisal_form=form)
        d = form.cleaned_data
        p.do_record_appraisal(
            case,
            version=d["version"],
            user=user,
            held_on=d["held_on"],
            participants=d["participants"],
            agree=d["agree"],
            disagree=d["disagree"],
            opinion=d["opinion"],
            minutes=_upload(request, "minutes"),
            request=request,
        )
        messages.success(request, _("已登记民主评议结果"))
        return None

    def do_decision(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        form = DecisionForm(request.POST)
        if not form.is_valid():
            return self._invalid(request, user, case, decision_form=form)
        d = form.cleaned_data
        approve = d["decision"] == "approve"
        if case.step == Step.TOWNSHIP_AUDIT:
            p.do_township_audit(
                case, version=d["version"], user=user, approve=approve, opinion=d["opinion"], request=request
            )
        else:
            p.do_county_decision(
                case,
                version=d["version"],
                user=user,
                approve=approve,
                opinion=d["opinion"],
                method=d["method"],
                request=request,
            )
        messages.success(request, _("已审核通过") if approve else _("已退回，理由已记录"))
        return None

    def do_route(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        form = ReasonForm({"version": request.POST.get("version"), "reason": "-"})
        if not form.is_valid():
            raise p.ProcedureError(_("页面已过期，请刷新后重试"))
        village = Region.objects.filter(pk=request.POST.get("village", ""), level=Level.VILLAGE).first()
        p.do_route(case, version=form.cleaned_data["version"], user=user, village=village, request=request)
        messages.success(request, _("已分派到村"))
        return None

    def do_link(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        from shouwang.registry.models import Household

        number = (request.POST.get("household_number") or "").strip()
        household = Household.objects.restrict(user).filter(number=number).first()
        if household is None:
            raise p.ProcedureError(_("本村没有户编号为 %(number)s 的农户：请先在户籍库中登记") % {"number": number})
        p.link_household(
            case, version=int(request.POST.get("version") or 0), user=user, household=household, request=request
        )
        messages.success(request, _("已关联农户"))
        return None

    def do_rollback(self, request: HttpRequest, user: Any, case: Case) -> HttpResponse | None:
        form = ReasonForm(request.POST)
        if not form.is_valid():
            raise p.ProcedureError(_("请填写回退理由"))
        p.do_rollback(
            case, version=form.cleaned_data["version"], user=user, reason=form.cleaned_data["reason"], request=request
        )
        messages.success(request, _("已回退"))
        return None


class DocumentView(View):
    """A signed authorisation or minutes of a case: holds personal data, so only registry
    editors of the case's area may open it, and each opening is audited."""

    def get(self, request: HttpRequest, pk: int, event_id: int) -> HttpResponse:
        user = current_user(request)
        case = access_object(Case.objects.all(), user, Capability.EDIT_REGISTRY, pk=pk)
        event = case.events.filter(pk=event_id).exclude(attachment="").first()
        if event is None:
            raise Http404
        data = p.read_document(event.attachment)
        record_event(
            "monitoring.document_viewed",
            actor=user,
            request=request,
            obj=case,
            region_code=case.village_id,
            event=event.pk,
        )
        kind = next((t for magic, t in p.DOCUMENT_TYPES.items() if data.startswith(magic)), "pdf")
        content_type = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}[kind]
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f'inline; filename="case-{case.pk}-{event.pk}.{kind}"'
        response["Cache-Control"] = "no-store"
        return response


class StartFromWarningView(View):
    """The village takes a warning up: a case opens (or the household's open one is shown)."""

    def post(self, request: HttpRequest, warning_id: int) -> HttpResponse:
        from shouwang.screening.models import Warning, WarningStatus

        user = current_user(request)
        warning = access_object(
            Warning.objects.select_related("household__village"), user, Capability.EDIT_REGISTRY, pk=warning_id
        )
        if warning.status != WarningStatus.OPEN:
            messages.info(request, _("该线索已处理"))
            return HttpResponseRedirect(reverse("screening:warning_detail", args=[warning.pk]))
        try:
            case = p.open_from_warning(warning, user=user, request=request)
        except p.ProcedureError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("screening:warning_detail", args=[warning.pk]))
        if case is None:
            messages.info(request, _("该户已是监测对象：请在回访中核实这条线索，并据此调整帮扶措施"))
            return HttpResponseRedirect(reverse("monitoring:household", args=[warning.household_id]))
        return HttpResponseRedirect(reverse("monitoring:case_detail", args=[case.pk]))


class ExportView(View):
    """An XLSX list of the user's area, masked, audited (see `exports`)."""

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        from shouwang.monitoring.exports import EXPORTS, workbook

        user = _viewer(request)
        if kind not in EXPORTS:
            raise Http404
        title, headers, rows, widths = EXPORTS[kind]
        # Its headers are the national ledger's: the cells are Chinese too, whatever the page's language.
        with translation.override(settings.LANGUAGE_CODE):
            data = workbook(title, headers, rows(user), widths)
        record_event("monitoring.export", actor=user, request=request, region_code=user.region_prefix or "", kind=kind)
        stamp = timezone.localdate().strftime("%Y%m%d")
        response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        filename = f"{title}-{user.region_prefix}-{stamp}.xlsx"
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
        response["Cache-Control"] = "no-store"
        return response
