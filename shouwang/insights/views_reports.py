"""Report tables from the web: ask for one, watch it being built, download XLSX or CSV."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.insights.reports import ReportError, default_period, parse_period, report_path
from shouwang.insights.views import dashboard_region
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import do_enqueue_job

KIND = "insights.report"


def visible_reports(user: Any) -> Any:
    if not user.can(Capability.VIEW_REGISTRY) or not user.region_prefix:
        return Job.objects.none()
    return Job.objects.filter(kind=KIND, region__pk__startswith=user.region_prefix)


class ReportListView(TemplateView):
    template_name = "insights/reports.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        user = current_user(request)
        if not user.can(Capability.VIEW_REGISTRY) or not user.region_prefix:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        user = current_user(self.request)
        today = timezone.localdate()
        jobs = list(visible_reports(user).select_related("region", "created_by").order_by("-created_at")[:50])
        ctx.update(
            region=user.region,
            jobs=jobs,
            running=any(j.status in (JobStatus.QUEUED, JobStatus.RUNNING) for j in jobs),
            month=default_period("month", today),
            quarter=default_period("quarter", today),
        )
        return ctx

    def post(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        region = dashboard_region(user, request.POST.get("region") or user.region_prefix or "")
        try:
            period = parse_period(request.POST.get("period", ""))
        except ReportError as exc:
            messages.error(request, str(exc))
            return redirect("insights:reports")
        public = request.POST.get("public") == "1"
        job = do_enqueue_job(
            KIND, region=region, params={"period": period.label, "region": region.code, "public": public}, user=user
        )
        record_event("insights.report", actor=user, request=request, region_code=region.code, period=period.label)
        messages.success(request, _("报表已开始生成（任务 %(id)s）。") % {"id": job.pk})
        return redirect("insights:reports")


class ReportDownloadView(View):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = current_user(request)
        fmt = kwargs["fmt"]
        job = visible_reports(user).filter(pk=kwargs["pk"], status=JobStatus.SUCCEEDED).first()
        if job is None or fmt not in ("xlsx", "csv"):
            raise Http404
        path = report_path(job, fmt)
        if not path.exists():
            raise Http404
        record_event("insights.report_download", actor=user, request=request, region_code=job.region_id, job=job.pk)
        name = f"{job.region_id}-{job.params.get('period', '')}{'-public' if job.params.get('public') else ''}.{fmt}"
        return FileResponse(path.open("rb"), as_attachment=True, filename=name)
