"""Registry import in the web UI: upload → dry run (a background job) → confirm → import.

The upload is stored encrypted (it holds raw ID numbers) and imported by a job whose progress
the result page polls. Only users with the import capability reach these pages; a job is
found only through the region-scoped queryset, so another county's job answers 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from engine.schemas.registry import REGISTRY_SCHEMAS
from engine.templates import build_template_xlsx
from engine.validate import RowError, mask_id_like, report_rows
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.scoping import access_object
from shouwang.core.uploads import InMemoryUploadHandler
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import do_enqueue_job
from shouwang.registry.importing import (
    error_report_csv_bytes,
    error_report_xlsx_bytes,
    read_report_rows,
    report_path,
    store_upload,
    upload_exists,
)

if TYPE_CHECKING:
    from shouwang.accounts.models import User

JOB_KIND = "registry_import"
ERRORS_SHOWN = 50


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("导入文件"), help_text=_("Excel（.xlsx）或 CSV 文件，使用下方模板的列名"))
    dry_run = forms.BooleanField(label=_("仅预检（不写入数据）"), required=False, initial=True)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.REGISTRY_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("文件过大：上限为 %(mb)d MB") % {"mb": limit // (1024 * 1024)})
        if upload.size == 0:
            raise forms.ValidationError(_("文件为空"))
        return upload


class ImportPermissionMixin:
    """Pages without an object: roles without the import capability get 403 (the page is no
    secret). Pages of a job answer 404 instead, through the scoped queryset."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not _user(request).can(Capability.IMPORT_REGISTRY):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def _user(request: HttpRequest) -> User:
    # LoginRequiredMiddleware guarantees an authenticated user on every view here.
    return cast("User", request.user)


def access_import_job(user: Any, job_id: int) -> Job:
    """An import job of the user's region, or 404 alike for absent and forbidden."""
    return access_object(Job.objects.filter(kind=JOB_KIND), user, Capability.IMPORT_REGISTRY, pk=job_id)


def _enqueue(request: HttpRequest, *, token: str, filename: str, dry_run: bool, previous: Job | None = None) -> Job:
    params = {"upload": token, "filename": filename, "dry_run": dry_run, "user_id": request.user.pk}
    if previous is not None:
        params["dry_run_job"] = previous.pk
    return do_enqueue_job(JOB_KIND, region=_user(request).region, params=params, user=request.user)


@method_decorator(csrf_exempt, name="dispatch")  # CSRF is checked in post(), after the handler is set
class ImportStartView(ImportPermissionMixin, View):
    template_name = "registry/import_start.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        request.upload_handlers = [InMemoryUploadHandler(request)]
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ImportUploadForm())

    @method_decorator(csrf_protect)
    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        upload = form.cleaned_data["file"]
        data = b"".join(upload.chunks())
        token = store_upload(data, filename=upload.name)
        filename = mask_id_like(upload.name)[:200]
        job = _enqueue(request, token=token, filename=filename, dry_run=form.cleaned_data["dry_run"])
        record_event(
            "registry.import_upload",
            request=request,
            obj=job,
            region_code=_user(request).region_id or "",
            size=len(data),
            dry_run=form.cleaned_data["dry_run"],
        )
        return HttpResponseRedirect(reverse("registry:import_result", args=[job.pk]))

    def _render(self, request: HttpRequest, form: ImportUploadForm, status: int = 200) -> HttpResponse:
        recent = Job.objects.filter(kind=JOB_KIND).restrict(request.user, Capability.IMPORT_REGISTRY)[:10]
        context = {
            "form": form,
            "kinds": [(kind, _(schema.label)) for kind, schema in REGISTRY_SCHEMAS.items()],
            "recent": recent,
            "max_mb": settings.REGISTRY_UPLOAD_MAX_BYTES // (1024 * 1024),
        }
        return render(request, self.template_name, context, status=status)


class ImportResultView(View):
    template_name = "registry/import_result.html"

    def get(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = access_import_job(request.user, job_id)
        result = job.result or {}
        finished = job.status == JobStatus.SUCCEEDED
        context = {
            "job": job,
            "result": result,
            "counts": result.get("counts", {}),
            "errors": result.get("errors", [])[:ERRORS_SHOWN],
            "more_errors": max(
                result.get("error_count", 0)
                - (1 if result.get("file_error") else 0)
                + result.get("warning_count", 0)
                - ERRORS_SHOWN,
                0,
            ),
            "can_commit": (
                finished and result.get("dry_run") and result.get("ok") and upload_exists(job.params.get("upload", ""))
            ),
            "has_report": finished and bool(result.get("report")),
            "dry_run": job.params.get("dry_run", True),
        }
        return render(request, self.template_name, context)


class ImportCommitView(View):
    """Confirm a successful dry run: import the same (encrypted) upload for real."""

    def post(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = access_import_job(request.user, job_id)
        already = Job.objects.filter(kind=JOB_KIND, params__dry_run_job=job.pk).first()
        if already is not None:  # a second click must not import twice
            return HttpResponseRedirect(reverse("registry:import_result", args=[already.pk]))
        result = job.result or {}
        token = job.params.get("upload", "")
        if not (
            job.status == JobStatus.SUCCEEDED and result.get("dry_run") and result.get("ok") and upload_exists(token)
        ):
            messages.error(request, _("只有预检通过且文件仍在的任务才能确认导入，请重新上传"))
            return HttpResponseRedirect(reverse("registry:import_result", args=[job.pk]))
        new = _enqueue(request, token=token, filename=job.params.get("filename", ""), dry_run=False, previous=job)
        return HttpResponseRedirect(reverse("registry:import_result", args=[new.pk]))


class ImportReportView(View):
    """The job's full error report (ID numbers masked), as XLSX or CSV."""

    def get(self, request: HttpRequest, job_id: int, fmt: str) -> HttpResponse:
        if fmt not in ("xlsx", "csv"):
            raise Http404
        job = access_import_job(request.user, job_id)
        try:
            path = report_path(job.params.get("upload", ""), job.pk)
        except ValueError:
            path = None
        if path is not None and path.exists():
            rows = read_report_rows(path)
        else:  # no full report on disk (nothing wrong, or it was cleaned up): the stored first errors
            rows = list(report_rows(RowError(**e) for e in (job.result or {}).get("errors", [])))
        name = f"import-{job.pk}-errors.{fmt}"
        if fmt == "xlsx":
            body = error_report_xlsx_bytes(rows)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body = error_report_csv_bytes(rows)
            content_type = "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ImportTemplateView(ImportPermissionMixin, View):
    """A blank XLSX template: Chinese headers, an example row, a notes sheet, drop-down lists."""

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        schema = REGISTRY_SCHEMAS.get(kind)
        if schema is None:
            raise Http404
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = HttpResponse(build_template_xlsx(schema), content_type=xlsx)
        response["Content-Disposition"] = f'attachment; filename="{kind}-template.xlsx"'
        return response
