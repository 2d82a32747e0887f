"""The entry point: open the file's tables, validate every row, plan, and write if asked."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils import timezone

from engine.schemas.registry import REGISTRY_ACCOUNTS, REGISTRY_MEMBERS, REGISTRY_SCHEMAS
from engine.tabular import FileError, RawRow, Table, open_table, sniff_format, xlsx_sheet_names
from engine.validate import ValidRow, display_value, mask_id_like, validate_rows
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.models import AuditEvent
from shouwang.registry.importing.apply import apply_plan
from shouwang.registry.importing.outcome import ImportOutcome, Report, _Progress
from shouwang.registry.importing.plan import _Plan


def run_registry_import(
    source: str | Path | bytes,
    *,
    filename: str,
    user: Any = None,
    dry_run: bool = True,
    report: Report | None = None,
    change_source: str = "import",
    sheet: str | None = None,
) -> ImportOutcome:
    """Import a registry file; with `dry_run` only validate and count what would change.

    `user` is the importing official: villages must lie in their region. None (the CLI
    without --user) means any region. Returns the outcome; never raises for bad input.
    """
    started = timezone.now()
    outcome = ImportOutcome(filename=filename, sha256=_sha256(source), dry_run=dry_run)
    progress = _Progress(report)
    try:
        if user is not None and not user.can(Capability.IMPORT_REGISTRY):
            raise FileError("forbidden", "您没有导入户籍数据的权限", "you may not import registry data")
        tables = _open_tables(source, sheet)
        outcome.kinds = [t.schema.kind for t in tables]
        progress.expect(sum(t.estimated_rows for t in tables))
        parsed: dict[str, list[ValidRow]] = {}
        households_of_bad_rows: set[str] = set()
        for table in tables:
            outcome.extra_columns += [f"{table.sheet}:{c}" if table.sheet else c for c in table.extra_columns]
            parsed[table.schema.kind] = _parse(table, outcome, progress, households_of_bad_rows)
        plan = _Plan(user=user, outcome=outcome, bad_households=households_of_bad_rows)
        if REGISTRY_MEMBERS.kind in parsed:
            present = set(next(t for t in tables if t.schema is REGISTRY_MEMBERS).header.columns)
            plan.plan_members(parsed[REGISTRY_MEMBERS.kind], present)
        if REGISTRY_ACCOUNTS.kind in parsed:
            present = set(next(t for t in tables if t.schema is REGISTRY_ACCOUNTS).header.columns)
            plan.plan_accounts(parsed[REGISTRY_ACCOUNTS.kind], present)
        outcome.errors.sort(key=lambda e: _line_key(e.line))
        if outcome.ok and not dry_run:
            apply_plan(plan, progress, user=user, source=change_source, filename=filename)
            outcome.committed = True
    except FileError as exc:
        outcome.file_error = {"code": exc.code, "reason_zh": exc.reason_zh, "reason_en": exc.reason_en}
    outcome.seen_before = AuditEvent.objects.filter(
        action="registry.import", detail__sha256=outcome.sha256, detail__committed=True
    ).exists()
    outcome.seconds = round((timezone.now() - started).total_seconds(), 2)
    progress.finish(outcome.message())
    record_event(
        "registry.import",
        actor=user,
        region_code=getattr(user, "region_id", "") or "",
        filename=mask_id_like(filename)[:200],
        sha256=outcome.sha256,
        kind=outcome.kind,
        dry_run=dry_run,
        committed=outcome.committed,
        error_count=outcome.error_count,
        counts=outcome.counts(),
    )
    return outcome


def _sha256(source: str | Path | bytes) -> str:
    digest = hashlib.sha256()
    if isinstance(source, bytes | bytearray):
        digest.update(source)
    else:
        with open(source, "rb") as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
    return digest.hexdigest()


def _line_key(line: str) -> tuple[str, int]:
    sheet, _, row = line.rpartition("!")
    return (sheet, int(row) if row.isdigit() else 0)


def _open_tables(source: str | Path | bytes, sheet: str | None) -> list[Table]:
    """The file's tables: one for a CSV or a named sheet; for a workbook, every sheet that
    carries a registry header (a notes sheet is skipped), members before accounts."""
    if sheet is not None:
        return [open_table(source, REGISTRY_SCHEMAS, sheet=sheet)]
    with io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb") as fh:
        fmt = sniff_format(fh.read(8192))
    if fmt != "xlsx":
        return [open_table(source, REGISTRY_SCHEMAS)]
    tables: list[Table] = []
    first_error: FileError | None = None
    for name in xlsx_sheet_names(source):
        try:
            table = open_table(source, REGISTRY_SCHEMAS, sheet=name)
        except FileError as exc:
            # A notes or code-list sheet has no (complete) header; it only matters when no
            # sheet has one, and then the first sheet's reason is the one to show.
            if exc.code not in ("no_header", "missing_column"):
                raise
            first_error = first_error or exc
            continue
        if any(t.schema is table.schema for t in tables):
            raise FileError(
                "two_sheets",
                f"工作簿中有两个“{table.schema.label}”工作表，请只保留一个",
                f"the workbook has two sheets of kind {table.schema.kind}; keep one",
            )
        tables.append(table)
    if not tables:
        raise first_error or FileError("no_header", "未找到表头", "no header found")
    tables.sort(key=lambda t: 0 if t.schema is REGISTRY_MEMBERS else 1)
    return tables


def _parse(table: Table, outcome: ImportOutcome, progress: _Progress, bad_households: set[str]) -> list[ValidRow]:
    """Validate a table's cells; remember the household of every rejected row so household
    checks do not pile consequential errors on top of the real one."""
    raw_household: dict[str, str] = {}

    def rows() -> Iterator[RawRow]:
        for i, row in enumerate(table.rows(), 1):
            raw_household[row.line] = display_value(row.cells.get("household_number"))
            if i % progress.every == 0:
                progress.step(progress.every, f"已解析 {i} 行")
            yield row

    before = len(outcome.errors)
    valid = list(validate_rows(table.schema, rows(), outcome.errors, outcome.stats))
    progress.step(len(raw_household) % progress.every, f"已解析 {len(raw_household)} 行")
    bad_households.update(raw_household.get(e.line, "") for e in outcome.errors[before:] if not e.warning)
    return valid
