"""Importing the monitoring roster (监测对象台账, engine.schemas.monitoring): the households a
county has already identified, with when and why, so its deadlines and checks hold from day one.

Validated whole first (a dry run reports every bad row by line, column and reason, nothing
written); committed in one transaction; importing the same roster again changes nothing. A
row's household must be in the registry and in the importing user's area. The household's
monitoring state and category follow the roster through the registry's own write path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from engine.errors import BilingualError
from engine.schemas.monitoring import MAX_RISK_CAUSES, MONITORING_RECORDS
from engine.tabular import open_table
from engine.validate import RowError, ValidationStats, validate_rows
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.monitoring.models import MonitoringRecord
from shouwang.registry.actions import do_update_household
from shouwang.registry.models import Household


@dataclass
class RosterOutcome:
    filename: str
    dry_run: bool
    total: int = 0
    valid: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    committed: bool = False
    file_error: str = ""
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_error and not [e for e in self.errors if not e.warning]

    def as_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "dry_run": self.dry_run,
            "total": self.total,
            "valid": self.valid,
            "rejected": len({e.line for e in self.errors if not e.warning}),
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "committed": self.committed,
            "file_error": self.file_error,
            "errors": [e.as_dict() for e in self.errors],
        }


def _error(line: str, column: str, value: Any, zh: str, en: str) -> RowError:
    return RowError(line=line, column=column, value=str(value or ""), reason_zh=zh, reason_en=en)


def _state_of(values: dict[str, Any]) -> str:
    return "风险已消除" if values.get("eliminated_on") else "监测中"


def run_roster_import(source: Path | str, *, filename: str, user: Any = None, dry_run: bool = True) -> RosterOutcome:
    """Import a roster file; never raises for bad input (see `RosterOutcome.file_error`)."""
    outcome = RosterOutcome(filename=filename, dry_run=dry_run)
    if user is not None and not user.can(Capability.IMPORT_REGISTRY):
        outcome.file_error = "您没有导入监测对象台账的权限"
        return outcome
    try:
        table = open_table(Path(source), MONITORING_RECORDS)
        stats = ValidationStats()
        rows = list(validate_rows(MONITORING_RECORDS, table.rows(), outcome.errors, stats))
    except BilingualError as exc:
        outcome.file_error = exc.reason_zh
        return outcome
    outcome.total = stats.total
    numbers = [r.values["household_number"] for r in rows]
    households = Household.objects.filter(number__in=numbers).select_related("village")
    if user is not None:
        households = households.filter(village__pk__startswith=user.region_prefix or "-")
    by_number = {h.number: h for h in households}
    planned: list[tuple[Household, dict[str, Any]]] = []
    for row in rows:
        v, line = row.values, row.line
        household = by_number.get(v["household_number"])
        problems = []
        if household is None:
            problems.append(
                _error(
                    line,
                    "户编号",
                    v["household_number"],
                    "户籍库中没有该户编号（或不在您的辖区）",
                    "no such household in your area",
                )
            )
        causes = list(v["risk_causes"])
        if len(causes) > MAX_RISK_CAUSES:
            problems.append(
                _error(
                    line,
                    "风险类型",
                    "、".join(causes),
                    f"风险类型最多 {MAX_RISK_CAUSES} 项",
                    "at most five risk causes",
                )
            )
        eliminated, method = v.get("eliminated_on"), v.get("elimination_method")
        if eliminated and eliminated < v["identified_on"]:
            problems.append(
                _error(line, "风险消除时间", eliminated, "风险消除时间早于识别监测时间", "eliminated before identified")
            )
        if bool(eliminated) != bool(method):
            problems.append(
                _error(
                    line,
                    "风险消除方式",
                    method,
                    "风险消除时间和风险消除方式应同时填写或同时留空",
                    "elimination month and method go together",
                )
            )
        if problems:
            outcome.errors.extend(problems)
            continue
        assert household is not None
        planned.append((household, v))
    outcome.valid = len(planned)
    records = {r.household_id: r for r in MonitoringRecord.objects.filter(household__in=[h for h, _ in planned])}
    changes: list[tuple[Household, dict[str, Any]]] = []
    for household, v in planned:
        record = records.get(household.pk)
        wanted = {
            "identified_on": v["identified_on"],
            "category": v["category"],
            "risk_causes": list(v["risk_causes"]),
            "eliminated_on": v.get("eliminated_on"),
            "elimination_method": v.get("elimination_method") or "",
        }
        same = record is not None and all(getattr(record, k) == val for k, val in wanted.items())
        same = same and household.monitoring_state == _state_of(v) and household.monitoring_category == v["category"]
        if same:
            outcome.unchanged += 1
            continue
        if record is None:
            outcome.new += 1
        else:
            outcome.changed += 1
        changes.append((household, wanted))
    if not outcome.ok or dry_run:
        return outcome
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    with transaction.atomic():
        for household, wanted in changes:
            MonitoringRecord.objects.update_or_create(household=household, defaults=wanted)
            do_update_household(
                household,
                {
                    "monitoring_state": "风险已消除" if wanted["eliminated_on"] else "监测中",
                    "monitoring_category": wanted["category"],
                },
                actor=user,
                source=f"监测对象台账 {filename[:40]}",
            )
        record_event(
            "monitoring.roster_import",
            actor=user,
            region_code=getattr(user, "region_prefix", "") or "",
            filename=filename[:100],
            sha256=digest,
            new=outcome.new,
            changed=outcome.changed,
            unchanged=outcome.unchanged,
        )
    outcome.committed = True
    return outcome
