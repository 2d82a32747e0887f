"""Department feeds in the web UI: upload, batches of one's county, reports, withdrawal, docs.

A department data officer uploads files of their county (a background job runs the import
on the encrypted upload); officers holding VIEW_FEEDS see the batches of their county —
counts and masked error reports only, never the rows. Batches and jobs are found through the
region-scoped querysets, so another county's answer 404. The documentation and template of
each kind follow from its declaration and are open to every signed-in user.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from engine.feeds.standardize import period_column
from engine.schemas.feeds import FEED_SCHEMAS
from engine.templates import TYPE_NAMES, build_template_xlsx
from engine.validate import RowError, mask_id_like, report_rows
from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.scoping import access_object
from shouwang.core.uploads import (
    InMemoryUploadHandler,
    error_report_csv_bytes,
    error_report_xlsx_bytes,
    read_report_rows,
)
from shouwang.exchange.actions import WithdrawError, can_withdraw, data_dir, do_withdraw_batch
from shouwang.exchange.jobs import JOB_KIND, UPLOADS, keep_hours
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import do_enqueue_job
from shouwang.regions.models import Level

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_SHOWN = 50
KIND_CHOICES = [(kind, format_lazy("{}（{}）", _(schema.label), kind)) for kind, schema in FEED_SCHEMAS.items()]


def upload_limit() -> int:
    return int(getattr(settings, "FEED_UPLOAD_MAX_BYTES", settings.REGISTRY_UPLOAD_MAX_BYTES))


class FeedUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("数据类型"), choices=KIND_CHOICES)
    file = forms.FileField(label=_("数据文件"), help_text=_("Excel（.xlsx）或 CSV 文件，使用模板的列名"))
    sheet = forms.CharField(
        label=_("工作表"),
        required=False,
        max_length=100,
        help_text=_("仅用于 Excel 文件：要读取的工作表名称；留空则读取第一个有内容的工作表"),
    )
    dry_run = forms.BooleanField(label=_("仅预检（不写入数据）"), required=False, initial=True)
    valid_rows_only = forms.BooleanField(label=_("仅导入有效行（跳过错误行）"), required=False, initial=False)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = upload_limit()
        if upload.size > limit:
            raise forms.ValidationError(_("文件过大：上限为 %(mb)d MB") % {"mb": limit // (1024 * 1024)})
        if upload.size == 0:
            raise forms.ValidationError(_("文件为空"))
        return upload


def _require(request: HttpRequest, capability: Capability) -> Any:
    user = current_user(request)
    if not user.can(capability):
        raise PermissionDenied
    return user


def access_batch(user: Any, batch_id: int) -> FeedBatch:
    """A batch of the user's county, or 404 alike for absent and forbidden."""
    return access_object(FeedBatch.objects.select_related("created_by"), user, Capability.VIEW_FEEDS, pk=batch_id)


def access_feed_job(user: Any, job_id: int) -> Job:
    return access_object(Job.objects.filter(kind=JOB_KIND), user, Capability.UPLOAD_FEEDS, pk=job_id)


class FeedUploadLimitHandler(InMemoryUploadHandler):
    @property
    def limit(self) -> int:
        return upload_limit()


