"""Reviewing probable duplicate persons (疑似一人多户)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.scoping import RegionScopedQuerySet, access_object
from shouwang.jobs.models import Job
from shouwang.jobs.runner import do_enqueue_job
from shouwang.registry.duplicates import JOB_KIND
from shouwang.registry.models import DuplicateCandidate


def visible_candidates(user: Any, capability: Capability = Capability.VIEW_REGISTRY) -> RegionScopedQuerySet:
    # Both members must lie in the user's subtree: a pair across the boundary is the level
    # above's to decide.
    return DuplicateCandidate.objects.restrict(user, capability).filter(
        member_b__household__village__pk__startswith=user.region_prefix or "-"
    )


class DuplicateListView(ListView):
    template_name = "registry/duplicate_list.html"
    context_object_name = "candidates"
    paginate_by = 50

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not current_user(request).can(Capability.VIEW_REGISTRY):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[DuplicateCandidate]:
        qs = visible_candidates(current_user(self.request)).select_related(
            "member_a__household__village", "member_b__household__village", "decided_by"
        )
        decision = self.request.GET.get("decision", "pending")
        if decision in DuplicateCandidate.Decision.values:
            qs = qs.filter(decision=decision)
        return qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = current_user(self.request)
        context["decision"] = self.request.GET.get("decision", "pending")
        context["decisions"] = DuplicateCandidate.Decision.choices
        context["can_decide"] = user.can(Capability.EDIT_REGISTRY)
        context["last_job"] = (
            Job.objects.restrict(user, Capability.VIEW_JOBS).filter(kind=JOB_KIND, region_id=user.region_prefix).first()
        )
        return context


class DuplicateScanView(View):
    """Start a fresh search over the user's whole region."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        if not user.can(Capability.EDIT_REGISTRY) or user.region is None:
            raise PermissionDenied
        job = do_enqueue_job(JOB_KIND, region=user.region, user=user)
        messages.info(request, _("已开始查找疑似一人多户（任务 #%(id)s）") % {"id": job.pk})
        return HttpResponseRedirect(reverse("registry:duplicate_list"))


class DuplicateDecideView(View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        candidate = access_object(
            visible_candidates(user, Capability.EDIT_REGISTRY), user, Capability.EDIT_REGISTRY, pk=pk
        )
        decision = request.POST.get("decision", "")
        if decision not in (DuplicateCandidate.Decision.SAME, DuplicateCandidate.Decision.DISTINCT):
            messages.error(request, _("请选择核实结论"))
            return HttpResponseRedirect(reverse("registry:duplicate_list"))
        candidate.decision, candidate.decided_by, candidate.decided_at = decision, user, timezone.now()
        candidate.save(update_fields=["decision", "decided_by", "decided_at"])
        record_event(
            "registry.duplicate_decision",
            request=request,
            obj=candidate,
            region_code=candidate.member_a.household.village_id,
            decision=decision,
            members=[candidate.member_a_id, candidate.member_b_id],
        )
        messages.success(request, _("已记录核实结论"))
        return HttpResponseRedirect(reverse("registry:duplicate_list"))
