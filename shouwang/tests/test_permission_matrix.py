"""Every URL × every persona: scoping is enforced everywhere, and absent ≡ forbidden (404).

The world: households in the village cadre's village (of 台江县) with members, and a
registry-import job of the county officer; and households where the outsiders live — the next
village of the township, another township of the county, a village of 黎平县. Every answer is
read as well as its status: no page, list, search, report or API answer of any persona names
a household (number or member) outside that persona's region, and the lists do name those
inside it.

A URL added to the project without a row in EXPECTED fails `test_every_url_is_in_the_matrix`,
and a view opened to visitors who are not signed in fails
`test_every_view_without_login_is_declared_public` unless it is declared in PUBLIC, so nobody
can add a page and forget its scoping. The admin has its own matrix (test_admin_matrix.py).
"""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from shouwang.accounts.roles import Capability
from shouwang.jobs.models import Job
from shouwang.registry.models import DuplicateCandidate, Member
from shouwang.testing.matrix import (
    ALL,
    APP_MATRICES,
    EDITORS,
    ELSEWHERE,
    IMPORTERS,
    VIEWERS,
    only,
)
from shouwang.testing.personas import (
    OTHER_COUNTY,
    PERSONAS,
    SIBLING_TOWNSHIP,
    TOWNSHIP,
    first_village,
    make_household,
    second_village,
)

# url name → (method, kwargs builder key, expected status per persona)
EXPECTED: dict[str, tuple[str, dict[str, int]]] = {
    "core:home": ("get", only(ALL)),
    "core:audit_log": ("get", only({"audit_admin"}, other=403)),
    "accounts:login": ("get", only(set(), other=302)),  # a logged-in user is sent on
    "accounts:logout": ("post", only(set(), other=302)),
    "registry:household_list": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "registry:household_detail": ("get", only(VIEWERS)),
    "registry:household_edit": ("get", only(EDITORS)),
    "registry:member_search": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "registry:member_edit": ("get", only(EDITORS)),
    "registry:member_reveal_id": ("post", only({"county_officer"})),
    "registry:duplicate_list": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "registry:duplicate_scan": ("post", only(EDITORS | ELSEWHERE, ok=302, other=403)),
    "registry:duplicate_decide": ("post", only(EDITORS, ok=302)),
    "registry:import_start": ("get", only(IMPORTERS | ELSEWHERE, other=403)),
    "registry:import_result": ("get", only({"county_officer"})),
    "registry:import_commit": ("post", only({"county_officer"}, ok=302)),
    "registry:import_report": ("get", only({"county_officer"})),
    "registry:import_template": ("get", only(IMPORTERS | ELSEWHERE, other=403)),
    "jobs:job_list": (
        "get",
        only({"village_cadre", "township_officer", "county_officer", "department_officer"} | ELSEWHERE, other=403),
    ),
    "jobs:job_detail": ("get", only({"county_officer"})),
    "jobs:job_status": ("get", only({"county_officer"})),
    "set_language": ("post", only(set(), other=302)),
}


# Views a visitor who is not signed in may open, and why.
PUBLIC = {
    "accounts:login": "the login page",
    "set_language": "choosing the language of the login page",
    "apply": "a village's self-application form (一码申报), reached by its signed QR link",
}

ANONYMOUS: dict[str, int] = {}
# The member search looks for a name all members of the world share.
DATA: dict[str, dict] = {"set_language": {"language": "en", "next": "/"}, "registry:member_search": {"q": "成员"}}
APP_KWARGS: dict = {}
APP_WORLDS = []
for _module_name in APP_MATRICES:
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError:
        continue  # that app has no URLs yet
    EXPECTED |= _module.EXPECTED
    APP_KWARGS |= _module.KWARGS
    ANONYMOUS |= getattr(_module, "ANONYMOUS", {})
    DATA |= getattr(_module, "DATA", {})
    APP_WORLDS.append(_module.build_world)


def url_patterns(resolver: URLResolver | None = None, namespace: str = "") -> list[tuple[str, URLPattern]]:
    """(name, pattern) of every URL outside the admin; an unnamed one is named by its route."""
    resolver = resolver or get_resolver()
    found = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue  # Django's admin: test_admin_matrix.py walks every one of its URLs
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            found += url_patterns(p, ns)
        elif isinstance(p, URLPattern):
            found.append((f"{namespace}{p.name}" if p.name else f"<unnamed {p.pattern}>", p))
    return found


def test_every_url_is_in_the_matrix():
    missing = sorted({name for name, _p in url_patterns()} - set(EXPECTED))
    assert not missing, f"URLs without a row in the permission matrix: {missing}"


def test_every_view_without_login_is_declared_public():
    """LoginRequiredMiddleware guards every view unless it is marked `login_not_required`: such
    a view must be a declared public page, or answer 401 itself (the API's own auth)."""
    opened = {name for name, p in url_patterns() if getattr(p.callback, "login_required", True) is False}
    undeclared = sorted(n for n in opened if n not in PUBLIC and ANONYMOUS.get(n) != 401)
    assert not undeclared, f"views open without login and not declared public: {undeclared}"


