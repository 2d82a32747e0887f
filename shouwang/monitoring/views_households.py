"""A household's monitoring page: its standing, assistance plan (一户一策), visits and the
risk-elimination checklist; the forms to add a measure, record a visit, report a risk found
on a visit and start the elimination procedure."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views import View

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.scoping import access_object
from shouwang.monitoring import procedure as p
from shouwang.monitoring.assistance import (
    do_add_measure,
    do_record_visit,
    do_update_measure,
    next_visit_due,
    plan_flags,
)
from shouwang.monitoring.forms import MeasureForm, ReportRiskForm, VisitForm
from shouwang.monitoring.inbox import CSS, urgency
from shouwang.monitoring.models import Measure, MonitoringRecord
from shouwang.regions.models import Level
from shouwang.registry.models import Household


def _household(user: Any, pk: int, capability: Capability = Capability.VIEW_REGISTRY) -> Household:
    return access_object(Household.objects.select_related("village"), user, capability, pk=pk)


def household_context(user: Any, household: Household, **forms: Any) -> dict[str, Any]:
    today = timezone.localdate()
    due = next_visit_due(household, today)
    can_edit = user.can(Capability.EDIT_REGISTRY)
    monitored = household.monitoring_state in (p.MONITORED, p.ELIMINATED)
    checklist = p.elimination_checklist(household, today) if household.monitoring_state == p.MONITORED else []
    return {
        "household": household,
        "checklist_ok": bool(checklist) and all(c.ok for c in checklist),
        "record": MonitoringRecord.objects.filter(household=household).first(),
        "measures": household.measures.order_by("-starts_on", "-id"),
        "visits": household.visits.select_related("visitor")[:50],
        "cases": household.cases.order_by("-created_at"),
        "flags": plan_flags(household, today),
        "next_visit": due,
        "visit_css": CSS[urgency(due, today)],
        "checklist": checklist,
        "can_edit": can_edit,
        "can_plan": can_edit and monitored,
        "can_report": can_edit and household.monitoring_state != p.MONITORED,
        "can_eliminate": can_edit
        and household.monitoring_state == p.MONITORED
        and user.region is not None
        and user.region.level == Level.VILLAGE,
        "measure_form": forms.get("measure_form") or MeasureForm(),
        "visit_form": forms.get("visit_form") or VisitForm(),
        "report_form": forms.get("report_form") or ReportRiskForm(),
    }


class HouseholdMonitoringView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        household = _household(user, pk)
        return render(request, "monitoring/household.html", household_context(user, household))


class _HouseholdWrite(View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        household = _household(user, pk, Capability.EDIT_REGISTRY)
        try:
            response = self.write(request, user, household)
        except p.ProcedureError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("monitoring:household", args=[household.pk]))
        return response or HttpResponseRedirect(reverse("monitoring:household", args=[household.pk]))

    def write(self, request: HttpRequest, user: Any, household: Household) -> HttpResponse | None:
        raise NotImplementedError

    def invalid(self, request: HttpRequest, user: Any, household: Household, **forms: Any) -> HttpResponse:
        messages.error(request, _("请检查填写的内容"))
        return render(request, "monitoring/household.html", household_context(user, household, **forms), status=400)


class MeasureAddView(_HouseholdWrite):
    def write(self, request: HttpRequest, user: Any, household: Household) -> HttpResponse | None:
        form = MeasureForm(request.POST)
        if not form.is_valid():
            return self.invalid(request, user, household, measure_form=form)
        do_add_measure(household, form.values(), user=user, request=request)
        messages.success(request, _("已添加帮扶措施"))
        return None


class MeasureEditView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        measure = access_object(Measure.objects.select_related("household"), user, Capability.EDIT_REGISTRY, pk=pk)
        initial = {
            "kind": f"{measure.category}|{measure.subtype}",
            "content": measure.content,
            "responsible": measure.responsible,
            "starts_on": measure.starts_on,
            "ends_on": measure.ends_on,
            "funds": measure.funds,
            "status": measure.status,
            "effect": measure.effect,
        }
        return render(
            request, "monitoring/measure_form.html", {"measure": measure, "form": MeasureForm(initial=initial)}
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        measure = access_object(Measure.objects.select_related("household"), user, Capability.EDIT_REGISTRY, pk=pk)
        form = MeasureForm(request.POST)
        if form.is_valid():
            try:
                do_update_measure(measure, form.values(), user=user, request=request)
            except p.ProcedureError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("已更新帮扶措施"))
                return HttpResponseRedirect(reverse("monitoring:household", args=[measure.household_id]))
        return render(request, "monitoring/measure_form.html", {"measure": measure, "form": form}, status=400)


class VisitAddView(_HouseholdWrite):
    def write(self, request: HttpRequest, user: Any, household: Household) -> HttpResponse | None:
        form = VisitForm(request.POST)
        if not form.is_valid():
            return self.invalid(request, user, household, visit_form=form)
        d = form.cleaned_data
        visit = do_record_visit(
            household,
            user=user,
            visited_on=d["visited_on"],
            findings=d["findings"],
            updates=form.updates(),
            new_risk_causes=d["new_risk_causes"],
            request=request,
        )
        messages.success(
            request, _("已登记回访，新发现的风险已作为预警线索登记") if visit.new_risk else _("已登记回访")
        )
        return None


class ReportRiskView(_HouseholdWrite):
    """基层干部排查: a cadre found a risk at a household that is not monitored."""

    def write(self, request: HttpRequest, user: Any, household: Household) -> HttpResponse | None:
        form = ReportRiskForm(request.POST)
        if not form.is_valid():
            return self.invalid(request, user, household, report_form=form)
        case = p.open_from_visit(household, user=user, reason=form.cleaned_data["reason"], request=request)
        messages.success(request, _("已登记，请入户核实"))
        return HttpResponseRedirect(reverse("monitoring:case_detail", args=[case.pk]))


class EliminationStartView(_HouseholdWrite):
    def write(self, request: HttpRequest, user: Any, household: Household) -> HttpResponse | None:
        case = p.open_elimination(household, user=user, request=request)
        messages.success(request, _("已发起风险消除程序，请入户核实"))
        return HttpResponseRedirect(reverse("monitoring:case_detail", args=[case.pk]))


class DossierView(View):
    """一户一档 as a PDF: masked, internal, audited."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        from urllib.parse import quote

        from shouwang.core.audit import record_event
        from shouwang.monitoring.dossier import build_dossier

        user = current_user(request)
        household = _household(user, pk)
        # The dossier is the national form, in Chinese whatever language the page is in.
        with translation.override(settings.LANGUAGE_CODE):
            data = build_dossier(household, generated_by=user.get_full_name() or user.username)
        record_event("monitoring.dossier", actor=user, request=request, obj=household, region_code=household.village_id)
        response = HttpResponse(data, content_type="application/pdf")
        name = f"一户一档-{household.number}.pdf"
        response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name)}"
        response["Cache-Control"] = "no-store"
        return response
