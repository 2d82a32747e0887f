"""XLSX exports of the monitoring loop (导出): monitored households, warnings, measures, visits.

Counties send these lists upward and to departments, so they are what a county would fill by
hand: Chinese headers, one row per item, dates as dates and money as numbers. Every export is
limited to the user's area like the pages, shows ID numbers masked, and is audited; a text
cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is written as text.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from engine.validate import neutralise
from shouwang.accounts.roles import Capability
from shouwang.monitoring.assistance import next_visit_due
from shouwang.monitoring.models import Measure, MonitoringRecord, Visit

Row = tuple[Any, ...]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float | Decimal | dt.date):
        return value
    return neutralise(value)


def workbook(title: str, headers: tuple[str, ...], rows: Iterable[Row], widths: tuple[int, ...] = ()) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for i, width in enumerate(widths or (14,) * len(headers)):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for name in headers:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        out = []
        for value in row:
            v = _cell(value)
            if isinstance(v, dt.date):
                cell = WriteOnlyCell(sheet, value=v)
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(v)
        sheet.append(out)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _head(household: Any) -> Any:
    return household.head


HOUSEHOLD_HEADERS = (
    "户编号",
    "所在村",
    "户主姓名",
    "户主身份证号（脱敏）",
    "家庭人口",
    "户类型",
    "监测状态",
    "监测对象类别",
    "识别监测时间",
    "风险类型",
    "风险消除时间",
    "风险消除方式",
    "帮扶措施数",
    "下次回访",
)


def monitored_households(user: Any) -> Iterator[Row]:
    from shouwang.registry.models import Household

    qs = (
        Household.objects.restrict(user, Capability.VIEW_REGISTRY)
        .filter(monitoring_state__in=("监测中", "风险已消除"))
        .select_related("village")
        .prefetch_related("members", "measures")
        .order_by("village_id", "number")
    )
    records = {r.household_id: r for r in MonitoringRecord.objects.restrict(user)}
    for h in qs.iterator(chunk_size=500):
        head = _head(h)
        record = records.get(h.pk)
        yield (
            h.number,
            h.village.name,
            head.name if head else "",
            head.id_number_masked if head else "",
            len(h.living_members()),
            h.household_type,
            h.monitoring_state,
            h.monitoring_category,
            record.identified_on if record else None,
            "、".join(record.risk_causes) if record else "",
            record.eliminated_on if record else None,
            record.elimination_method if record else "",
            sum(1 for m in h.measures.all() if m.active),
            next_visit_due(h),
        )


WARNING_HEADERS = (
    "户编号",
    "所在村",
    "规则",
    "期间",
    "预警等级",
    "风险类型",
    "状态",
    "证据摘要",
    "首次发现",
    "排除理由",
)


def warnings(user: Any) -> Iterator[Row]:
    from shouwang.screening.models import Warning
    from shouwang.screening.text import rule_title, summarize

    qs = (
        Warning.objects.restrict(user, Capability.VIEW_REGISTRY)
        .select_related("household__village")
        .order_by("household__village_id", "household__number", "rule_id", "period")
    )
    for w in qs.iterator(chunk_size=1000):
        yield (
            w.household.number,
            w.household.village.name,
            rule_title(w.rule_id),
            w.period,
            w.get_severity_display(),
            w.cause,
            w.get_status_display(),
            summarize(w.rule_id, w.period, w.evidence),
            w.created_at.date(),
            w.dismissed_reason,
        )


MEASURE_HEADERS = (
    "户编号",
    "所在村",
    "措施类别",
    "具体措施",
    "措施内容",
    "责任人",
    "开始日期",
    "结束日期",
    "投入资金（元）",
    "状态",
    "帮扶成效",
)


def measures(user: Any) -> Iterator[Row]:
    qs = Measure.objects.restrict(user).select_related("household__village").order_by("household__number", "starts_on")
    for m in qs.iterator(chunk_size=1000):
        yield (
            m.household.number,
            m.household.village.name,
            m.category,
            m.subtype,
            m.content,
            m.responsible,
            m.starts_on,
            m.ends_on,
            m.funds,
            m.get_status_display(),
            m.effect,
        )


VISIT_HEADERS = ("户编号", "所在村", "走访日期", "走访人", "走访情况", "发现新的风险", "新的风险类型")


def visits(user: Any) -> Iterator[Row]:
    qs = Visit.objects.restrict(user).select_related("household__village", "visitor").order_by("-visited_on")
    for v in qs.iterator(chunk_size=1000):
        yield (
            v.household.number,
            v.household.village.name,
            v.visited_on,
            v.visitor.get_full_name() or v.visitor.username if v.visitor else "",
            v.findings,
            v.new_risk,
            "、".join(v.new_risk_causes),
        )


EXPORTS = {
    "households": (
        "监测对象",
        HOUSEHOLD_HEADERS,
        monitored_households,
        (14, 18, 10, 22, 9, 10, 10, 14, 12, 24, 12, 10, 10, 12),
    ),
    "warnings": ("预警线索", WARNING_HEADERS, warnings, (14, 18, 32, 9, 8, 14, 8, 60, 12, 30)),
    "measures": ("帮扶措施", MEASURE_HEADERS, measures, (14, 18, 12, 18, 40, 10, 12, 12, 12, 8, 30)),
    "visits": ("回访记录", VISIT_HEADERS, visits, (14, 18, 12, 10, 60, 10, 20)),
}