@pytest.fixture
def world(persona, tmp_path, settings):
    from shouwang.registry.importing import store_upload

    settings.DATA_DIR = tmp_path
    household = make_household(first_village("522630001"))
    county = persona("county_officer")
    upload = store_upload(b"\xef\xbb\xbf", filename="empty.csv")
    job = Job.objects.create(
        kind="registry_import",
        region_id="522630",
        created_by=county,
        params={"upload": str(upload), "filename": "empty.csv", "dry_run": True},
        status="succeeded",
        result={"errors": []},
    )
    other = make_household(first_village("522630001"))
    duplicate = DuplicateCandidate.objects.create(
        member_a=household.members.first(), member_b=other.members.first(), probability=0.97, reason="same_name"
    )
    world = {"household": household, "member": household.members.first(), "job": job, "duplicate": duplicate}
    world["households"] = [household, other, *outside_households()]
    for build in APP_WORLDS:
        build(world, persona)
    return world


OUTSIDE = {
    "邻村": lambda: second_village(TOWNSHIP),
    "邻镇": lambda: first_village(SIBLING_TOWNSHIP),
    "外县": lambda: first_village(OTHER_COUNTY),
}


def outside_households() -> list:
    """A household where each outsider lives, with a duplicate pair, as in the world's village."""
    households = []
    for tag, village in OUTSIDE.items():
        pair = [make_household(village()), make_household(village())]
        for hh in pair:
            for i, m in enumerate(hh.members.order_by("id")):
                Member.objects.filter(pk=m.pk).update(name=f"成员{tag}{hh.pk}-{i}")
        DuplicateCandidate.objects.create(
            member_a=pair[0].members.first(), member_b=pair[1].members.first(), probability=0.97, reason="same_name"
        )
        households += pair
    return households


def kwargs_for(name: str, world) -> dict:
    household, member, job = world["household"].pk, world["member"].pk, world["job"].pk
    fixed = {
        "registry:household_detail": {"pk": household},
        "registry:household_edit": {"pk": household},
        "registry:member_edit": {"pk": member},
        "registry:member_reveal_id": {"pk": member},
        "registry:duplicate_decide": {"pk": world["duplicate"].pk},
        "registry:import_result": {"job_id": job},
        "registry:import_commit": {"job_id": job},
        "registry:import_report": {"job_id": job, "fmt": "csv"},
        "registry:import_template": {"kind": "registry_members"},
        "jobs:job_detail": {"pk": job},
        "jobs:job_status": {"pk": job},
    }
    if name in APP_KWARGS:
        return APP_KWARGS[name](world)
    return fixed.get(name, {})


# Objects of the world that sit at the county (a screening run) are seen from the regions below
# it: the outsiders inside 台江县 see them like their twins do.
COUNTY_OBJECTS = {
    "screening:run_detail": {"sibling_village_cadre": 200, "sibling_township_officer": 200},
}

# Pages that list households or members: they must name every one in the persona's region.
LISTINGS = {"registry:household_list", "registry:member_search", "registry:duplicate_list", "api:household_list"}


def body_text(response: Any) -> str:
    """What a person would read in the answer: HTML, JSON, CSV, or the cells of an XLSX file."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":  # an XLSX workbook is a zip: its cells, not its compressed bytes
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
        )
    return content.decode("utf-8-sig", errors="replace")


def in_region(user: Any, household: Any) -> bool:
    return user.can(Capability.VIEW_REGISTRY) and household.village_id.startswith(user.region_prefix or "\x00")


def markers(household: Any) -> list[str]:
    return [household.number, *household.members.values_list("name", flat=True)]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_persona_gets_exactly_what_the_matrix_says(client, persona, world, name, who):
    method, expected = EXPECTED[name]
    user = persona(who)
    client.force_login(user)
    url = reverse(name, kwargs=kwargs_for(name, world))
    response = getattr(client, method)(url, DATA.get(name, {}))
    status = COUNTY_OBJECTS.get(name, {}).get(who, expected[who])
    assert response.status_code == status, f"{who} {method.upper()} {url}"

    text = body_text(response)
    leaked = [m for hh in world["households"] if not in_region(user, hh) for m in markers(hh) if m in text]
    assert not leaked, f"{who} {method.upper()} {url} shows households outside their region: {leaked}"
    if name in LISTINGS and status == 200:
        missing = [hh.number for hh in world["households"] if in_region(user, hh) and hh.number not in text]
        assert not missing, f"{who} {url} leaves out households of their region: {missing}"


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_login_everywhere(client, world):
    for name in EXPECTED:
        if name in PUBLIC:
            continue
        method = EXPECTED[name][0]
        response = getattr(client, method)(reverse(name, kwargs=kwargs_for(name, world)), DATA.get(name, {}))
        expected = ANONYMOUS.get(name, 302)
        assert response.status_code == expected, name
        if expected == 302:
            assert "/accounts/login/" in response["Location"], name
