"""Every URL × every persona: scoping is enforced everywhere, and absent ≡ forbidden (404).

The world: one household in the village cadre's village (of 台江县) with a member, and a
registry-import job of the county officer. A URL added to the project without a row in
EXPECTED fails `test_every_url_is_in_the_matrix`, so nobody can add a page and forget it.
"""

from __future__ import annotations

import importlib

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from shouwang.jobs.models import Job
from shouwang.registry.models import DuplicateCandidate
from shouwang.testing.matrix import (
    ALL,
    APP_MATRICES,
    EDITORS,
    ELSEWHERE,
    IMPORTERS,
    VIEWERS,
    only,
)
from shouwang.testing.personas import PERSONAS, first_village, make_household

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


ANONYMOUS: dict[str, int] = {}
DATA: dict[str, dict] = {"set_language": {"language": "en", "next": "/"}}
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


def url_names(resolver: URLResolver | None = None, namespace: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    names = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue  # Django's admin: test_admin_matrix.py walks every one of its URLs
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            names += url_names(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.append(f"{namespace}{p.name}")
    return names


def test_every_url_is_in_the_matrix():
    missing = sorted(set(url_names()) - set(EXPECTED))
    assert not missing, f"URLs without a row in the permission matrix: {missing}"


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
    for build in APP_WORLDS:
        build(world, persona)
    return world


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


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_persona_gets_exactly_what_the_matrix_says(client, persona, world, name, who):
    method, expected = EXPECTED[name]
    user = persona(who)
    client.force_login(user)
    url = reverse(name, kwargs=kwargs_for(name, world))
    response = getattr(client, method)(url, DATA.get(name, {}))
    assert response.status_code == expected[who], f"{who} {method.upper()} {url}"


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_login_everywhere(client, world):
    for name in EXPECTED:
        if name in {"accounts:login", "set_language"}:
            continue
        method = EXPECTED[name][0]
        response = getattr(client, method)(reverse(name, kwargs=kwargs_for(name, world)), DATA.get(name, {}))
        expected = ANONYMOUS.get(name, 302)
        assert response.status_code == expected, name
        if expected == 302:
            assert "/accounts/login/" in response["Location"], name
