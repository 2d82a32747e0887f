"""Registry import (户籍信息导入): validate a whole file, then upsert it in one transaction.

The file is one of the kinds of `engine.schemas.registry` — members (one row per person, the
household's columns repeated and required to agree) or annual accounts — as CSV or XLSX; an
XLSX workbook may hold both kinds on two sheets, members first. Everything is checked before
anything is written: cell types (engine.validate), then the registry's own rules (the village
exists and lies in the importer's region, one 户主 per household, an ID number belongs to one
household only, …). One bad row and nothing is written.

Writes are an upsert by household number and ID hash: existing rows are loaded in bulk, the
differences computed with `actions.diff`, and only what differs is written, with one
ChangeRecord per changed field (one "新建" record per new object, not one per field). The
same file imported twice writes nothing the second time.

Columns absent from the file's header are left alone on existing rows; a blank cell in a
present column sets the field to its empty/default value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from engine.ids import IDNumber
from engine.schema import TableSchema
from engine.schemas.registry import REGISTRY_ACCOUNTS, REGISTRY_MEMBERS, REGISTRY_SCHEMAS
from engine.tabular import FileError, RawRow, Table, open_table, sniff_format, xlsx_sheet_names
from engine.validate import (
    RowError,
    ValidationStats,
    ValidRow,
    display_value,
    mask_id_like,
    report_rows,
    report_xlsx_bytes,
    validate_rows,
    write_report_csv,
)
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.models import AuditEvent
from shouwang.core.protection import protector
from shouwang.jobs.runner import job_handler
from shouwang.regions.models import Level, Region
from shouwang.registry.actions import apply_changes, change_records, diff, protected_id_fields
from shouwang.registry.models import AnnualAccount, ChangeRecord, Household, Member

Report = Callable[[int, int, str], None]

HOUSEHOLD_FIELDS = {  # schema column → model field
    "village_code": "village",
    "address": "address",
    "phone": "phone",
    "household_type": "household_type",
    "poverty_exit_year": "poverty_exit_year",
    "monitoring_category": "monitoring_category",
    "monitoring_state": "monitoring_state",
    "housing_grade": "housing_grade",
    "housing_appraised_on": "housing_appraised_on",
    "water_quantity_ok": "water_quantity_ok",
    "water_quality_ok": "water_quality_ok",
    "water_convenience_ok": "water_convenience_ok",
    "water_reliability_ok": "water_reliability_ok",
    "food_clothing_ok": "food_clothing_ok",
}
MEMBER_FIELDS = {
    name: name
    for name in (
        "name",
        "relationship",
        "ethnicity",
        "education",
        "school_status",
        "health",
        "disability_type",
        "disability_grade",
        "labour_capacity",
        "work_status",
        "work_place",
        "medical_insurance",
        "pension_insurance",
        "dibao",
        "tekun",
        "death_date",
    )
}
ACCOUNT_FIELDS = {
    name: name
    for name in (
        "wage_income",
        "operating_income",
        "operating_cost",
        "property_income",
        "transfer_income",
        "population",
        "medical_expense",
        "education_expense",
    )
}
HEAD = "户主"
ESCAPED = "脱贫户"
EXIT_YEARS = (2014, 2020)
DISABLED = "残疾"
BATCH = 1000
QUERY_CHUNK = 900  # stays under SQLite's bound-parameter limit on every version
MAX_ERRORS_IN_RESULT = 200


# -- outcome ----------------------------------------------------------------------------------


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportOutcome:
    """What an import found and did; `as_dict()` is what jobs, the CLI and audit record."""

    filename: str
    sha256: str
    dry_run: bool
    kinds: list[str] = field(default_factory=list)
    committed: bool = False
    file_error: dict[str, str] | None = None
    stats: ValidationStats = field(default_factory=ValidationStats)
    households: Tally = field(default_factory=Tally)
    members: Tally = field(default_factory=Tally)
    accounts: Tally = field(default_factory=Tally)
    errors: list[RowError] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seen_before: bool = False  # a file with the same SHA-256 was committed earlier

    @property
    def kind(self) -> str:
        return "+".join(self.kinds)

    @property
    def error_count(self) -> int:
        return sum(1 for e in self.errors if not e.warning) + (1 if self.file_error else 0)

    @property
    def ok(self) -> bool:
        """Nothing wrong: a dry run may be committed, a real run was."""
        return self.error_count == 0

    @property
    def changed(self) -> int:
        return sum(t.created + t.updated for t in (self.households, self.members, self.accounts))

    def message(self) -> str:
        if self.file_error:
            return f"文件被拒绝：{self.file_error['reason_zh']}"
        if not self.ok:
            return f"发现 {self.error_count} 处错误，未导入任何数据，请修改后重新上传"
        if self.dry_run:
            return "预检通过，可以确认导入"
        if self.changed:
            return "导入完成"
        if self.seen_before:
            return "该文件此前已导入，本次没有任何变化"
        return "导入完成：数据与系统一致，没有变化"

    def counts(self) -> dict[str, Any]:
        return {
            "total_rows": self.stats.total,
            "valid_rows": self.stats.valid,
            "rejected_rows": self.stats.rejected,
            "duplicates": self.stats.duplicates,
            "households": self.households.as_dict(),
            "members": self.members.as_dict(),
            "accounts": self.accounts.as_dict(),
        }

    def as_dict(self, max_errors: int = MAX_ERRORS_IN_RESULT) -> dict[str, Any]:
        """JSON-safe summary: counts and the first errors (values already masked)."""
        return {
            "kind": self.kind,
            "filename": mask_id_like(self.filename),
            "sha256": self.sha256,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "ok": self.ok,
            "message": self.message(),
            "file_error": self.file_error,
            "counts": self.counts(),
            "error_count": self.error_count,
            "warning_count": sum(1 for e in self.errors if e.warning),
            "errors": [e.as_dict() for e in self.errors[:max_errors]],
            "extra_columns": self.extra_columns,
            "seconds": self.seconds,
            "seen_before": self.seen_before,
        }


class _Progress:
    """Reports rows parsed, then rows applied, as one bar: parsing is the first half."""

    def __init__(self, report: Report | None) -> None:
        self.report = report
        self.total = 0
        self.done = 0
        self.every = 500

    def expect(self, rows: int) -> None:
        self.total = max(self.total, 2 * rows, 1)

    def step(self, n: int, message: str) -> None:
        self.done += n
        if self.report:
            self.report(min(self.done, self.total), self.total, message)

    def finish(self, message: str) -> None:
        if self.report:
            self.total = max(self.total, 1)
            self.report(self.total, self.total, message)


# -- entry point ------------------------------------------------------------------------------


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
            plan.apply(progress, user=user, source=change_source, filename=filename)
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


def _chunks(items: list[Any], size: int = QUERY_CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _as_row(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not f.primary_key}


_CONVERTED = (models.DateField, models.DecimalField, models.JSONField)  # DateTimeField is a DateField


def _insert_rows(model: Any, rows: list[dict[str, Any]], progress: _Progress | None = None, message: str = "") -> None:
    """INSERT rows (attname → value) with one prepared statement per batch (executemany).

    Equivalent to bulk_create without signals or returned keys, and without compiling one
    large statement per batch — which is where bulk_create spends most of its time on 100,000
    rows. Missing fields take their model default; auto_now(_add) fields the current time;
    dates, datetimes and decimals go through the field's own database conversion.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    # Table and column names come from the model's own metadata, quoted; values are parameters.
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    now = timezone.now()
    plan = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default: Any = now
        else:
            default = None if f.null and not f.has_default() else f.get_default()
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        plan.append((f.attname, default, auto, isinstance(f, _CONVERTED), f))
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, BATCH):
            params = []
            for row in chunk:
                values = []
                for attname, default, auto, convert, f in plan:
                    value = row.get(attname, default)
                    if auto and value is None:
                        value = now
                    if convert and value is not None:
                        value = f.get_db_prep_save(value, connection)
                    values.append(value)
                params.append(values)
            cursor.executemany(sql, params)
            if progress is not None:
                progress.step(len(chunk), message)


