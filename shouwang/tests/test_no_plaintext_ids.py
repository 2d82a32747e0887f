"""No raw ID number at rest: the demo's database file, logs and data directory are grepped.

Runs the real demo set-up (`shouwang migrate` + `shouwang setup-demo`) in subprocesses on a
file-based SQLite database in a fresh data directory, then searches every byte the platform
wrote for (a) any of the synthetic county's actual ID numbers and (b) anything that is a valid
GB 11643 number at all.
"""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from engine.ids import is_valid_id_number

pytestmark = pytest.mark.slow

ID_LIKE = re.compile(rb"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
HOUSEHOLDS = 300


def shouwang(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shouwang.cli", *args], env=env, capture_output=True, text=True, timeout=600, check=True
    )


def test_the_demo_writes_no_plaintext_id_number_anywhere(tmp_path):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env |= {"SHOUWANG_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "shouwang.settings.dev"}
    shouwang("migrate", "-v0", env=env)
    setup = shouwang("setup-demo", "--households", str(HOUSEHOLDS), "--divisions", "522630", env=env)

    # The same arguments generate the same county: collect the numbers that went in.
    inputs = tmp_path / "inputs"
    shouwang(
        "synth", "--county", "522630", "--households", str(HOUSEHOLDS), "--seed", "1", "--out", str(inputs), env=env
    )
    with open(inputs / "registry_members.csv", encoding="utf-8-sig", newline="") as fh:
        numbers = {row["身份证号"].encode() for row in csv.DictReader(fh)}
    assert len(numbers) > HOUSEHOLDS
    # Guard against passing on an empty database: the members really went in.
    with sqlite3.connect(data_dir / "shouwang.sqlite3") as db:
        households, members = db.execute(
            "select (select count(*) from registry_household), (select count(*) from registry_member)"
        ).fetchone()
    assert (households, members) == (HOUSEHOLDS, len(numbers))

    written = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite3" for p in written)
    assert (data_dir / "logs" / "shouwang.log").exists()
    leaks = []
    for path in written:
        content = path.read_bytes()
        leaks += [f"{path.name}: one of the county's numbers" for n in numbers if n in content]
        leaks += [f"{path.name}: a valid ID number" for m in ID_LIKE.findall(content) if is_valid_id_number(m.decode())]
    assert not leaks, leaks[:10]
    assert "village" in setup.stdout  # the demo accounts were printed
    assert not any(n.decode() in setup.stdout + setup.stderr for n in numbers)
