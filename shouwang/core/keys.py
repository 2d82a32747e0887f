"""Demo keys: generated once on first run and kept beside the demo database."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from engine.protect import generate_key

_NAMES = ("SHOUWANG_SECRET_KEY", "SHOUWANG_HASH_KEY", "SHOUWANG_DATA_KEY")


def load_or_create_demo_keys(path: Path) -> dict[str, str]:
    """Read `NAME=value` lines, creating the file (mode 600) with fresh keys if absent."""
    if not path.exists():
        values = {
            "SHOUWANG_SECRET_KEY": secrets.token_urlsafe(50),
            "SHOUWANG_HASH_KEY": generate_key(),
            "SHOUWANG_DATA_KEY": generate_key(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# Demo keys, generated on first run. Never use them in production.\n")
            fh.writelines(f"{k}={v}\n" for k, v in values.items())
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name in _NAMES:
            values[name] = value.strip()
    return values
