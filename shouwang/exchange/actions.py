"""Importing and withdrawing department feed batches — the one entry point of every channel.

Web upload (a background job), the `import-feed` command and the REST API all call
`do_import_feed`, so a file gets the same checks, counts, report and storage whichever way it
came. The steps:

1. refuse what may not be imported at all: an unknown kind, a county that is not a county or
   lies outside the user's region, a user without the upload capability;
2. the same file (by SHA-256) already committed for this kind and county → nothing is read
   or written again, and the outcome says so (`already_imported`);
3. parse in a sandboxed child process (`engine.feeds.stage_in_sandbox`: memory and time
   limits), which writes the typed rows (ID hashes, no ID numbers) to a staged Parquet file
   and the row errors to a staged report as it reads — a CSV block by block, so neither
   process holds the file's rows — and sends back the counts and the first errors;
4. link exactly: the rows' ID hashes against the county's registry members, carrying the
   member's and household's integer keys; then the rest (no ID, or an ID nobody has)
   probabilistically (`shouwang.exchange.linking`): accepted links carry the keys too, the
   grey zone becomes review items, the rest stays `unmatched` — a failure here refuses the
   file and stores nothing;
5. a dry run records the counts and the error report and stores no rows; a real run commits
   the whole file — or, when asked, only its valid rows — as Parquet plus a manifest, inside
   one transaction with the batch record, or nothing at all: the staged rows are read back
   batch by batch, linked and written under temporary names that are renamed at the end.

The staging directory (`DATA_DIR/feed-staging/<random>/`) goes when the import ends, however it ends.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.feeds import remove_batch, stage_feed, stage_in_sandbox, write_manifest
from engine.feeds.linking import linked_batches
from engine.feeds.sandbox import STAGED_REPORT, STAGED_ROWS, SandboxLimits
from engine.feeds.standardize import StandardizedFeed
from engine.feeds.storage import BatchWriter
from engine.schemas.feeds import FEED_SCHEMAS
from engine.tabular import FileError
from engine.validate import RowError, ValidationStats, mask_id_like, report_rows, write_report_csv
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.protection import protector
from shouwang.core.scoping import user_region_contains
from shouwang.core.uploads import write_error_report
from shouwang.exchange.linking import LinkageError, StagedLinks, create_reviews, link_staged_rows
from shouwang.exchange.models import BatchStatus, Channel, FeedBatch
from shouwang.regions.models import Level, Region

MAX_ERRORS_IN_RESULT = 200
REPORTS_DIR = "feed-reports"
STAGING_DIR = "feed-staging"  # an import's rows and report while it runs (removed after)

Progress = Any  # Callable[[int, int, str], None], as the job runner's report


@dataclass
class FeedImportOutcome:
    """What an import found and did. `as_dict()` is what the CLI (--json), the job result,
    the REST API and the audit log carry."""

    kind: str
    county: str
    filename: str
    sha256: str
    dry_run: bool
    valid_rows_only: bool
    channel: str
    sheet: str = ""  # the workbook's sheet that was read ("" for a CSV)
    stats: ValidationStats = field(default_factory=ValidationStats)
    errors: list[RowError] = field(default_factory=list)
    file_error: dict[str, str] | None = None
    extra_columns: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    links: dict[str, Any] = field(default_factory=dict)
    already_imported: bool = False
    committed: bool = False
    stored_rows: int = 0
    reviews: list[Any] = field(default_factory=list)  # grey-zone rows (engine.feeds.linking.ReviewItem)
    batch: FeedBatch | None = None
    seconds: float = 0.0
    # A large file's errors beyond the first `KEEP_ERRORS` are only in the report (`report_source`).
    row_error_total: int | None = None
    row_warning_total: int | None = None
    report_source: Path | None = field(default=None, repr=False)

    @property
    def error_count(self) -> int:
        rows = self.row_error_total
        if rows is None:
            rows = sum(1 for e in self.errors if not e.warning)
        return rows + (1 if self.file_error else 0)

    @property
    def warning_count(self) -> int:
        if self.row_warning_total is not None:
            return self.row_warning_total
        return sum(1 for e in self.errors if e.warning)

    @property
    def errors_truncated(self) -> bool:
        """`errors` holds only the first of the row errors (all are in the batch's report)."""
        return self.error_count - (1 if self.file_error else 0) + self.warning_count > len(self.errors)

    @property
    def ok(self) -> bool:
        """Nothing wrong with the file: a dry run may be committed whole."""
        return self.error_count == 0

    @property
    def batch_id(self) -> int | None:
        return self.batch.pk if self.batch is not None else None

    @property
    def status(self) -> str:
        if self.already_imported:
            return "already_imported"
        if self.committed:
            return BatchStatus.COMMITTED
        if self.file_error or (not self.dry_run and not self.committed):
            return BatchStatus.REJECTED
        return BatchStatus.DRY_RUN

    def message(self) -> str:
        if self.file_error:
            return _("文件被拒绝：%(reason)s") % {"reason": self.file_error["reason_zh"]}
        if self.already_imported:
            return _("该文件此前已导入（内容相同），本次未导入任何数据")
        if self.stats.total == 0:
            return _("文件中没有数据行，未导入任何数据")
        rejected = self.stats.rejected
        if self.dry_run:
            if self.ok:
                return _("预检通过：%(valid)s 行有效，可以确认导入") % {"valid": self.stats.valid}
            return _("预检发现 %(rejected)s 行错误；请修改后重新上传，或选择“仅导入有效行”（%(valid)s 行）") % {
                "rejected": rejected,
                "valid": self.stats.valid,
            }
        if self.committed:
            if rejected:
                return _("已导入 %(stored)s 行有效数据，%(rejected)s 行错误未导入") % {
                    "stored": self.stored_rows,
                    "rejected": rejected,
                }
            return _("导入完成：共 %(stored)s 行") % {"stored": self.stored_rows}
        if self.valid_rows_only:
            return _("没有可导入的有效行，未导入任何数据")
        return _("发现 %(rejected)s 行错误，未导入任何数据；请修改后重新上传，或选择“仅导入有效行”") % {
            "rejected": rejected
        }

    def counts(self) -> dict[str, Any]:
        return {
            "total": self.stats.total,
            "valid": self.stats.valid,
            "rejected": self.stats.rejected,
            "duplicates": self.stats.duplicates,
            "stored": self.stored_rows,
            "links": self.links,
        }

    def as_dict(self, max_errors: int = MAX_ERRORS_IN_RESULT) -> dict[str, Any]:
        """JSON-safe summary: counts, link counts, message, the first errors (IDs masked)."""
        return {
            "kind": self.kind,
            "county": self.county,
            "filename": mask_id_like(self.filename),
            "sheet": mask_id_like(self.sheet),
            "sha256": self.sha256,
            "channel": self.channel,
            "dry_run": self.dry_run,
            "valid_rows_only": self.valid_rows_only,
            "status": str(self.status),
            "ok": self.ok,
            "committed": self.committed,
            "total": self.stats.total,
            "valid": self.stats.valid,
            "rejected": self.stats.rejected,
            "duplicates": self.stats.duplicates,
            "stored": self.stored_rows,
            "already_imported": self.already_imported,
            "batch_id": self.batch_id,
            "periods": self.periods,
            "links": self.links,
            "message": self.message(),
            "file_error": self.file_error,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "errors": [e.as_dict() for e in self.errors[:max_errors]],
            "extra_columns": self.extra_columns,
            "seconds": self.seconds,
        }


def _sha256(source: bytes | Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    if isinstance(source, bytes | bytearray):
        digest.update(source)
        return digest.hexdigest(), len(source)
    size = 0
    with open(source, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _refuse(code: str, zh: str, en: str) -> FileError:
    return FileError(code, zh, en)


def check_import_allowed(user: Any, kind: str, county: str) -> None:
    """Raise FileError unless `user` (None: the CLI without --user) may import `kind` for `county`."""
    if kind not in FEED_SCHEMAS:
        raise _refuse("kind", f"未知的数据类型：{kind}", f"unknown feed kind {kind!r}")
    if not Region.objects.filter(pk=county, level=Level.COUNTY).exists():
        raise _refuse("county", f"未知的县级区划代码：{county}", f"{county!r} is not a known county code")
    if user is None:
        return
    if not user.can(Capability.UPLOAD_FEEDS):
        raise _refuse("forbidden", "您没有上传部门数据的权限", "you may not upload department feeds")
    if not user_region_contains(user, county):
        raise _refuse("forbidden", "只能上传本县的数据", "you may upload feeds of your own county only")


def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _parse(
    source: bytes | Path, kind: str, county: str, sheet: str | None, progress: Progress | None, staging: Path
) -> StandardizedFeed:
    """The file's rows and errors into `staging` (`STAGED_ROWS`, `STAGED_REPORT`), in the
    sandbox unless FEED_PARSE_SANDBOX is off; the counts and the first errors back."""
    schema = FEED_SCHEMAS[kind]

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total, f"已解析 {done} 行")

    if getattr(settings, "FEED_PARSE_SANDBOX", True):
        # SHOUWANG_PARSE_MEMORY / SHOUWANG_PARSE_SECONDS in the environment, or these settings.
        defaults = SandboxLimits.from_env()
        limits = SandboxLimits(
            memory=int(getattr(settings, "FEED_PARSE_MEMORY", defaults.memory)),
            seconds=float(getattr(settings, "FEED_PARSE_SECONDS", defaults.seconds)),
        )
        return stage_in_sandbox(
            source,
            schema,
            staging,
            protector=protector(),
            county_code=county,
            sheet=sheet,
            limits=limits,
            progress=report,
        )
    return stage_feed(source, schema, protector(), county, sheet, staging, progress=report)


def _staging() -> Path:
    root = data_dir() / STAGING_DIR
    for _attempt in range(3):  # (another import may just have removed the emptied root)
        root.mkdir(parents=True, exist_ok=True)
        try:
            return Path(tempfile.mkdtemp(prefix="import-", dir=root))
        except FileNotFoundError:
            continue
    return Path(tempfile.mkdtemp(prefix="import-", dir=root))


def _unstage(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):  # the root, once no import uses it
        staging.parent.rmdir()


def _is_workbook(source: bytes | Path) -> bool:
    if isinstance(source, bytes | bytearray):
        return bytes(source[:4]) == b"PK\x03\x04"
    with open(source, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def committed_batch(kind: str, county: str, sha256: str, sheet: str) -> FeedBatch | None:
    """The committed batch of this file's content and sheet, if any. A batch recorded before
    sheets were (`sheet` blank) stands for whichever sheet was read then."""
    return (
        FeedBatch.objects.filter(kind=kind, county_id=county, sha256=sha256, status=BatchStatus.COMMITTED)
        .filter(Q(sheet=sheet) | Q(sheet=""))
        .first()
    )


def _no_rows(header_line: str) -> FileError:
    return FileError(
        "no_rows",
        f"文件没有数据行：表头（第 {header_line} 行）以下为空",
        f"the file has no data rows: nothing below the header (line {header_line})",
    )


def registry_keys(county: str) -> dict[str, tuple[int, int]]:
    """ID hash → (member key, household key) for every registry member of the county."""
    from shouwang.registry.models import Member

    rows = Member.objects.filter(household__village__pk__startswith=county).values_list(
        "id_number_hash", "pk", "household_id"
    )
    return {h: (m, hh) for h, m, hh in rows.iterator(chunk_size=10_000)}


def do_import_feed(
    source: bytes | Path,
    *,
    filename: str,
    kind: str,
    county: str,
    user: Any,
    dry_run: bool,
    valid_rows_only: bool = False,
    channel: str,
    sheet: str | None = None,
    progress: Progress | None = None,
    upload_token: str = "",
) -> FeedImportOutcome:
    """Validate, link and (unless `dry_run`) store one department file; never raises for bad
    input — a refused file comes back with `file_error`, bad rows in `errors`.

    `user` is the uploader (None only for the CLI without --user); `channel` one of
    web / cli / api; `sheet` the workbook's sheet to read (default: its first sheet that
    holds anything; ignored for a CSV). With `valid_rows_only` a file with bad rows stores
    its valid rows; otherwise one bad row and nothing is stored. A file is "the same" by its
    SHA-256 and the sheet read, so the other sheets of a workbook may follow.
    """
    started = time.monotonic()
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if isinstance(source, str):
        source = Path(source)
    sha256, size = _sha256(source)
    outcome = FeedImportOutcome(
        kind=kind,
        county=county,
        filename=filename,
        sha256=sha256,
        dry_run=dry_run,
        valid_rows_only=valid_rows_only,
        channel=channel,
    )
    sheet = (sheet or "").strip() or None
    staging: Path | None = None
    try:
        result: StandardizedFeed | None = None
        links: StagedLinks | None = None
        keys: dict[str, tuple[int, int]] = {}
        try:
            check_import_allowed(user, kind, county)
            # Before parsing the sheet is known only when named, or when there is none (a CSV).
            workbook = _is_workbook(source)
            previous = committed_batch(kind, county, sha256, sheet or "") if sheet or not workbook else None
            if previous is not None:
                _already_imported(outcome, previous)
            else:
                staging = _staging()
                result = _parse(source, kind, county, sheet if workbook else None, progress, staging)
                outcome.sheet = result.sheet
                previous = committed_batch(kind, county, sha256, result.sheet) if workbook else None
                if previous is not None:
                    _already_imported(outcome, previous)
                    result = None
            if result is not None:
                if not result.stats.total:
                    raise _no_rows(result.header_line)
                outcome.stats, outcome.errors = result.stats, result.errors
                outcome.row_error_total, outcome.row_warning_total = result.error_count, result.warning_count
                assert staging is not None
                if (staging / STAGED_REPORT).is_file():
                    outcome.report_source = staging / STAGED_REPORT
                outcome.extra_columns, outcome.periods = result.extra_columns, result.periods
                keys = registry_keys(county)
                try:
                    links = link_staged_rows(staging / STAGED_ROWS, kind, county, keys)
                except LinkageError as exc:
                    raise FileError(
                        "linkage",
                        "与户籍库关联比对失败，未导入任何数据，请稍后重试",
                        f"linkage to the registry failed; nothing was imported ({exc})"[:300],
                    ) from None
                outcome.reviews, outcome.links = links.reviews, links.counts
        except FileError as exc:
            outcome.file_error = {"code": exc.code, "reason_zh": exc.reason_zh, "reason_en": exc.reason_en}
            result = None
        if outcome.already_imported:
            pass
        elif outcome.file_error is not None or kind not in FEED_SCHEMAS or result is None:
            if outcome.file_error and outcome.file_error["code"] not in ("kind", "county", "forbidden"):
                outcome.batch = _record(outcome, user, size, BatchStatus.REJECTED)
        elif dry_run:
            outcome.batch = _record(outcome, user, size, BatchStatus.DRY_RUN, upload_token=upload_token)
        elif result.rows and (outcome.ok or valid_rows_only):
            assert staging is not None and links is not None
            _commit(outcome, staging / STAGED_ROWS, keys, links, result.rows, user, size)
        else:
            outcome.batch = _record(outcome, user, size, BatchStatus.REJECTED)
    finally:
        if staging is not None:
            _unstage(staging)
        outcome.report_source = None
    outcome.seconds = round(time.monotonic() - started, 2)
    if outcome.batch is not None and not outcome.already_imported:
        FeedBatch.objects.filter(pk=outcome.batch.pk).update(counts=_stored_counts(outcome))
    if progress is not None:
        progress(1, 1, outcome.message())
    record_event(
        "exchange.import",
        actor=user,
        obj=outcome.batch,
        region_code=county if kind in FEED_SCHEMAS else "",
        kind=kind,
        channel=channel,
        filename=mask_id_like(filename)[:200],
        sha256=sha256,
        sheet=mask_id_like(outcome.sheet)[:100],
        dry_run=dry_run,
        valid_rows_only=valid_rows_only,
        status=str(outcome.status),
        counts=outcome.counts(),
        error_count=outcome.error_count,
    )
    return outcome


def _already_imported(outcome: FeedImportOutcome, previous: FeedBatch) -> None:
    outcome.already_imported = True
    outcome.batch = previous
    outcome.sheet = previous.sheet
    counts = previous.counts or {}
    outcome.stats = ValidationStats(
        total=counts.get("total", 0),
        valid=counts.get("valid", 0),
        rejected=counts.get("rejected", 0),
        duplicates=counts.get("duplicates", 0),
    )
    outcome.links = counts.get("links", {})
    outcome.periods = list(previous.periods)


def _stored_counts(outcome: FeedImportOutcome) -> dict[str, Any]:
    counts = outcome.counts()
    counts.update(
        error_count=outcome.error_count,
        warning_count=outcome.warning_count,
        message=outcome.message(),
        file_error=outcome.file_error,
        extra_columns=outcome.extra_columns,
        seconds=outcome.seconds,
        errors=[e.as_dict() for e in outcome.errors[:50]],
    )
    return counts


def _record(
    outcome: FeedImportOutcome, user: Any, size: int, status: BatchStatus, *, upload_token: str = ""
) -> FeedBatch:
    """A batch record without rows (dry run or rejected), with its error report."""
    batch = FeedBatch.objects.create(
        kind=outcome.kind,
        county_id=outcome.county,
        periods=outcome.periods,
        filename=mask_id_like(outcome.filename)[:200],
        sheet=outcome.sheet[:100],
        sha256=outcome.sha256,
        size=size,
        schema_version=FEED_SCHEMAS[outcome.kind].version,
        channel=outcome.channel,
        status=status,
        valid_rows_only=outcome.valid_rows_only,
        counts=_stored_counts(outcome),
        created_by=user if getattr(user, "pk", None) else None,
        upload_token=upload_token if status == BatchStatus.DRY_RUN and outcome.stats.valid else "",
    )
    _write_report(outcome, batch)
    return batch


def report_file(batch: FeedBatch) -> Path:
    return data_dir() / REPORTS_DIR / f"batch-{int(batch.pk)}.errors.csv"


def _write_report(outcome: FeedImportOutcome, batch: FeedBatch) -> None:
    """The batch's error report: a refused file's reason first, then every row error — copied
    from the staged report when there is one (it holds them all), else from `errors`."""
    if not (outcome.errors or outcome.file_error or outcome.report_source):
        return
    path = report_file(batch)
    head: list[RowError] = []
    if outcome.file_error:
        head.append(RowError("", "", "", outcome.file_error["reason_zh"], outcome.file_error["reason_en"]))
    staged = outcome.report_source
    if staged is not None and staged.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(staged, encoding="utf-8-sig", newline="") as src,
            open(path, "w", encoding="utf-8", newline="") as out,
        ):
            rows = csv.reader(src)
            next(rows, None)  # the staged report's header
            write_report_csv(chain(report_rows(head), (tuple(r) for r in rows)), out)
    else:
        write_error_report([*head, *outcome.errors], path)
    FeedBatch.objects.filter(pk=batch.pk).update(report_path=str(path.relative_to(data_dir())))
    batch.report_path = str(path.relative_to(data_dir()))


def _commit(
    outcome: FeedImportOutcome,
    rows: Path,
    keys: dict[str, tuple[int, int]],
    links: StagedLinks,
    count: int,
    user: Any,
    size: int,
) -> None:
    """The batch record, its Parquet files and manifest — all or nothing. The staged rows are
    linked and written batch by batch (`BatchWriter`: temporary names until all are done)."""
    written: list[str] = []
    manifest = ""
    writer: BatchWriter | None = None
    try:
        with transaction.atomic():
            batch = FeedBatch.objects.create(
                kind=outcome.kind,
                county_id=outcome.county,
                periods=outcome.periods,
                filename=mask_id_like(outcome.filename)[:200],
                sheet=outcome.sheet[:100],
                sha256=outcome.sha256,
                size=size,
                schema_version=FEED_SCHEMAS[outcome.kind].version,
                channel=outcome.channel,
                status=BatchStatus.COMMITTED,
                valid_rows_only=outcome.valid_rows_only,
                counts={},
                created_by=user if getattr(user, "pk", None) else None,
            )
            writer = BatchWriter(data_dir=data_dir(), kind=outcome.kind, county=outcome.county, batch_id=batch.pk)
            for table in linked_batches(rows, keys, links.overrides):
                writer.write(table)
            written = writer.close()
            writer = None
            outcome.stored_rows = count
            outcome.committed = True
            manifest = write_manifest(data_dir(), batch.pk, _manifest(outcome, batch, user, written))
            create_reviews(batch, outcome.reviews)
            batch.storage_paths = written
            batch.manifest_path = manifest
            batch.counts = _stored_counts(outcome)
            batch.save(update_fields=["storage_paths", "manifest_path", "counts"])
    except IntegrityError:
        # The same file committed concurrently by another request: that one stands.
        if writer is not None:
            writer.abort()
        remove_batch(data_dir(), [*written, manifest] if manifest else written)
        outcome.committed, outcome.stored_rows = False, 0
        previous = committed_batch(outcome.kind, outcome.county, outcome.sha256, outcome.sheet)
        if previous is not None:
            _already_imported(outcome, previous)
        return
    except BaseException:
        if writer is not None:
            writer.abort()
        remove_batch(data_dir(), [*written, manifest] if manifest else written)
        outcome.committed, outcome.stored_rows = False, 0
        raise
    outcome.batch = batch
    _write_report(outcome, batch)


def _manifest(outcome: FeedImportOutcome, batch: FeedBatch, user: Any, paths: list[str]) -> dict[str, Any]:
    return {
        "batch_id": batch.pk,
        "kind": outcome.kind,
        "county": outcome.county,
        "periods": outcome.periods,
        "filename": mask_id_like(outcome.filename)[:200],
        "sheet": mask_id_like(outcome.sheet),
        "sha256": outcome.sha256,
        "size": batch.size,
        "schema_version": FEED_SCHEMAS[outcome.kind].version,
        "channel": outcome.channel,
        "uploaded_by": getattr(user, "username", "") or "",
        "uploaded_at": timezone.now().isoformat(),
        "valid_rows_only": outcome.valid_rows_only,
        "counts": outcome.counts(),
        "files": paths,
        "id_hash": f"HMAC ({protector().suite} suite) of the normalised 18-digit ID number",
    }


def can_withdraw(batch: FeedBatch, user: Any) -> bool:
    """The uploader (still holding the upload capability) or a county feed manager."""
    if user.can(Capability.MANAGE_FEEDS) and user_region_contains(user, batch.county_id):
        return True
    return bool(
        batch.created_by_id is not None
        and batch.created_by_id == user.pk
        and user.can(Capability.UPLOAD_FEEDS)
        and user_region_contains(user, batch.county_id)
    )


class WithdrawError(ValueError):
    """A batch that may not be withdrawn (not committed, or not by this user)."""


def do_withdraw_batch(batch: FeedBatch, user: Any, reason: str) -> FeedBatch:
    """Withdraw a committed batch: its files are removed, the record stays, the act is audited.

    Raises WithdrawError when the batch is not committed, PermissionError when the user is
    neither its uploader nor a feed manager of its county.
    """
    if not can_withdraw(batch, user):
        raise PermissionError("neither the uploader nor a feed manager of the county")
    reason = reason.strip()[:200]
    if not reason:
        raise WithdrawError(_("撤回须说明原因"))
    with transaction.atomic():
        locked = FeedBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != BatchStatus.COMMITTED:
            raise WithdrawError(_("只能撤回已导入的批次"))
        locked.status = BatchStatus.WITHDRAWN
        locked.withdrawn_by = user
        locked.withdrawn_at = timezone.now()
        locked.withdraw_reason = reason
        locked.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdraw_reason"])
        record_event(
            "exchange.withdraw",
            actor=user,
            obj=locked,
            region_code=locked.county_id,
            kind=locked.kind,
            sha256=locked.sha256,
            reason=reason,
            files=len(locked.storage_paths),
        )
    # Files go after the commit: a failed transaction must leave the batch whole.
    remove_batch(data_dir(), list(locked.storage_paths))
    return locked
