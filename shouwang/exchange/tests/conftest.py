"""Fixtures of the feed-exchange tests: a small synthetic county, its registry in the test
database, and a data directory of each test's own."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from engine.ids import make_id_number
from engine.schemas.feeds import FEED_SCHEMAS
from engine.synth import generate_county

COUNTY = "522630"


@pytest.fixture(scope="session")
def synth_county(tmp_path_factory) -> Path:
    """A ~300-household synthetic 台江县: registry files, every feed kind, the truth."""
    out = tmp_path_factory.mktemp("taijiang")
    generate_county(COUNTY, households=300, seed=7, out_dir=out, year=2025)
    return out


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR


@pytest.fixture
def registry(db, synth_county):
    """The synthetic county's members imported into the registry (for exact linkage)."""
    from shouwang.registry.importing import run_registry_import

    outcome = run_registry_import(
        synth_county / "registry_members.csv", filename="registry_members.csv", user=None, dry_run=False
    )
    assert outcome.committed, outcome.as_dict()
    return outcome


def kind_of(name: str) -> str:
    return next(k for k in sorted(FEED_SCHEMAS, key=len, reverse=True) if name.startswith(k))


def idn(n: int, *, birth: dt.date = dt.date(1970, 1, 1)) -> str:
    return make_id_number(COUNTY, birth + dt.timedelta(days=n), n, "M" if n % 2 else "F")


def claims_csv(rows: list[list[str]], *, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付"])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def good_claims(n: int = 3, *, start: int = 1) -> bytes:
    return claims_csv(
        [[idn(i), f"病人{i}", f"2025-0{1 + i % 3}-15", "门诊", "100.00", "30"] for i in range(start, start + n)]
    )
