"""The rule library's SQL transpiled ahead of time, shipped beside the code (`compiled.json`).

Transpiling a rule with SQLGlot costs ~7 ms (parse, rewrite the placeholders, generate): 0.15 s
of one core for the library in both dialects, in every fresh process — the CLI's `shouwang
screen`, each background job — and it holds the GIL while the run loads its inputs. A run
looks its templates up here first, by the SHA-256 of dialect and SQL text, and transpiles only
what is not shipped (a rule changed since, a rule made in a test). The file is what
`rules._transpile` gives for every shipped rule: `engine/tests/test_screening_compiled.py`
fails when they differ, and `make sql-templates` (`python -m engine.screening.compiled`)
writes it again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("compiled.json")


def key(sql: str, dialect: str) -> str:
    return hashlib.sha256(f"{dialect}\0{sql}".encode()).hexdigest()


@functools.cache
def shipped() -> dict[str, tuple[str, frozenset[str]]]:
    """The shipped templates by key (none when the file is missing or unreadable: then every
    rule is transpiled, as before there was a file)."""
    try:
        entries = json.loads(PATH.read_text(encoding="utf-8"))["templates"]
    except (OSError, ValueError, KeyError):
        return {}
    return {k: (v["sql"], frozenset(v["placeholders"])) for k, v in entries.items()}


def compile_library() -> dict[str, Any]:
    """Every shipped rule's, derived relation's and look-up's template in every dialect."""
    import sqlglot

    from engine.screening.rules import ALL_RULES, DERIVED, DIALECTS, _transpile, deduplicated_sql, rows_sql

    texts = [deduplicated_sql(rule) for rule in ALL_RULES]
    texts += [derived.sql for derived in DERIVED.values()]
    texts += [rows_sql(derived) for derived in DERIVED.values() if derived.rows is not None]
    templates = {}
    for dialect in DIALECTS:
        for sql in texts:
            text, names = _transpile(sql, dialect)
            templates[key(sql, dialect)] = {"sql": text, "placeholders": sorted(names)}
    return {"sqlglot": sqlglot.__version__, "templates": dict(sorted(templates.items()))}


def main() -> None:
    body = json.dumps(compile_library(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    PATH.write_text(body, encoding="utf-8")
    print(f"wrote {PATH} ({len(body):,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
