"""Code lists of the registry, from the one declaration in engine.schemas.registry."""

from __future__ import annotations

from engine.schemas import registry as spec


def as_choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    # The stored value is the national label itself: exports and imports speak it, and the
    # code tables of the national system could not be obtained (policy.md §11).
    return [(v, v) for v in values]


HOUSEHOLD_TYPES = as_choices(spec.HOUSEHOLD_TYPES)
MONITORING_CATEGORIES = as_choices(spec.MONITORING_CATEGORIES)
MONITORING_STATES = as_choices(spec.MONITORING_STATES)
HOUSING_GRADES = as_choices(spec.HOUSING_GRADES)
RELATIONSHIPS = as_choices(spec.RELATIONSHIPS)
EDUCATION_LEVELS = as_choices(spec.EDUCATION_LEVELS)
SCHOOL_STATUSES = as_choices(spec.SCHOOL_STATUSES)
HEALTH_STATUSES = as_choices(spec.HEALTH_STATUSES)  # the form's 健康状况, combinations allowed
ILLNESSES = as_choices(spec.ILLNESSES)  # what Member.health holds; disability is Member.disabled
DISABILITY_TYPES = as_choices(spec.DISABILITY_TYPES)
DISABILITY_GRADES = as_choices(spec.DISABILITY_GRADES)
LABOUR_CAPACITIES = as_choices(spec.LABOUR_CAPACITIES)
WORK_STATUSES = as_choices(spec.WORK_STATUSES)
ETHNICITIES = as_choices(spec.ETHNICITIES)
SEXES = [("M", "男"), ("F", "女")]

HEALTHY = spec.ILLNESSES[0]  # 健康
POVERTY_ESCAPED = "脱贫户"
UNSAFE_HOUSING = {"C", "D"}
# Labour capacities that count as "able to work" for development measures (开发式帮扶).
ABLE_BODIED = {"技能劳动力", "普通劳动力", "弱劳动力或半劳动力"}
DROPOUT = "失学辍学"
