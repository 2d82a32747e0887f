"""What an import found and did (`ImportOutcome`), and its progress reporting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from engine.validate import RowError, ValidationStats, mask_id_like

Report = Callable[[int, int, str], None]

MAX_ERRORS_IN_RESULT = 200


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
    def rejected_rows(self) -> int:
        """Rows with at least one error, whether found by parsing or later against the registry."""
        return max(self.stats.rejected, len({e.line for e in self.errors if not e.warning}))

    @property
    def ok(self) -> bool:
        """Nothing wrong: a dry run may be committed, a real run was."""
        return self.error_count == 0

    @property
    def changed(self) -> int:
        return sum(t.created + t.updated for t in (self.households, self.members, self.accounts))

    def message(self) -> str:
        if self.file_error:
            return _("文件被拒绝：%(reason)s") % {"reason": self.file_error["reason_zh"]}
        if not self.ok:
            return ngettext(
                "发现 %(n)s 处错误，未导入任何数据，请修改后重新上传",
                "发现 %(n)s 处错误，未导入任何数据，请修改后重新上传",
                self.error_count,
            ) % {"n": self.error_count}
        if self.dry_run:
            return _("预检通过，可以确认导入")
        if self.changed:
            return _("导入完成")
        if self.seen_before:
            return _("该文件此前已导入，本次没有任何变化")
        return _("导入完成：数据与系统一致，没有变化")

    def counts(self) -> dict[str, Any]:
        return {
            "total_rows": self.stats.total,
            # A row that parsed but failed against the registry (unknown household, an ID in
            # another household) is rejected too, not valid.
            "valid_rows": self.stats.valid - (self.rejected_rows - self.stats.rejected),
            "rejected_rows": self.rejected_rows,
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
