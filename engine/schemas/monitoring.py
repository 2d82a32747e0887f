"""The monitoring roster (监测对象台账): the households already in monitoring, as a county
keeps them in the national system's export or its own spreadsheet.

A county starting with Shouwang has years of identifications behind it: this file brings
each household's 识别监测时间, category and risk causes (and, for a household whose risk was
eliminated, when and how) so that deadlines, plan checks and the elimination checklist work
from the first day. The household must already be in the registry (by 户编号). The code lists
are those of the national system (policy.md §2, §5.1, §6); the Django app uses the same.
"""

from __future__ import annotations

from engine.schema import Column, TableSchema
from engine.schema import ColumnType as T

CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
RISK_CAUSES = (
    "因病",
    "因残",
    "因学",
    "因自然灾害",
    "因意外事故",
    "因产业项目失败",
    "因务工就业不稳",
    "缺劳动力",
    "住房出现安全问题",
    "义务教育阶段失学辍学",
    "饮水安全问题",
    "未参加基本医疗保险",
    "其他",
)
MAX_RISK_CAUSES = 5
ELIMINATION_METHODS = ("帮扶消除", "自然消除")

MONITORING_RECORDS = TableSchema(
    kind="monitoring_records",
    label="监测对象台账",
    key=("household_number",),
    description="每行一户：已纳入监测（或已消除风险）的农户。户编号须已在户籍库中。",
    columns=(
        Column("household_number", "户编号", required=True, aliases=("户号", "户码"), example="522630000001"),
        Column("category", "监测对象类别", T.CODE, required=True, choices=CATEGORIES, aliases=("监测对象类型",)),
        Column(
            "identified_on",
            "识别监测时间",
            T.MONTH,
            required=True,
            aliases=("纳入监测时间", "识别时间"),
            help="年月，如 2024-03 或 202403",
            example="2024-03",
        ),
        Column(
            "risk_causes",
            "风险类型",
            T.CODES,
            required=True,
            choices=RISK_CAUSES,
            aliases=("致贫返贫风险", "返贫致贫风险", "风险类别"),
            help=f"可填多项（最多 {MAX_RISK_CAUSES} 项），用顿号分隔，如“因病、缺劳动力”",
            example="因病",
        ),
        Column(
            "eliminated_on",
            "风险消除时间",
            T.MONTH,
            aliases=("消除监测时间", "消除时间"),
            help="已消除风险的填写年月；仍在监测中的留空",
        ),
        Column("elimination_method", "风险消除方式", T.CODE, choices=ELIMINATION_METHODS, aliases=("消除方式",)),
    ),
)
