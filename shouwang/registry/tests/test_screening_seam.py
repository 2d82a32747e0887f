"""Across the seam: registry snapshots are exactly what the screening engine reads."""

from decimal import Decimal

import pytest

from engine.screening import evaluate_rules, load_parameters, resolve_parameters
from shouwang.registry.models import AnnualAccount
from shouwang.registry.snapshot import account_snapshot, household_snapshot, member_snapshot
from shouwang.testing.personas import first_village, make_household


@pytest.mark.django_db
def test_a_household_below_the_line_in_the_registry_is_warned_by_the_engine():
    poor = make_household(first_village("522630001"), members=3)
    AnnualAccount.objects.filter(household=poor).update(
        wage_income=Decimal("12000"), operating_income=0, operating_cost=0, transfer_income=0
    )  # 4,000 per head, under the (assumed) 2025 Guizhou line of 8,500
    comfortable = make_household(first_village("522630001"), members=3)
    AnnualAccount.objects.filter(household=comfortable).update(wage_income=Decimal("40000"))  # 15,000 per head

    params = resolve_parameters(load_parameters(), "522630", 2025)
    result = evaluate_rules(
        member_snapshot("522630"),
        account_snapshot("522630"),
        {},
        params,
        households=household_snapshot("522630"),
    )
    below = [w for w in result.warnings.to_pylist() if w["rule_id"] == "income_below_line"]
    assert [w["household_key"] for w in below] == [poor.pk]
    assert comfortable.pk not in {w["household_key"] for w in below}
