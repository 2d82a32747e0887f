"""Rule parameters as data, each value with its source (DESIGN.md "Policy is data, with its source").

The shipped table is `data/policy/parameters.csv`: one row per parameter, region prefix and
validity years, with the value, its unit, the evidence grade of policy.md §0 (V1, V2, M, I) or
``assumption``, the source document and a note. There is deliberately no national monitoring
line in it (policy.md §1.4: none could be verified); a region without a value simply has
no value, and the rules that need it are skipped and say so.

`resolve_parameters(table, region_code, year)` picks, for every parameter, the row of the
most specific region prefix that contains `region_code` (``""`` matches every region), and
among those the one whose validity starts latest; the result carries each value's source.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

DEFAULT_PARAMETERS_PATH = Path(__file__).resolve().parents[2] / "data" / "policy" / "parameters.csv"
GRADES = ("V1", "V2", "M", "I", "assumption")
COLUMNS = ("parameter", "region_code", "year_from", "year_to", "value", "unit", "grade", "source", "note")


class ParameterError(ValueError):
    """A parameter table that cannot be used: a bad row, or a value a run needs and lacks."""


@dataclass(frozen=True)
class ParameterValue:
    """One row of the parameter table: a value for a region prefix and a span of years."""

    name: str
    value: Decimal
    region_code: str  # the prefix the row applies to; "" = every region
    year_from: int | None
    year_to: int | None
    unit: str
    grade: str
    source: str
    note: str = ""

    def applies_to(self, region_code: str, year: int) -> bool:
        return (
            region_code.startswith(self.region_code)
            and (self.year_from is None or self.year_from <= year)
            and (self.year_to is None or year <= self.year_to)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": str(self.value),
            "unit": self.unit,
            "region_code": self.region_code,
            "year_from": self.year_from,
            "year_to": self.year_to,
            "grade": self.grade,
            "source": self.source,
            "note": self.note,
        }


@dataclass(frozen=True)
class ParameterTable:
    """All rows, as shipped or as edited by a county administrator."""

    rows: tuple[ParameterValue, ...]

    def names(self) -> list[str]:
        return sorted({r.name for r in self.rows})


@dataclass(frozen=True)
class ResolvedParameters:
    """The values in force for one region and year, each with where it came from."""

    region_code: str
    year: int
    values: Mapping[str, ParameterValue] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __getitem__(self, name: str) -> Decimal:
        try:
            return self.values[name].value
        except KeyError:
            raise ParameterError(f"no value of {name!r} for region {self.region_code} in {self.year}") from None

    def missing(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n not in self.values]

    def with_values(
        self, source: str = "simulation override", **overrides: Decimal | int | float | str
    ) -> ResolvedParameters:
        """A copy with some values replaced (policy simulation: "what if the line were 9,000?")."""
        values = dict(self.values)
        for name, raw in overrides.items():
            old = values.get(name)
            values[name] = ParameterValue(
                name=name,
                value=Decimal(str(raw)),
                region_code=self.region_code,
                year_from=self.year,
                year_to=self.year,
                unit=old.unit if old else "",
                grade="override",
                source=source,
            )
        return replace(self, values=values)

    def to_dict(self) -> dict[str, Any]:
        return {name: self.values[name].to_dict() for name in sorted(self.values)}


def _year(raw: str, line: int) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) != 4:
        raise ParameterError(f"line {line}: bad year {raw!r}")
    return int(raw)


def parse_parameter_rows(rows: Iterable[Mapping[str, str]]) -> ParameterTable:
    """Rows as dicts (the CSV's columns) → a checked table. Every row needs a source and a grade."""
    parsed: list[ParameterValue] = []
    for line, row in enumerate(rows, start=2):
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise ParameterError(f"line {line}: missing columns {missing}")
        name = (row["parameter"] or "").strip()
        region = (row["region_code"] or "").strip()
        if not name:
            raise ParameterError(f"line {line}: no parameter name")
        if region and not region.isdigit():
            raise ParameterError(f"line {line}: region code {region!r} is not a division-code prefix")
        try:
            value = Decimal((row["value"] or "").strip())
        except InvalidOperation:
            raise ParameterError(f"line {line}: {name}: bad value {row['value']!r}") from None
        grade = (row["grade"] or "").strip()
        if grade not in GRADES:
            raise ParameterError(f"line {line}: {name}: grade {grade!r} is not one of {GRADES}")
        source = (row["source"] or "").strip()
        if not source:
            raise ParameterError(f"line {line}: {name}: a value needs its source document")
        year_from, year_to = _year(row["year_from"] or "", line), _year(row["year_to"] or "", line)
        if year_from is not None and year_to is not None and year_to < year_from:
            raise ParameterError(f"line {line}: {name}: year_to before year_from")
        parsed.append(
            ParameterValue(
                name=name,
                value=value,
                region_code=region,
                year_from=year_from,
                year_to=year_to,
                unit=(row["unit"] or "").strip(),
                grade=grade,
                source=source,
                note=(row["note"] or "").strip(),
            )
        )
    _check_overlaps(parsed)
    return ParameterTable(tuple(parsed))


def _check_overlaps(rows: list[ParameterValue]) -> None:
    """Two rows for the same parameter and region starting in the same year would make the
    answer depend on row order: refuse them. (Different starts are fine: the later wins.)"""
    seen: set[tuple[str, str, int | None]] = set()
    for r in rows:
        key = (r.name, r.region_code, r.year_from)
        if key in seen:
            raise ParameterError(f"{r.name}: two rows for region {r.region_code or '(all)'} start in the same year")
        seen.add(key)


def load_parameters(path: Path | None = None) -> ParameterTable:
    """Read a parameter CSV (UTF-8, header row = `COLUMNS`); the shipped table by default."""
    with open(path or DEFAULT_PARAMETERS_PATH, encoding="utf-8-sig", newline="") as f:
        return parse_parameter_rows(csv.DictReader(f))


def resolve_parameters(table: ParameterTable, region_code: str, year: int) -> ResolvedParameters:
    """The values in force for `region_code` in `year`: the most specific region prefix wins,
    then the row whose validity starts latest."""
    if not region_code.isdigit():
        raise ParameterError(f"region code {region_code!r} is not a division code")
    best: dict[str, ParameterValue] = {}
    for row in table.rows:
        if not row.applies_to(region_code, year):
            continue
        current = best.get(row.name)
        if current is None or _rank(row) > _rank(current):
            best[row.name] = row
    return ResolvedParameters(region_code=region_code, year=year, values=best)


def _rank(row: ParameterValue) -> tuple[int, int]:
    return (len(row.region_code), row.year_from or 0)
