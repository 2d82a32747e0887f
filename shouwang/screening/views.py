"""Warnings (预警线索) to verify, screening runs and starting a screening of one's county."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from engine.screening import ALL_RULES, RULES_BY_ID
from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.paging import CappedPaginator
from shouwang.core.scoping import RegionScopedQuerySet, access_object, subtree
from shouwang.jobs.models import Job, JobStatus
from shouwang.jobs.runner import do_enqueue_job
from shouwang.monitoring.models import OPEN_STEPS
from shouwang.regions.models import Level, Region
from shouwang.screening.actions import MIN_YEAR, ScreeningRequestError, do_dismiss
from shouwang.screening.jobs import JOB_KIND
from shouwang.screening.models import ScreeningRun, Severity, Warning, WarningStatus
from shouwang.screening.schedule import ScheduleError, do_set_schedule, schedule_of, screening_year
from shouwang.screening.text import (
    EVIDENCE_LABELS,
    PARAMETER_LABELS,
    feed_label,
    rule_title,
    summarize,
)

SEVERITY_CLASS = {"red": "danger", "orange": "warning", "yellow": "info"}


def _require(request: HttpRequest, capability: Capability) -> Any:
    user = current_user(request)
    if not user.can(capability):
        raise PermissionDenied
    return user


def visible_warnings(user: Any, capability: Capability = Capability.VIEW_REGISTRY) -> RegionScopedQuerySet:
    return Warning.objects.restrict(user, capability)


def warning_badges(
    user: Any, qs: Any, status: str, village: str, today: dt.date | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """The list's badges: the area's warnings of `status` ("" every status) by rule and by
    colour. From the statistics (统计) when they are current for the area — a province's
    open warnings counted per view took 30–40 ms — else in one pass over the warnings."""
    from shouwang.insights.models import RegionStat
    from shouwang.insights.refresh import current_for

    prefix = user.region_prefix or ""
    code = village or prefix
    counts: Any
    if (
        prefix
        and code.startswith(prefix)
        and Region.objects.filter(pk=code).exists()
        and current_for(code, today or timezone.localdate())
    ):
        # The statistics' states: an open warning is untaken or being verified.
        states = {"untaken", "verifying"} if status == WarningStatus.OPEN else {status}
        stats = RegionStat.objects.filter(region_code=code, metric="warnings").values_list("key", "value")
        parts = ((key.split("|"), n) for key, n in stats)
        counts = ((rule_id, colour, n) for (rule_id, colour, state), n in parts if not status or state in states)
    else:
        counts = qs.order_by().values_list("rule_id", "severity").annotate(n=Count("pk"))
    by_rule: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for rule_id, colour, n in counts:
        by_rule[rule_id] = by_rule.get(rule_id, 0) + n
        by_severity[colour] = by_severity.get(colour, 0) + n
    return by_rule, by_severity


def visible_runs(user: Any) -> Any:
    """Runs of the user's subtree and of the regions above it (a village cadre sees the
    county's run that raised their warnings): the manifest holds no personal data."""
    if not user.can(Capability.VIEW_REGISTRY) or not user.region_prefix:
        return ScreeningRun.objects.none()
    prefix = user.region_prefix
    above = [prefix[:n] for n in (2, 4, 6, 9) if n < len(prefix)]
    return ScreeningRun.objects.filter(subtree("region__pk", prefix) | Q(region__pk__in=above))


def default_year() -> int:
    return dt.date.today().year - 1  # the accounts of a year are complete the year after


def _can_start(user: Any) -> bool:
    return user.can(Capability.RUN_SCREENING) and user.region is not None and user.region.level == Level.COUNTY


