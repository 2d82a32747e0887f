"""The registry's web pages: household list and detail, edits, member search, ID reveal.

Every read goes through `restrict`/`access_object`, so a household outside the user's subtree
answers 404 exactly like one that does not exist; every write goes through `actions`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView

from engine.ids import IDNumberError, mask, normalize_text, parse_id_number
from shouwang.accounts.models import current_user
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.paging import CappedPaginator
from shouwang.core.protection import protector
from shouwang.core.scoping import RegionScopedQuerySet, access_object, subtree
from shouwang.regions.models import Region
from shouwang.registry import actions
from shouwang.registry import choices as c
from shouwang.registry.forms import (
    ID_TAIL,
    HouseholdFilterForm,
    HouseholdForm,
    MemberForm,
    MemberSearchForm,
    member_version,
)
from shouwang.registry.models import AnnualAccount, ChangeRecord, Household, Member
from shouwang.registry.search import name_contains

if TYPE_CHECKING:
    pass

PAGE_SIZE = 50
# More digits than the last four of an ID number: meant as a whole one (or a mistyped one).
ID_ATTEMPT = re.compile(r"^[0-9]{5,}X?$")
CHANGES_SHOWN = 200
OBJECT_MODELS = {"household": Household, "member": Member, "account": AnnualAccount}


def region_path(region: Region, user: Any) -> list[dict[str, Any]]:
    """Breadcrumb from the province down to `region`; links only inside the user's subtree."""
    prefix = user.region_prefix or "\x00"
    crumbs = []
    for r in [*region.ancestors(), region]:
        if r.name == "市辖区":
            continue
        url = None
        if r.code.startswith(prefix):
            url = reverse("registry:household_list") + f"?region={r.code}"
        crumbs.append({"code": r.code, "name": r.name, "url": url})
    return crumbs


def source_label(source: str) -> str:
    if source == "web":
        return _("网页编辑")
    if source.startswith("import:"):
        return _("批量导入（任务 %(job)s）") % {"job": source.split(":", 1)[1]}
    if source == "synth":
        return _("合成数据")
    if source == "admin":
        return _("管理后台")
    return source


def field_label(object_type: str, field: str) -> str:
    model = OBJECT_MODELS.get(object_type)
    if model is None:
        return field
    try:
        return str(getattr(model._meta.get_field(field), "verbose_name", field))
    except FieldDoesNotExist:
        return field


def labelled(changes: list[ChangeRecord]) -> list[ChangeRecord]:
    """Attach display labels (field's verbose name, source in words) for the templates."""
    for ch in changes:
        setattr(ch, "field_label", field_label(ch.object_type, ch.field))  # noqa: B010
        setattr(ch, "source_label", source_label(ch.source))  # noqa: B010
    return changes


def tail_matches(tail: str) -> Q:
    """Members whose ID number ends with `tail` (1–4 characters); the stored tail has four, so
    four are an equality the tail's index answers."""
    return Q(id_number_tail=tail) if len(tail) == 4 else Q(id_number_tail__endswith=tail)


def require(request: HttpRequest, capability: Capability) -> None:
    """403 for a page the role has no business on (a list); single objects answer 404 instead."""
    if not current_user(request).can(capability):
        raise PermissionDenied


class HouseholdListView(ListView):
    """农户名册: filters within the user's subtree; a constant number of queries per page.

    Sorted by village, then household number: the order of the (village, number) index, so a
    page of a province's 2.7 million households reads its 50 rows and no more; the count stops
    at 10,000 (`CappedPaginator`)."""

    template_name = "registry/household_list.html"
    context_object_name = "households"
    paginate_by = PAGE_SIZE
    paginator_class = CappedPaginator

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        require(request, Capability.VIEW_REGISTRY)
        self.scope = current_user(request).region
        self.filter_form = HouseholdFilterForm(request.GET or None, scope=self.scope)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Household]:
        qs = (
            Household.objects.restrict(current_user(self.request), Capability.VIEW_REGISTRY)
            .select_related("village__parent")
            .prefetch_related(
                Prefetch(
                    "members",
                    queryset=Member.objects.order_by("id").only(
                        "id", "household_id", "name", "relationship", "death_date"
                    ),
                ),
                Prefetch("accounts", queryset=AnnualAccount.objects.order_by("-year")),
            )
            .order_by("village_id", "number")
        )
        form = self.filter_form
        if not form.is_bound or not form.is_valid():
            return qs
        data = form.cleaned_data
        if data["region"]:
            qs = qs.filter(subtree("village__pk", data["region"]))
        if data["household_type"]:
            qs = qs.filter(household_type=data["household_type"])
        if data["monitoring_state"]:
            qs = qs.filter(monitoring_state=data["monitoring_state"])
        if data["housing_unsafe"]:
            qs = qs.filter(housing_grade__in=c.UNSAFE_HOUSING)
        # The members first (an index finds them), then their households.
        if data["name"]:
            scope = data["region"] or current_user(self.request).region_prefix or ""
            members = Member.objects.filter(name_contains("name", data["name"], scope))
            qs = qs.filter(pk__in=members.values("household_id"))
        if data["id_tail"]:
            qs = qs.filter(pk__in=Member.objects.filter(tail_matches(data["id_tail"])).values("household_id"))
        return qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        rows = []
        for hh in ctx["households"]:
            latest = next(iter(hh.accounts.all()), None)
            rows.append(
                {
                    "household": hh,
                    "head": hh.head,
                    "population": len(hh.living_members()),
                    "latest": latest,
                }
            )
        ctx["rows"] = rows
        ctx["filter_form"] = self.filter_form
        ctx["breadcrumb"] = region_path(self.scope, current_user(self.request)) if self.scope else []
        return ctx


