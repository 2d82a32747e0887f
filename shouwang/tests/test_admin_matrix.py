"""Every admin URL × every persona: the admin is the console of the three administrators only,
each sees exactly their part of it (三员分立), and its region-bound pages are scoped.

RIGHTS declares, for every model registered in the admin, which administrator may view it and
which may add to it; a model registered without a row fails `test_every_admin_model_is_declared`,
and an admin URL pattern this file does not know fails `test_every_admin_url_is_walked`.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, reverse

from shouwang.accounts.roles import Capability, Role
from shouwang.core.admin import ScopedModelAdmin
from shouwang.core.audit import record_event
from shouwang.registry.models import ChangeRecord, Household
from shouwang.testing.personas import (
    COUNTY,
    OTHER_COUNTY,
    PERSONAS,
    TOWNSHIP,
    first_village,
    make_household,
    make_user,
    second_village,
)

ADMINS = {"system_admin", "security_admin", "audit_admin"}

# model label → who of the three administrators may view it, and who may add to it.
RIGHTS: dict[str, dict[str, set[str]]] = {
    "accounts.user": {"view": {"system_admin", "security_admin"}, "add": {"system_admin"}},
    "core.auditevent": {"view": {"audit_admin"}},
    "regions.region": {"view": ADMINS},  # division codes: no personal data
    "registry.household": {"view": set()},
    "registry.member": {"view": set()},
    "registry.annualaccount": {"view": set()},
    "registry.changerecord": {"view": set()},
    "exchange.feedbatch": {"view": set()},
    "api.apitoken": {"view": {"security_admin"}},
}

MODEL_PAGES = ("changelist", "add", "change", "history", "delete", "redirect")
SITE_PAGES = (
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "jsi18n",
    "autocomplete",
    "view_on_site",
    "app_list",
    "catch_all",
)


def registered_labels() -> set[str]:
    return {model._meta.label_lower for model in admin.site._registry}


def test_every_admin_model_is_declared():
    assert registered_labels() == set(RIGHTS)


def admin_pattern_names() -> set[str]:
    names = set()

    def walk(resolver: URLResolver) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                walk(p)
            elif isinstance(p, URLPattern):
                names.add(p.name or str(p.pattern))

    walk(URLResolver(r"^admin/", admin.site.get_urls()))
    return names


def test_every_admin_url_is_walked():
    walked = set(SITE_PAGES) - {"redirect", "catch_all"}
    walked |= {"auth_user_password_change", "<path:object_id>/", "(?P<url>.*)$"}
    for label in RIGHTS:
        app, model = label.split(".")
        walked |= {f"{app}_{model}_{page}" for page in MODEL_PAGES if page != "redirect"}
    assert admin_pattern_names() <= walked, sorted(admin_pattern_names() - walked)


@pytest.fixture
def objects(persona, db) -> dict[str, Any]:
    """One object of every registered model, all inside 台江县."""
    from shouwang.api.models import ApiToken
    from shouwang.exchange.models import FeedBatch
    from shouwang.regions.models import Region

    county = persona("county_officer")
    household = make_household(first_village(TOWNSHIP))
    member = household.members.first()
    change = ChangeRecord.objects.create(
        household=household, source="web", object_type="household", object_label="测试", field="address"
    )
    batch = FeedBatch.objects.create(
        kind="medical_claims", county_id=COUNTY, filename="a.csv", sha256="1" * 64, channel="web", created_by=county
    )
    token, _plain = ApiToken.issue(county, "测试令牌")
    return {
        "accounts.user": make_user("clerk", Role.TOWNSHIP_OFFICER, TOWNSHIP),
        "core.auditevent": record_event("test.event", actor=county, region_code=COUNTY),
        "regions.region": Region.objects.get(code=COUNTY),
        "registry.household": household,
        "registry.member": member,
        "registry.annualaccount": household.accounts.first(),
        "registry.changerecord": change,
        "exchange.feedbatch": batch,
        "api.apitoken": token,
    }


def model_url(label: str, page: str, obj: Any) -> str:
    app, model = label.split(".")
    if page == "redirect":
        return reverse(f"admin:{app}_{model}_change", args=[obj.pk]).removesuffix("change/")
    if page in ("changelist", "add"):
        return reverse(f"admin:{app}_{model}_{page}")
    return reverse(f"admin:{app}_{model}_{page}", args=[obj.pk])


# Django's history page looks the object up before it checks the permission: where the
# model's queryset is empty for the administrator, the refusal is "no such object" (a redirect
# to the index) rather than 403. Either way nothing is shown.
REFUSED = {403, 302}


def expected_model_status(who: str, label: str, page: str) -> int | set[int]:
    if who not in ADMINS:
        return 302  # not staff: Django's admin sends them to its own login page
    viewers, adders = RIGHTS[label]["view"], RIGHTS[label].get("add", set())
    return {
        "changelist": 200 if who in viewers else 403,
        "add": 200 if who in adders else 403,
        "change": 200 if who in viewers else 403,
        "history": 200 if who in viewers else REFUSED,
        "delete": 403,  # nothing is deleted through the admin
        "redirect": 302,  # the old-style object URL redirects to its change page
    }[page]


@pytest.mark.django_db
@pytest.mark.parametrize("page", MODEL_PAGES)
@pytest.mark.parametrize("label", sorted(RIGHTS))
@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_model_pages_answer_each_persona_as_declared(client, persona, objects, who, label, page):
    client.force_login(persona(who))
    url = model_url(label, page, objects[label])
    response = client.get(url)
    expected = expected_model_status(who, label, page)
    assert response.status_code in (expected if isinstance(expected, set) else {expected}), f"{who} GET {url}"
    if response.status_code == 302 and who not in ADMINS:
        assert response["Location"].startswith(reverse("admin:login"))
    elif response.status_code == 302 and page != "redirect":
        assert response["Location"] == reverse("admin:index")


# Only the system administrator resets passwords, never their own and never those of the other
# two administrators (accounts/admin.py says why).
PASSWORD_TARGETS = {
    "an official": (Role.TOWNSHIP_OFFICER, TOWNSHIP, {"system_admin"}),
    "another system administrator": (Role.SYSTEM_ADMIN, COUNTY, {"system_admin"}),
    "a security administrator": (Role.SECURITY_ADMIN, COUNTY, set()),
    "an audit administrator": (Role.AUDIT_ADMIN, COUNTY, set()),
}


@pytest.mark.django_db
@pytest.mark.parametrize("target", sorted(PASSWORD_TARGETS))
@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_the_password_reset_page_answers_only_the_system_administrator(client, persona, who, target):
    role, region, allowed = PASSWORD_TARGETS[target]
    account = make_user(f"target_{role}", role, region)
    client.force_login(persona(who))
    response = client.get(reverse("admin:auth_user_password_change", args=[account.pk]))
    expected = 302 if who not in ADMINS else (200 if who in allowed else 403)
    assert response.status_code == expected


def site_url(page: str, objects: dict[str, Any]) -> str:
    household = objects["registry.household"]
    return {
        "index": reverse("admin:index"),
        "login": reverse("admin:login"),
        "logout": reverse("admin:logout"),
        "password_change": reverse("admin:password_change"),
        "password_change_done": reverse("admin:password_change_done"),
        "jsi18n": reverse("admin:jsi18n"),
        "autocomplete": reverse("admin:autocomplete")
        + "?app_label=accounts&model_name=user&field_name=region&term=台江",
        "view_on_site": reverse(
            "admin:view_on_site", args=[ContentType.objects.get_for_model(Household).pk, household.pk]
        ),
        "app_list": reverse("admin:app_list", kwargs={"app_label": "registry"}),
        "catch_all": "/admin/no/such/page/",
    }[page]


SITE_EXPECTED: dict[str, dict[str, int]] = {
    # staff ("admin") / everyone else ("other")
    "index": {"admin": 200, "other": 302},
    "login": {"admin": 302, "other": 200},  # signed-in non-staff see why they cannot enter
    "logout": {"admin": 302, "other": 302},  # staff to LOGOUT_REDIRECT_URL, others to the admin login
    "password_change": {"admin": 200, "other": 302},
    "password_change_done": {"admin": 200, "other": 302},
    "jsi18n": {"admin": 200, "other": 302},
    # Region search (for the region field of the user form): every administrator may read
    # the division codes, which carry no personal data.
    "autocomplete": {"admin": 200, "other": 302},
    # No registry model has a public URL: the shortcut finds nothing to send anyone to.
    "view_on_site": {"admin": 404, "other": 302},
    "app_list": {"admin": 404, "other": 302},  # no administrator has a registry page
    "catch_all": {"admin": 404, "other": 302},
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", SITE_PAGES)
@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_site_pages_answer_each_persona_as_declared(client, persona, objects, who, page):
    client.force_login(persona(who))
    url = site_url(page, objects)
    response = client.post(url) if page == "logout" else client.get(url)
    assert response.status_code == SITE_EXPECTED[page]["admin" if who in ADMINS else "other"], f"{who} {url}"


@pytest.mark.django_db
@pytest.mark.parametrize("who", sorted(ADMINS))
def test_the_admin_index_lists_only_each_administrators_part(client, persona, objects, who):
    client.force_login(persona(who))
    listed = {
        model["object_name"].lower()
        for app in client.get(reverse("admin:index")).context["app_list"]
        for model in app["models"]
    }
    assert listed == {label.split(".")[1] for label, rights in RIGHTS.items() if who in rights["view"]}


# --- the region-bound admin pages are scoped, whoever might be let in one day -------------


def scoped_admins() -> dict[str, ScopedModelAdmin]:
    return {m._meta.label_lower: a for m, a in admin.site._registry.items() if isinstance(a, ScopedModelAdmin)}


def test_every_region_bound_model_in_the_admin_reads_through_restrict():
    bound = {m._meta.label_lower for m in admin.site._registry if hasattr(m, "region_field")}
    assert bound <= set(scoped_admins()), "a region-bound model's admin must be a ScopedModelAdmin"


def staff(username: str, role: str, region: str):
    """A registry role let into the admin (no role is today): `save` would take staff away."""
    from shouwang.accounts.models import User

    user = make_user(username, role, region)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    return user


def make_region_object(label: str, place: str, county_user: Any) -> Any:
    """An object of the model in `place` (a village code)."""
    from shouwang.exchange.models import FeedBatch

    household = make_household(place)
    return {
        "registry.household": household,
        "registry.member": household.members.first(),
        "registry.annualaccount": household.accounts.first(),
        "registry.changerecord": ChangeRecord.objects.create(
            household=household, source="web", object_type="household", object_label="测试", field="address"
        ),
        "exchange.feedbatch": lambda: FeedBatch.objects.create(
            kind="medical_claims",
            county_id=place[:6],
            filename="a.csv",
            sha256=place.ljust(64, "0"),
            channel="web",
            created_by=county_user,
        ),
    }[label]


# capability → (insider role and region, outsider role and region)
SCOPE_PAIRS = {
    Capability.VIEW_REGISTRY: (
        (Role.VILLAGE_CADRE, lambda: first_village(TOWNSHIP)),
        (Role.VILLAGE_CADRE, lambda: second_village(TOWNSHIP)),
    ),
    Capability.VIEW_FEEDS: ((Role.COUNTY_OFFICER, lambda: COUNTY), (Role.COUNTY_OFFICER, lambda: OTHER_COUNTY)),
}


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(scoped_admins()))
def test_a_region_bound_admin_page_shows_only_the_users_region(client, label):
    model_admin = scoped_admins()[label]
    (role_in, region_in), (role_out, region_out) = SCOPE_PAIRS[model_admin.capability]
    insider, outsider = staff("insider", role_in, region_in()), staff("outsider", role_out, region_out())

    def place(region: str) -> str:
        return region if len(region) == 12 else first_village(region)

    mine = make_region_object(label, place(region_in()), insider)
    theirs = make_region_object(label, place(region_out()), outsider)
    mine, theirs = (o() if callable(o) else o for o in (mine, theirs))

    client.force_login(insider)
    listing = client.get(model_url(label, "changelist", mine))
    assert listing.status_code == 200
    shown = {obj.pk for obj in listing.context["cl"].result_list}
    assert mine.pk in shown and theirs.pk not in shown
    assert client.get(model_url(label, "change", mine)).status_code == 200
    # Outside the region: Django's admin answers as for an object that does not exist.
    response = client.get(model_url(label, "change", theirs))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(model_url(label, "history", theirs)).status_code == 302
