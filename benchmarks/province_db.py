"""A province-scale synthetic database for the page benchmark (issue 6): `make bench-pages`
runs it, or `python benchmarks/province_db.py --members 10000000 [--province 52]`.

Fills a migrated PostgreSQL database with synthetic households, members and annual accounts
spread over the real villages of one province (贵州 52 by default: 17,964 villages), plus what
the monitoring loop and screening leave behind — monitoring records, cases at every step with
their events (some overdue), notices, assistance measures, follow-up visits, one screening run
per county and its warnings — in the proportions of the synthetic county
(`engine/synth/population.py`, `engine/synth/monitoring.py`): ~3.8 members a household, ~30 %
脱贫户, ~3 % of households monitored and ~4 % risk-eliminated.

Fast by construction: every attribute is drawn with numpy over the whole province at once
(no Python object per person); ID numbers are built as integers with their GB 11643 check
digit, unique per county, birth date and sex like real ones; their keyed hash and ciphertext
are computed with the configured keys (HMAC-SHA-256 from precomputed pads, AES-256-GCM — the
values `shouwang.core.protection` would store, checked on a sample); rows go to PostgreSQL by
`COPY … FORMAT csv` from Arrow-written CSV blocks, while the next block is being drawn. The
loaded tables' secondary indexes and foreign keys are dropped first and rebuilt at the end
(what a bulk load does; their definitions are read from the catalogue, so the schema comes
back exactly as migrated), then VACUUM ANALYZE.

The database must be migrated and hold the province's divisions (loaded here if missing);
the data tables are emptied first (`TRUNCATE … CASCADE`) when they hold anything and
`--reset` is given. Synthetic: no row describes a real person.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import itertools
import json
import os
import queue
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Tables this script fills, in load order; their secondary indexes and FKs are rebuilt after.
TABLES = (
    "registry_household",
    "registry_member",
    "registry_annualaccount",
    "screening_screeningrun",
    "screening_warning",
    "monitoring_case",
    "monitoring_caseevent",
    "monitoring_case_warnings",
    "monitoring_notice",
    "monitoring_notice_cases",
    "monitoring_monitoringrecord",
    "monitoring_measure",
    "monitoring_visit",
)
CHUNK_HOUSEHOLDS = 100_000
CREATED = "2024-03-01 09:00:00+08"

# Weights from engine/synth (population.py, profiles.py GUIZHOU; 脱贫户 raised to ~30 %).
ETHNICITIES = (
    ("汉族", 62),
    ("布依族", 10),
    ("苗族", 12),
    ("侗族", 5),
    ("土家族", 4),
    ("彝族", 3),
    ("仡佬族", 2),
    ("水族", 1),
    ("其他", 1),
)
ESCAPED_SHARE = 0.30
INCOME_MEDIAN, INCOME_SIGMA, LINE = 15_000.0, 0.42, 8_500.0
MIGRANT_SHARE = 0.45
DISABILITY_TYPES = (
    ("视力", 14.9),
    ("听力", 24.2),
    ("言语", 1.5),
    ("肢体", 29.1),
    ("智力", 6.7),
    ("精神", 7.4),
    ("多重", 16.2),
)
DISABILITY_GRADES = (("一级", 12), ("二级", 20), ("三级", 30), ("四级", 38))
OUT_OF_PROVINCE = (
    "浙江省宁波市",
    "浙江省杭州市",
    "广东省东莞市",
    "广东省深圳市",
    "广东省佛山市",
    "福建省泉州市",
    "江苏省苏州市",
    "上海市",
)
EXIT_YEARS = ((2014, 4), (2015, 9), (2016, 15), (2017, 20), (2018, 22), (2019, 22), (2020, 8))
# Warnings per rule (relative), as a screened year with department feeds gives them.
RULE_WEIGHTS = {
    "income_below_line": 14,
    "income_drop": 10,
    "medical_oop_share": 9,
    "medical_oop_income_share": 6,
    "rigid_expense_hardship": 5,
    "stay_self_pay": 8,
    "serious_illness": 6,
    "new_disability": 5,
    "labourer_death": 2,
    "deceased_still_listed": 3,
    "school_dropout": 2,
    "school_not_enrolled": 2,
    "housing_unsafe": 4,
    "water_problem": 3,
    "disaster_house_damage": 2,
    "disaster_loss": 3,
    "labourer_job_loss": 6,
    "assistance_granted": 4,
    "assistance_ended": 3,
    "medical_not_enrolled": 3,
}
MEMBER_RULES = {
    "medical_oop_share",
    "stay_self_pay",
    "serious_illness",
    "new_disability",
    "labourer_death",
    "deceased_still_listed",
    "school_dropout",
    "school_not_enrolled",
    "labourer_job_loss",
    "assistance_granted",
    "assistance_ended",
    "medical_not_enrolled",
}


def log(msg: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:7.1f} s] {msg}", flush=True)


def weighted(rng: np.random.Generator, table: tuple, n: int) -> np.ndarray:
    """Indices into `table` ((value, weight) pairs), n draws."""
    w = np.array([x[1] for x in table], dtype=float)
    return rng.choice(len(table), size=n, p=w / w.sum())


def labels(table: tuple | list, idx: np.ndarray) -> pa.Array:
    values = [x[0] if isinstance(x, tuple) else x for x in table]
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(values)).cast(pa.string())


def tri(rng: np.random.Generator, lo: float, hi: float, mode: float, n: int) -> np.ndarray:
    return rng.triangular(lo, mode, hi + 0.999, n).astype(np.int16)


# --------------------------------------------------------------------------------- people
def compose(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Household structures (population._compose, vectorised): per member its household,
    relationship, sex (1 = male) and age; heads first within each household."""
    kind = rng.choice(6, size=n, p=[0.10, 0.12, 0.05, 0.41, 0.208, 0.112])
    # 0 elderly alone, 1 elderly couple, 2 single adult, 3 nuclear, 4 extended (older head), 5 with parents
    head_age = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [
            tri(rng, 60, 94, 72, n),
            tri(rng, 60, 88, 68, n),
            tri(rng, 22, 59, 40, n),
            tri(rng, 24, 62, 40, n),
            tri(rng, 42, 75, 55, n),
        ],
        tri(rng, 26, 50, 38, n),
    ).astype(np.int16)
    r = rng.random(n)
    head_male = np.select([kind == 0, kind == 1, kind == 2], [r >= 0.55, np.ones(n, bool), r < 0.8], r < 0.9)
    hh = np.arange(n)
    blocks: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []  # (household, rel, male, age)

    def add(mask: np.ndarray, rel: int, male: np.ndarray, age: np.ndarray) -> None:
        blocks.append((hh[mask], rel, male[mask], np.clip(age[mask], 0, 99).astype(np.int16)))

    add(np.ones(n, bool), 0, head_male, head_age)  # 户主
    spouse = (kind == 1) | ((kind >= 3) & (rng.random(n) < 0.9))
    delta = np.where(head_male, rng.integers(-7, 3, n), rng.integers(-2, 8, n))
    spouse_age = np.where(
        kind == 1, np.maximum(55, head_age + rng.integers(-6, 3, n)), np.maximum(20, head_age + delta)
    )
    add(spouse, 1, ~head_male, spouse_age)  # 配偶
    # single adults: a sibling or a parent now and then
    x = rng.random(n)
    add((kind == 2) & (x < 0.3), 9, rng.random(n) < 0.5, np.maximum(16, head_age + rng.integers(-8, 9, n)))
    add(
        (kind == 2) & (x >= 0.3) & (x < 0.6) & (head_age + 22 <= 92),
        7,
        np.zeros(n, bool),
        head_age + rng.integers(22, 33, n),
    )
    # children
    n_children = np.where(kind >= 3, rng.choice(5, size=n, p=[0.04, 0.22, 0.40, 0.23, 0.11]), 0)
    mother_age = np.where(head_male & spouse, spouse_age, head_age)
    child_age = mother_age - rng.integers(20, 31, n)
    first_child_age = child_age.copy()
    first_child_male = rng.random(n) < 0.53
    for k in range(4):
        male = first_child_male if k == 0 else rng.random(n) < 0.53
        ok = (n_children > k) & (child_age >= 0)
        rel = np.where(male, 2, 3)  # 子 / 女
        for value in (2, 3):
            add(ok & (rel == value), value, male, child_age)
        child_age = child_age - rng.integers(1, 5, n)
    # an older head's married child: the in-law and grandchildren
    married = (kind == 4) & (n_children > 0) & (first_child_age >= 22) & (first_child_male | (rng.random(n) < 0.2))
    in_law_age = np.maximum(20, first_child_age + rng.integers(-4, 4, n))
    add(married & first_child_male, 4, np.zeros(n, bool), in_law_age)  # 儿媳
    add(married & ~first_child_male, 5, np.ones(n, bool), in_law_age)  # 女婿
    n_grand = np.where(married, rng.choice(4, size=n, p=[0.15, 0.40, 0.35, 0.10]), 0)
    parent_age = np.where(first_child_male, in_law_age, first_child_age)
    gc_age = parent_age - rng.integers(20, 29, n)
    for j in range(3):
        add((n_grand > j) & (gc_age >= 0), 6, rng.random(n) < 0.53, gc_age)
        gc_age = gc_age - rng.integers(1, 4, n)
    # a younger head's parents (and now and then a grandmother)
    young = kind == 5
    add(young & (rng.random(n) < 0.75), 7, np.ones(n, bool), np.minimum(96, head_age + rng.integers(24, 35, n)))
    add(young & (rng.random(n) < 0.85), 7, np.zeros(n, bool), np.minimum(95, head_age + rng.integers(21, 31, n)))
    add(young & (head_age <= 32) & (rng.random(n) < 0.15), 8, np.zeros(n, bool), head_age + rng.integers(46, 57, n))
    household = np.concatenate([b[0] for b in blocks])
    rel = np.concatenate([np.full(len(b[0]), b[1], np.int8) for b in blocks])
    male = np.concatenate([b[2] for b in blocks])
    age = np.concatenate([b[3] for b in blocks])
    order = np.lexsort((rel, household))  # 户主 (0) first, then 配偶, children, …
    return {"household": household[order], "rel": rel[order], "male": male[order], "age": age[order], "kind": kind}


