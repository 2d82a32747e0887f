import datetime as dt

import pytest
from django.urls import reverse

from engine.ids import make_id_number, parse_id_number
from shouwang.core.models import AuditEvent
from shouwang.registry.actions import protected_id_fields
from shouwang.registry.duplicates import do_find_duplicates
from shouwang.registry.models import DuplicateCandidate, Member
from shouwang.testing.personas import first_village, make_household, second_village


def _register_again(member: Member, household, other_id: str) -> Member:
    """The same person entered once more in another household, under another ID number."""
    fields = protected_id_fields(parse_id_number(other_id))
    fields["birth_date"], fields["sex"] = member.birth_date, member.sex
    return Member.objects.create(household=household, name=member.name, relationship="女", **fields)


@pytest.fixture
def duplicate_pair(db):
    home = make_household(first_village("522630001"), members=3)
    married_into = make_household(second_village("522630001"), members=2)
    daughter = home.members.order_by("id")[2]
    again = _register_again(daughter, married_into, make_id_number("522630", dt.date(2001, 1, 1), 7, "F"))
    return daughter, again


def test_a_person_registered_in_two_households_is_proposed_for_review(duplicate_pair):
    daughter, again = duplicate_pair
    summary = do_find_duplicates("522630")
    assert summary["new"] >= 1
    pair = DuplicateCandidate.objects.get(member_a=min(daughter, again, key=lambda m: m.pk))
    assert pair.member_b_id == max(daughter.pk, again.pk)
    assert pair.decision == "pending"
    assert pair.probability >= 0.5


def test_a_pair_decided_distinct_is_not_proposed_again(duplicate_pair, client, persona):
    do_find_duplicates("522630")
    pair = DuplicateCandidate.objects.get()
    client.force_login(persona("county_officer"))
    response = client.post(reverse("registry:duplicate_decide", args=[pair.pk]), {"decision": "distinct"})
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.decision == "distinct" and pair.decided_by.username == "county_officer"
    assert AuditEvent.objects.filter(action="registry.duplicate_decision").count() == 1
    do_find_duplicates("522630")
    assert DuplicateCandidate.objects.get().decision == "distinct"
    page = client.get(reverse("registry:duplicate_list"))
    assert pair.member_a.name not in page.content.decode()  # the pending tab is empty now


def test_the_list_shows_masked_ids_only(duplicate_pair, client, persona):
    from shouwang.registry.actions import reveal_id_number

    do_find_duplicates("522630")
    client.force_login(persona("township_officer"))
    html = client.get(reverse("registry:duplicate_list")).content.decode()
    daughter, again = duplicate_pair
    assert daughter.name in html
    assert reveal_id_number(daughter) not in html and reveal_id_number(again) not in html


def test_a_cadre_of_another_county_cannot_decide(duplicate_pair, client, persona):
    do_find_duplicates("522630")
    pair = DuplicateCandidate.objects.get()
    client.force_login(persona("other_county_cadre"))
    response = client.post(reverse("registry:duplicate_decide", args=[pair.pk]), {"decision": "same"})
    assert response.status_code == 404
    assert DuplicateCandidate.objects.get().decision == "pending"
