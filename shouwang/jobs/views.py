"""Background jobs: their progress and outcome, scoped like everything else."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.views import View
from django.views.generic import DetailView, ListView

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.scoping import RegionScopedQuerySet, access_object
from shouwang.jobs.models import Job


def visible_jobs(user: Any) -> RegionScopedQuerySet:
    """Jobs of the user's subtree; users who may not see registry data see only their own."""
    qs = Job.objects.restrict(user, Capability.VIEW_JOBS)
    if not user.can(Capability.VIEW_REGISTRY):
        qs = qs.filter(created_by=user)
    return qs


class JobListView(ListView):
    template_name = "jobs/job_list.html"
    context_object_name = "jobs"
    paginate_by = 50

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not current_user(request).can(Capability.VIEW_JOBS):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Job]:
        return visible_jobs(current_user(self.request)).select_related("created_by", "region")


class JobDetailView(DetailView):
    template_name = "jobs/job_detail.html"
    context_object_name = "job"

    def get_object(self, queryset: Any = None) -> Job:
        user = current_user(self.request)
        return access_object(visible_jobs(user), user, Capability.VIEW_JOBS, pk=self.kwargs["pk"])


class JobStatusView(View):
    """Polled by pages that show a job's progress."""

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        user = current_user(request)
        job = access_object(visible_jobs(user), user, Capability.VIEW_JOBS, pk=pk)
        return JsonResponse(
            {
                "id": job.pk,
                "status": job.status,
                "status_display": job.get_status_display(),
                "percent": job.percent,
                "progress": job.progress,
                "total": job.total,
                "message": job.message,
                "finished": job.is_finished,
                "error": job.error if job.is_finished else "",
            }
        )