RELATIONSHIPS = ("户主", "配偶", "子", "女", "儿媳", "女婿", "孙子女", "父母", "祖父母", "兄弟姐妹")
SCHOOL = (
    "非在校生",
    "学龄前儿童",
    "学前教育",
    "小学",
    "七至九年级",
    "普通高中",
    "中职",
    "高职高专",
    "本科",
    "失学辍学",
)
EDUCATION = ("文盲或半文盲", "学龄前", "小学", "初中", "高中", "中职", "大专", "本科及以上")
LABOUR = ("技能劳动力", "普通劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力")
WORK = ("务农", "县内务工", "省内县外务工", "省外务工", "公益岗位", "自主创业", "无业", "在校", "不适用")
HEALTH = ("健康", "长期慢性病", "患有大病")


def attributes(rng: np.random.Generator, age: np.ndarray, escaped: np.ndarray) -> dict[str, np.ndarray]:
    """Per member: school, education, health, disability, labour, work (population._fill_member)."""
    n = len(age)
    r = rng.random(n)
    school = np.zeros(n, np.int8)
    edu = np.zeros(n, np.int8)
    school[age < 3], edu[age < 3] = 1, 1
    m = (age >= 3) & (age < 6)
    school[m], edu[m] = np.where(r[m] < 0.9, 2, 1), 1
    m = (age >= 6) & (age <= 11)
    school[m], edu[m] = 3, 2
    m = (age >= 12) & (age <= 15)
    school[m], edu[m] = np.where(r[m] < 0.003, 9, 4), np.where(r[m] < 0.003, 2, 3)
    m = (age >= 16) & (age <= 18)
    school[m] = np.select([r[m] < 0.55, r[m] < 0.82], [5, 6], 0)
    edu[m] = np.select([r[m] < 0.55, r[m] < 0.82], [4, 5], 3)
    adult = age >= 19
    m = (age >= 19) & (age <= 22) & (r < 0.28)
    school[m] = np.where(r[m] < 0.16, 7, 8)
    edu[m] = 4
    adult &= ~m
    e = rng.random(n)
    cohorts = [
        (age >= 65, [0.45, 0.90], [0, 2], 3),
        ((age >= 45) & (age < 65), [0.12, 0.60, 0.95], [0, 2, 3], 4),
        ((age >= 30) & (age < 45), [0.03, 0.28, 0.83, 0.92, 0.97], [0, 2, 3, 4, 5], 6),
        (age < 30, [0.08, 0.58, 0.73, 0.87, 0.95], [2, 3, 4, 5, 6], 7),
    ]
    for mask, cuts, values, last in cohorts:
        mm = adult & mask
        edu[mm] = np.select([e[mm] < c for c in cuts], values, last)
    boost = np.where(escaped, 1.35, 1.0)
    disability_rate = np.select([age < 15, age < 45, age < 60, age < 75], [0.012, 0.035, 0.075, 0.13], 0.21) * boost
    chronic_rate = np.select([age < 18, age < 40, age < 60], [0.01, 0.03, 0.12], 0.30) * boost
    disabled = rng.random(n) < disability_rate
    serious = rng.random(n) < 0.006 + np.where(age >= 45, 0.01, 0)
    chronic = rng.random(n) < chronic_rate
    health = np.where(serious, 2, np.where(chronic, 1, 0)).astype(np.int8)
    health[disabled & (rng.random(n) < 0.6)] = 0  # most disabled people are not also ill
    dis_type = weighted(rng, DISABILITY_TYPES, n)
    dis_grade = weighted(rng, DISABILITY_GRADES, n)
    studying = (school != 0) & (school != 1) & (school != 9)
    x = rng.random(n)
    labour = np.select(
        [
            (age < 16) | studying | (age >= 75),
            disabled & (dis_grade <= 1),
            health == 2,
            disabled | (health == 1) | (age >= 65),
            age >= 60,
        ],
        [4, 3, np.where(x < 0.5, 3, 2), 2, np.where(x < 0.4, 1, 2)],
        np.where((np.isin(edu, (4, 5, 6)) & (x < 0.35)) | (x < 0.08), 0, 1),
    ).astype(np.int8)
    y = rng.random(n)
    z = rng.random(n)
    able = labour <= 1
    work = np.select(
        [
            studying,
            age < 16,
            able & (age <= 55) & (y < MIGRANT_SHARE),
            able,
            labour == 2,
            age < 60,
        ],
        [
            7,
            8,
            np.where(z < 0.68, 3, 2),
            np.select([z < 0.55, z < 0.87, z < 0.92, z < 0.97], [0, 1, 4, 5], 6),
            np.select([z < 0.75, z < 0.85], [0, 4], 6),
            6,
        ],
        8,
    ).astype(np.int8)
    return {
        "school": school,
        "edu": edu,
        "health": health,
        "disabled": disabled,
        "dis_type": dis_type,
        "dis_grade": dis_grade,
        "labour": labour,
        "work": work,
        "studying": studying,
        "medical": rng.random(n) < 0.985,
        "pension": (age >= 16) & ~studying & (rng.random(n) < 0.93),
    }


