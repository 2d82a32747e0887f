"""No raw ID number at rest or in a log: the demo's database, data directory and logs are read.

Runs the real demo set-up (`shouwang migrate` + `shouwang setup-demo`) in subprocesses on a
file-based SQLite database in a fresh data directory; then officials use the web pages with the
demo's own settings and logging (a full-ID search, one typed into the address bar, a page that
does not exist with a number in its path, an ID reveal, a registry import through the web) and
the job worker runs the import. Then everything the platform wrote is read as what it is — the
SQLite database row by row, Parquet files (LZ4 or zstd) value by value, zip files (XLSX)
entry by entry, everything else byte by byte, plus the console output of every process — for
(a) any of the synthetic county's actual ID numbers, in their 18- and 15-digit forms, and
(b) anything that is a valid GB 11643 number at all, 18-digit or 15-digit.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from engine.ids import is_valid_id_number, make_id_number, parse_id_number

pytestmark = pytest.mark.slow

# A number stands alone: keyed hashes (hex) hold digit runs that can pass for a 15-digit number,
# and so do the pieces of them an LZ4 Parquet page keeps as literals (`…9d353147070621978e8b…`):
# digits that touch a hex letter are part of a hex word, not a number. (The platform writes an
# ID number next to a letter nowhere; each Parquet value is checked decoded as well.)
ID_LIKE = re.compile(r"(?<![0-9a-fA-F])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9a-fA-FXx])")
HOUSEHOLDS = 300

# Officials at work, with the demo's settings and therefore its real logging configuration.
WEB_SESSION = r"""
import sys
from pathlib import Path

import django

django.setup()
from django.conf import settings
from django.test import Client

from shouwang.registry.actions import reveal_id_number
from shouwang.registry.models import Member

accounts = dict(
    line.split()[:2] for line in (Path(settings.DATA_DIR) / "demo-accounts.txt").read_text("utf-8").splitlines()
)
web = Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)
assert web.post("/accounts/login/", {"username": "county", "password": accounts["county"]}).status_code == 302
member = Member.objects.order_by("id").first()
number = reveal_id_number(member)
old = number[:6] + number[8:17]
assert web.post("/registry/members/", {"q": number}).status_code == 200
assert web.get("/registry/members/", {"q": number}).status_code == 200
assert web.get(f"/registry/members/?q={old}").status_code == 200
wrong_check_digit = number[:17] + ("1" if number[17] == "0" else "0")
assert web.post("/registry/members/", {"q": wrong_check_digit}).status_code == 200
assert web.get(f"/registry/households/{number}/").status_code == 404
assert web.get(f"/no/such/page/{number}/").status_code == 404
assert web.get(f"/api/v1/households?q={number}").status_code < 500
assert web.post(f"/registry/members/{member.pk}/reveal-id/").status_code == 200
with open(sys.argv[1], "rb") as upload:
    response = web.post("/registry/import/", {"file": upload, "dry_run": "on"})
