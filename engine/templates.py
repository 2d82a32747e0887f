"""Downloadable XLSX templates, built from a `TableSchema` declaration (registry and feeds).

Plain Python, no Django: the registry import page and the feed exchange both serve the file
this builds, so a column declared once appears the same way in every template.
"""

from __future__ import annotations

import io

from engine.schema import ColumnType, TableSchema
from engine.validate import neutralise

TYPE_NAMES = {
    ColumnType.TEXT: "文本",
    ColumnType.ID_NUMBER: "身份证号（18位，15位自动升级）",
    ColumnType.DIVISION: "区划代码",
    ColumnType.DATE: "日期（如 2025-05-01）",
    ColumnType.MONTH: "月份（如 2025-05）",
    ColumnType.YEAR: "年份",
    ColumnType.AMOUNT: "金额（元）",
    ColumnType.INTEGER: "整数",
    ColumnType.BOOLEAN: "是/否",
    ColumnType.CODE: "代码",
    ColumnType.CODES: "代码，可填多个（用顿号“、”分隔）",
}


def build_template_xlsx(schema: TableSchema) -> bytes:
    """The import template of a schema, built from its one declaration: Chinese headers (red
    for required columns, with the help text as a comment), an example row, drop-down lists
    of the code lists, text-formatted ID and code columns, and a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = schema.label[:31]
    lists = book.create_sheet("代码表")
    notes = book.create_sheet("填写说明")
    required_fill = PatternFill("solid", fgColor="FCE4D6")
    sheet.append([c.label for c in schema.columns])
    sheet.append([neutralise(c.example) for c in schema.columns])
    list_col = 0
    for i, column in enumerate(schema.columns, 1):
        letter = get_column_letter(i)
        head = sheet.cell(row=1, column=i)
        head.font = Font(bold=True, color="C00000" if column.required else "000000")
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if column.required:
            head.fill = required_fill
        if column.help:
            head.comment = Comment(column.help, "守望")
        sheet.column_dimensions[letter].width = max(10, min(24, len(column.label) * 2 + 4))
        # Text columns keep leading zeros and all 18 digits of an ID number.
        if column.type in (ColumnType.TEXT, ColumnType.ID_NUMBER, ColumnType.DIVISION):
            for row in range(2, 1002):
                sheet.cell(row=row, column=i).number_format = "@"
        if column.choices:
            list_col += 1
            list_letter = get_column_letter(list_col)
            lists.cell(row=1, column=list_col, value=column.label)
            for r, choice in enumerate(column.choices, 2):
                lists.cell(row=r, column=list_col, value=choice)
            ref = f"'代码表'!${list_letter}$2:${list_letter}${len(column.choices) + 1}"
            validation = DataValidation(
                type="list",
                formula1=ref,
                allow_blank=not column.required,
                # The list offers single values; a combination (长期慢性病、残疾) must be typeable.
                showErrorMessage=column.type is not ColumnType.CODES,
                errorTitle="不在代码表中",
                error=f"请从下拉列表中选择{column.label}",
            )
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}100000")
    sheet.freeze_panes = "A2"
    notes.append(["列名", "英文名", "类型", "必填", "可选值", "说明", "示例"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in schema.columns:
        notes.append(
            [
                column.label,
                column.name,
                TYPE_NAMES[column.type],
                "是" if column.required else "",
                "、".join(column.choices),
                column.help,
                neutralise(column.example),
            ]
        )
    notes.append([])
    notes.append([schema.description])
    notes.append(["红色列名为必填列；第二行为示例，导入前请删除。身份证号、户编号、村代码请以文本格式填写。"])
    for letter, width in zip("ABCDEFG", (22, 22, 26, 6, 60, 40, 20), strict=True):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
