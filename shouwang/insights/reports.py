"""Statistical report tables (统计报表), monthly and quarterly, as counties send them upward.

Fixed layouts: a title, the reporting region and period, a header, then the region's total
row, and for each region one level below a subtotal row followed by its own parts (a
county's report: the county, then each township and its villages). Three tables, one sheet
each:

- 表1 监测对象情况: households and people, 脱贫户, monitored households at the end of the
  period by category, identified and eliminated in the period, eliminated to date, visits in
  the period, open warnings and overdue items now;
- 表2 风险类型: monitored households by risk cause;
- 表3 帮扶措施: measures by category.

Period figures come from the month histograms (`identified`, `eliminated`, `visits`); the
households in monitoring at the end of a period are those identified by then and not yet
eliminated, from the same histograms. Figures without dates (households, causes, measures,
warnings) are as of the day the report is built, and the header says so. Cells hold numbers,
not formulas, so a total reads the same in Excel, LibreOffice and a machine.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from shouwang.insights.exports import suppress
from shouwang.insights.figures import ELIMINATED, MONITORED, POVERTY_ESCAPED, Figures
from shouwang.insights.refresh import refresh_stale
from shouwang.jobs.models import Job
from shouwang.jobs.runner import Report, job_handler
from shouwang.monitoring import catalogue
from shouwang.monitoring.models import Category, RiskCause
from shouwang.regions.models import Level, Region

PERIOD = re.compile(r"^(?P<year>20\d\d)-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4]))$")


class ReportError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    label: str  # 2025-06 or 2025-Q2
    months: tuple[str, ...]  # the months it covers, YYYY-MM

    @property
    def end(self) -> str:
        return self.months[-1]

    @property
    def kind(self) -> str:
        return "quarter" if "Q" in self.label else "month"

    @property
    def title(self) -> str:
        year = self.label[:4]
        if self.kind == "quarter":
            return f"{year}年第{self.label[-1]}季度"
        return f"{year}年{int(self.label[5:])}月"


def parse_period(text: str) -> Period:
    m = PERIOD.match(text.strip())
    if not m:
        raise ReportError(f"报告期“{text}”无法识别：月报写 2025-06，季报写 2025-Q2")
    year = int(m["year"])
    if m["quarter"]:
        q = int(m["quarter"])
        months = tuple(f"{year}-{month:02d}" for month in range(3 * q - 2, 3 * q + 1))
    else:
        months = (f"{year}-{m['month']}",)
    return Period(text.strip(), months)


def default_period(kind: str, today: dt.date) -> str:
    """The last complete month or quarter: what a report due now covers."""
    if kind == "quarter":
        q = (today.month - 1) // 3  # the quarter before the current one
        return f"{today.year - 1}-Q4" if q == 0 else f"{today.year}-Q{q}"
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


# -- The tables' columns --------------------------------------------------------------------

Column = tuple[str, Callable[[Figures, Period], int]]


def _in_period(f: Figures, metric: str, period: Period, **where: str) -> int:
    return sum(f.total(metric, p0=m, **where) for m in period.months)


def _to_end(f: Figures, metric: str, period: Period, **where: str) -> int:
    return sum(v for parts, v in f.parts(metric) if parts[0] <= period.end and _match(parts, where))


def _match(parts: list[str], where: dict[str, str]) -> bool:
    return all(int(k[1:]) < len(parts) and parts[int(k[1:])] == v for k, v in where.items())


def monitored_at_end(f: Figures, period: Period, category: str | None = None) -> int:
    where = {"p1": category} if category else {}
    return _to_end(f, "identified", period, **where) - _to_end(f, "eliminated", period, **where)


def _overdue(f: Figures, _p: Period) -> int:
    return f.total("cases", p2="red") + f.total("untaken", p0="red") + f.total("visits_due", p0="red")


def _monitored_in(category: str) -> Callable[[Figures, Period], int]:
    return lambda f, p: monitored_at_end(f, p, category)


def _with_cause(cause: str) -> Callable[[Figures, Period], int]:
    return lambda f, p: f.data.get("causes", {}).get(cause, 0)


def _measures_of(category: str) -> Callable[[Figures, Period], int]:
    return lambda f, p: f.total("measures", p0=category)


TABLE1: list[Column] = [
    ("农户数（户）", lambda f, p: f.total("households")),
    ("农户人口（人）", lambda f, p: f.total("members")),
    ("脱贫户数（户）", lambda f, p: f.total("households", p0=POVERTY_ESCAPED)),
    ("期末监测户合计（户）", lambda f, p: monitored_at_end(f, p)),
    *((f"其中：{cat}" if i == 0 else cat, _monitored_in(cat)) for i, cat in enumerate(Category.values)),
    ("当前监测中（户）", lambda f, p: f.total("households", p1=MONITORED)),
    ("本期新识别（户）", lambda f, p: _in_period(f, "identified", p)),
    ("本期风险消除（户）", lambda f, p: _in_period(f, "eliminated", p)),
    ("期末累计风险消除（户）", lambda f, p: _to_end(f, "eliminated", p)),
    ("当前风险已消除（户）", lambda f, p: f.total("households", p1=ELIMINATED)),
    ("本期回访（次）", lambda f, p: _in_period(f, "visits", p)),
    ("待核实预警线索（条）", lambda f, p: f.total("untaken")),
    ("超期事项（件）", _overdue),
]
TABLE2: list[Column] = [("监测户合计（户）", lambda f, p: f.total("households", p1=MONITORED))] + [
    (cause, _with_cause(cause)) for cause in RiskCause.values
]


def _measure_columns() -> list[Column]:
    cols: list[Column] = [("措施合计（项）", lambda f, p: f.total("measures"))]
    for name in catalogue.categories():
        cols.append((name, _measures_of(name)))
    cols.append(("投入资金（元）", lambda f, p: sum(f.data.get("measure_funds", {}).values())))
    return cols


@dataclass(frozen=True)
class Table:
    sheet: str
    title: str
    columns: list[Column]
    as_of_note: str


def tables() -> list[Table]:
    return [
        Table("表1 监测对象", "防止返贫监测对象情况统计表", TABLE1, "“当前”各列及农户、脱贫户、预警、超期为制表日数据"),
        Table("表2 风险类型", "监测户风险类型统计表", TABLE2, "制表日在监测的户；一户可有多项风险类型"),
        Table("表3 帮扶措施", "帮扶措施统计表", _measure_columns(), "制表日登记的全部措施"),
    ]


# -- Rows -------------------------------------------------------------------------------------


@dataclass
class Line:
    kind: str  # total / subtotal / detail
    region: Region


def report_lines(region: Region) -> list[Line]:
    """The region's total, then each child as a subtotal followed by its own children."""
    lines = [Line("total", region)]
    if region.level >= Level.VILLAGE:
        return lines
    children = list(Region.objects.filter(parent=region).order_by("code"))
    if region.level >= Level.TOWNSHIP:
        return lines + [Line("detail", c) for c in children]
    grandchildren: dict[str, list[Region]] = {}
    for g in Region.objects.filter(parent__in=children).order_by("code"):
        grandchildren.setdefault(g.parent_id or "", []).append(g)
    for child in children:
        lines.append(Line("subtotal", child))
        lines.extend(Line("detail", g) for g in grandchildren.get(child.code, []))
    return lines