class WarningListView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _require(request, Capability.VIEW_REGISTRY)
        qs = visible_warnings(user)
        status = request.GET.get("status", WarningStatus.OPEN)
        if status in WarningStatus.values:
            qs = qs.filter(status=status)
        else:
            status = ""
        village = request.GET.get("village", "")
        if village.isdigit():
            qs = qs.filter(subtree("village__pk", village))
        by_rule, by_severity = warning_badges(user, qs, status, village)
        rule = request.GET.get("rule", "")
        if rule in RULES_BY_ID:
            qs = qs.filter(rule_id=rule)
        else:
            rule = ""
        severity = request.GET.get("severity", "")
        if severity in Severity.values:
            qs = qs.filter(severity=severity)
        else:
            severity = ""
        # Sorted on the warnings' own columns; the page's 50 households and members come after.
        qs = qs.prefetch_related("household__village", "member").order_by(
            "status", "-last_run_id", "village_id", "household_id", "rule_id", "period"
        )
        page = CappedPaginator(qs, 50).get_page(request.GET.get("page"))
        rows = [
            {
                "w": w,
                "title": rule_title(w.rule_id),
                "summary": summarize(w.rule_id, w.period, w.evidence),
                "css": SEVERITY_CLASS.get(w.severity, "secondary"),
            }
            for w in page
        ]
        villages = Region.objects.filter(code__startswith=user.region_prefix, level=Level.VILLAGE).order_by("code")
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "rows": rows,
            "page_obj": page,
            "is_paginated": page.has_other_pages(),
            "query": query.urlencode(),
            "rule_counts": [(r.id, rule_title(r.id), by_rule[r.id]) for r in ALL_RULES if by_rule.get(r.id)],
            "severity_counts": [(v, label, by_severity.get(v, 0), SEVERITY_CLASS[v]) for v, label in Severity.choices],
            "rules": [(r.id, rule_title(r.id)) for r in ALL_RULES],
            "severities": Severity.choices,
            "statuses": WarningStatus.choices,
            "villages": villages[:500] if len(user.region_prefix or "") >= 6 else [],
            "rule": rule,
            "severity": severity,
            "status": status,
            "village": village,
            "last_run": visible_runs(user).first(),
            "can_start": _can_start(user),
            "default_year": default_year(),
        }
        return render(request, "screening/warning_list.html", context)


class WarningDetailView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        warning = access_object(
            visible_warnings(user).select_related(
                "household__village", "member", "dismissed_by", "first_run", "last_run"
            ),
            user,
            Capability.VIEW_REGISTRY,
            pk=pk,
        )
        evidence = dict(warning.evidence or {})
        used = evidence.pop("parameters", {}) or {}
        batches = evidence.pop("feed_batches", []) or []
        manifest_params = ((warning.last_run.manifest if warning.last_run else {}) or {}).get("parameters", {})
        parameters = [
            {
                "name": name,
                "label": PARAMETER_LABELS.get(name, name),
                "value": value,
                "unit": manifest_params.get(name, {}).get("unit", ""),
                "grade": manifest_params.get(name, {}).get("grade", ""),
                "source": manifest_params.get(name, {}).get("source", ""),
                "region": manifest_params.get(name, {}).get("region_code", ""),
            }
            for name, value in sorted(used.items())
        ]
        rule = RULES_BY_ID.get(warning.rule_id)
        context = {
            "warning": warning,
            "rule": rule,
            "title": rule_title(warning.rule_id),
            "summary": summarize(warning.rule_id, warning.period, warning.evidence),
            "css": SEVERITY_CLASS.get(warning.severity, "secondary"),
            "evidence": [(EVIDENCE_LABELS.get(k, k), v) for k, v in sorted(evidence.items())],
            "parameters": parameters,
            "batches": batches,
            "can_view_batches": user.can(Capability.VIEW_FEEDS),
            "can_dismiss": user.can(Capability.EDIT_REGISTRY) and warning.status == WarningStatus.OPEN,
            # The monitoring loop: the village takes an open warning up into a case.
            "cases": warning.cases.all(),
            "can_start_case": user.can(Capability.EDIT_REGISTRY)
            and user.region is not None
            and user.region.level == Level.VILLAGE
            and warning.status == WarningStatus.OPEN
            and not warning.cases.filter(step__in=OPEN_STEPS).exists(),
            "can_see_run": warning.last_run_id is not None
            and visible_runs(user).filter(pk=warning.last_run_id).exists(),
        }
        return render(request, "screening/warning_detail.html", context)


