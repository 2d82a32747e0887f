"""How a registry file's columns map onto the models, and the registry's fixed values."""

from __future__ import annotations

from typing import Any

from shouwang.registry.models import Household, Member

HOUSEHOLD_FIELDS = {"village_code": "village", **{name: name for name in Household.EDITABLE_FIELDS}}  # column → field
MEMBER_FIELDS = {name: name for name in Member.EDITABLE_FIELDS}
ACCOUNT_FIELDS = {
    name: name
    for name in (
        "wage_income",
        "operating_income",
        "operating_cost",
        "property_income",
        "transfer_income",
        "population",
        "medical_expense",
        "education_expense",
    )
}
HEAD = "户主"
ESCAPED = "脱贫户"
EXIT_YEARS = (2014, 2020)


def _blank_value(model: Any, name: str) -> Any:
    f = model._meta.get_field(name)
    return None if f.null else f.get_default()
