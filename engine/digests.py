"""SHA-256 digests of stored files, recorded once beside them.

A screening run names its inputs by digest in its manifest. Stored feed batches do not change
once written, yet each run re-read and re-hashed them all: at a province's size (100M claims,
~1.7 GB of Parquet) that is 1–2 s of a core per run. So the storage records a file's digest
when it writes the file, in a hidden sidecar (``.batch-7.parquet.sha256``, which Hive-style
readers, Spark and the screening's own file listing skip), and a run uses the recorded digest
while the file's size and modification time are still those recorded; a file rewritten in
place (an erasure) or touched in any way is hashed again. The aim is provenance, not tamper
evidence: whoever can rewrite a stored file can rewrite its sidecar too.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from engine.files import atomic_write

_HEX = re.compile(r"^[0-9a-f]{64}$")


def sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256")


def compute_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def record_sha256(path: Path) -> str:
    """Hash `path` and write the digest with the file's size and modification time beside it."""
    path = Path(path)
    stat = path.stat()
    digest = compute_sha256(path)
    body = json.dumps({"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    atomic_write(sidecar(path), lambda tmp: tmp.write_text(body, encoding="utf-8"))
    return digest


def file_sha256(path: Path) -> str:
    """The file's digest: the recorded one while size and modification time match, else computed."""
    path = Path(path)
    try:
        recorded = json.loads(sidecar(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return compute_sha256(path)
    if (
        isinstance(recorded, dict)
        and recorded.get("size") == stat.st_size
        and recorded.get("mtime_ns") == stat.st_mtime_ns
        and isinstance(recorded.get("sha256"), str)
        and _HEX.match(recorded["sha256"])
    ):
        return str(recorded["sha256"])
    return compute_sha256(path)


def forget_sha256(path: Path) -> None:
    sidecar(Path(path)).unlink(missing_ok=True)
