"""Uploads at rest and error reports, shared by every importer (registry, department feeds).

Uploaded files hold raw ID numbers: they never touch the disk in plaintext. The upload
handler keeps them in memory (Django would spool large ones to a temporary file), the store
encrypts them under a random token (the token is bound into the ciphertext as associated
data, so two files cannot be swapped), and the importer deletes them as soon as they are no
longer needed. Error reports hold masked values only.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from engine.validate import RowError, report_rows, report_xlsx_bytes, write_report_csv
from shouwang.core.protection import protector

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_AREA = re.compile(r"^[a-z_]+$")


class EncryptedUploads:
    """Encrypted upload files of one area (`DATA_DIR/uploads/<area>/<token>.bin`)."""

    def __init__(self, area: str) -> None:
        if not _AREA.match(area):
            raise ValueError(f"bad upload area {area!r}")
        self.area = area

    def directory(self) -> Path:
        path = Path(settings.DATA_DIR) / "uploads" / self.area
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, token: str) -> Path:
        if not _TOKEN.match(token or ""):
            raise ValueError("bad upload token")
        return self.directory() / f"{token}.bin"

    def _context(self, token: str) -> bytes:
        return f"{self.area}-upload:".encode() + token.encode()

    def store(self, data: bytes, *, filename: str = "") -> str:
        """Store a file encrypted; returns its token (the original name is the caller's)."""
        token = secrets.token_hex(16)
        self.path(token).write_bytes(protector().encrypt_bytes(data, context=self._context(token)))
        return token

    def read(self, token: str) -> bytes:
        return protector().decrypt_bytes(self.path(token).read_bytes(), context=self._context(token))

    def exists(self, token: str) -> bool:
        try:
            return self.path(token).exists()
        except ValueError:
            return False

    def delete(self, token: str) -> None:
        self.path(token).unlink(missing_ok=True)


class InMemoryUploadHandler(FileUploadHandler):
    """Keeps an upload in memory, whatever its size up to `limit` bytes.

    Django spools uploads above FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file: for a file of
    raw ID numbers that would be plaintext on disk. Here the bytes go from the request straight
    to an `EncryptedUploads` store. Beyond the limit the rest is dropped and the form refuses
    the file by its reported size.
    """

    limit_setting = "REGISTRY_UPLOAD_MAX_BYTES"

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()
        self.received = 0

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.limit_setting))

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received <= self.limit:
            self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        if self.received > self.limit:
            self.buffer = io.BytesIO()
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            self.buffer,
            self.field_name,
            self.file_name,
            self.content_type,
            self.received,
            self.charset,
            self.content_type_extra,
        )


def write_error_report(errors: list[RowError], path: Path) -> None:
    """The full error report as CSV (masked values, formula-safe cells)."""
    path.parent.mkdir(parents=True, exist_ok=True)
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


def write_report_file(errors: list[RowError], file_error: dict[str, str] | None, path: Path) -> None:
    """A command's `--report PATH`: CSV or XLSX by the file name, a refused file's reason first."""
    rows = list(errors)
    if file_error:
        rows.insert(0, RowError("", "", "", file_error["reason_zh"], file_error["reason_en"]))
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(error_report_xlsx_bytes(list(report_rows(rows))))
    else:
        write_error_report(rows, path)


def echo_errors(write: Callable[[str], Any], errors: list[RowError], limit: int = 20) -> None:
    """The first errors of an import, one line each, for a terminal."""
    for e in errors[:limit]:
        write(f"  第 {e.line} 行 [{e.column}] {e.value}：{e.reason_zh}")
    if len(errors) > limit:
        write(f"  …… 另有 {len(errors) - limit} 条")
