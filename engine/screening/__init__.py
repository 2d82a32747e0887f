"""Screening (部门筛查预警): department feeds and the registry → warnings a village must verify.

Plain Python, no Django. The public API is small:

- `load_parameters` / `resolve_parameters` — the parameter table (policy as data, each value
  with its source) and the values in force for a region and a year;
- `ALL_RULES` — the rule library, each rule a declaration whose SQL is written once and
  transpiled by SQLGlot for DuckDB and Spark (`rule_sql` shows what a run executes);
- `evaluate_rules` — run the rules, get a `ScreeningResult` (warnings as Arrow + manifest).

The input relations and their columns are in `engine.screening.inputs`.
"""

from engine.screening.inputs import ACCOUNTS_SCHEMA, HOUSEHOLDS_SCHEMA, MEMBERS_SCHEMA
from engine.screening.params import (
    ParameterError,
    ParameterTable,
    ParameterValue,
    ResolvedParameters,
    load_parameters,
    parse_parameter_rows,
    resolve_parameters,
)
from engine.screening.rules import ALL_RULES, RULES_BY_ID, Cause, Rule, Severity
from engine.screening.run import (
    WARNINGS_SCHEMA,
    ScreeningError,
    ScreeningResult,
    evaluate_rules,
    rule_sql,
    screening_window,
)

__all__ = [
    "ACCOUNTS_SCHEMA",
    "ALL_RULES",
    "HOUSEHOLDS_SCHEMA",
    "MEMBERS_SCHEMA",
    "RULES_BY_ID",
    "WARNINGS_SCHEMA",
    "Cause",
    "ParameterError",
    "ParameterTable",
    "ParameterValue",
    "ResolvedParameters",
    "Rule",
    "ScreeningError",
    "ScreeningResult",
    "Severity",
    "evaluate_rules",
    "load_parameters",
    "parse_parameter_rows",
    "resolve_parameters",
    "rule_sql",
    "screening_window",
]
