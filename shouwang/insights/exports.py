"""A section's table as XLSX or CSV, as the dashboard shows it.

Figures leave the system towards other levels and the public; `public=True` shows counts of
1 to 4 as "<5", as public statistics do, so that a small group of households cannot be
recognised (zero stays zero: nothing to recognise). Shares computed from small counts are
left out in that case for the same reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from engine.validate import neutralise
from shouwang.monitoring.exports import workbook

SMALL = 5


def suppress(value: Any) -> Any:
    """A count of 1–4 becomes "<5"; anything else is kept."""
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return "<5" if 0 < value < SMALL else value


def public_rows(columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Small counts hidden; a share next to a hidden count would give it away, so shares of
    rows with any hidden count are blanked too."""
    out = []
    for row in rows:
        hidden = [suppress(v) for v in row]
        if any(h == "<5" for h in hidden):
            hidden = ["" if isinstance(v, str) and v.endswith("%") else v for v in hidden]
        out.append(hidden)
    return out


def as_xlsx(title: str, columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> bytes:
    return workbook(title, tuple(str(c) for c in columns), (tuple(r) for r in rows), (24,) + (12,) * (len(columns) - 1))


def as_csv(columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([str(c) for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(str(v)) for v in row])
    # With a BOM, Excel opens the UTF-8 as UTF-8; machines ignore it.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
