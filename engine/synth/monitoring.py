"""The synthetic county's monitoring roster (监测对象台账): for each household the synthetic
registry lists as monitored or risk-eliminated, when it was identified, for which risks, and
when (and how) its risk was eliminated — consistent with the household's members.

Drawn from a generator seeded by the household number alone, so adding the roster changed
nothing else the county's seed decides. Identifications fall between January 2021 (the
monitoring of the 2021 opinions begins) and June of the year before the synthetic year; an
elimination comes 6 to 30 months after its identification (policy.md §6: at least six
months), and before the synthetic year.
"""

from __future__ import annotations

import datetime as dt
import random

from engine.synth.population import Household


def _month(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    months = (last.year - first.year) * 12 + last.month - first.month
    n = rng.randint(0, max(months, 0))
    year, month = first.year + (first.month - 1 + n) // 12, (first.month - 1 + n) % 12 + 1
    return dt.date(year, month, 1)


def _add(day: dt.date, months: int) -> dt.date:
    n = day.month - 1 + months
    return dt.date(day.year + n // 12, n % 12 + 1, 1)


def risk_causes(hh: Household, rng: random.Random) -> list[str]:
    """What put this household at risk, as the village would have recorded it."""
    living = hh.living
    causes = []
    if any(m.health != "健康" for m in living):
        causes.append("因病")
    if any(m.disabled for m in living):
        causes.append("因残")
    if any(m.school_status in ("普通高中", "中职", "高职高专", "本科") for m in living):
        causes.append("因学")
    if all(m.labour in ("丧失劳动力", "无劳动力") for m in living):
        causes.append("缺劳动力")
    if hh.monitoring_category == "突发严重困难户":
        causes.append(rng.choice(("因意外事故", "因自然灾害", "因病")))
    if not causes:
        causes.append(rng.choice(("因务工就业不稳", "因产业项目失败", "缺劳动力", "因务工就业不稳")))
    return list(dict.fromkeys(causes))[:5]


def roster(households: list[Household], year: int) -> list[dict[str, str]]:
    rows = []
    for hh in households:
        if hh.monitoring_state not in ("监测中", "风险已消除"):
            continue
        rng = random.Random(f"{hh.number}:monitoring")
        identified = _month(rng, dt.date(2021, 1, 1), dt.date(year - 1, 6, 1))
        row = {
            "household_number": hh.number,
            "category": hh.monitoring_category,
            "identified_on": f"{identified:%Y-%m}",
            "risk_causes": "、".join(risk_causes(hh, rng)),
            "eliminated_on": "",
            "elimination_method": "",
        }
        if hh.monitoring_state == "风险已消除":
            latest = dt.date(year - 1, 12, 1)
            eliminated = min(_add(identified, rng.randint(6, 30)), latest)
            if eliminated < _add(identified, 6):  # identified too late to have been eliminated
                identified = _add(eliminated, -6)
                row["identified_on"] = f"{identified:%Y-%m}"
            row["eliminated_on"] = f"{eliminated:%Y-%m}"
            row["elimination_method"] = "帮扶消除" if rng.random() < 0.85 else "自然消除"
        rows.append(row)
    return rows
