"""Who is calling (`/me`) and the household register (`/households`)."""

import datetime as dt
import re
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from shouwang.accounts.roles import Capability
from shouwang.api import schemas as s
from shouwang.api.models import ApiToken
from shouwang.api.routers.common import ERRORS, caller, invalid, require
from shouwang.core.scoping import access_object
from shouwang.registry import choices as c
from shouwang.registry.models import AnnualAccount, Household, Member

# -- who am I ---------------------------------------------------------------------------------

me_router = Router(tags=["账号"])


@me_router.get("/me", response={200: s.MeOut, **ERRORS}, url_name="me", summary="当前调用者：账号、角色与所属区划")
def me(request: HttpRequest) -> dict[str, Any]:
    user = caller(request)
    token: ApiToken | None = getattr(request, "api_token", None)
    region = user.region if user.region_id else None
    return {
        "username": user.username,
        "full_name": user.get_full_name(),
        "role": user.role,
        "role_display": user.get_role_display() if user.role else "",
        "region_code": region.code if region else None,
        "region_name": region.name if region else None,
        "capabilities": sorted(cap.value for cap in Capability if user.can(cap)),
        "auth": "token" if token else "session",
        "token_prefix": token.prefix if token else None,
    }


# -- households -------------------------------------------------------------------------------

registry_router = Router(tags=["农户"])
ID_TAIL = re.compile(r"^[0-9Xx]{1,4}$")
FULL_ID = re.compile(r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$")


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def household_summary(hh: Household) -> dict[str, Any]:
    latest = next(iter(hh.accounts.all()), None)  # prefetched, newest year first
    head = hh.head
    return {
        "id": hh.pk,
        "number": hh.number,
        "village_code": hh.village_id,
        "village_name": hh.village.name,
        "household_type": hh.household_type,
        "monitoring_state": hh.monitoring_state,
        "monitoring_category": hh.monitoring_category,
        "head_name": head.name if head else None,
        "population": len(hh.living_members()),
        "latest_year": latest.year if latest else None,
        "latest_per_capita_net_income": latest.per_capita_net_income if latest else None,
    }


class HouseholdPages(PageNumberPagination):
    def paginate_queryset(self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page["items"] = [household_summary(hh) for hh in page["items"]]
        return page


class HouseholdFilters(Schema):
    village: str | None = Field(None, description="区划代码前缀：村（12 位）或乡镇（9 位）等；只在调用者范围内生效")
    household_type: str | None = Field(None, description="户类型：脱贫户 / 一般农户")
    monitoring_state: str | None = Field(None, description="监测状态：未纳入 / 监测中 / 风险已消除")
    q: str | None = Field(
        None, description="户编号、成员姓名或身份证号后四位。出于安全，不接受完整身份证号（请勿放入网址）"
    )


@registry_router.get(
    "/households",
    response={200: list[s.HouseholdListItem], **ERRORS},
    url_name="household_list",
    summary="农户名册（分页，限调用者区划）",
)
@paginate(HouseholdPages, page_size=50, max_page_size=200)
def household_list(request: HttpRequest, filters: Query[HouseholdFilters]) -> QuerySet[Household]:
    user = caller(request)
    require(user, Capability.VIEW_REGISTRY)
    qs = (
        Household.objects.restrict(user, Capability.VIEW_REGISTRY)
        .select_related("village")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=Member.objects.order_by("id").only("id", "household_id", "name", "relationship", "death_date"),
            ),
            Prefetch("accounts", queryset=AnnualAccount.objects.order_by("-year")),
        )
        .order_by("number")
    )
    if filters.village:
        if not filters.village.isdigit() or len(filters.village) > 12:
            raise invalid("village 应为区划代码（数字，最长 12 位）。")
        qs = qs.filter(village__pk__startswith=filters.village)
    if filters.household_type:
        if filters.household_type not in dict(c.HOUSEHOLD_TYPES):
            raise invalid("household_type 取值应为：" + " / ".join(dict(c.HOUSEHOLD_TYPES)))
        qs = qs.filter(household_type=filters.household_type)
    if filters.monitoring_state:
        if filters.monitoring_state not in dict(c.MONITORING_STATES):
            raise invalid("monitoring_state 取值应为：" + " / ".join(dict(c.MONITORING_STATES)))
        qs = qs.filter(monitoring_state=filters.monitoring_state)
    q = (filters.q or "").strip()
    if q:
        if FULL_ID.match(q):
            raise invalid("请勿在网址中传递完整身份证号；请按姓名、户编号或身份证号后四位查询。")
        if len(q) > 50:
            raise invalid("查询内容过长（最多 50 个字符）。")
        match: Q = Q(number__contains=q) | Q(Exists(Member.objects.filter(household=OuterRef("pk"), name__contains=q)))
        if ID_TAIL.match(q):
            match |= Q(Exists(Member.objects.filter(household=OuterRef("pk"), id_number_tail__endswith=q.upper())))
        qs = qs.filter(match)
    return qs


@registry_router.get(
    "/households/{household_id}",
    response={200: s.HouseholdDetailOut, **ERRORS},
    url_name="household_detail",
    summary="一户一档：成员（身份证号脱敏）、两不愁三保障指标、年度收支",
)
def household_detail(request: HttpRequest, household_id: int) -> dict[str, Any]:
    user = caller(request)
    hh: Household = access_object(
        Household.objects.select_related("village").prefetch_related(
            Prefetch("members", queryset=Member.objects.order_by("id")),
            Prefetch("accounts", queryset=AnnualAccount.objects.order_by("-year")),
        ),
        user,
        Capability.VIEW_REGISTRY,
        pk=household_id,
    )
    today = dt.date.today()
    members = list(hh.members.all())
    return {
        **household_summary(hh),
        "address": hh.address,
        "phone_masked": mask_phone(hh.phone),
        "poverty_exit_year": hh.poverty_exit_year,
        "housing_grade": hh.housing_grade,
        "indicators": {
            "food_clothing_secure": hh.food_clothing_ok,
            "education_secure": hh.education_secure(today),
            "medical_secure": hh.medical_secure,
            "housing_secure": hh.housing_secure,
            "water_secure": hh.water_secure,
            "without_labour": hh.without_labour,
        },
        "members": [
            {
                "id": m.pk,
                "name": m.name,
                "id_number_masked": m.id_number_masked,
                "sex": m.sex,
                "age": m.age(today),
                "relationship": m.relationship,
                "ethnicity": m.ethnicity,
                "education": m.education,
                "school_status": m.school_status,
                "health": m.health_display,  # 健康状况 as the form writes it: 长期慢性病、残疾
                "disability_type": m.disability_type,
                "disability_grade": m.disability_grade,
                "labour_capacity": m.labour_capacity,
                "work_status": m.work_status,
                "medical_insurance": m.medical_insurance,
                "pension_insurance": m.pension_insurance,
                "dibao": m.dibao,
                "tekun": m.tekun,
                "deceased": m.is_deceased,
            }
            for m in members
        ],
        "accounts": [
            {
                "year": a.year,
                "population": a.population,
                "wage_income": a.wage_income,
                "operating_income": a.operating_income,
                "operating_cost": a.operating_cost,
                "property_income": a.property_income,
                "transfer_income": a.transfer_income,
                "medical_expense": a.medical_expense,
                "education_expense": a.education_expense,
                "net_income": a.net_income,
                "per_capita_net_income": a.per_capita_net_income,
                "rigid_expense": a.rigid_expense,
            }
            for a in hh.accounts.all()
        ],
    }
