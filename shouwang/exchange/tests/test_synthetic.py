"""Every feed of the synthetic county through the real pipeline: no plaintext ID anywhere on
disk afterwards, and a high exact link rate for rows with a valid ID."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from engine.ids import IDNumberError, parse_id_number
from engine.schemas.feeds import FEED_SCHEMAS
from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import BatchStatus, FeedBatch
from shouwang.exchange.tests.conftest import COUNTY, counts_of, kind_of, planted_counts

pytestmark = pytest.mark.django_db

_CANDIDATE = re.compile(r"[0-9０-９]{14,17}[0-9Xx０-９Ｘｘ]")


def _texts(path: Path) -> list[str]:
    if path.suffix == ".xlsx":
        book = CalamineWorkbook.from_path(str(path))
        return [str(v) for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python() for v in row]
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return [raw.decode(encoding)]
        except UnicodeDecodeError:
            continue
    return []


def known_ids(synth: Path) -> set[str]:
    """Every valid ID number of the county's files, as 18 digits, 15 digits and with a lower x."""
    found: set[str] = set()
    for path in [synth / "registry_members.csv", *sorted((synth / "feeds").iterdir())]:
        for text in _texts(path):
            for match in _CANDIDATE.findall(text):
                try:
                    number = parse_id_number(match).value
                except IDNumberError:
                    continue
                found |= {number, number.lower(), match}
                if number[6:8] == "19":
                    found.add(number[:6] + number[8:17])
    return found


def test_importing_every_synthetic_feed_leaves_no_plaintext_id_on_disk(persona, data_dir, registry, synth_county):
    ids = known_ids(synth_county)
    assert len(ids) > 1000
    user = persona("department_officer")
    committed = 0
    for path in sorted((synth_county / "feeds").iterdir()):
        outcome = do_import_feed(
            path.read_bytes(),
            filename=path.name,
            kind=kind_of(path.name),
            county=COUNTY,
            user=user,
            dry_run=False,
            valid_rows_only=True,
            channel="web",
        )
        assert outcome.file_error is None, (path.name, outcome.file_error)
        committed += outcome.committed
    assert committed == len(list((synth_county / "feeds").iterdir()))
    needles = [i.encode() for i in ids]
    files = [p for p in data_dir.rglob("*") if p.is_file() and p.suffix != ".sqlite3"]
    assert any(p.suffix == ".parquet" for p in files) and any(p.name.endswith(".errors.csv") for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), path
        if path.suffix == ".parquet":  # compressed pages: look at the values too
            table = pq.read_table(path)
            cells = " ".join(str(v) for column in table.columns for v in column.to_pylist())
            assert not any(i in cells for i in ids), path


def test_the_exact_link_rate_is_high_for_rows_with_a_valid_id(persona, data_dir, registry, synth_county):
    user = persona("department_officer")
    rates = {}
    for path in sorted((synth_county / "feeds").iterdir()):
        kind = kind_of(path.name)
        outcome = do_import_feed(
            path, filename=path.name, kind=kind, county=COUNTY, user=user, dry_run=True, channel="cli"
        )
        links = outcome.links
        if kind == "water_safety":
            assert links["with_id"] == 0
            continue
        # rows without an ID (with a name) are kept for probabilistic linkage
        assert links["with_id"] + links["without_id"] == outcome.stats.valid
        assert links["without_id"] == outcome.warning_count - sum(
            1 for e in outcome.errors if e.warning and not e.reason_zh.startswith("身份证号缺失")
        )
        if links["with_id"]:
            rates[path.name] = links["exact_rate"]
    assert rates and all(rate >= 0.9 for rate in rates.values()), rates
    # medical claims carry ≈2.5 % rows of people outside the registry: those stay unmatched
    claims = [r for name, r in rates.items() if name.startswith("medical_claims")]
    assert all(0.9 <= r < 1.0 for r in claims) or all(r >= 0.95 for r in claims)


def test_every_kind_imports_with_exactly_the_counts_its_planted_noise_predicts(persona, data_dir, synth_county):
    """total / valid / rejected / duplicates of every feed file of the county, committed for
    real (valid rows only), against truth/manifest.json and truth/noise.csv — not against
    another run of the importer."""
    expected = planted_counts(synth_county)
    files = sorted((synth_county / "feeds").iterdir())
    assert {kind_of(p.name) for p in files} == set(FEED_SCHEMAS) and set(expected) == {p.name for p in files}
    assert sum(e["rejected"] for e in expected.values()) and sum(e["duplicates"] for e in expected.values())
    user = persona("department_officer")
    got = {}
    for path in files:
        outcome = do_import_feed(
            path,
            filename=path.name,
            kind=kind_of(path.name),
            county=COUNTY,
            user=user,
            dry_run=False,
            valid_rows_only=True,
            channel="cli",
        )
        d = outcome.as_dict()
        assert d["file_error"] is None and d["committed"], (path.name, d["message"])
        # (each planted error is one bad cell, so one reported error per rejected row)
        assert d["stored"] == d["valid"] and d["error_count"] == d["rejected"], path.name
        got[path.name] = counts_of(d)
    assert got == expected
    assert FeedBatch.objects.filter(status=BatchStatus.COMMITTED).count() == len(files)
