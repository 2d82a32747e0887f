import pyarrow.parquet as pq
import pytest

from shouwang.core.protection import protector
from shouwang.registry.actions import reveal_id_number
from shouwang.registry.snapshot import SCHEMA, member_snapshot, write_member_snapshot
from shouwang.testing.personas import OTHER_COUNTY, first_village, make_household


@pytest.mark.django_db
def test_a_snapshot_holds_the_region_s_members_with_hashes_and_no_raw_ids(tmp_path):
    mine = make_household(first_village("522630001"), members=3)
    make_household(first_village(OTHER_COUNTY), members=2)
    table = member_snapshot("522630")
    assert table.schema == SCHEMA
    assert table.num_rows == 3
    rows = table.to_pylist()
    member = mine.members.order_by("id").first()
    assert rows[0]["member_key"] == member.pk
    assert rows[0]["household_key"] == mine.pk
    assert rows[0]["id_hash"] == protector().hash(reveal_id_number(member))
    assert rows[0]["birth_date"] == member.birth_date
    assert rows[0]["village_code"] == mine.village_id

    path = write_member_snapshot("522630", tmp_path)
    assert pq.read_table(path).num_rows == 3
    raw = path.read_bytes()
    assert all(reveal_id_number(m).encode() not in raw for m in mine.members.all())


@pytest.mark.django_db
def test_household_and_account_snapshots_carry_what_screening_weighs():
    from decimal import Decimal

    from shouwang.registry.snapshot import account_snapshot, household_snapshot

    hh = make_household(first_village("522630001"), household_type="脱贫户", housing_grade="C")
    make_household(first_village(OTHER_COUNTY))
    households = household_snapshot("522630").to_pylist()
    assert households == [
        {
            "household_key": hh.pk,
            "village_code": hh.village_id,
            "household_type": "脱贫户",
            "monitoring_state": "未纳入",
            "monitoring_category": None,
            "housing_grade": "C",
            "water_quantity_ok": True,
            "water_quality_ok": True,
            "water_convenience_ok": True,
            "water_reliability_ok": True,
        }
    ]
    accounts = account_snapshot("522630").to_pylist()
    assert len(accounts) == 1
    assert accounts[0]["year"] == 2025 and accounts[0]["wage_income"] == Decimal("20000.00")


@pytest.mark.django_db
def test_snapshots_give_the_registry_s_exact_figures_whatever_the_database_hands_back():
    """Cents, zeros and the largest amount a form takes survive the snapshot exactly; a false
    flag stays false, a blank grade is no grade, a death date marks the member deceased."""
    import datetime as dt
    from decimal import Decimal

    from shouwang.registry.models import AnnualAccount
    from shouwang.registry.snapshot import account_snapshot, household_snapshot

    hh = make_household(first_village("522630001"), members=2, housing_grade="", water_quality_ok=False)
    amounts = {
        "wage_income": Decimal("0.07"),
        "operating_income": Decimal("9999999999.99"),
        "operating_cost": Decimal("1234.50"),
        "property_income": Decimal("0"),
        "transfer_income": Decimal("12345678.91"),
        "medical_expense": Decimal("0.10"),
        "education_expense": Decimal("100"),
    }
    AnnualAccount.objects.filter(household=hh).delete()
    AnnualAccount.objects.create(household=hh, year=2024, population=2, **amounts)
    member = hh.members.order_by("id").last()
    member.death_date = dt.date(2025, 3, 1)
    member.save()

    (row,) = account_snapshot("522630").to_pylist()
    assert row == {"household_key": hh.pk, "year": 2024, "population": 2, **amounts}
    (household,) = household_snapshot("522630").to_pylist()
    assert household["housing_grade"] is None and household["monitoring_category"] is None
    assert household["water_quality_ok"] is False and household["water_quantity_ok"] is True
    members = member_snapshot("522630").to_pylist()
    assert [m["deceased"] for m in members] == [False, True]
    assert all(isinstance(m["birth_date"], dt.date) for m in members)
