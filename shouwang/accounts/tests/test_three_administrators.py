"""三员分立 on the user admin (GB/T 22239 §8.1.5; reference/security.md §1.9).

The system administrator creates accounts without privileges and resets passwords; the
security administrator assigns roles and regions and touches no password; the audit
administrator only reads the audit log. No one changes their own account, and no one inside
the application resets the password of a security or audit administrator.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from shouwang.accounts.models import User
from shouwang.accounts.roles import Capability, Role
from shouwang.core.models import AuditEvent
from shouwang.testing.personas import COUNTY, OTHER_COUNTY, PASSWORD, SIBLING_TOWNSHIP, TOWNSHIP, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Passw0rd-2026"


def change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def password_url(user: User) -> str:
    return reverse("admin:auth_user_password_change", args=[user.pk])


def form_data(response: Any) -> dict[str, Any]:
    """What the browser would post back for the admin form on the page, unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value
    return data


@pytest.fixture
def clerk():
    """An ordinary account of the township: a village-level job is not given yet."""
    return make_user("clerk", Role.TOWNSHIP_OFFICER, TOWNSHIP)


# --- the system administrator creates accounts, and grants nothing -------------------------


def test_the_add_form_of_the_system_administrator_has_no_role(client, persona):
    client.force_login(persona("system_admin"))
    response = client.get(reverse("admin:accounts_user_add"))
    assert response.status_code == 200
    assert "role" not in response.context["adminform"].form.fields
    assert 'name="role"' not in response.content.decode()


def test_an_account_created_by_the_system_administrator_has_no_privilege_even_if_a_role_is_posted(client, persona):
    client.force_login(persona("system_admin"))
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "new_officer",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "last_name": "王",
            "first_name": "芳",
            "region": COUNTY,
            "role": Role.COUNTY_OFFICER,  # forged: the form has no such field
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    created = User.objects.get(username="new_officer")
    assert created.role == ""
    assert not created.is_staff and not created.is_superuser
    assert not any(created.can(cap) for cap in Capability)
    assert AuditEvent.objects.filter(action="accounts.user_add", object_id=str(created.pk)).exists()


def test_the_system_administrator_cannot_change_a_role(client, persona, clerk):
    client.force_login(persona("system_admin"))
    page = client.get(change_url(clerk))
    assert "role" not in page.context["adminform"].form.fields
    data = form_data(page) | {"role": Role.COUNTY_OFFICER, "last_name": "李"}
    assert client.post(change_url(clerk), data).status_code == 302
    clerk.refresh_from_db()
    assert (clerk.role, clerk.last_name) == (Role.TOWNSHIP_OFFICER, "李")


def test_the_system_administrator_places_a_new_account_but_does_not_move_an_authorised_one(client, persona, clerk):
    admin = persona("system_admin")
    pending = make_user("pending", "", COUNTY)
    client.force_login(admin)

    page = client.get(change_url(pending))
    assert client.post(change_url(pending), form_data(page) | {"region": TOWNSHIP}).status_code == 302
    pending.refresh_from_db()
    assert pending.region_id == TOWNSHIP

    page = client.get(change_url(clerk))
    assert "region" not in page.context["adminform"].form.fields
    assert client.post(change_url(clerk), form_data(page) | {"region": SIBLING_TOWNSHIP}).status_code == 302
    clerk.refresh_from_db()
    assert clerk.region_id == TOWNSHIP