@method_decorator(csrf_exempt, name="dispatch")  # CSRF is checked in post(), after the handler is set
class UploadView(View):
    template_name = "exchange/upload.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        _require(request, Capability.UPLOAD_FEEDS)
        request.upload_handlers = [FeedUploadLimitHandler(request)]
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, FeedUploadForm(initial={"kind": request.GET.get("kind", "")}))

    @method_decorator(csrf_protect)
    def post(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        form = FeedUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        if user.region is None or user.region.level != Level.COUNTY:
            form.add_error(None, _("您的账号不属于某一个县，不能上传部门数据"))
            return self._render(request, form, status=400)
        upload = form.cleaned_data["file"]
        data = b"".join(upload.chunks())
        token = UPLOADS.store(data)
        job = _enqueue(
            request,
            token=token,
            filename=mask_id_like(upload.name)[:200],
            kind=form.cleaned_data["kind"],
            dry_run=form.cleaned_data["dry_run"],
            valid_rows_only=form.cleaned_data["valid_rows_only"],
            sheet=form.cleaned_data["sheet"].strip(),
        )
        record_event(
            "exchange.upload",
            request=request,
            obj=job,
            region_code=user.region_id or "",
            kind=form.cleaned_data["kind"],
            size=len(data),
            dry_run=form.cleaned_data["dry_run"],
        )
        return HttpResponseRedirect(reverse("exchange:job", args=[job.pk]))

    def _render(self, request: HttpRequest, form: FeedUploadForm, status: int = 200) -> HttpResponse:
        context = {
            "form": form,
            "kinds": [(kind, _(schema.label)) for kind, schema in FEED_SCHEMAS.items()],
            "max_mb": upload_limit() // (1024 * 1024),
        }
        return render(request, self.template_name, context, status=status)


def _enqueue(
    request: HttpRequest,
    *,
    token: str,
    filename: str,
    kind: str,
    dry_run: bool,
    valid_rows_only: bool,
    sheet: str = "",
) -> Job:
    user = current_user(request)
    params = {
        "upload": token,
        "filename": filename,
        "kind": kind,
        "county": user.region_id,
        "dry_run": dry_run,
        "valid_rows_only": valid_rows_only,
        "sheet": sheet,
        "user_id": user.pk,
    }
    return do_enqueue_job(JOB_KIND, region=user.region, params=params, user=user)


class JobView(View):
    """Progress of an upload's job; once finished, on to its batch."""

    def get(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = access_feed_job(request.user, job_id)
        result = job.result or {}
        batch_id = result.get("batch_id")
        if job.status == JobStatus.SUCCEEDED and batch_id:
            if result.get("already_imported"):
                messages.info(request, result.get("message", ""))
            return HttpResponseRedirect(reverse("exchange:batch_detail", args=[batch_id]))
        return render(request, "exchange/job.html", {"job": job, "result": job.result or {}})


class BatchListView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _require(request, Capability.VIEW_FEEDS)
        batches = FeedBatch.objects.restrict(user, Capability.VIEW_FEEDS).select_related("created_by", "county")
        kind = request.GET.get("kind", "")
        if kind in FEED_SCHEMAS:
            batches = batches.filter(kind=kind)
        status = request.GET.get("status", "")
        if status in BatchStatus.values:
            batches = batches.filter(status=status)
        context = {
            "batches": batches[:200],
            "kinds": [(k, _(s.label)) for k, s in FEED_SCHEMAS.items()],
            "statuses": BatchStatus.choices,
            "kind": kind,
            "status": status,
            "can_upload": user.can(Capability.UPLOAD_FEEDS),
        }
        return render(request, "exchange/batch_list.html", context)


class BatchDetailView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        batch = access_batch(request.user, pk)
        user = current_user(request)
        counts = batch.counts or {}
        links = counts.get("links") or {}
        errors = counts.get("errors", [])[:ERRORS_SHOWN]
        context = {
            "batch": batch,
            "counts": counts,
            "links": links,
            "rates": link_rates(links),
            "has_unmatched": batch.status == BatchStatus.COMMITTED
            and bool(links.get("unmatched", 0) + links.get("review", 0)),
            "can_review": user.can(Capability.VIEW_REGISTRY),
            "errors": errors,
            "more_errors": max(counts.get("error_count", 0) + counts.get("warning_count", 0) - len(errors), 0),
            "can_withdraw": batch.status == BatchStatus.COMMITTED and can_withdraw(batch, user),
            "can_commit": (
                batch.status == BatchStatus.DRY_RUN
                and user.can(Capability.UPLOAD_FEEDS)
                and batch.created_by_id == user.pk
                and UPLOADS.exists(batch.upload_token)
            ),
            "has_report": bool(batch.report_path),
        }
        context["upload_gone"] = (
            batch.status == BatchStatus.DRY_RUN and bool(counts.get("valid")) and not context["can_commit"]
        )
        context["keep_hours"] = f"{keep_hours():g}"
        return render(request, "exchange/batch_detail.html", context)


def link_rates(links: dict[str, Any]) -> dict[str, float]:
    """Percentages of the linkable rows: exact, probabilistic, confirmed, in review, unmatched,
    and the match rate (all linked)."""
    parts = ("exact", "probabilistic", "confirmed", "review", "unmatched")
    linkable = sum(int(links.get(p, 0) or 0) for p in parts)

    def pct(n: int) -> float:
        return round(100 * n / linkable, 1) if linkable else 0.0

    rates = {p: pct(int(links.get(p, 0) or 0)) for p in parts}
    rates["match"] = pct(sum(int(links.get(p, 0) or 0) for p in ("exact", "probabilistic", "confirmed")))
    return rates


class BatchCommitView(View):
    """Confirm a dry run: import the same encrypted upload for real (whole, or valid rows)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        batch = access_object(FeedBatch.objects.all(), user, Capability.UPLOAD_FEEDS, pk=pk)
        token = batch.upload_token
        if batch.status != BatchStatus.DRY_RUN or batch.created_by_id != user.pk or not UPLOADS.exists(token):
            messages.error(request, _("只有本人上传、预检完成且文件仍在的批次才能确认导入，请重新上传"))
            return HttpResponseRedirect(reverse("exchange:batch_detail", args=[batch.pk]))
        FeedBatch.objects.filter(pk=batch.pk).update(upload_token="")  # a second click must not import twice
        job = _enqueue(
            request,
            token=token,
            filename=batch.filename,
            kind=batch.kind,
            dry_run=False,
            valid_rows_only=request.POST.get("valid_rows_only") in ("on", "1", "true"),
            sheet=batch.sheet,  # the sheet the dry run read, even when it was chosen by default
        )
        return HttpResponseRedirect(reverse("exchange:job", args=[job.pk]))


class BatchWithdrawView(View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        batch = access_batch(user, pk)
        if not can_withdraw(batch, user):
            raise PermissionDenied
        try:
            do_withdraw_batch(batch, user, request.POST.get("reason", "") or str(_("未说明")))
        except WithdrawError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("批次已撤回，其数据文件已删除"))
        return HttpResponseRedirect(reverse("exchange:batch_detail", args=[batch.pk]))


class BatchReportView(View):
    """The batch's full error report (ID numbers masked), as XLSX or CSV."""

    def get(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        if fmt not in ("xlsx", "csv"):
            raise Http404
        batch = access_batch(request.user, pk)
        path = data_dir() / batch.report_path if batch.report_path else None
        if path is not None and path.is_file():
            rows = read_report_rows(path)
        else:
            rows = list(report_rows(RowError(**e) for e in (batch.counts or {}).get("errors", [])))
        record_event("exchange.report", request=request, obj=batch, region_code=batch.county_id, fmt=fmt)
        if fmt == "xlsx":
            body, content_type = error_report_xlsx_bytes(rows), XLSX
        else:
            body, content_type = error_report_csv_bytes(rows), "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="feed-batch-{batch.pk}-errors.{fmt}"'
        return response


class KindIndexView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        kinds = [
            {"kind": kind, "schema": schema, "department": schema.description.partition("：")[0]}
            for kind, schema in FEED_SCHEMAS.items()
        ]
        return render(request, "exchange/kind_index.html", {"kinds": kinds})


class KindDocView(View):
    """One kind's documentation page, generated from its declaration."""

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        schema = FEED_SCHEMAS.get(kind)
        if schema is None:
            raise Http404
        columns = [
            {
                "column": c,
                "type_name": TYPE_NAMES[c.type],
                "aliases": "、".join(c.aliases),
                "choices": "、".join(c.choices),
            }
            for c in schema.columns
        ]
        context = {
            "schema": schema,
            "columns": columns,
            "period_column": schema.column(period_column(schema)).label,
            "key": "、".join(schema.column(k).label for k in schema.key),
            "can_upload": current_user(request).can(Capability.UPLOAD_FEEDS),
        }
        return render(request, "exchange/kind_doc.html", context)


class TemplateView(View):
    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        schema = FEED_SCHEMAS.get(kind)
        if schema is None:
            raise Http404
        response = HttpResponse(build_template_xlsx(schema), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{kind}-template.xlsx"'
        return response
