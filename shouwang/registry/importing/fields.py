"""How a registry file's columns map onto the models, and the registry's fixed values."""

from __future__ import annotations

from typing import Any

HOUSEHOLD_FIELDS = {  # schema column → model field
    "village_code": "village",
    "address": "address",
    "phone": "phone",
    "household_type": "household_type",
    "poverty_exit_year": "poverty_exit_year",
    "monitoring_category": "monitoring_category",
    "monitoring_state": "monitoring_state",
    "housing_grade": "housing_grade",
    "housing_appraised_on": "housing_appraised_on",
    "water_quantity_ok": "water_quantity_ok",
    "water_quality_ok": "water_quality_ok",
    "water_convenience_ok": "water_convenience_ok",
    "water_reliability_ok": "water_reliability_ok",
    "food_clothing_ok": "food_clothing_ok",
}
MEMBER_FIELDS = {
    name: name
    for name in (
        "name",
        "relationship",
        "ethnicity",
        "education",
        "school_status",
        "health",
        "disability_type",
        "disability_grade",
        "labour_capacity",
        "work_status",
        "work_place",
        "medical_insurance",
        "pension_insurance",
        "dibao",
        "tekun",
        "death_date",
    )
}
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
DISABLED = "残疾"


def _blank_value(model: Any, name: str) -> Any:
    f = model._meta.get_field(name)
    return None if f.null else f.get_default()
