"""Uploads at rest (encrypted: they hold raw ID numbers) and the error-report files."""

from __future__ import annotations

import csv
import io
import re
import secrets
from pathlib import Path

from django.conf import settings

from engine.validate import RowError, report_rows, report_xlsx_bytes, write_report_csv
from shouwang.core.protection import protector

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