def report_figures(lines: Sequence[Line], progress: Callable[[int, int], None] | None = None) -> dict[str, Figures]:
    codes = [line.region.code for line in lines]
    out: dict[str, Figures] = {}
    step = 500
    for i in range(0, len(codes), step):
        chunk = codes[i : i + step]
        out.update(Figures.of_many(chunk, METRICS_USED))
        if progress:
            progress(min(i + step, len(codes)), len(codes))
    return out


METRICS_USED = (
    "households",
    "members",
    "identified",
    "eliminated",
    "visits",
    "untaken",
    "cases",
    "visits_due",
    "causes",
    "measures",
    "measure_funds",
)


# -- Writing ----------------------------------------------------------------------------------

THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FILLS = {"total": PatternFill("solid", fgColor="FCE4D6"), "subtotal": PatternFill("solid", fgColor="EDEDED")}


def _value(v: int, public: bool) -> int | str:
    return suppress(v) if public else v


def build_workbook(
    region: Region, period: Period, lines: Sequence[Line], figs: dict[str, Figures], *, public: bool, made: dt.datetime
) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables():
        sheet = book.create_sheet(table.sheet)
        width = 2 + len(table.columns)
        sheet.cell(1, 1, f"{region.name}{table.title}（{period.title}）").font = Font(bold=True, size=14)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        sheet.cell(1, 1).alignment = Alignment(horizontal="center")
        sheet.cell(2, 1, f"填报单位：{region.full_name}    报告期：{period.label}    制表日期：{made:%Y-%m-%d}")
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
        headers = ["区划代码", "区划名称", *(name for name, _fn in table.columns)]
        for j, name in enumerate(headers, start=1):
            cell = sheet.cell(3, j, name)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
            cell.border = BORDER
        sheet.row_dimensions[3].height = 42
        row = 4
        for line in lines:
            f = figs[line.region.code]
            name = line.region.name if line.kind == "detail" else f"{line.region.name}（{_KIND[line.kind]}）"
            values: list[Any] = [line.region.code, name, *(_value(fn(f, period), public) for _n, fn in table.columns)]
            for j, v in enumerate(values, start=1):
                cell = sheet.cell(row, j, v)
                cell.border = BORDER
                if line.kind in FILLS:
                    cell.fill = FILLS[line.kind]
                    cell.font = Font(bold=True)
            row += 1
        note = f"说明：{table.as_of_note}。"
        if public:
            note += "1 至 4 的数以“<5”表示。"
        sheet.cell(row + 1, 1, note)
        sheet.column_dimensions["A"].width = 15
        sheet.column_dimensions["B"].width = 22
        for j in range(3, width + 1):
            sheet.column_dimensions[sheet.cell(3, j).column_letter].width = 11
        sheet.freeze_panes = "C4"
        sheet.print_title_rows = "3:3"
        sheet.page_setup.orientation = "landscape"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_KIND = {"total": "合计", "subtotal": "小计"}