def _blank_value(model: Any, name: str) -> Any:
    f = model._meta.get_field(name)
    return None if f.null else f.get_default()


# -- planning ---------------------------------------------------------------------------------


@dataclass
class _NewMember:
    household_number: str
    id_number: IDNumber
    values: dict[str, Any]


class _Plan:
    """Everything the import would write, worked out against the database before writing."""

    def __init__(self, *, user: Any, outcome: ImportOutcome, bad_households: set[str]) -> None:
        self.user = user
        self.prefix = (user.region_prefix or "\x00") if user is not None else ""
        self.outcome = outcome
        self.bad_households = bad_households
        self.households: dict[str, Household] = {}  # number → existing, in scope
        self.new_households: dict[str, dict[str, Any]] = {}  # number → field values
        self.household_changes: list[tuple[Household, dict[str, tuple[Any, Any]]]] = []
        self.new_members: list[_NewMember] = []
        self.member_changes: list[tuple[Member, str, dict[str, tuple[Any, Any]]]] = []
        self.living: dict[str, int] = {}  # household number → living members after the import
        self.new_accounts: list[tuple[str, dict[str, Any]]] = []
        self.account_changes: list[tuple[AnnualAccount, str, dict[str, tuple[Any, Any]]]] = []

    def error(self, line: str, schema: TableSchema, column: str, value: Any, zh: str, en: str) -> None:
        col = schema.column(column)
        self.outcome.errors.append(RowError(line, col.label, display_value(value, is_id=column == "id_number"), zh, en))

    def in_scope(self, code: str) -> bool:
        return code.startswith(self.prefix)

    def load_households(self, numbers: Iterable[str]) -> dict[str, Household]:
        found: dict[str, Household] = {}
        for chunk in _chunks(sorted(set(numbers))):
            found.update({h.number: h for h in Household.objects.filter(number__in=chunk)})
        return found

    # -- members ------------------------------------------------------------------------------

    def plan_members(self, rows: list[ValidRow], present: set[str]) -> None:
        S = REGISTRY_MEMBERS
        groups: dict[str, list[ValidRow]] = defaultdict(list)
        for row in rows:
            groups[row.values["household_number"]].append(row)
        hh_columns = [c for c in HOUSEHOLD_FIELDS if c in present]
        member_columns = [c for c in MEMBER_FIELDS if c in present]
        bad = set(self.bad_households)

        # Household columns must agree across the household's rows.
        for number, group in groups.items():
            first = group[0]
            for row in group[1:]:
                for c in hh_columns:
                    if row.values.get(c) != first.values.get(c):
                        label = S.column(c).label
                        self.error(
                            row.line,
                            S,
                            c,
                            row.values.get(c),
                            f"与本户第 {first.line} 行的“{label}”不一致",
                            f"differs from row {first.line} of the same household",
                        )
                        bad.add(number)

        existing = self.load_households(groups)
        villages = self._villages({g[0].values["village_code"] for g in groups.values()})
        for number, group in groups.items():
            line, code = group[0].line, group[0].values["village_code"]
            hh = existing.get(number)
            if hh is not None and not self.in_scope(hh.village_id):
                self.error(
                    line,
                    S,
                    "household_number",
                    number,
                    "该户编号已在您管辖范围以外登记",
                    "this household number is registered outside your region",
                )
                bad.add(number)
            elif code not in villages:
                self.error(
                    line,
                    S,
                    "village_code",
                    code,
                    "村代码不存在或不是村级（12位）区划",
                    "no such village code (a 12-digit village-level division)",
                )
                bad.add(number)
            elif not self.in_scope(code):
                self.error(
                    line, S, "village_code", code, "该村不在您的管辖范围内", "the village is outside your region"
                )
                bad.add(number)
        self.households.update({n: h for n, h in existing.items() if n not in bad})

        unsure: set[str] = set()  # households with a member row set aside: head count unknown
        p = protector()
        digests = {row.line: p.hash(row.values["id_number"].value) for row in rows}
        by_hash = self._members_by_hash(list(digests.values()))
        others = self._other_members([h.pk for h in self.households.values()], set(digests.values()))

        for number, group in groups.items():
            hh = existing.get(number)
            effective = {c: group[0].values.get(c) for c in hh_columns}
            if hh is not None:
                for c, f in HOUSEHOLD_FIELDS.items():
                    if c not in effective:
                        effective[c] = getattr(hh, "village_id" if f == "village" else f)
            hh_type, exit_year = effective.get("household_type"), effective.get("poverty_exit_year")
            line = group[0].line
            if hh_type == ESCAPED and not (exit_year and EXIT_YEARS[0] <= exit_year <= EXIT_YEARS[1]):
                self.error(
                    line,
                    S,
                    "poverty_exit_year",
                    exit_year,
                    "脱贫户须填写脱贫年度（2014–2020）",
                    "an escaped-poverty household needs its exit year (2014–2020)",
                )
                bad.add(number)
            elif hh_type != ESCAPED and exit_year:
                self.error(
                    line,
                    S,
                    "poverty_exit_year",
                    exit_year,
                    "只有脱贫户填写脱贫年度",
                    "only escaped-poverty households have an exit year",
                )
                bad.add(number)

            heads: list[str] = []
            living = 0
            for row in group:
                v = row.values
                digest = digests[row.line]
                current = by_hash.get(digest)
                if current is not None and current[1] != number:
                    other = current[1] if self.in_scope(current[2]) else "（辖区外）"
                    other_en = current[1] if self.in_scope(current[2]) else "(outside your region)"
                    self.error(
                        row.line,
                        S,
                        "id_number",
                        v["id_number"].value,
                        f"该身份证号已登记在户 {other}",
                        f"this ID number is already registered in household {other_en}",
                    )
                    bad.add(number)
                    unsure.add(number)
                    continue
                member = current[0] if current is not None else None
                health = v.get("health") if "health" in present else (member.health if member else None)
                for c in ("disability_type", "disability_grade"):
                    if v.get(c) and health != DISABLED:
                        self.error(
                            row.line,
                            S,
                            c,
                            v.get(c),
                            "健康状况不是“残疾”时不应填写残疾类别或等级",
                            "disability type and grade only apply when health is 残疾 (disabled)",
                        )
                        bad.add(number)
                relationship = v.get("relationship")
                if relationship == HEAD:
                    heads.append(row.line)
                death = v.get("death_date") if "death_date" in present else (member.death_date if member else None)
                living += death is None
            kept = others.get(hh.pk, []) if hh is not None else []
            heads_kept = sum(1 for rel, _death in kept if rel == HEAD)
            living += sum(1 for _rel, death in kept if death is None)
            self.living[number] = living
            if number in self.bad_households or number in unsure:
                pass  # a rejected row may be the head: do not guess on top of the real error
            elif len(heads) + heads_kept == 0:
                self.error(
                    line,
                    S,
                    "relationship",
                    "",
                    "本户没有户主（与户主关系须有一人为“户主”）",
                    "the household has no head (one member's relationship must be 户主)",
                )
                bad.add(number)
            elif len(heads) + heads_kept > 1:
                where = heads[1] if len(heads) > 1 else heads[0]
                self.error(where, S, "relationship", HEAD, "本户有多名户主", "the household has more than one head")
                bad.add(number)

        if bad or not self.outcome.ok:
            return
        # Every check passed: work out the writes.
        for number, group in groups.items():
            hh = existing.get(number)
            values = {
                HOUSEHOLD_FIELDS[c]: self._value(Household, HOUSEHOLD_FIELDS[c], group[0].values.get(c))
                for c in hh_columns
            }
            if hh is None:
                self.new_households[number] = {
                    "number": number,
                    **{("village_id" if f == "village" else f): v for f, v in values.items()},
                }
                self.outcome.households.created += 1
            else:
                changes = diff(hh, values)
                if changes:
                    self.household_changes.append((hh, changes))
                    self.outcome.households.updated += 1
                else:
                    self.outcome.households.unchanged += 1
            for row in group:
                values = {
                    MEMBER_FIELDS[c]: self._value(Member, MEMBER_FIELDS[c], row.values.get(c)) for c in member_columns
                }
                current = by_hash.get(digests[row.line])
                if current is None:
                    self.new_members.append(_NewMember(number, row.values["id_number"], values))
                    self.outcome.members.created += 1
                    continue
                member = current[0]
                changes = diff(member, values)
                if changes:
                    self.member_changes.append((member, number, changes))
                    self.outcome.members.updated += 1
                else:
                    self.outcome.members.unchanged += 1

    @staticmethod
    def _value(model: Any, name: str, value: Any) -> Any:
        return _blank_value(model, name) if value is None else value

    def _villages(self, codes: set[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(c for c in codes if len(c) == 12)):
            found.update(Region.objects.filter(code__in=chunk, level=Level.VILLAGE).values_list("code", flat=True))
        return found

    def _members_by_hash(self, digests: list[str]) -> dict[str, tuple[Member, str, str]]:
        """Existing members with these ID hashes: (member, household number, village code)."""
        found: dict[str, tuple[Member, str, str]] = {}
        for chunk in _chunks(sorted(set(digests))):
            query = Member.objects.filter(id_number_hash__in=chunk).annotate(
                household_number=F("household__number"), household_village=F("household__village_id")
            )
            for m in query:
                found[m.id_number_hash] = (m, m.household_number, m.household_village)
        return found

    def _other_members(self, household_ids: list[int], in_file: set[str]) -> dict[int, list[tuple[str, Any]]]:
        """Members of these households that the file does not mention: (relationship, death date)."""
        found: dict[int, list[tuple[str, Any]]] = defaultdict(list)
        for chunk in _chunks(household_ids):
            query = Member.objects.filter(household_id__in=chunk).values_list(
                "household_id", "id_number_hash", "relationship", "death_date"
            )
            for hh_id, digest, relationship, death in query:
                if digest not in in_file:
                    found[hh_id].append((relationship, death))
        return found

    # -- accounts -----------------------------------------------------------------------------

    def plan_accounts(self, rows: list[ValidRow], present: set[str]) -> None:
        S = REGISTRY_ACCOUNTS
        numbers = {r.values["household_number"] for r in rows}
        unknown = numbers - self.households.keys() - self.new_households.keys() - self.living.keys()
        for number, found in self.load_households(unknown).items():
            if self.in_scope(found.village_id):
                self.households[number] = found
        living_db = self._living_counts(
            [self.households[n].pk for n in numbers if n in self.households and n not in self.living]
        )
        accounts = self._accounts([self.households[n].pk for n in numbers if n in self.households])
        columns = [c for c in ACCOUNT_FIELDS if c in present]
        planned: list[tuple[ValidRow, Household | None, dict[str, Any]]] = []
        for row in rows:
            v = row.values
            number = v["household_number"]
            hh = self.households.get(number)
            if hh is None and number not in self.new_households:
                if number in self.living:  # in this file set, but its member rows were rejected
                    continue
                self.error(
                    row.line,
                    S,
                    "household_number",
                    number,
                    "户编号不存在或不在您的管辖范围内",
                    "no such household in your region",
                )
                continue
            values = {ACCOUNT_FIELDS[c]: self._value(AnnualAccount, ACCOUNT_FIELDS[c], v.get(c)) for c in columns}
            if values.get("population") is None:
                current = accounts.get((hh.pk, v["year"])) if hh is not None else None
                if current is not None and "population" not in present:
                    values.pop("population", None)
                else:
                    count = self.living.get(number, living_db.get(hh.pk if hh else 0, 0))
                    if count < 1:
                        self.error(
                            row.line,
                            S,
                            "population",
                            "",
                            "无法按在世成员计算家庭人口数，请填写",
                            "cannot derive the household size from living members; fill it in",
                        )
                        continue
                    values["population"] = count
            elif values["population"] < 1:
                self.error(
                    row.line,
                    S,
                    "population",
                    values["population"],
                    "家庭人口数应不少于1",
                    "household size must be at least 1",
                )
                continue
            planned.append((row, hh, values))
        if not self.outcome.ok:
            return
        for row, hh, values in planned:
            number, year = row.values["household_number"], row.values["year"]
            current = accounts.get((hh.pk, year)) if hh is not None else None
            if current is None:
                self.new_accounts.append((number, {"year": year, **values}))
                self.outcome.accounts.created += 1
                continue
            changes = diff(current, values)
            if changes:
                self.account_changes.append((current, number, changes))
                self.outcome.accounts.updated += 1
            else:
                self.outcome.accounts.unchanged += 1

    def _living_counts(self, household_ids: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for chunk in _chunks(household_ids):
            query = (
                Member.objects.filter(household_id__in=chunk)
                .values("household_id")
                .annotate(n=Count("id", filter=Q(death_date__isnull=True)))
            )
            found.update({r["household_id"]: r["n"] for r in query})
        return found

    def _accounts(self, household_ids: list[int]) -> dict[tuple[int, int], AnnualAccount]:
        found: dict[tuple[int, int], AnnualAccount] = {}
        for chunk in _chunks(household_ids):
            found.update({(a.household_id, a.year): a for a in AnnualAccount.objects.filter(household_id__in=chunk)})
        return found

    # -- writing ------------------------------------------------------------------------------

    def apply(self, progress: _Progress, *, user: Any, source: str, filename: str) -> None:
        """Write the plan in one transaction: bulk inserts and updates, and their history."""
        work = (
            len(self.new_households)
            + len(self.household_changes)
            + len(self.new_members)
            + len(self.member_changes)
            + len(self.new_accounts)
            + len(self.account_changes)
        )
        progress.total = max(progress.total, progress.done + work, 1)
        progress.done = max(progress.done, progress.total - work)
        actor_id = user.pk if getattr(user, "pk", None) else None
        actor = user if actor_id else None
        origin = f"导入 {mask_id_like(Path(filename).name)}"[:200]
        now = timezone.now()
        records: list[dict[str, Any]] = []

        def created(household_id: int, obj_type: str, label: str) -> dict[str, Any]:
            return {
                "household_id": household_id,
                "actor_id": actor_id,
                "source": source,
                "object_type": obj_type,
                "object_label": label[:100],
                "field": "新建",
                "before": "",
                "after": origin,
            }

        with transaction.atomic():
            _insert_rows(Household, list(self.new_households.values()), progress, "写入农户")
            ids = {number: hh.pk for number, hh in self.households.items()}
            for chunk in _chunks(list(self.new_households)):
                ids.update(Household.objects.filter(number__in=chunk).values_list("number", "id"))
            records += [created(ids[number], "household", number) for number in self.new_households]

            for hh, changes in self.household_changes:
                apply_changes(hh, changes)
                hh.updated_at = now
                records += map(_as_row, change_records(hh, "household", hh.number, changes, actor=actor, source=source))
            self._bulk_update(
                Household,
                [hh for hh, _ in self.household_changes],
                {f for _, ch in self.household_changes for f in ch} | {"updated_at"},
                progress,
            )

            member_rows = []
            for m in self.new_members:
                household_id = ids[m.household_number]
                member_rows.append({"household_id": household_id, **m.values, **protected_id_fields(m.id_number)})
                records.append(created(household_id, "member", m.values.get("name") or ""))
            _insert_rows(Member, member_rows, progress, "写入家庭成员")

            for member, number, changes in self.member_changes:
                apply_changes(member, changes)
                records += map(
                    _as_row,
                    change_records(self.households[number], "member", member.name, changes, actor=actor, source=source),
                )
            self._bulk_update(
                Member,
                [m for m, _, _ in self.member_changes],
                {f for _, _, ch in self.member_changes for f in ch},
                progress,
            )

            account_rows = []
            for number, values in self.new_accounts:
                account_rows.append({"household_id": ids[number], **values})
                records.append(created(ids[number], "account", f"{values['year']}年收支"))
            _insert_rows(AnnualAccount, account_rows, progress, "写入年度收支")
            for account, number, changes in self.account_changes:
                apply_changes(account, changes)
                records += map(
                    _as_row,
                    change_records(
                        self.households[number], "account", f"{account.year}年收支", changes, actor=actor, source=source
                    ),
                )
            self._bulk_update(
                AnnualAccount,
                [a for a, _, _ in self.account_changes],
                {f for _, _, ch in self.account_changes for f in ch},
                progress,
            )

            _insert_rows(ChangeRecord, records)

    @staticmethod
    def _bulk_update(model: Any, objs: list[Any], fields: set[str], progress: _Progress) -> None:
        if not objs:
            return
        names = sorted(fields)
        for chunk in _chunks(objs, 500):
            model.objects.bulk_update(chunk, names)
            progress.step(len(chunk), f"更新{model._meta.verbose_name}")


# -- uploads at rest, error reports -----------------------------------------------------------

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads" / "registry"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _upload_path(token: str) -> Path:
    if not _TOKEN.match(token or ""):
        raise ValueError("bad upload token")
    return upload_dir() / f"{token}.bin"


def _upload_context(token: str) -> bytes:
    return b"registry-upload:" + token.encode()


def store_upload(data: bytes, *, filename: str = "") -> str:
    """Store an uploaded file encrypted (it holds raw ID numbers); returns its token.

    The token names the file; the original name is kept by the caller (job params) only.
    """
    token = secrets.token_hex(16)
    _upload_path(token).write_bytes(protector().encrypt_bytes(data, context=_upload_context(token)))
    return token


def read_upload(token: str) -> bytes:
    return protector().decrypt_bytes(_upload_path(token).read_bytes(), context=_upload_context(token))


def upload_exists(token: str) -> bool:
    try:
        return _upload_path(token).exists()
    except ValueError:
        return False


def do_delete_upload(token: str) -> None:
    _upload_path(token).unlink(missing_ok=True)


def report_path(token: str, job_id: int) -> Path:
    _upload_path(token)  # validates the token
    return upload_dir() / f"{token}.job{int(job_id)}.errors.csv"


def write_error_report(errors: list[RowError], path: Path) -> None:
    """The full error report as CSV (masked values, formula-safe cells)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_report_csv(report_rows(errors), fh)


def read_report_rows(path: Path) -> list[tuple[str, ...]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return [tuple(r) for r in rows[1:]]


def error_report_csv_bytes(rows: list[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    write_report_csv(rows, out)
    return out.getvalue().encode("utf-8")


def error_report_xlsx_bytes(rows: list[tuple[str, ...]]) -> bytes:
    return report_xlsx_bytes(rows)


# -- the background job -----------------------------------------------------------------------


@job_handler("registry_import")
def registry_import_job(job: Any, report: Report) -> dict[str, Any]:
    """params: upload (token), filename, dry_run, user_id. Result: the outcome summary."""
    from shouwang.accounts.models import User

    params = job.params
    user = User.objects.filter(pk=params.get("user_id")).first()
    if user is None:
        raise PermissionError("the importing user no longer exists")
    token = params["upload"]
    outcome = run_registry_import(
        read_upload(token),
        filename=params.get("filename", ""),
        user=user,
        dry_run=bool(params.get("dry_run", True)),
        report=report,
        change_source=f"import:{job.pk}",
    )
    result = outcome.as_dict()
    if outcome.errors or outcome.file_error:
        errors = list(outcome.errors)
        if outcome.file_error:
            errors.insert(0, RowError("", "", "", outcome.file_error["reason_zh"], outcome.file_error["reason_en"]))
        write_error_report(errors, report_path(token, job.pk))
        result["report"] = True
    # Raw ID numbers are kept no longer than needed: after the import, or as soon as the file
    # is known to be unusable (a rejected file cannot be confirmed; it must be fixed and re-sent).
    if outcome.committed or not outcome.ok:
        do_delete_upload(token)
    result["upload_deleted"] = outcome.committed or not outcome.ok
    return result