# ------------------------------------------------------------------------------ ID numbers
_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_CHECK = np.array(list("10X98765432"))


def id_numbers(county6: np.ndarray, county_idx: np.ndarray, birth: np.ndarray, male: np.ndarray) -> pa.Array:
    """GB 11643 numbers, unique: the sequence counts up per county, birth date and sex (at
    most 500 each, as the standard allows), starting at a spread-out offset."""
    days = birth.astype("datetime64[D]").astype(np.int64)
    key = (county_idx.astype(np.int64) * 80_000 + (days + 30_000)) * 2 + male
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    rank = np.empty(len(key), np.int64)
    rank[order] = np.arange(len(key)) - group_start
    if rank.max(initial=0) >= 500:
        raise SystemExit("more than 500 people of one county, birth date and sex: lower --members")
    sequence = ((key * 2654435761) % 500 + rank) % 500
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    mo = (birth.astype("datetime64[M]") - birth.astype("datetime64[Y]")).astype(np.int64) + 1
    d = (birth.astype("datetime64[D]") - birth.astype("datetime64[M]")).astype(np.int64) + 1
    first17 = county6 * 10**11 + (y * 10_000 + mo * 100 + d) * 1000 + sequence * 2 + male
    total = np.zeros(len(key), np.int64)
    rest = first17.copy()
    for i in range(16, -1, -1):
        total += (rest % 10) * _WEIGHTS[i]
        rest //= 10
    check = pa.array(_CHECK[total % 11])
    return pc.binary_join_element_wise(pa.array(first17).cast(pa.string()), check, "")