class WarningDismissView(View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        warning = access_object(
            visible_warnings(user, Capability.EDIT_REGISTRY).select_related("household"),
            user,
            Capability.EDIT_REGISTRY,
            pk=pk,
        )
        target = reverse("screening:warning_detail", args=[warning.pk])
        if warning.status != WarningStatus.OPEN:
            messages.info(request, _("该线索已处理"))
            return HttpResponseRedirect(target)
        try:
            do_dismiss(warning, user=user, reason=request.POST.get("reason", ""), request=request)
        except ScreeningRequestError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(target)
        messages.success(request, _("已排除该线索，理由已记录"))
        return HttpResponseRedirect(target)


def _county_of(user: Any) -> Region | None:
    prefix = user.region_prefix or ""
    if len(prefix) < 6:
        return None
    return Region.objects.filter(code=prefix[:6], level=Level.COUNTY).first()


class RunListView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _require(request, Capability.VIEW_REGISTRY)
        runs = visible_runs(user).select_related("region", "created_by")[:100]
        county = _county_of(user)
        schedule = schedule_of(county) if county is not None else None
        today = dt.date.today()
        jobs = []
        if user.can(Capability.VIEW_JOBS):
            jobs = list(
                Job.objects.restrict(user, Capability.VIEW_JOBS)
                .filter(kind=JOB_KIND, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
                .order_by("-created_at")[:10]
            )
        context = {
            "runs": runs,
            "jobs": jobs,
            "can_start": _can_start(user),
            "default_year": default_year(),
            "schedule": schedule,
            "next_run": schedule.next_run(today) if schedule else None,
            "next_year": screening_year(schedule.next_run(today) or today) if schedule else None,
            "days": range(1, 29),
        }
        return render(request, "screening/run_list.html", context)


class ScheduleView(View):
    """A county officer sets the day of the monthly screening of their county, or turns it off."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        if not _can_start(user) or user.region is None:
            raise PermissionDenied
        try:
            day = int(request.POST.get("day_of_month", ""))
        except ValueError:
            day = 0
        try:
            do_set_schedule(
                user.region, user=user, enabled=request.POST.get("enabled") == "on", day_of_month=day, request=request
            )
        except ScheduleError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已保存定期筛查设置"))
        return HttpResponseRedirect(reverse("screening:run_list"))


class RunDetailView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        # Not `access_object`: a run of the county is visible from the villages below it too.
        run = visible_runs(user).select_related("region", "created_by").filter(pk=pk).first()
        if run is None:
            raise Http404
        manifest = run.manifest or {}
        counts = manifest.get("counts", {})
        timings = manifest.get("timings", {})
        rules = [
            {
                "id": rule_id,
                "title": rule_title(rule_id),
                "count": counts.get(rule_id, 0),
                "seconds": timings.get(rule_id),
                "version": info.get("version"),
            }
            for rule_id, info in manifest.get("rules", {}).items()
        ]
        parameters = [
            {"name": name, "label": PARAMETER_LABELS.get(name, name), **value}
            for name, value in sorted(manifest.get("parameters", {}).items())
        ]
        skipped = [
            {"id": rule_id, "title": rule_title(rule_id), **value} for rule_id, value in (run.skipped or {}).items()
        ]
        inputs = [
            {"name": name, "label": EVIDENCE_LABELS.get(name) or _input_label(name), **value}
            for name, value in sorted(manifest.get("inputs", {}).items())
        ]
        context = {
            "run": run,
            "manifest": manifest,
            "rules": rules,
            "parameters": parameters,
            "skipped": skipped,
            "inputs": inputs,
            "load_seconds": timings.get("load"),
            "engine_seconds": timings.get("total"),
        }
        return render(request, "screening/run_detail.html", context)


def _input_label(name: str) -> str:
    return {"members": _("家庭成员"), "households": _("农户信息"), "accounts": _("年度收支")}.get(name) or feed_label(
        name
    )


class RunStartView(View):
    """Enqueue a screening of the county officer's county (one at a time)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        if not _can_start(user):
            raise PermissionDenied
        try:
            year = int(request.POST.get("year") or default_year())
        except ValueError:
            year = 0
        if not MIN_YEAR <= year <= dt.date.today().year:
            messages.error(
                request,
                _("年度无效：只能筛查 %(first)s 年至 %(last)s 年") % {"first": MIN_YEAR, "last": dt.date.today().year},
            )
            return HttpResponseRedirect(reverse("screening:warning_list"))
        pending = (
            Job.objects.restrict(user, Capability.VIEW_JOBS)
            .filter(kind=JOB_KIND, region_id=user.region_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            .first()
        )
        if pending is not None:
            messages.info(request, _("本县已有一次筛查正在进行（任务 #%(id)s）") % {"id": pending.pk})
            return HttpResponseRedirect(reverse("screening:job", args=[pending.pk]))
        job = do_enqueue_job(JOB_KIND, region=user.region, params={"year": year, "engine": "duckdb"}, user=user)
        messages.info(
            request,
            _("已开始筛查 %(region)s %(year)s 年（任务 #%(id)s）")
            % {"region": job.region.name, "year": year, "id": job.pk},
        )
        return HttpResponseRedirect(reverse("screening:job", args=[job.pk]))


class JobView(View):
    """Progress of a screening job; once finished, on to its run."""

    def get(self, request: HttpRequest, job_id: int) -> HttpResponse:
        user = current_user(request)
        if not user.can(Capability.VIEW_REGISTRY):  # a screening job is registry work
            raise Http404
        job = access_object(Job.objects.filter(kind=JOB_KIND), user, Capability.VIEW_JOBS, pk=job_id)
        run_id = (job.result or {}).get("run_id")
        if job.status == JobStatus.SUCCEEDED and run_id:
            return HttpResponseRedirect(reverse("screening:run_detail", args=[run_id]))
        return render(request, "screening/job.html", {"job": job})
