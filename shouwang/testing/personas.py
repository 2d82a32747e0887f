"""Named personas and small factories for tests (real division codes of 台江县 and 黎平县).

The world of the permission matrix lives in the first village of 台拱街道 (台江县). Around it
stand the outsiders who must not see it: a cadre of the next village in the same township, an
officer of another township of the county, and a county officer and a village cadre of 黎平县.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from engine.ids import make_id_number, parse_id_number
from shouwang.accounts.models import User
from shouwang.accounts.roles import Role
from shouwang.registry.actions import protected_id_fields
from shouwang.registry.models import AnnualAccount, Household, Member

COUNTY = "522630"  # 台江县
TOWNSHIP = "522630001"  # 台拱街道
SIBLING_TOWNSHIP = "522630101"  # 施洞镇, another township of 台江县
OTHER_COUNTY = "522631"  # 黎平县
PASSWORD = "Shouwang-Test-2026"

_seq = itertools.count(1)


def first_village(prefix: str) -> str:
    from shouwang.regions.models import Level, Region

    return (
        Region.objects.filter(code__startswith=prefix, level=Level.VILLAGE)
        .order_by("code")
        .values_list("code", flat=True)[0]
    )


def second_village(prefix: str) -> str:
    from shouwang.regions.models import Level, Region

    return (
        Region.objects.filter(code__startswith=prefix, level=Level.VILLAGE)
        .order_by("code")
        .values_list("code", flat=True)[1]
    )


def make_user(username: str, role: str, region: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, role=role, region_id=region)
    return user


PERSONAS = {
    # name: (role, region resolver)
    "village_cadre": (Role.VILLAGE_CADRE, lambda: first_village(TOWNSHIP)),
    "township_officer": (Role.TOWNSHIP_OFFICER, lambda: TOWNSHIP),
    "county_officer": (Role.COUNTY_OFFICER, lambda: COUNTY),
    "prefecture_viewer": (Role.PREFECTURE_VIEWER, lambda: "5226"),
    "province_viewer": (Role.PROVINCE_VIEWER, lambda: "52"),
    "department_officer": (Role.DEPARTMENT_OFFICER, lambda: COUNTY),
    "system_admin": (Role.SYSTEM_ADMIN, lambda: COUNTY),
    "security_admin": (Role.SECURITY_ADMIN, lambda: COUNTY),
    "audit_admin": (Role.AUDIT_ADMIN, lambda: COUNTY),
    "other_county_cadre": (Role.COUNTY_OFFICER, lambda: OTHER_COUNTY),
    "sibling_village_cadre": (Role.VILLAGE_CADRE, lambda: second_village(TOWNSHIP)),
    "sibling_township_officer": (Role.TOWNSHIP_OFFICER, lambda: SIBLING_TOWNSHIP),
    "other_county_village_cadre": (Role.VILLAGE_CADRE, lambda: first_village(OTHER_COUNTY)),
}

# Each outsider and the persona of the world with the same role: on a page without an object
# (a list, a form) an outsider gets what their twin gets, for their own region.
OUTSIDERS = {
    "sibling_village_cadre": "village_cadre",
    "sibling_township_officer": "township_officer",
    "other_county_cadre": "county_officer",
    "other_county_village_cadre": "village_cadre",
}


def make_persona(name: str) -> User:
    role, region = PERSONAS[name]
    return make_user(name, role, region())


def make_household(
    village: str, *, members: int = 3, household_type: str = "一般农户", number: str | None = None, **fields
) -> Household:
    n = next(_seq)
    hh = Household.objects.create(
        number=number or f"{village[:6]}{n:06d}",
        village_id=village,
        household_type=household_type,
        poverty_exit_year=2018 if household_type == "脱贫户" else None,
        address=f"测试地址{n}号",
        **fields,
    )
    births = [dt.date(1970, 3, 1), dt.date(1972, 6, 1), dt.date(2012, 9, 1), dt.date(1945, 1, 1)]
    relations = ["户主", "配偶", "子", "父母"]
    for i in range(members):
        sex = "M" if i % 2 == 0 else "F"
        # The household counter shifts the birth date (within ~8 years, so a child is never born
        # in the future) and past that the sequence: numbers stay unique however many are made.
        birth = births[i % 4] + dt.timedelta(days=n % 3000)
        idn = parse_id_number(make_id_number(village[:6], birth, (n // 3000) * 4 + i, sex))
        Member.objects.create(
            household=hh,
            name=f"成员{n}-{i}",
            relationship=relations[i % 4],
            labour_capacity="普通劳动力",
            **protected_id_fields(idn),
        )
    AnnualAccount.objects.create(
        household=hh,
        year=2025,
        wage_income=Decimal("20000"),
        operating_income=Decimal("5000"),
        operating_cost=Decimal("1000"),
        property_income=Decimal(0),
        transfer_income=Decimal("1000"),
        population=members,
    )
    return hh
