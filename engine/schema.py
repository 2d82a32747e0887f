"""Declarative table schemas: one declaration per file kind.

From a `TableSchema` follow the parser (header matching by alias), the validation (types,
code lists, required columns), the downloadable template and the documentation page. The
registry import files and every department feed kind are declared this way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    TEXT = "text"
    ID_NUMBER = "id_number"  # GB 11643, normalised to 18 characters, hashed before storage
    DIVISION = "division"  # NBS division code (village: 12 digits)
    DATE = "date"
    MONTH = "month"
    YEAR = "year"
    AMOUNT = "amount"  # money in yuan, two decimals, never negative
    INTEGER = "integer"
    BOOLEAN = "boolean"  # 是/否
    CODE = "code"  # one value of a closed code list
    CODES = "codes"  # one or more values of a closed code list, e.g. 长期慢性病、残疾


@dataclass(frozen=True)
class Column:
    """One column: canonical English name, Chinese header, further aliases, type, rules."""

    name: str
    label: str  # the Chinese header written in templates
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()  # closed code list for CODE(S) columns, in display order
    help: str = ""
    example: str = ""
    max_length: int = 200

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header text that identifies this column (compared after normalisation)."""
        return (self.name, self.label, *self.aliases)


@dataclass(frozen=True)
class TableSchema:
    """A file kind: its columns plus what identifies one row of it."""

    kind: str
    label: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # columns that identify a row (duplicates inside a file)
    version: int = 1
    description: str = ""
    _by_name: dict[str, Column] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.kind}: duplicate column names")
        self._by_name.update({c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)
