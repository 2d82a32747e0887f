"""The measure catalogue (帮扶措施) and which measures answer which risk, as shipped data.

`data/policy/measures.csv`: the 14 measure categories of the national system's 帮扶措施
table (policy.md §5.2, each with its code table), whether a category is a development
measure (开发式帮扶: 产业、就业、金融、公益岗位 — the ones a household with labour capacity must
have), and sub-types. `data/policy/cause_measures.csv`: for each risk cause, the categories
of which at least one measure must be in place ("因病 without health or social-security
measures" is what auditors flag, policy.md §5.2). Both carry their grade and source; the
sub-types and most of the mapping are inferences [I], marked as such.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[2] / "data" / "policy"


@dataclass(frozen=True)
class MeasureCategory:
    name: str
    code_table: str
    development: bool
    subtypes: tuple[str, ...]


@cache
def categories() -> dict[str, MeasureCategory]:
    rows: dict[str, list[dict[str, str]]] = {}
    with open(POLICY_DIR / "measures.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["category"], []).append(row)
    return {
        name: MeasureCategory(
            name=name,
            code_table=group[0]["code_table"],
            development=group[0]["development"] == "yes",
            subtypes=tuple(r["subtype"] for r in group),
        )
        for name, group in rows.items()
    }


@cache
def cause_categories() -> dict[str, frozenset[str]]:
    with open(POLICY_DIR / "cause_measures.csv", encoding="utf-8", newline="") as f:
        return {row["cause"]: frozenset(row["categories"].split("|")) for row in csv.DictReader(f)}


def development_categories() -> frozenset[str]:
    return frozenset(name for name, c in categories().items() if c.development)


def is_known(category: str, subtype: str) -> bool:
    known = categories().get(category)
    return known is not None and subtype in known.subtypes
