"""Write feed files the way departments send them: CSV in several encodings or XLSX, title
rows, blank rows, a totals row, mixed date and amount forms, and identity noise per row.

Every row written is tracked by its line (CSV) or sheet row (XLSX), 1-based, so the ground
truth can point at it. Output is byte-for-byte deterministic (XLSX timestamps are pinned).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from engine.schema import ColumnType, TableSchema
from engine.synth.names import homophone_typo
from engine.synth.population import Member

EXTRA_HEADERS = {
    "seq": "序号",
    "sex": "性别",
    "birth_date": "出生日期",
    "township": "乡镇（街道）",
    "village": "所在村",
    "village_name": "村名称",
    "hospital": "医疗机构名称",
    "remark": "备注",
}
DATE_STYLES = ("iso", "slash", "compact", "chinese", "dot")
AMOUNT_STYLES = ("plain", "comma", "yuan", "yen")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
EXCEL_EPOCH = dt.date(1899, 12, 30)
FIXED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)


def format_date(d: dt.date, style: str) -> str | int | dt.datetime:
    if style == "iso":
        return f"{d:%Y-%m-%d}"
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "compact":
        return f"{d:%Y%m%d}"
    if style == "chinese":
        return f"{d.year}年{d.month}月{d.day}日"
    if style == "dot":
        return f"{d:%Y.%m.%d}"
    if style == "serial":  # an Excel serial number in a plain number cell
        return (d - EXCEL_EPOCH).days
    if style == "datetime":  # a real Excel date cell
        return dt.datetime(d.year, d.month, d.day)
    raise ValueError(style)


def _plain(x: float) -> str:
    return str(round(x)) if abs(x - round(x)) < 0.005 else f"{x:.2f}"


def format_amount(x: float, style: str) -> str | float:
    if style == "plain":
        return _plain(x)
    if style == "comma":
        return f"{x:,.2f}"
    if style == "yuan":
        return _plain(x) + "元"
    if style == "yen":
        return "￥" + (f"{x:,.0f}" if abs(x - round(x)) < 0.005 else f"{x:,.2f}")
    if style == "number":
        return round(x, 2)
    raise ValueError(style)


@dataclass(slots=True)
class Record:
    """One row of a feed before formatting; values keyed by canonical column (or extra) name."""

    values: dict[str, object]
    person: Member | None = None
    id_number: str = ""  # the true ID (outsiders: a valid ID that is not in the registry)
    shocks: list[tuple[str, str]] = field(default_factory=list)  # (shock type, key figures)
    event_date: dt.date | None = None
    village_code: str = ""
    household_number: str = ""
    noise: str = ""  # a preset noise type, e.g. not_in_registry


@dataclass(frozen=True)
class FileSpec:
    kind: str
    filename: str
    columns: tuple[str, ...]  # canonical names of the schema and extras (see EXTRA_HEADERS)
    fmt: str = "csv"  # csv | xlsx
    encoding: str = "utf-8-sig"  # csv only: utf-8-sig, utf-8, gbk, gb18030
    headers: tuple[tuple[str, str], ...] = ()  # header overrides: (column, header text)
    titles: tuple[str, ...] = ()
    merge_title: bool = False  # xlsx: merge the title cells across the table width
    date_style: str = "iso"
    amount_style: str = "plain"
    mixed_share: float = 0.05  # share of cells written in another date/amount form
    blank_rows: int = 0
    totals: bool = False
    id_noise: float = 0.03
    name_noise: float = 0.015
    lower_x: float = 0.0  # share of X check digits written as lowercase x
    duplicate_rate: float = 0.002


@dataclass(slots=True)
class TruthRow:
    kind: str
    file: str
    line: int
    household_number: str
    person_key: str
    village_code: str
    shock_type: str
    event_date: str
    figures: str


@dataclass(slots=True)
class NoiseRow:
    kind: str
    file: str
    line: int
    person_key: str
    noise_type: str


@dataclass(slots=True)
class Written:
    spec: FileSpec
    data_rows: int
    lines: int
    encoding: str
    shocks: list[TruthRow]
    noise: list[NoiseRow]
    pending: Future[None] | None = None
    job: tuple[Path, list[list[object]], FileSpec, int] | None = None  # to redo in-process if the worker died

    def wait(self) -> None:
        """Wait for a file written by another process; write it here if that process failed."""
        if self.pending is None or self.job is None:
            return
        try:
            self.pending.result()
        except BrokenProcessPool:
            write_xlsx(*self.job)
        self.pending = self.job = None


def noisy_id(true_id: str, rng: random.Random, spec: FileSpec) -> tuple[str, str]:
    """The ID as written and the noise type applied ("" for none)."""
    if not true_id:
        return "", ""
    if rng.random() < spec.id_noise:
        kind = rng.choice(("id_missing", "id_check_digit", "id_15_digit", "id_full_width", "id_spaces"))
        if kind == "id_missing":
            return "", kind
        if kind == "id_check_digit":
            wrong = rng.choice([c for c in "0123456789X" if c != true_id[-1]])
            return true_id[:-1] + wrong, kind
        if kind == "id_15_digit" and true_id[6:8] == "19":
            return true_id[:6] + true_id[8:17], kind
        if kind == "id_full_width":
            return true_id.translate(FULL_WIDTH), kind
        if kind == "id_spaces":
            return " " + true_id + " ", kind
    if true_id.endswith("X") and spec.lower_x and rng.random() < spec.lower_x:
        return true_id[:-1] + "x", "id_lowercase_x"
    return true_id, ""


def noisy_name(name: str, rng: random.Random, spec: FileSpec) -> tuple[str, str]:
    if name and rng.random() < spec.name_noise:
        if rng.random() < 0.8:
            typo = homophone_typo(name, rng)
            if typo:
                return typo, "name_homophone"
        return name[0] + " " + name[1:], "name_whitespace"
    return name, ""


class FeedWriter:
    """Formats records for one file spec and writes the file under `directory`."""

    def __init__(self, schema: TableSchema, spec: FileSpec, rng: random.Random) -> None:
        self.schema = schema
        self.spec = spec
        self.rng = rng
        overrides = dict(spec.headers)
        self.header = [overrides.get(c) or EXTRA_HEADERS.get(c) or schema.column(c).label for c in spec.columns]
        self.types = {c.name: c.type for c in schema.columns}
        self.xlsx = spec.fmt == "xlsx"

    def _formatter(self, column: str) -> Callable[[object], object]:
        t = self.types.get(column)
        empty = None if self.xlsx else ""
        if t == ColumnType.AMOUNT:
            return lambda v: empty if v is None or v == "" else self._amount(v)
        if t == ColumnType.DATE or column == "birth_date":
            return lambda v: empty if v is None or v == "" else self._date(v)
        if self.xlsx:
            return lambda v: None if v is None or v == "" else (v if isinstance(v, int) else str(v))
        return lambda v: "" if v is None else str(v)

    def _date(self, value: object) -> object:
        if not isinstance(value, dt.date):
            return str(value)
        style = self.spec.date_style
        if self.rng.random() < self.spec.mixed_share:
            style = self.rng.choice(DATE_STYLES)
        return format_date(value, style)

    def _amount(self, value: object) -> object:
        if not isinstance(value, (int, float)):
            return str(value)
        style = self.spec.amount_style
        if self.rng.random() < self.spec.mixed_share:
            style = self.rng.choice(AMOUNT_STYLES)
        return format_amount(float(value), style)

    def render(self, records: list[Record]) -> tuple[list[list[object]], list[TruthRow], list[NoiseRow], int]:
        spec, rng = self.spec, self.rng
        rows: list[list[object]] = []
        shocks: list[TruthRow] = []
        noise: list[NoiseRow] = []
        width = len(spec.columns)
        empty = None if self.xlsx else ""
        for title in spec.titles:
            rows.append([title] + [empty] * (width - 1))
            noise.append(NoiseRow(spec.kind, spec.filename, len(rows), "", "title_row"))
        rows.append(list(self.header))
        blank_at = sorted(rng.sample(range(max(1, len(records))), min(spec.blank_rows, len(records))))
        late_duplicates: list[tuple[list[object], str]] = []
        amount_columns = [c for c in spec.columns if self.types.get(c) == ColumnType.AMOUNT]
        sums = dict.fromkeys(amount_columns, 0.0)
        plan = [(i, c, self._formatter(c)) for i, c in enumerate(spec.columns)]
        seq_at = [i for i, c, _ in plan if c == "seq"]
        id_at = [i for i, c, _ in plan if c == "id_number"]
        name_at = [i for i, c, _ in plan if c == "name"]
        special = ("seq", "id_number", "name")
        typed = (ColumnType.AMOUNT, ColumnType.DATE)
        # plain text columns of a CSV are written as they are (the bulk of the cells: no call)
        text_plan = [
            (i, c)
            for i, c, _ in plan
            if not self.xlsx and c not in special and c != "birth_date" and self.types.get(c) not in typed
        ]
        fmt_plan = [(i, c, f) for i, c, f in plan if c not in special and (i, c) not in text_plan]
        for n, rec in enumerate(records, start=1):
            while blank_at and blank_at[0] < n:
                blank_at.pop(0)
                rows.append([None] * width if self.xlsx else [])
                noise.append(NoiseRow(spec.kind, spec.filename, len(rows), "", "blank_row"))
            key = rec.person.key if rec.person else ""
            kinds: list[str] = [rec.noise] if rec.noise else []
            values = rec.values
            row: list[object] = [empty] * width
            for i, c in text_plan:
                v = values.get(c)
                if v is not None:
                    row[i] = v if type(v) is str else str(v)
            for i, c, f in fmt_plan:
                row[i] = f(values.get(c))
            for i in seq_at:
                row[i] = n if self.xlsx else str(n)
            for i in id_at:
                text, k = noisy_id(rec.id_number, rng, spec)
                if k:
                    kinds.append(k)
                row[i] = text or empty
            for i in name_at:
                text, k = noisy_name(str(values.get("name", "")), rng, spec)
                if k:
                    kinds.append(k)
                row[i] = text
            for c in amount_columns:
                v = values.get(c)
                if isinstance(v, (int, float)):
                    sums[c] += v
            rows.append(row)
            line = len(rows)
            for k in kinds:
                noise.append(NoiseRow(spec.kind, spec.filename, line, key, k))
            for shock_type, figures in rec.shocks:
                hh = rec.person.household if rec.person else None
                shocks.append(
                    TruthRow(
                        kind=spec.kind,
                        file=spec.filename,
                        line=line,
                        household_number=rec.household_number or (hh.number if hh else ""),
                        person_key=key,
                        village_code=rec.village_code or (hh.village.code if hh else ""),
                        shock_type=shock_type,
                        event_date=rec.event_date.isoformat() if rec.event_date else "",
                        figures=figures,
                    )
                )
            if spec.duplicate_rate and rng.random() < spec.duplicate_rate:
                if rng.random() < 0.5:
                    rows.append(list(row))
                    noise.append(NoiseRow(spec.kind, spec.filename, len(rows), key, "duplicate_row"))
                else:
                    late_duplicates.append((list(row), key))
        for row, key in late_duplicates:
            rows.append(row)
            noise.append(NoiseRow(spec.kind, spec.filename, len(rows), key, "duplicate_row"))
        if spec.totals:
            total: list[object] = [empty] * width
            total[0] = "合计"
            for c in amount_columns:
                total[spec.columns.index(c)] = round(sums[c], 2) if self.xlsx else f"{sums[c]:.2f}"
            rows.append(total)
            noise.append(NoiseRow(spec.kind, spec.filename, len(rows), "", "totals_row"))
        return rows, shocks, noise, len(records)

    def write(self, records: list[Record], directory: Path, executor: Executor | None = None) -> Written:
        """Render and write the file; XLSX goes to `executor` when given (openpyxl is the slow part)."""
        rows, shocks, noise, n = self.render(records)
        path = directory / self.spec.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        encoding = self.spec.encoding
        future = None
        job = None
        if self.xlsx:
            job = (path, rows, self.spec, len(self.spec.columns))
            future = None
            if executor is not None:
                try:
                    future = executor.submit(write_xlsx, *job)
                except BrokenProcessPool:
                    future = None
            if future is None:
                write_xlsx(*job)
                job = None
            encoding = "xlsx"
        else:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\r\n")
            writer.writerows(rows)
            text = buf.getvalue()
            try:
                data = text.encode(encoding)
            except UnicodeEncodeError:  # a rare character outside GBK
                encoding = "gb18030"
                data = text.encode(encoding)
            path.write_bytes(data)
        return Written(self.spec, n, len(rows), encoding, shocks, noise, future, job)


def write_xlsx(path: Path, rows: list[list[object]], spec: FileSpec, width: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=not spec.merge_title)
    fixed = dt.datetime(2025, 1, 1)
    wb.properties.created = fixed
    wb.properties.creator = "shouwang-synth"
    if spec.merge_title:
        ws = wb.active
        ws.title = "Sheet1"
        for row in rows:
            ws.append(row)
        for i in range(1, len(spec.titles) + 1):
            ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
    else:
        ws = wb.create_sheet("Sheet1")
        for row in rows:
            ws.append(row)
    wb.save(path)
    pin_zip(path)


_MODIFIED = re.compile(rb"<dcterms:modified([^>]*)>[^<]*</dcterms:modified>")


def pin_zip(path: Path) -> None:
    """Rewrite a zip (XLSX) with fixed timestamps so the same input gives the same bytes."""
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _MODIFIED.sub(rb"<dcterms:modified\1>2025-01-01T00:00:00Z</dcterms:modified>", data)
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, data)