def test_the_system_administrator_resets_an_officials_password_and_it_is_audited(client, persona, clerk):
    client.force_login(persona("system_admin"))
    assert client.get(password_url(clerk)).status_code == 200
    response = client.post(
        password_url(clerk), {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="accounts.password_reset", object_id=str(clerk.pk)).exists()


@pytest.mark.parametrize("role", [Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
def test_the_system_administrator_cannot_reset_the_password_of_the_other_two_administrators(client, persona, role):
    target = make_user(f"other_{role}", role, COUNTY)
    client.force_login(persona("system_admin"))
    assert client.get(password_url(target)).status_code == 403
    assert (
        client.post(
            password_url(target), {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        ).status_code
        == 403
    )
    target.refresh_from_db()
    assert target.check_password(PASSWORD)
    page = client.get(change_url(target)).content.decode()
    assert "field-password" not in page and "../password/" not in page


# --- the security administrator assigns roles, and touches no password ---------------------


def test_the_security_administrator_assigns_a_role_and_it_is_audited(client, persona):
    pending = make_user("pending", "", COUNTY)
    client.force_login(persona("security_admin"))
    page = client.get(change_url(pending))
    assert client.post(change_url(pending), form_data(page) | {"role": Role.COUNTY_OFFICER}).status_code == 302
    pending.refresh_from_db()
    assert pending.role == Role.COUNTY_OFFICER
    event = AuditEvent.objects.get(action="accounts.user_change", object_id=str(pending.pk))
    assert event.detail["role"] == ["", Role.COUNTY_OFFICER]


def test_a_role_must_fit_the_level_of_the_region(client, persona):
    pending = make_user("pending", "", COUNTY)
    client.force_login(persona("security_admin"))
    page = client.get(change_url(pending))
    response = client.post(change_url(pending), form_data(page) | {"role": Role.VILLAGE_CADRE})
    assert response.status_code == 200
    assert "该角色的所属区划层级不符" in response.content.decode()
    pending.refresh_from_db()
    assert pending.role == ""


def test_the_security_administrator_cannot_reset_a_password(client, persona, clerk):
    client.force_login(persona("security_admin"))
    assert client.get(password_url(clerk)).status_code == 403
    response = client.post(
        password_url(clerk), {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)
    page = client.get(change_url(clerk)).content.decode()
    assert "field-password" not in page and "../password/" not in page


def test_the_security_administrator_cannot_edit_account_details_or_deactivate(client, persona, clerk):
    client.force_login(persona("security_admin"))
    page = client.get(change_url(clerk))
    data = form_data(page) | {"username": "renamed", "last_name": "改", "is_active": ""}
    assert client.post(change_url(clerk), data).status_code == 302
    clerk.refresh_from_db()
    assert (clerk.username, clerk.last_name, clerk.is_active) == ("clerk", "", True)


def test_the_security_administrator_cannot_add_an_account(client, persona):
    client.force_login(persona("security_admin"))
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403


# --- no one changes their own account ------------------------------------------------------


@pytest.mark.parametrize("who", ["system_admin", "security_admin"])
def test_no_administrator_changes_their_own_account(client, persona, who):
    me = persona(who)
    client.force_login(me)
    page = client.get(change_url(me))
    assert page.status_code == 200  # shown, read-only
    assert "../password/" not in page.content.decode()
    assert client.post(change_url(me), {"role": Role.COUNTY_OFFICER, "username": me.username}).status_code == 403
    assert client.get(password_url(me)).status_code == 403
    me.refresh_from_db()
    assert me.role == who


# --- the audit administrator and the region ------------------------------------------------


def test_the_audit_administrator_has_no_user_administration(client, persona, clerk):
    client.force_login(persona("audit_admin"))
    for url in (
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_add"),
        change_url(clerk),
        password_url(clerk),
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
def test_an_administrator_of_another_county_does_not_find_our_accounts(client, clerk, role):
    client.force_login(make_user(f"far_{role}", role, OTHER_COUNTY))
    listing = client.get(reverse("admin:accounts_user_changelist"))
    assert listing.status_code == 200
    assert "clerk" not in listing.content.decode()
    # Django's admin answers an object outside the queryset like a missing one.
    response = client.get(change_url(clerk))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(password_url(clerk)).status_code == 404


def test_an_account_without_a_role_sees_nothing_and_is_sent_to_the_security_administrator(client):
    client.force_login(make_user("pending", "", COUNTY))
    page = client.get(reverse("core:home")).content.decode()
    assert "安全管理员" in page
    assert client.get(reverse("registry:household_list")).status_code == 403
    assert client.get(reverse("admin:index")).status_code == 302  # not staff
