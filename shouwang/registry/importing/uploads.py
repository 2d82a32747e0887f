"""Registry uploads at rest (encrypted: they hold raw ID numbers) and the error-report files.

The machinery is shared with the feed exchange (`shouwang.core.uploads`); this module binds
it to the registry's upload area and keeps the registry's names.
"""

from __future__ import annotations

from pathlib import Path

from shouwang.core.uploads import (
    EncryptedUploads,
    error_report_csv_bytes,
    error_report_xlsx_bytes,
    read_report_rows,
    write_error_report,
)

UPLOADS = EncryptedUploads("registry")

__all__ = [
    "UPLOADS",
    "do_delete_upload",
    "error_report_csv_bytes",
    "error_report_xlsx_bytes",
    "read_report_rows",
    "read_upload",
    "report_path",
    "store_upload",
    "upload_dir",
    "upload_exists",
    "write_error_report",
]


def upload_dir() -> Path:
    return UPLOADS.directory()


def store_upload(data: bytes, *, filename: str = "") -> str:
    """Store an uploaded file encrypted (it holds raw ID numbers); returns its token."""
    return UPLOADS.store(data, filename=filename)


def read_upload(token: str) -> bytes:
    return UPLOADS.read(token)


def upload_exists(token: str) -> bool:
    return UPLOADS.exists(token)


def do_delete_upload(token: str) -> None:
    UPLOADS.delete(token)


def report_path(token: str, job_id: int) -> Path:
    UPLOADS.path(token)  # validates the token
    return upload_dir() / f"{token}.job{int(job_id)}.errors.csv"