assert response.status_code == 302, response.status_code
print("web session done")
"""


def shouwang(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shouwang.cli", *args], env=env, capture_output=True, text=True, timeout=600, check=True
    )


def strings_of(value: Any) -> Iterator[str]:
    """Every scalar inside a Parquet value (lists and structs included), as text."""
    if isinstance(value, dict):
        for v in value.values():
            yield from strings_of(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings_of(v)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")
    elif value is not None:
        yield str(value)


def readable_text(path: Path) -> Iterator[str]:
    """What a file holds, decoded as its kind requires, besides its raw bytes."""
    raw = path.read_bytes()
    yield raw.decode("latin-1")  # byte for byte: digits are ASCII in any encoding we write
    if raw[:4] == b"PAR1":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        for column in table.columns:
            yield "\n".join(s for v in column.to_pylist() for s in strings_of(v))
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                yield archive.read(name).decode("utf-8", errors="replace")
    elif raw[:2] == b"\x1f\x8b":
        yield gzip.decompress(raw).decode("utf-8", errors="replace")
    elif raw[:16] == b"SQLite format 3\x00":
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            yield "\n".join(db.iterdump())  # every row, whatever page it sits on


def valid_numbers_in(text: str) -> set[str]:
    return {m for m in ID_LIKE.findall(text) if is_valid_id_number(m)}


def test_the_demo_writes_no_plaintext_id_number_anywhere(tmp_path):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env |= {"SHOUWANG_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "shouwang.settings.dev"}
    consoles: dict[str, str] = {}
    done = shouwang("migrate", "-v0", env=env)
    consoles["migrate"] = done.stdout + done.stderr
    setup = shouwang("setup-demo", "--households", str(HOUSEHOLDS), "--divisions", "522630", env=env)
    consoles["setup-demo"] = setup.stdout + setup.stderr

    # The same arguments generate the same county: collect the numbers that went in.
    inputs = tmp_path / "inputs"
    shouwang(
        "synth", "--county", "522630", "--households", str(HOUSEHOLDS), "--seed", "1", "--out", str(inputs), env=env
    )
    with open(inputs / "registry_members.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    numbers: set[str] = set()
    for row in rows:
        raw = row["身份证号"]
        numbers.add(raw)
        if is_valid_id_number(raw):
            value = parse_id_number(raw).value
            numbers |= {value, value[:6] + value[8:17]}
    numbers.discard("")
    assert len(numbers) > HOUSEHOLDS
    # Guard against passing on an empty database: the members really went in.
    with closing(sqlite3.connect(data_dir / "shouwang.sqlite3")) as db:
        households, members = db.execute(
            "select (select count(*) from registry_household), (select count(*) from registry_member)"
        ).fetchone()
    assert households == HOUSEHOLDS and members > HOUSEHOLDS

    # A web import of the county's own spreadsheet (the first rows), then the worker runs it.
    upload = tmp_path / "upload.csv"
    with open(inputs / "registry_members.csv", encoding="utf-8-sig") as fh:
        upload.write_text("".join(fh.readlines()[:40]), encoding="utf-8-sig")
    web = subprocess.run(
        [sys.executable, "-c", WEB_SESSION, str(upload)], env=env, capture_output=True, text=True, timeout=300
    )
    assert web.returncode == 0, web.stderr[-3000:]
    consoles["web"] = web.stdout + web.stderr
    assert "Not Found" in web.stderr  # the real logging wrote to the console, and was read
    worker = shouwang("run-worker", "--once", env=env)
    consoles["worker"] = worker.stdout + worker.stderr
    assert int(re.search(r"已处理 (\d+) 个任务", worker.stdout)[1]) >= 1  # the web import ran

    written = [p for p in data_dir.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in written}
    assert {".sqlite3", ".parquet", ".log"} <= kinds, kinds
    assert (data_dir / "logs" / "shouwang.log").exists()
    sources = {f"{p.relative_to(data_dir)}": list(readable_text(p)) for p in written}
    sources |= {f"console of {name}": [text] for name, text in consoles.items()}
    leaks = []
    for name, texts in sources.items():
        for text in texts:
            leaks += [f"{name}: one of the county's numbers" for n in numbers if n in text]
            leaks += [f"{name}: a valid ID number" for _ in valid_numbers_in(text)]
    assert not leaks, sorted(set(leaks))[:20]
    assert "village" in setup.stdout  # the demo accounts were printed


def test_the_scan_sees_numbers_inside_compressed_parquet_and_workbooks(tmp_path):
    """The reader above is only as good as its decoding: numbers inside a compressed Parquet file or
    an XLSX file are mostly invisible to a byte search (Parquet keeps only a column's minimum
    and maximum in plain bytes), and must all be found."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import Workbook

    from engine.feeds.storage import FEED_COMPRESSION

    people = [make_id_number("522630", dt.date(1950, 1, 1) + dt.timedelta(days=i), i, "MF"[i % 2]) for i in range(200)]
    old_form = [n[:6] + n[8:17] for n in people]
    ids = pa.table({"id": people, "old": old_form})
    pq.write_table(ids, tmp_path / "a.parquet", compression="zstd")  # snapshots, warnings
    pq.write_table(ids, tmp_path / "c.parquet", compression=FEED_COMPRESSION)  # stored feeds
    book = Workbook()
    for n in people:
        book.active.append([n])
    book.save(tmp_path / "b.xlsx")
    files = {"a.parquet": {*people, *old_form}, "c.parquet": {*people, *old_form}, "b.xlsx": set(people)}
    for path, expected in ((tmp_path / name, numbers) for name, numbers in files.items()):
        raw, *decoded = readable_text(path)
        assert len(valid_numbers_in(raw)) < len(expected) / 10, f"{path.name}: raw bytes show most numbers"
        assert set().union(*(valid_numbers_in(t) for t in decoded)) == expected


def test_the_scan_finds_a_number_between_any_separators_but_not_inside_a_hex_word():
    number = make_id_number("522630", dt.date(1980, 5, 1), 7, "M")
    old_form = number[:6] + number[8:17]
    for text in (number, f"id,{number},", f'"{number}"', f"身份证号{number}。", f"\x12\x00\x00\x00{number}", old_form):
        assert valid_numbers_in(text), text
    # a keyed hash whole, and the literal piece of one that an LZ4 page keeps (both seen in
    # stored feeds): a 15-digit run that is a valid old-form number, inside hex
    assert is_valid_id_number("353147070621978")
    for text in ("\xf0\x059d353147070621978e8b\xb1", f"{old_form}ab", f"c{number}"):
        assert not valid_numbers_in(text), text
