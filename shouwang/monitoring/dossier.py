"""The household dossier (一户一档) as a PDF: everything the system knows of the household's
way through monitoring, in the order it happened, for the paper archive and for inspections.

The PDF embeds its CJK font (a subset of Noto Sans CJK SC shipped in data/fonts, of which
fpdf2 embeds only the glyphs used): the reader's machine may have none. ID numbers are
masked; the dossier is internal (内部资料) and each generation is audited by the view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from shouwang.monitoring.assistance import next_visit_due, plan_flags
from shouwang.monitoring.models import MonitoringRecord

FONT = Path(__file__).resolve().parents[2] / "data" / "fonts" / "NotoSansSC-Regular-subset.otf"
FAMILY = "noto-sc"


class Dossier(FPDF):
    def __init__(self, title: str, generated_by: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.title_text, self.generated_by = title, generated_by
        self.add_font(FAMILY, "", str(FONT))
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(15, 15, 15)
        self.set_title(title)
        self.set_creator("守望 Shouwang")

    def header(self) -> None:
        self.set_font(FAMILY, size=8)
        self.set_text_color(120)
        self.cell(0, 5, f"{self.title_text}　内部资料 注意保密", align="L")
        self.ln(7)
        self.set_text_color(0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.set_text_color(120)
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        self.cell(0, 5, f"{self.generated_by} 生成于 {stamp}　第 {self.page_no()}/{{nb}} 页", align="C")
        self.set_text_color(0)

    # -- building blocks -------------------------------------------------------------

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(FAMILY, size=12)
        self.set_fill_color(240, 242, 245)
        self.cell(0, 8, text, fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def pairs(self, rows: Sequence[tuple[str, Any]]) -> None:
        self.set_font(FAMILY, size=9.5)
        for label, value in rows:
            self.set_text_color(90)
            self.cell(34, 6, label)
            self.set_text_color(0)
            self.multi_cell(0, 6, _text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> None:
        self.set_font(FAMILY, size=8.5)
        if not rows:
            self.set_text_color(120)
            self.cell(0, 6, "（无）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(0)
            return
        with self.table(
            col_widths=tuple(widths),
            text_align="LEFT",
            line_height=5,
            headings_style=_headings(),
            first_row_as_headings=True,
        ) as table:
            header = table.row()
            for h in headers:
                header.cell(h)
            for r in rows:
                row = table.row()
                for v in r:
                    row.cell(_text(v))


def _headings() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(family=FAMILY, fill_color=(232, 235, 240))


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def build_dossier(household: Any, *, generated_by: str) -> bytes:
    from shouwang.screening.text import rule_title, summarize

    today = timezone.localdate()
    record = MonitoringRecord.objects.filter(household=household).first()
    pdf = Dossier(f"一户一档 · 户编号 {household.number}", generated_by)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(FAMILY, size=16)
    pdf.cell(0, 10, "防止返贫监测对象 一户一档", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    pdf.heading("一、家庭基本情况")
    head = household.head
    pdf.pairs(
        [
            ("户编号", household.number),
            ("所在村", household.village.name),
            ("户主", head.name if head else ""),
            (
                "户类型",
                household.household_type
                + (f"（{household.poverty_exit_year} 年脱贫）" if household.poverty_exit_year else ""),
            ),
            ("监测状态", household.monitoring_state),
            ("监测对象类别", household.monitoring_category),
            ("识别监测时间", record.identified_on if record else None),
            ("风险类型", "、".join(record.risk_causes) if record else ""),
            (
                "风险消除",
                f"{_text(record.eliminated_on)}（{record.elimination_method}）"
                if record and record.eliminated_on
                else "未消除",
            ),
            ("住房安全等级", household.housing_grade),
            ("饮水安全", "达标" if household.water_secure else "未达标"),
            ("整户无劳动能力", household.without_labour),
        ]
    )

    pdf.heading("二、家庭成员")
    pdf.grid(
        ("姓名", "与户主关系", "身份证号（脱敏）", "年龄", "健康状况", "劳动能力", "务工状况"),
        [
            (
                m.name,
                m.relationship,
                m.id_number_masked,
                m.age(today),
                m.health,
                m.labour_capacity,
                m.work_status,
            )
            for m in household.members.order_by("id")
        ],
        (20, 20, 38, 12, 30, 25, 35),
    )

    pdf.heading("三、年度收支")
    pdf.grid(
        ("年度", "家庭人口", "家庭纯收入（元）", "人均纯收入（元）", "医疗支出（元）", "教育支出（元）"),
        [
            (
                a.year,
                a.population,
                f"{a.net_income:,.2f}",
                f"{a.per_capita_net_income:,.2f}" if a.population else "—",
                f"{a.medical_expense:,.2f}",
                f"{a.education_expense:,.2f}",
            )
            for a in household.accounts.order_by("year")
        ],
        (18, 20, 36, 36, 35, 35),
    )

    pdf.heading("四、识别与风险消除程序")
    for case in household.cases.order_by("created_at"):
        pdf.set_font(FAMILY, size=10)
        line = (
            f"{case.get_kind_display()} #{case.pk} · {case.get_source_display()} · "
            f"发现 {_text(case.discovered_on)} · {case.get_step_display()}"
        )
        pdf.multi_cell(0, 6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.grid(
            ("时间", "经办人", "环节", "记录"),
            [
                (
                    e.at,
                    e.actor.username if e.actor else "系统",
                    e.get_to_step_display()
                    if e.from_step == e.to_step
                    else f"{e.get_from_step_display() or '—'} → {e.get_to_step_display()}",
                    f"{e.action_label}：{e.note}" if e.note else e.action_label,
                )
                for e in case.events.select_related("actor").order_by("at", "id")
            ],
            (30, 22, 38, 90),
        )
        pdf.ln(2)
    if not household.cases.exists():
        pdf.grid(("—",), [], (180,))

    pdf.heading("五、帮扶措施（一户一策）")
    pdf.grid(
        ("措施", "内容", "责任人", "期限", "资金（元）", "状态", "成效"),
        [
            (
                f"{m.category}·{m.subtype}",
                m.content,
                m.responsible,
                f"{_text(m.starts_on)}–{_text(m.ends_on) if m.ends_on else ''}",
                f"{m.funds:,.2f}",
                m.get_status_display(),
                m.effect,
            )
            for m in household.measures.order_by("starts_on", "id")
        ],
        (30, 45, 16, 30, 18, 14, 27),
    )
    flags = plan_flags(household, today)
    if flags:
        pdf.set_font(FAMILY, size=9)
        pdf.set_text_color(160, 40, 40)
        for flag in flags:
            pdf.multi_cell(0, 5, f"待落实：{flag.message}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0)

    pdf.heading("六、回访记录")
    pdf.grid(
        ("日期", "走访人", "情况", "新的风险"),
        [
            (v.visited_on, v.visitor.username if v.visitor else "", v.findings, "、".join(v.new_risk_causes))
            for v in household.visits.select_related("visitor").order_by("visited_on")
        ],
        (22, 20, 110, 28),
    )
    due = next_visit_due(household, today)
    if due:
        pdf.set_font(FAMILY, size=9)
        pdf.cell(0, 6, f"下次回访：{_text(due)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading("七、预警线索")
    pdf.grid(
        ("期间", "规则", "状态", "摘要"),
        [
            (w.period, rule_title(w.rule_id), w.get_status_display(), summarize(w.rule_id, w.period, w.evidence))
            for w in household.warnings.order_by("created_at")
        ],
        (16, 50, 18, 96),
    )
    return bytes(pdf.output())
