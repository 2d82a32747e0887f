"""The rule library's SQL is shipped transpiled (engine/screening/compiled.json): the file is
exactly what SQLGlot makes of today's rules, a run uses it, and SQL it does not hold (a rule
changed since, a rule made here) is transpiled as before."""

from __future__ import annotations

import json
from dataclasses import replace

from engine.screening import compiled
from engine.screening.rules import ALL_RULES, DERIVED, DIALECTS, _template, _transpile, deduplicated_sql


def test_the_shipped_templates_are_what_sqlglot_makes_of_todays_rules():
    shipped = json.loads(compiled.PATH.read_text(encoding="utf-8"))
    fresh = compiled.compile_library()
    # A rule's SQL changed without the file: run `make sql-templates` and commit compiled.json.
    assert shipped["templates"] == fresh["templates"], "engine/screening/compiled.json is stale: make sql-templates"


def test_every_rule_and_derived_relation_is_shipped_in_both_dialects():
    templates = compiled.shipped()
    for dialect in DIALECTS:
        for rule in ALL_RULES:
            assert compiled.key(deduplicated_sql(rule), dialect) in templates, (rule.id, dialect)
        for derived in DERIVED.values():
            assert compiled.key(derived.sql, dialect) in templates, (derived.name, dialect)


def test_a_run_takes_the_shipped_template_and_transpiles_what_is_not_shipped(monkeypatch):
    rule = ALL_RULES[0]
    sql = deduplicated_sql(rule)
    marker = ("SELECT 'shipped'", frozenset())
    monkeypatch.setitem(compiled.shipped(), compiled.key(sql, "duckdb"), marker)
    _template.cache_clear()
    try:
        assert _template(sql, "duckdb") == marker
        custom = replace(rule, id="custom", sql=rule.sql + " AND 1 = 1")
        other = deduplicated_sql(custom)
        assert compiled.key(other, "duckdb") not in compiled.shipped()
        assert _template(other, "duckdb") == _transpile(other, "duckdb")
    finally:
        _template.cache_clear()


def test_a_missing_file_means_every_rule_is_transpiled(monkeypatch, tmp_path):
    monkeypatch.setattr(compiled, "PATH", tmp_path / "absent.json")
    compiled.shipped.cache_clear()
    try:
        assert compiled.shipped() == {}
    finally:
        compiled.shipped.cache_clear()