def build_csv(period: Period, lines: Sequence[Line], figs: dict[str, Figures], *, public: bool) -> bytes:
    """One row per region and table, long and flat: period, table, row kind, code, name, and
    one column per figure, for machines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for table in tables():
        writer.writerow(["period", "table", "row_kind", "region_code", "region_name", *(n for n, _f in table.columns)])
        for line in lines:
            f = figs[line.region.code]
            writer.writerow(
                [
                    period.label,
                    table.sheet,
                    line.kind,
                    line.region.code,
                    line.region.name,
                    *(_value(fn(f, period), public) for _n, fn in table.columns),
                ]
            )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def report_dir() -> Path:
    path = Path(settings.DATA_DIR) / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_path(job: Job, fmt: str) -> Path:
    return report_dir() / f"report-{job.pk}.{fmt}"


@job_handler("insights.report")
def run_report(job: Job, report: Report) -> dict[str, Any]:
    period = parse_period(job.params["period"])
    public = bool(job.params.get("public"))
    region = Region.objects.get(code=job.params.get("region") or job.region_id)
    report(0, 3, "更新统计数据")
    refresh_stale()  # what changed since the last refresh is in the report too
    report(0, 3, "列出区划")
    lines = report_lines(region)
    figs = report_figures(lines, lambda done, total: report(done, total + 2, "读取统计数据"))
    made = timezone.localtime()
    n = len(lines)
    report(n, n + 2, "生成 XLSX")
    report_path(job, "xlsx").write_bytes(build_workbook(region, period, lines, figs, public=public, made=made))
    report(n + 1, n + 2, "生成 CSV")
    report_path(job, "csv").write_bytes(build_csv(period, lines, figs, public=public))
    report(n + 2, n + 2, "完成")
    return {"period": period.label, "region": region.code, "rows": n, "public": public}