class Crypto:
    """The stored forms of ID numbers with the configured keys, at bulk speed."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from shouwang.core.protection import protector

        self.protector = protector()
        p = self.protector
        self.fast = p.suite == "aes"
        if self.fast:
            key = p.hash_key.ljust(64, b"\0") if len(p.hash_key) <= 64 else hashlib.sha256(p.hash_key).digest()
            self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
            self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
            self.aead = AESGCM(p.data_key)

    def protect(self, ids: list[str]) -> tuple[list[str], list[str]]:
        p = self.protector
        if not self.fast:  # SM3 / SM4: the protector itself (slower, same values)
            return [p.hash(v) for v in ids], [p.encrypt(v, context=b"member.id_number") for v in ids]
        inner, outer, enc, b64 = self.inner, self.outer, self.aead.encrypt, base64.b64encode
        hashes = []
        for v in ids:
            h = inner.copy()
            h.update(v.encode())
            o = outer.copy()
            o.update(h.digest())
            hashes.append(o.hexdigest())
        nonces = os.urandom(12 * len(ids))
        texts = []
        for i, v in enumerate(ids):
            nonce = nonces[12 * i : 12 * i + 12]
            texts.append("aes:" + b64(nonce + enc(nonce, v.encode(), b"member.id_number")).decode())
        return hashes, texts

    def check(self, ids: list[str], hashes: list[str], texts: list[str]) -> None:
        p = self.protector
        for v, h, t in zip(ids[:50], hashes[:50], texts[:50], strict=True):
            assert p.hash(v) == h and p.decrypt(t, context=b"member.id_number") == v, "protected forms differ"


# ---------------------------------------------------------------------------------- COPY
def csv_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return sink.getvalue().to_pybytes()


def copy_table(cursor: Any, name: str, table: pa.Table) -> None:
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    with cursor.copy(f'COPY "{name}" ({cols}) FROM STDIN WITH (FORMAT csv)') as copy:
        copy.write(csv_bytes(table))


def const(value: Any, n: int, type_: pa.DataType | None = None) -> pa.Array:
    return pa.array([value] * n, type=type_) if n < 64 else pa.repeat(pa.scalar(value, type=type_), n)


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("datetime64[D]")).cast(pa.date32())


def join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def ints(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())


# ------------------------------------------------------------------------------ schema DDL
def secondary_ddl(cursor: Any) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(table, constraint, definition) of the loaded tables' unique/FK constraints, and the
    CREATE INDEX statements of their other non-primary indexes."""
    cursor.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
           FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('f', 'u')
           ORDER BY c.contype DESC""",
        [list(TABLES)],
    )
    constraints = list(cursor.fetchall())
    cursor.execute(
        """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
           WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                             WHERE c.conindid = i.indexrelid AND c.contype IN ('u', 'p'))""",
        [list(TABLES)],
    )
    return constraints, [r[0] for r in cursor.fetchall()]


# ---------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--province", default="52")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--reset", action="store_true", help="empty the data tables first if they hold rows")
    parser.add_argument("--json", dest="json_out", default="", help="also write the summary to this file")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings.dev")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    started = time.perf_counter()
    timings: dict[str, float] = {}
    if connection.vendor != "postgresql":
        raise SystemExit("province_db.py fills PostgreSQL only: pass --database-url postgres://…")
    from shouwang.regions.loading import load_divisions
    from shouwang.regions.models import Level, Region

    if not Region.objects.filter(code__startswith=args.province, level=Level.VILLAGE).exists():
        log(f"loading the divisions of {args.province}", started)
        load_divisions(args.province)
    rng = np.random.default_rng(args.seed)
    today = dt.date.today()
    year = today.year - 1  # the accounts of a year are complete the year after (screening's default)
    cursor = connection.cursor()
    raw = cursor.cursor  # psycopg's own cursor, for COPY
    cursor.execute("SELECT count(*) FROM registry_household")
    if cursor.fetchone()[0]:
        if not args.reset:
            raise SystemExit("the database already holds households: pass --reset to empty the data tables")
        cursor.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE")
        log("data tables emptied", started)
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET maintenance_work_mem = '1GB'")

    # -- villages: the province's real ones, sized lognormally (居委会 smaller: mostly urban)
    villages = list(
        Region.objects.filter(code__startswith=args.province, level=Level.VILLAGE)
        .order_by("code")
        .values_list("code", "name", "parent__name", "parent__parent__name", "parent__parent__code")
    )
    counties = sorted({v[4] for v in villages})
    county_pos = {c: i for i, c in enumerate(counties)}
    n_v = len(villages)
    weight = np.exp(rng.normal(0, 0.45, n_v)) * np.array([0.25 if v[0][9] == "1" else 1.0 for v in villages])

    # -- households and members, the whole province at once
    t = time.perf_counter()
    n_h = int(args.members / 3.7 * 1.03) + 10
    people = compose(rng, n_h)
    sizes = np.bincount(people["household"], minlength=n_h)
    keep_h = int(np.searchsorted(np.cumsum(sizes), args.members, side="right"))
    keep_m = int(sizes[:keep_h].sum())
    extra = args.members - keep_m  # the next household, cut to the members still wanted
    n_h = keep_h + (1 if extra > 0 else 0)
    n_m = args.members
    for k in ("household", "rel", "male", "age"):
        people[k] = people[k][:n_m]
    sizes = np.bincount(people["household"], minlength=n_h)[:n_h]
    kind = people["kind"][:n_h]
    household_of = people["household"]
    counts = rng.multinomial(n_h, weight / weight.sum())
    village_of = np.repeat(np.arange(n_v), counts)  # households in village order
    if counts.max() > 9999:
        raise SystemExit("a village with 10,000 households or more: lower --members")
    seq_in_village = np.arange(n_h) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    escaped = rng.random(n_h) < ESCAPED_SHARE
    x = rng.random(n_h)
    state = np.where(escaped, np.select([x < 0.06, x < 0.15], [1, 2], 0), np.select([x < 0.02, x < 0.04], [1, 2], 0))
    sudden = rng.random(n_h) < 0.25
    category = np.where(state == 0, -1, np.where(sudden, 2, np.where(escaped, 0, 1)))
    age = people["age"]
    m_esc = escaped[household_of]
    attrs = attributes(rng, age, m_esc)
    # deaths (non-heads), 低保 / 特困 by household
    rel = people["rel"]
    p_death = np.select([age < 60, age < 80], [0.001, 0.012], 0.045)
    died = (rel != 0) & (rng.random(n_m) < p_death)
    death_day = np.datetime64(f"{year - 1}-01-01") + rng.integers(0, 515, n_m)
    died &= death_day < np.datetime64(today)
    living = ~died
    living_n = np.bincount(household_of, weights=living, minlength=n_h).astype(np.int64)
    able_n = np.bincount(household_of, weights=living & (attrs["labour"] <= 2), minlength=n_h)
    no_labour = able_n == 0
    head_age = age[np.r_[0, np.cumsum(sizes)[:-1]]]
    tekun_h = (living_n == 1) & (head_age >= 60) & no_labour & (rng.random(n_h) < 0.3)
    p_dibao = 0.04 + 0.08 * escaped + 0.25 * (state == 1) + 0.2 * no_labour
    dibao_h = ~tekun_h & (rng.random(n_h) < p_dibao)
    tekun = tekun_h[household_of] & living
    dibao = dibao_h[household_of] & living
    head_only = rng.random(n_h) < 0.2
    dibao &= ~head_only[household_of] | (rel == 0)
    timings["draw_people"] = round(time.perf_counter() - t, 1)
    log(f"drew {n_h:,} households and {n_m:,} members over {n_v:,} villages of {len(counties)} counties", started)

    # -- accounts (population._accounts, vectorised)
    t = time.perf_counter()
    bc = lambda w: np.bincount(household_of, weights=w, minlength=n_h)  # noqa: E731
    pension_n = bc(living & (age >= 60) & attrs["pension"])
    dibao_n, tekun_n = bc(dibao), bc(tekun)
    workers_n = bc(living & np.isin(attrs["work"], (1, 2, 3, 4)))
    ill_any = bc(living & (attrs["health"] > 0)) > 0
    edu_cost = np.array([0, 0, 800, 300, 500, 2500, 1800, 7000, 9000, 0], float)[attrs["school"]]
    edu_n = bc(living * edu_cost * rng.uniform(0.7, 1.3, n_m))
    pop = np.maximum(1, living_n)
    pcap = np.exp(rng.normal(np.log(INCOME_MEDIAN), INCOME_SIGMA, n_h)) * np.where(escaped, 0.88, 1.0)
    monitored_poor = (state == 1) & ~sudden
    pcap = np.where(monitored_poor, rng.uniform(0.6, 0.97, n_h) * LINE, pcap)
    pcap = np.where((state != 0) & ~monitored_poor, np.maximum(pcap, rng.uniform(1.05, 1.6, n_h) * LINE), pcap)
    lift = (state == 0) & (pcap < LINE) & (rng.random(n_h) < 0.85)
    pcap = np.where(lift, rng.uniform(1.02, 1.35, n_h) * LINE, pcap)
    net = pcap * pop
    transfer = pension_n * 165 * 12 + dibao_n * 420 * 12 + tekun_n * 7800 + rng.choice([0, 0, 120, 300, 600], n_h)
    prop = rng.choice([0, 0, 0, 200, 400, 800, 1500], n_h).astype(float)
    over = transfer + prop > net * 0.9
    scale = np.where(over & monitored_poor, net * 0.6 / np.maximum(transfer + prop, 1), 1.0)
    transfer, prop = transfer * scale, prop * scale
    net = np.where(over & ~monitored_poor, (transfer + prop) / 0.9, net)
    rest = net - transfer - prop
    wage = rest * np.where(workers_n > 0, rng.uniform(0.7, 0.92, n_h), rng.uniform(0, 0.2, n_h))
    op_net = rest - wage
    cost_ratio = rng.uniform(0.25, 0.45, n_h)
    op_income = op_net / (1 - cost_ratio)
    medical = np.where(rng.random(n_h) < 0.55, 0, rng.uniform(100, 2500, n_h)) + ill_any * rng.uniform(500, 4000, n_h)
    medical += (category == 2) * rng.uniform(15_000, 50_000, n_h)
    growth = rng.normal(1.065, 0.04, n_h)
    current = {
        "wage_income": np.round(wage),
        "operating_income": np.round(op_income),
        "operating_cost": np.round(op_income) - np.round(op_net),
        "property_income": np.round(prop),
        "transfer_income": np.round(transfer),
        "medical_expense": np.round(medical),
        "education_expense": np.round(edu_n),
    }
    previous = {k: np.round(v / growth) for k, v in current.items()}
    previous["medical_expense"] = np.where(rng.random(n_h) < 0.5, np.round(rng.uniform(0, 2000, n_h)), 0)
    timings["draw_accounts"] = round(time.perf_counter() - t, 1)

    # -- static lookups for strings
    village_code = np.array([int(v[0]) for v in villages], dtype=np.int64)
    v_county_idx = np.array([county_pos[v[4]] for v in villages])
    county6 = np.array([int(c) for c in counties], dtype=np.int64)
    short = [v[1].replace("村民委员会", "村").replace("居民委员会", "").replace("委员会", "") for v in villages]
    place = pa.array([f"{v[3]}{v[2]}{s}" for v, s in zip(villages, short, strict=True)])
    from engine.synth.names import LOCAL_SURNAMES, NamePool

    pool = NamePool(args.seed, counties[0])
    local = [s for s, w in LOCAL_SURNAMES.get("5226", ()) for _ in range(w)]
    surnames = pa.array(pool.surnames + local)
    male_names, female_names = pa.array(pool.male), pa.array(pool.female)
    n_pool = len(pool.surnames)
    # surnames: Qiandongnan's own there (75 %), the pool's elsewhere
    v_local = np.array([v[0].startswith("5226") for v in villages])
    hh_surname = np.where(
        v_local[village_of] & (rng.random(n_h) < 0.75),
        n_pool + rng.integers(0, max(len(local), 1), n_h),
        rng.integers(0, n_pool, n_h),
    )
    hh_ethnic = weighted(rng, ETHNICITIES, n_h)
    crypto = Crypto()
    log("name pool and keys ready", started)
    ref = np.datetime64(f"{year}-09-01")
    # birth: `age` completed years on 31 August of the year
    birth = ref - (age.astype(np.int64) + 1) * 365 - (age.astype(np.int64) + 1) // 4 + rng.integers(0, 365, n_m)
    birth = np.minimum(birth, np.datetime64(today) - np.timedelta64(1, "D"))
    member_county = v_county_idx[village_of[household_of]]
    t = time.perf_counter()
    id_all = id_numbers(county6[member_county], member_county, birth, people["male"].astype(np.int64))
    timings["id_numbers"] = round(time.perf_counter() - t, 1)
    member_start = np.r_[0, np.cumsum(sizes)[:-1]]  # member index of each household's head

    # -- produce chunks in a thread while the main thread COPYs
    # What is dropped is written down first: a run stopped half-way leaves the next run the
    # definitions to rebuild (the catalogue no longer has them).
    state_file = Path(settings.DATA_DIR) / f"province_db-dropped-{connection.settings_dict['NAME']}.json"
    if state_file.exists():
        saved = json.loads(state_file.read_text())
        constraints, indexes = [tuple(c) for c in saved["constraints"]], saved["indexes"]
    else:
        constraints, indexes = secondary_ddl(raw)
        state_file.write_text(json.dumps({"constraints": constraints, "indexes": indexes}))
    for table, name, _ in reversed(constraints):
        raw.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
    for ddl in indexes:
        name = ddl.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
        raw.execute(f"DROP INDEX IF EXISTS {name}")
    log(f"dropped {len(constraints)} constraints and {len(indexes)} indexes of the loaded tables", started)

    def chunk(h0: int, h1: int) -> dict[str, pa.Table]:
        hs = np.arange(h0, h1)
        m0, m1 = int(member_start[h0]), int(member_start[h1 - 1] + sizes[h1 - 1])
        ms = np.arange(m0, m1)
        nh, nm = len(hs), len(ms)
        v = village_of[hs]
        r = np.random.default_rng([args.seed, h0])
        number = join(ints(village_code[v]), pc.utf8_lpad(ints(seq_in_village[hs]), 4, "0"))
        phone = np.where(r.random(nh) < 0.85, 13_000_000_000 + r.integers(0, 7 * 10**9, nh), -1)
        phone_s = pc.if_else(pa.array(phone >= 0), ints(phone), pa.scalar(""))
        grade = r.choice(4, size=nh, p=[0.70, 0.27, 0.024, 0.006])
        appraised = np.datetime64(f"{year - 6}-03-01") + r.integers(0, 4 * 365, nh)
        exit_year = np.array([y for y, _ in EXIT_YEARS])[weighted(r, EXIT_YEARS, nh)]
        households = pa.table(
            {
                "id": pa.array(hs + 1),
                "number": number,
                "village_id": ints(village_code[v]),
                "address": join(pc.take(place, pa.array(v)), ints(r.integers(1, 13, nh)), const("组", nh)),
                "phone": phone_s,
                "household_type": pc.if_else(pa.array(escaped[hs]), pa.scalar("脱贫户"), pa.scalar("一般农户")),
                "poverty_exit_year": pa.array(np.where(escaped[hs], exit_year, 0), mask=~escaped[hs]),
                "monitoring_category": labels(
                    ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户", ""), np.where(category[hs] < 0, 3, category[hs])
                ),
                "monitoring_state": labels(("未纳入", "监测中", "风险已消除"), state[hs]),
                "housing_grade": labels(("A", "B", "C", "D"), grade),
                "housing_appraised_on": dates(appraised),
                "water_quantity_ok": pa.array(r.random(nh) >= 0.01),
                "water_quality_ok": pa.array(r.random(nh) >= 0.01),
                "water_convenience_ok": pa.array(r.random(nh) >= 0.01),
                "water_reliability_ok": pa.array(r.random(nh) >= 0.01),
                "food_clothing_ok": const(True, nh),
                "created_at": const(CREATED, nh),
                "updated_at": const(CREATED, nh),
            }
        )
        hh_m = household_of[ms]
        rel_m = rel[ms]
        blood = np.isin(rel_m, (0, 2, 3, 6, 9)) | (np.isin(rel_m, (7, 8)) & people["male"][ms])
        own = np.where(blood & (r.random(nm) < 0.96), hh_surname[hh_m], r.integers(0, n_pool, nm))
        male = people["male"][ms]
        given = pc.if_else(
            pa.array(male),
            pc.take(male_names, pa.array(r.integers(0, len(male_names), nm))),
            pc.take(female_names, pa.array(r.integers(0, len(female_names), nm))),
        )
        name = join(pc.take(surnames, pa.array(own)), given)
        ethnic = np.where(r.random(nm) < 0.93, hh_ethnic[hh_m], weighted(r, ETHNICITIES, nm))
        ids = id_all.slice(m0, nm)
        id_list = ids.to_pylist()
        hashes, texts = crypto.protect(id_list)
        if h0 == 0:
            crypto.check(id_list, hashes, texts)
        a = {k: val[ms] for k, val in attrs.items()}
        w = a["work"]
        place_m = np.select(
            [w == 3, w == 2, np.isin(w, (1, 4, 5))],
            [r.integers(0, len(OUT_OF_PROVINCE), nm), len(OUT_OF_PROVINCE), len(OUT_OF_PROVINCE) + 1],
            len(OUT_OF_PROVINCE) + 2,
        )
        places = pa.array([*OUT_OF_PROVINCE, "贵州省内县外", "本县", ""])
        members = pa.table(
            {
                "id": pa.array(ms + 1),
                "household_id": pa.array(hh_m + 1),
                "name": name,
                "id_number_hash": pa.array(hashes),
                "id_number_encrypted": pa.array(texts),
                "id_number_tail": pc.utf8_slice_codeunits(ids, 14, 18),
                "id_region_prefix": pc.utf8_slice_codeunits(ids, 0, 6),
                "sex": pc.if_else(pa.array(male), pa.scalar("M"), pa.scalar("F")),
                "birth_date": dates(birth[ms]),
                "relationship": labels(RELATIONSHIPS, rel_m),
                "ethnicity": labels(ETHNICITIES, ethnic),
                "education": labels(EDUCATION, a["edu"]),
                "school_status": labels(SCHOOL, a["school"]),
                "health": labels(HEALTH, a["health"]),
                "disabled": pa.array(a["disabled"]),
                "disability_type": labels(
                    [*[d for d, _ in DISABILITY_TYPES], ""], np.where(a["disabled"], a["dis_type"], 7)
                ),
                "disability_grade": labels(
                    [*[d for d, _ in DISABILITY_GRADES], ""], np.where(a["disabled"], a["dis_grade"], 4)
                ),
                "labour_capacity": labels(LABOUR, a["labour"]),
                "work_status": labels(WORK, w),
                "work_place": pc.take(places, pa.array(place_m)),
                "medical_insurance": pa.array(a["medical"]),
                "pension_insurance": pa.array(a["pension"]),
                "dibao": pa.array(dibao[ms]),
                "tekun": pa.array(tekun[ms]),
                "death_date": pa.array(death_day[ms].astype("datetime64[D]"), mask=~died[ms]).cast(pa.date32()),
            }
        )
        acc_cols: dict[str, Any] = {
            "id": pa.array(np.r_[2 * hs + 1, 2 * hs + 2]),
            "household_id": pa.array(np.r_[hs + 1, hs + 1]),
            "year": pa.array(np.r_[np.full(nh, year - 1), np.full(nh, year)]),
            "population": pa.array(np.r_[pop[hs], pop[hs]]),
        }
        for k in current:
            acc_cols[k] = pa.array(np.r_[previous[k][hs], current[k][hs]].astype(np.int64))
        return {
            "registry_household": households,
            "registry_member": members,
            "registry_annualaccount": pa.table(acc_cols),
        }

    bounds = [*list(range(0, n_h, CHUNK_HOUSEHOLDS)), n_h]
    q: queue.Queue = queue.Queue(maxsize=2)
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            for h0, h1 in itertools.pairwise(bounds):
                q.put((h1, chunk(h0, h1)))
        except BaseException as exc:
            errors.append(exc)
        q.put(None)

    # Two consumers, each on its own connection: PostgreSQL parses and stores two blocks at
    # once while this process draws the next.
    import psycopg

    params = connection.settings_dict
    dsn = {"dbname": params["NAME"], "user": params["USER"], "host": params["HOST"], "port": params["PORT"]}
    dsn.update({"password": params["PASSWORD"]} if params.get("PASSWORD") else {})
    progress = {"members": 0, "households": 0, "copy": 0.0}
    lock = threading.Lock()

    def consume() -> None:
        try:
            with psycopg.connect(**{k: v for k, v in dsn.items() if v}, autocommit=True) as conn:
                cur = conn.cursor()
                cur.execute("SET synchronous_commit = off")
                while (item := q.get()) is not None:
                    c0 = time.perf_counter()
                    for name, table in item[1].items():
                        copy_table(cur, name, table)
                    with lock:
                        progress["copy"] += time.perf_counter() - c0
                        progress["households"] += item[1]["registry_household"].num_rows
                        progress["members"] += item[1]["registry_member"].num_rows
                        done = progress["members"]
                        hdone = progress["households"]
                    log(
                        f"  {hdone:,} households, {done:,} members ({done / (time.perf_counter() - t):,.0f} members/s)",
                        started,
                    )
                q.put(None)  # for the other consumer
        except BaseException as exc:
            errors.append(exc)
            q.put(None)

    t = time.perf_counter()
    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    consumers = [threading.Thread(target=consume, daemon=True) for _ in range(2)]
    for c in consumers:
        c.start()
    worker.join()
    for c in consumers:
        c.join()
    if errors:
        raise errors[0]
    copy_seconds = progress["copy"]
    timings["registry_copy"] = round(time.perf_counter() - t, 1)
    timings["registry_copy_busy_seconds_both_connections"] = round(copy_seconds, 1)

    # -- monitoring and screening: a few hundred thousand rows, drawn the same way
    t = time.perf_counter()
    counts_loop = loop_tables(
        raw, rng, today, year, n_h, state, category, escaped, kind, village_of, village_code, v_county_idx, counties,
        member_start, sizes, attrs, household_of, died, no_labour,
    )  # fmt: skip
    timings["loop_copy"] = round(time.perf_counter() - t, 1)
    log(f"monitoring and screening rows: {counts_loop}", started)

    # -- identity sequences, constraints and indexes back, statistics
    for table in (t for t in TABLES if t != "monitoring_monitoringrecord"):
        raw.execute(f"SELECT pg_get_serial_sequence('\"{table}\"', 'id')")
        seq = raw.fetchone()[0]
        if seq:
            raw.execute(f'SELECT setval(%s, GREATEST((SELECT max(id) FROM "{table}"), 1))', [seq])  # noqa: S608
    t = time.perf_counter()
    for ddl in indexes:
        raw.execute(ddl)
    for table, name, definition in constraints:
        raw.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    timings["indexes_and_constraints"] = round(time.perf_counter() - t, 1)
    state_file.unlink()
    log(f"rebuilt {len(indexes)} indexes and {len(constraints)} constraints", started)
    t = time.perf_counter()
    for table in (*TABLES, "regions_region"):
        raw.execute(f'VACUUM (ANALYZE) "{table}"')
    timings["vacuum_analyze"] = round(time.perf_counter() - t, 1)
    timings["total"] = round(time.perf_counter() - started, 1)
    raw.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    size = raw.fetchone()[0]
    summary = {
        "province": args.province,
        "members": n_m,
        "households": n_h,
        "accounts": 2 * n_h,
        "villages": n_v,
        "counties": len(counties),
        "escaped_share": round(float(escaped.mean()), 3),
        "monitored_share": round(float((state == 1).mean()), 4),
        "eliminated_share": round(float((state == 2).mean()), 4),
        **counts_loop,
        "database_size": size,
        "timings_seconds": timings,
    }
    log("done", started)
    print(json.dumps(summary, ensure_ascii=False))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


# ------------------------------------------------------------------- monitoring, screening
CAUSES_BY_SIGNAL = ("因病", "因残", "因学", "缺劳动力")
FALLBACK_CAUSES = ("因务工就业不稳", "因产业项目失败", "缺劳动力", "因务工就业不稳")
OPEN_STEP_WEIGHTS = (
    ("verification", 40),
    ("appraisal", 20),
    ("notice", 15),
    ("township_audit", 12),
    ("county_approval", 10),
    ("routing", 3),
)
# The events a case has when it stands at a step: (action, from_step, to_step) up to there.
TRAIL = (
    ("opened", "", "verification"),
    ("home_visit", "verification", "verification"),
    ("proposed", "verification", "appraisal"),
    ("appraised", "appraisal", "notice"),
    ("notice_posted", "notice", "notice"),
    ("notice_passed", "notice", "township_audit"),
    ("township_approved", "township_audit", "county_approval"),
    ("approved", "county_approval", "approved"),
)
EVENTS_AT = {"verification": 1, "appraisal": 3, "notice": 5, "township_audit": 6, "county_approval": 7, "approved": 8}


def add_months(day: dt.date, months: int) -> dt.date:
    n = day.month - 1 + months
    return dt.date(day.year + n // 12, n % 12 + 1, min(day.day, 28))


def evidence_for(rule: str, year: int, r: random.Random, pcap: float) -> tuple[str, dict[str, Any]]:
    """(period, evidence) a rule of the engine would give, with the fields `summarize` reads."""
    month = f"{year}-{r.randrange(1, 13):02d}"
    day = f"{month}-{r.randrange(1, 29):02d}"
    yearly = str(year)
    amount = round(float(r.uniform(3000, 60000)), 2)
    table: dict[str, tuple[str, dict[str, Any]]] = {
        "income_below_line": (yearly, {"per_capita_net_income": round(pcap, 2), "monitoring_line": 8500}),
        "income_drop": (
            yearly,
            {
                "per_capita_net_income": round(pcap, 2),
                "prev_per_capita_net_income": round(pcap * 1.6, 2),
                "drop_share": 0.38,
                "min_drop_share": 0.3,
            },
        ),
        "medical_oop_share": (
            yearly,
            {
                "oop_total": amount,
                "claims": r.randrange(1, 9),
                "reference_income": 15010,
                "share": 0.5,
                "threshold": 7505,
            },
        ),
        "medical_oop_income_share": (
            yearly,
            {
                "oop_total": amount,
                "claims": r.randrange(1, 9),
                "net_income": round(pcap * 3, 2),
                "share_of_income": 0.55,
                "max_share": 0.5,
            },
        ),
        "rigid_expense_hardship": (
            yearly,
            {
                "rigid_expense": amount,
                "medical_expense": amount * 0.7,
                "education_expense": amount * 0.3,
                "share_of_income": 0.8,
                "max_share": 0.5,
                "per_capita_net_income": round(pcap, 2),
                "reference_income": 13707,
            },
        ),
        "stay_self_pay": (month, {"settle_date": day, "out_of_pocket": amount, "threshold": 10000}),
        "serious_illness": (month, {"diagnosed_on": day, "diagnosis": "恶性肿瘤"}),
        "new_disability": (month, {"issued_on": day, "disability_type": "肢体", "grade": "二级"}),
        "labourer_death": (month, {"death_date": day, "age_at_death": r.randrange(25, 60)}),
        "deceased_still_listed": (month, {"death_date": day}),
        "school_dropout": (month, {"as_of_date": day, "school_stage": "初中", "age": r.randrange(12, 16)}),
        "school_not_enrolled": (yearly, {"age": r.randrange(7, 16)}),
        "housing_unsafe": (month, {"appraisal_date": day, "grade": "C"}),
        "water_problem": (month, {"reported_on": day, "problem": "季节性缺水"}),
        "disaster_house_damage": (
            month,
            {"occurred_on": day, "disaster_type": "洪涝", "house_damage": "严重损坏", "loss_amount": amount},
        ),
        "disaster_loss": (
            month,
            {"occurred_on": day, "disaster_type": "冰雹", "loss_amount": amount, "threshold": 10000},
        ),
        "labourer_job_loss": (month, {"as_of_date": day, "status": "失业", "age": r.randrange(20, 56)}),
        "assistance_granted": (month, {"effective_date": day, "assistance_type": "临时救助", "amount": 2000}),
        "assistance_ended": (month, {"effective_date": day, "assistance_type": "低保", "status": "停保"}),
        "medical_not_enrolled": (yearly, {"year": year}),
    }
    return table[rule]


def loop_tables(
    raw: Any, rng: np.random.Generator, today: dt.date, year: int, n_h: int, state: np.ndarray, category: np.ndarray,
    escaped: np.ndarray, kind: np.ndarray, village_of: np.ndarray, village_code: np.ndarray, v_county_idx: np.ndarray,
    counties: list[str], member_start: np.ndarray, sizes: np.ndarray, attrs: dict[str, np.ndarray],
    household_of: np.ndarray, died: np.ndarray, no_labour: np.ndarray,
) -> dict[str, int]:  # fmt: skip
    """Monitoring records, cases, events, notices, measures, visits, runs and warnings."""
    from engine.screening import RULES_BY_ID
    from shouwang.monitoring import catalogue

    cats = catalogue.categories()
    cause_cats = catalogue.cause_categories()
    development = sorted(catalogue.development_categories())
    ts = lambda d: f"{d:%Y-%m-%d} 10:00:00+08"  # noqa: E731
    r = np.random.default_rng([7, n_h])  # whole arrays
    rr = random.Random(n_h)  # one value at a time (numpy's scalar draws cost microseconds)
    rows: dict[str, list[tuple]] = {t: [] for t in TABLES[3:]}
    vcode = lambda h: str(village_code[village_of[h]])  # noqa: E731
    # household signals for risk causes
    ill = np.bincount(household_of, weights=~died & (attrs["health"] > 0), minlength=n_h) > 0
    dis = np.bincount(household_of, weights=~died & attrs["disabled"], minlength=n_h) > 0
    study = np.bincount(household_of, weights=~died & np.isin(attrs["school"], (5, 6, 7, 8)), minlength=n_h) > 0
    signals = (ill, dis, study, no_labour)
    case_id = 0
    event_id = 0

    def new_case(h: int | None, village: str, kind_: str, source: str, step: str, discovered: dt.date, **f: Any) -> int:
        nonlocal case_id, event_id
        case_id += 1
        due = discovered + dt.timedelta(days=15)
        causes = json.dumps(f.get("causes", []), ensure_ascii=False)
        rows["monitoring_case"].append(
            (
                case_id, kind_, village, h + 1 if h is not None else None, source, f.get("returning", False), step,
                discovered, due, discovered + dt.timedelta(days=2) if step == "routing" else None,
                f.get("applicant", ""), "", "", "", f.get("reason", ""), f.get("category", ""), causes,
                f.get("method", ""), f.get("decided"), "", 1 + EVENTS_AT.get(step, 1), ts(discovered), ts(discovered),
            )
        )  # fmt: skip
        n_events = 1 if step == "routing" else EVENTS_AT.get(step, 1)
        day = discovered
        for i, (action, frm, to) in enumerate(TRAIL[:n_events]):
            event_id += 1
            if step == "routing" and i == 0:
                to = "routing"
            data = {"source": source} if action == "opened" else {}
            if action == "home_visit":
                data = {"visited_on": day.isoformat(), "authorisation": True}
            rows["monitoring_caseevent"].append(
                (
                    event_id,
                    case_id,
                    action,
                    frm,
                    to,
                    ts(min(day, today)),
                    "",
                    json.dumps(data, ensure_ascii=False),
                    "",
                    "",
                )
            )
            day += dt.timedelta(days=rr.randrange(1, 3))
        return case_id

    def causes_of(h: int) -> list[str]:
        out = [c for c, s in zip(CAUSES_BY_SIGNAL, signals, strict=True) if s[h]]
        if category[h] == 2:
            out.append(str(rr.choice(["因意外事故", "因自然灾害", "因病"])))
        if not out:
            out.append(str(rr.choice(FALLBACK_CAUSES)))
        return list(dict.fromkeys(out))[:5]

    # monitoring records (the roster), with approved cases for the past year's identifications
    recorded = np.flatnonzero(state > 0)
    first, last = dt.date(2021, 1, 1), add_months(today.replace(day=1), -1)
    span = (last.year - first.year) * 12 + last.month - first.month
    monitored_since: dict[int, dt.date] = {}
    category_names = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
    for h in recorded.tolist():
        identified = add_months(first, rr.randrange(0, span + 1))
        causes = causes_of(h)
        eliminated, method, ident_case, elim_case = None, "", None, None
        if state[h] == 2:
            eliminated = min(add_months(identified, rr.randrange(6, 31)), last)
            if eliminated < add_months(identified, 6):
                identified = add_months(eliminated, -6)
            method = "帮扶消除" if rr.random() < 0.85 else "自然消除"
        cat = category_names[category[h]]
        if (today - identified).days < 365:  # identified through the system: the whole trail
            ident_case = new_case(
                h, vcode(h), "identification", str(rr.choice(["warning", "cadre_visit", "self_in_person"])), "approved",
                identified - dt.timedelta(days=rr.randrange(8, 15)), causes=causes, category=cat, decided=identified,
            )  # fmt: skip
        if eliminated is not None and (today - eliminated).days < 365:
            elim_case = new_case(
                h, vcode(h), "elimination", "elimination_review", "approved",
                eliminated - dt.timedelta(days=rr.randrange(8, 15)), category=cat, method=method, decided=eliminated,
            )  # fmt: skip
        rows["monitoring_monitoringrecord"].append(
            (h + 1, identified, cat, json.dumps(causes, ensure_ascii=False), eliminated, method, elim_case, ident_case)
        )
        if state[h] == 1:
            monitored_since[h] = identified
        # the plan: measures answering the causes (now and then one short, for the plan checks)
        n_measures = 0 if rr.random() < 0.06 else rr.randrange(1, 5)
        wanted = [sorted(cause_cats.get(c, ())) for c in causes]
        chosen: list[str] = []
        for i in range(n_measures):
            pool_ = wanted[i] if i < len(wanted) and wanted[i] else development
            chosen.append(str(rr.choice(pool_)))
        for cat_name in chosen:
            sub = str(rr.choice(cats[cat_name].subtypes))
            starts = identified + dt.timedelta(days=rr.randrange(3, 40))
            done = state[h] == 2 or rr.random() < 0.4
            rows["monitoring_measure"].append(
                (
                    cat_name, sub, f"{sub}（{cat_name}）", "驻村工作队", min(starts, today),
                    min(starts + dt.timedelta(days=180), today) if done else None,
                    rr.randrange(0, 8) * 500, "completed" if done else "in_progress", "已见效" if done else "",
                    ts(min(starts, today)), ts(min(starts, today)), h + 1,
                )
            )  # fmt: skip
        # follow-up visits: monthly-ish since identification, the last one sometimes overdue
        if state[h] == 1:
            # monthly since identification; the last year's visits are kept
            visit = max(identified, today - dt.timedelta(days=365)) + dt.timedelta(days=rr.randrange(20, 40))
            horizon = today - dt.timedelta(days=int(rr.choice([5, 10, 20, 35, 50])))
            n_visits = 0
            while visit <= horizon and n_visits < 24:
                rows["monitoring_visit"].append(
                    (
                        visit,
                        "入户走访，了解收入和帮扶措施落实情况，未发现新的风险。",
                        False,
                        "[]",
                        "{}",
                        ts(visit),
                        h + 1,
                    )
                )
                visit += dt.timedelta(days=rr.randrange(25, 36))
                n_visits += 1
    # screening runs, one per county, and the warnings of the year
    run_of_county = {}
    for i, county in enumerate(counties, start=1):
        run_of_county[county] = i
        manifest = {"counts": {"households": 0}, "parameters": {}}
        rows["screening_screeningrun"].append(
            (
                i, county, year, "duckdb", "[]", "schedule", None, "[]", "succeeded", ts(today - dt.timedelta(days=2)),
                ts(today - dt.timedelta(days=2)), json.dumps(manifest), "{}", 0, 0, 0, 0, 0, 0, 0, 4.2, "",
            )
        )  # fmt: skip
    rules = list(RULE_WEIGHTS)
    rw = np.array([RULE_WEIGHTS[k] for k in rules], float)
    warned = np.flatnonzero(r.random(n_h) < 0.055 + 0.10 * (state == 1))
    warning_id = 0
    open_warning_of: dict[int, list[int]] = {}
    pcap_guess = 7000.0
    for h in warned.tolist():
        n_w = 1 if rr.random() < 0.8 else rr.randrange(2, 4)
        for rule in dict.fromkeys(rules[i] for i in rr.choices(range(len(rules)), weights=rw, k=n_w)):
            warning_id += 1
            period, evidence = evidence_for(rule, year, rr, pcap_guess)
            spec = RULES_BY_ID[rule]
            member = None
            if rule in MEMBER_RULES:
                member = int(member_start[h] + rr.randrange(int(sizes[h]))) + 1
            x = rr.random()
            status = (
                "converted"
                if state[h] == 1 and x < 0.5
                else ("open" if x < 0.62 else ("dismissed" if x < 0.88 else "lapsed"))
            )
            created = today - dt.timedelta(days=rr.randrange(0, 60))
            run = run_of_county[counties[v_county_idx[village_of[h]]]]
            dismissed = status == "dismissed"
            rows["screening_warning"].append(
                (
                    warning_id, h + 1, vcode(h), member, rule, period, str(spec.severity), str(spec.cause),
                    json.dumps(evidence, ensure_ascii=False), hashlib.sha256(f"{warning_id}".encode()).hexdigest(),
                    status, "", "经入户核实，情况已改善" if dismissed else "", None,
                    ts(created + dt.timedelta(days=5)) if dismissed else None,
                    run, run,
                    ts(created), ts(created),
                )
            )  # fmt: skip
            if status == "open":
                open_warning_of.setdefault(h, []).append(warning_id)
    # open cases: ~0.4 % of households, at every step, discovered over the last weeks
    step_names = [s for s, _ in OPEN_STEP_WEIGHTS]
    step_w = np.array([w for _, w in OPEN_STEP_WEIGHTS], float)
    candidates = np.flatnonzero((state != 1) & (r.random(n_h) < 0.004))
    with_warning = [h for h in open_warning_of if state[h] != 1]
    chosen_h = list(dict.fromkeys([*with_warning[: len(with_warning) // 3], *candidates.tolist()]))
    notice_cases: dict[tuple[str, str], list[tuple[int, dt.date]]] = {}
    for h in chosen_h:
        step = rr.choices(step_names, weights=step_w)[0]
        overdue = rr.random() < 0.25
        discovered = today - dt.timedelta(days=rr.randrange(16, 40) if overdue else rr.randrange(0, 13))
        source = (
            "warning" if h in open_warning_of else str(rr.choice(["cadre_visit", "self_in_person", "self_hotline"]))
        )
        if step == "routing":
            source = "self_online"
        cid = new_case(
            h, vcode(h), "identification", source, step, discovered, returning=bool(state[h] == 2),
            reason="家庭成员患病，医疗支出较大" if source != "warning" else "",
            category="" if step in ("verification", "routing") else category_names[1 if not escaped[h] else 0],
            causes=[] if step in ("verification", "routing") else causes_of(h),
        )  # fmt: skip
        if source == "warning":
            for wid in open_warning_of[h]:
                rows["monitoring_case_warnings"].append((cid, wid))
        if step == "notice":
            notice_cases.setdefault((vcode(h), "identification"), []).append((cid, discovered + dt.timedelta(days=5)))
    # elimination cases for some monitored households identified at least six months ago
    for h, since in monitored_since.items():
        if (today - since).days >= 183 and rr.random() < 0.04:
            step = rr.choices(step_names[:5], weights=step_w[:5])[0]
            discovered = today - dt.timedelta(days=rr.randrange(0, 30))
            cid = new_case(
                h, vcode(h), "elimination", "elimination_review", step, discovered, category=category_names[category[h]]
            )
            if step == "notice":
                notice_cases.setdefault((vcode(h), "elimination"), []).append((cid, discovered + dt.timedelta(days=5)))
    # dismissed cases (closed), a few
    for h in np.flatnonzero((state == 0) & (r.random(n_h) < 0.001)).tolist():
        new_case(
            h, vcode(h), "identification", "cadre_visit", "dismissed", today - dt.timedelta(days=rr.randrange(20, 300))
        )
    for notice_id, ((village, notice_kind), items) in enumerate(notice_cases.items(), start=1):
        starts = min(d for _, d in items)
        rows["monitoring_notice"].append(
            (notice_id, village, notice_kind, starts, starts + dt.timedelta(days=5), None, ts(starts))
        )
        for cid, _ in items:
            rows["monitoring_notice_cases"].append((notice_id, cid))
    columns = {
        "monitoring_case": (
            "id", "kind", "village_id", "household_id", "source", "returning", "step", "discovered_on", "due_on",
            "routing_due_on", "applicant_name", "applicant_id_hash", "applicant_id_encrypted",
            "applicant_phone_encrypted",
            "reason", "category", "risk_causes", "elimination_method", "decided_on", "closed_reason", "version",
            "created_at", "updated_at",
        ),
        "monitoring_caseevent": (
            "id", "case_id", "action", "from_step", "to_step", "at", "note", "data", "attachment", "attachment_name",
        ),
        "monitoring_case_warnings": ("case_id", "warning_id"),
        "monitoring_notice": ("id", "village_id", "kind", "starts_on", "ends_on", "closed_at", "created_at"),
        "monitoring_notice_cases": ("notice_id", "case_id"),
        "monitoring_monitoringrecord": (
            "household_id", "identified_on", "category", "risk_causes", "eliminated_on", "elimination_method",
            "elimination_case_id", "identification_case_id",
        ),
        "monitoring_measure": (
            "category", "subtype", "content", "responsible", "starts_on", "ends_on", "funds", "status", "effect",
            "created_at", "updated_at", "household_id",
        ),
        "monitoring_visit": (
            "visited_on", "findings", "new_risk", "new_risk_causes", "changes", "created_at", "household_id",
        ),
        "screening_screeningrun": (
            "id", "region_id", "year", "engine", "rules", "trigger", "households_screened", "feed_batches", "status",
            "started_at", "finished_at", "manifest", "skipped", "warnings_total", "warnings_new", "warnings_unchanged",
            "warnings_updated", "warnings_reopened", "warnings_suppressed", "warnings_lapsed", "seconds", "error",
        ),
        "screening_warning": (
            "id", "household_id", "village_id", "member_id", "rule_id", "period", "severity", "cause", "evidence",
            "evidence_hash", "status", "note", "dismissed_reason", "dismissed_by_id", "dismissed_at", "first_run_id",
            "last_run_id", "created_at", "updated_at",
        ),
    }  # fmt: skip
    out = {}
    for table in TABLES[3:]:
        data = rows[table]
        cols = columns[table]
        quoted = ", ".join(f'"{c}"' for c in cols)
        with raw.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in data:
                copy.write_row(row)
        out[table.split("_", 1)[1]] = len(data)
    # the runs' own totals, as a screening would have counted them
    raw.execute(
        """UPDATE screening_screeningrun r SET warnings_total = s.n, warnings_new = s.n,
           households_screened = NULL FROM (SELECT last_run_id, count(*) n FROM screening_warning GROUP BY 1) s
           WHERE s.last_run_id = r.id"""
    )
    return out


if __name__ == "__main__":
    main()