class HouseholdDetailView(DetailView):
    """一户一档: members (masked IDs), 两不愁三保障 + 饮水, income history and change history."""

    template_name = "registry/household_detail.html"
    context_object_name = "household"

    def get_object(self, queryset: QuerySet | None = None) -> Household:
        return access_object(
            Household.objects.select_related("village__parent"),
            current_user(self.request),
            Capability.VIEW_REGISTRY,
            pk=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        hh: Household = self.object
        user = current_user(self.request)
        today = dt.date.today()
        # One query for the members; the indicators below read the same prefetched list.
        prefetch_related_objects([hh], Prefetch("members", queryset=Member.objects.order_by("id")))
        members = list(hh.members.all())
        accounts = list(hh.accounts.order_by("-year"))
        changes = labelled(list(hh.changes.select_related("actor").order_by("-at", "-id")[:CHANGES_SHOWN]))
        indicators = [
            (_("不愁吃穿"), hh.food_clothing_ok, ""),
            (_("义务教育有保障"), hh.education_secure(today), _("6–15 岁无失学辍学")),
            (_("基本医疗有保障"), hh.medical_secure, _("在世成员均参加基本医疗保险")),
            (_("住房安全有保障"), hh.housing_secure, _("住房安全等级 %(grade)s") % {"grade": hh.housing_grade or "—"}),
            (_("饮水安全有保障"), hh.water_secure, ""),
        ]
        water = [
            (_("水量"), hh.water_quantity_ok),
            (_("水质"), hh.water_quality_ok),
            (_("用水方便程度"), hh.water_convenience_ok),
            (_("供水保证率"), hh.water_reliability_ok),
        ]
        ctx.update(
            {
                "members": [{"member": m, "age": m.age(today)} for m in members],
                "living_count": sum(1 for m in members if m.death_date is None),
                "accounts": accounts,
                "changes": changes,
                "changes_total": hh.changes.count() if len(changes) >= CHANGES_SHOWN else len(changes),
                "indicators": indicators,
                "water": water,
                "breadcrumb": region_path(hh.village, user),
                "can_edit": user.can(Capability.EDIT_REGISTRY),
                "can_reveal": user.can(Capability.REVEAL_ID_NUMBER),
            }
        )
        return ctx


class VersionedEditView(FormView):
    """An edit form that refuses to save over a change made since the form was loaded.

    The form carries the record's version; saving re-reads the record (locked, inside the
    transaction) and writes nothing when the versions differ.
    """

    capability = Capability.EDIT_REGISTRY

    def get_queryset(self) -> RegionScopedQuerySet:
        raise NotImplementedError

    def version_of(self, obj: Any) -> str:
        raise NotImplementedError

    def apply(self, obj: Any, values: dict[str, Any]) -> int:
        raise NotImplementedError

    def household_of(self, obj: Any) -> Household:
        raise NotImplementedError

    def load(self, *, for_update: bool = False) -> Any:
        qs = self.get_queryset()
        if for_update:
            qs = qs.select_for_update(of=("self",))
        return access_object(qs, current_user(self.request), self.capability, pk=self.kwargs["pk"])

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.object = self.load()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        # The form validates its own copy: the action must diff against the stored values.
        kwargs["instance"] = self.load()
        return kwargs

    def get_success_url(self) -> str:
        return reverse("registry:household_detail", args=[self.household_of(self.object).pk])

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            current = self.load(for_update=True)
            if self.version_of(current) != form.cleaned_data["version"]:
                return self.stale(form, current)
            changed = self.apply(current, form.changed_values())
        if changed:
            messages.success(self.request, _("已保存 %(n)d 项修改。") % {"n": changed})
        else:
            messages.info(self.request, _("没有需要保存的修改。"))
        return redirect(self.get_success_url())

    def stale(self, form: Any, current: Any) -> HttpResponse:
        form.add_error(
            None,
            _(
                "保存失败：自您打开此表单以来，该记录已被他人修改，您的修改没有保存。"
                "请查看下方最近的变更，然后重新打开表单再修改。"
            ),
        )
        household = self.household_of(current)
        recent = labelled(list(household.changes.select_related("actor").order_by("-at", "-id")[:10]))
        ctx = self.get_context_data(form=form, stale=True, recent_changes=recent)
        return self.render_to_response(ctx, status=409)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        household = self.household_of(self.object)
        ctx.update(
            {
                "object": self.object,
                "household": household,
                "breadcrumb": region_path(household.village, current_user(self.request)),
            }
        )
        return ctx


class HouseholdEditView(VersionedEditView):
    template_name = "registry/household_form.html"
    form_class = HouseholdForm

    def get_queryset(self) -> RegionScopedQuerySet:
        return Household.objects.select_related("village__parent")

    def version_of(self, obj: Household) -> str:
        return HouseholdForm.version_of(obj)

    def household_of(self, obj: Household) -> Household:
        return obj

    def apply(self, obj: Household, values: dict[str, Any]) -> int:
        return actions.do_update_household(obj, values, actor=current_user(self.request), source="web")


class MemberEditView(VersionedEditView):
    template_name = "registry/member_form.html"
    form_class = MemberForm

    def get_queryset(self) -> RegionScopedQuerySet:
        return Member.objects.select_related("household__village__parent")

    def version_of(self, obj: Member) -> str:
        return member_version(obj)

    def household_of(self, obj: Member) -> Household:
        return obj.household

    def apply(self, obj: Member, values: dict[str, Any]) -> int:
        return actions.do_update_member(obj, values, actor=current_user(self.request), source="web")


class MemberSearchView(ListView):
    """成员查询 by name, the last digits of the ID number, or a full ID number (matched by hash).

    The form posts: a full ID number is searched in the POST itself and never enters a URL,
    where the browser's history and every access log would keep it (ASVS 14.2.1); names and
    last digits are redirected to an ordinary GET, so their results can be paged and linked.
    """

    template_name = "registry/member_search.html"
    context_object_name = "members"
    paginate_by = PAGE_SIZE
    paginator_class = CappedPaginator

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        require(request, Capability.VIEW_REGISTRY)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request: HttpRequest) -> HttpResponse:
        q = normalize_text(request.POST.get("q", ""))
        if not ID_ATTEMPT.match(q):
            return redirect(f"{reverse('registry:member_search')}?{urlencode({'q': request.POST.get('q', '')})}")
        self.object_list = self.search(request.POST, in_url=False)
        return self.render_to_response(self.get_context_data())

    def get_queryset(self) -> QuerySet[Member]:
        return self.search(self.request.GET, in_url=True)

    def search(self, data: Any, *, in_url: bool) -> QuerySet[Member]:
        self.form = MemberSearchForm(data or None)
        qs = (
            Member.objects.restrict(current_user(self.request), Capability.VIEW_REGISTRY)
            .select_related("household__village__parent")
            .order_by("household__number", "id")
        )
        self.query = ""
        if not self.form.is_valid():
            return qs.none()
        q = (self.form.cleaned_data.get("q") or "").strip()
        self.query = q
        if not q:
            return qs.none()
        number = normalize_text(q)
        if ID_ATTEMPT.match(number):
            # The page does not echo the number back into the search box; shown at all, it is masked.
            self.form = MemberSearchForm({"q": ""})
            self.form.is_valid()
            self.query = ""
            if in_url and len(number) in (15, 18):
                self.form.add_error(
                    "q", _("为保护个人信息，完整身份证号不能放在网址中。请在查询框中输入后点击“查询”。")
                )
                return qs.none()
            try:
                idn = parse_id_number(number)
            except IDNumberError as exc:
                reason = exc.reason_zh if (get_language() or "zh").startswith("zh") else exc.reason_en
                self.form.add_error("q", _("无法按身份证号查询：%(reason)s。请核对后重新输入。") % {"reason": reason})
                return qs.none()
            self.query = mask(idn.value)
            return qs.filter(id_number_hash=protector().hash(idn.value))
        if ID_TAIL.match(q) and len(q) <= 4:
            return qs.filter(tail_matches(q.upper()))
        return qs.filter(name_contains("name", q, current_user(self.request).region_prefix or ""))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        today = dt.date.today()
        ctx["rows"] = [{"member": m, "age": m.age(today)} for m in ctx["members"]]
        ctx["form"] = self.form
        ctx["query"] = self.query
        return ctx


class MemberRevealIDView(View):
    """Show one member's full ID number: county officers only, POST only, always audited."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = access_object(
            Member.objects.select_related("household__village"),
            current_user(request),
            Capability.REVEAL_ID_NUMBER,
            pk=pk,
        )
        id_number = actions.reveal_id_number(member)
        record_event(
            "registry.reveal_id",
            request=request,
            obj=member,
            region_code=member.household.village_id,
            member=member.pk,
            household=member.household_id,
            masked=member.id_number_masked,
        )
        wants_json = "application/json" in request.headers.get("Accept", "")
        if wants_json:
            response: HttpResponse = JsonResponse({"member": member.pk, "id_number": id_number})
        else:
            response = render(
                request,
                "registry/member_reveal.html",
                {
                    "member": member,
                    "household": member.household,
                    "id_number": id_number,
                    "breadcrumb": region_path(member.household.village, current_user(request)),
                },
            )
        response["Cache-Control"] = "no-store"
        return response
