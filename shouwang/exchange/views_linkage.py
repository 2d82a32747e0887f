"""The linkage review queue (关联待核实) and the unmatched rows listed back to a department.

Review items show registry data (candidates' names, masked ID numbers, households): only
users holding VIEW_REGISTRY see them — county officers the whole county's queue, township
officers and village cadres the items with a candidate in their area — and only EDIT_REGISTRY
may decide. Department officers see counts on their batch page and download the list of
their unmatched rows (line, name, masked ID), never registry members.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import ListView

from engine.validate import report_xlsx_bytes, write_report_csv
from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.scoping import user_region_contains
from shouwang.exchange.linking import (
    UNMATCHED_HEADERS,
    ReviewError,
    access_review,
    do_decide_review,
    unmatched_rows,
    visible_reviews,
)
from shouwang.exchange.models import LinkReview, LinkReviewCandidate, ReviewStatus
from shouwang.exchange.views import XLSX, access_batch


def _candidates_for(user: Any, review: LinkReview) -> list[LinkReviewCandidate]:
    """The review's candidates the user may see (a township officer: those of their township)."""
    return [c for c in review.candidates.all() if user_region_contains(user, c.member.household.village_id)]


class ReviewListView(ListView):
    template_name = "exchange/review_list.html"
    context_object_name = "reviews"
    paginate_by = 50

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not current_user(request).can(Capability.VIEW_REGISTRY):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[LinkReview]:
        status = self.request.GET.get("status", ReviewStatus.PENDING)
        qs = visible_reviews(current_user(self.request)).select_related("batch", "decided_by", "member")
        if status in ReviewStatus.values:
            qs = qs.filter(status=status)
        candidates = LinkReviewCandidate.objects.select_related("member__household__village")
        return qs.prefetch_related(Prefetch("candidates", queryset=candidates)).order_by("-created_at", "pk")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = current_user(self.request)
        context["status"] = self.request.GET.get("status", ReviewStatus.PENDING)
        context["statuses"] = ReviewStatus.choices
        context["rows"] = [(r, _candidates_for(user, r)) for r in context["reviews"]]
        context["can_decide"] = user.can(Capability.EDIT_REGISTRY)
        return context


class ReviewDetailView(View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        review = access_review(user, pk)
        context = {
            "review": review,
            "candidates": _candidates_for(user, review),
            "can_decide": user.can(Capability.EDIT_REGISTRY) and review.status == ReviewStatus.PENDING,
        }
        return render(request, "exchange/review_detail.html", context)


class ReviewDecideView(View):
    """Accept one candidate (`member`) or reject them all (`decision=reject`)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = current_user(request)
        review = access_review(user, pk, Capability.EDIT_REGISTRY)
        decision = request.POST.get("decision", "")
        member_id: int | None = None
        if decision == "accept":
            try:
                member_id = int(request.POST.get("member", ""))
            except ValueError:
                messages.error(request, _("请选择一名候选成员"))
                return HttpResponseRedirect(reverse("exchange:review_detail", args=[review.pk]))
        elif decision != "reject":
            messages.error(request, _("请选择核实结论"))
            return HttpResponseRedirect(reverse("exchange:review_detail", args=[review.pk]))
        try:
            do_decide_review(review, user, member_id=member_id, request=request)
        except ReviewError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("exchange:review_detail", args=[review.pk]))
        except PermissionError:
            raise Http404 from None
        messages.success(request, _("已记录核实结论，批次的关联结果已更新"))
        return HttpResponseRedirect(reverse("exchange:review_list"))


class BatchUnmatchedView(View):
    """The batch's rows without a registry member, for the department: line, name, masked ID
    or blank, reason (CSV or XLSX, spreadsheet formulas neutralised)."""

    def get(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        if fmt not in ("xlsx", "csv"):
            raise Http404
        batch = access_batch(request.user, pk)
        rows = unmatched_rows(batch)
        record_event(
            "exchange.unmatched_report",
            request=request,
            obj=batch,
            region_code=batch.county_id,
            fmt=fmt,
            rows=len(rows),
        )
        if fmt == "xlsx":
            body, content_type = report_xlsx_bytes(rows, title="未匹配", headers=UNMATCHED_HEADERS), XLSX
        else:
            import io

            out = io.StringIO()
            write_report_csv(rows, out, headers=UNMATCHED_HEADERS)
            body, content_type = out.getvalue().encode("utf-8"), "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="feed-batch-{batch.pk}-unmatched.{fmt}"'
        return response
