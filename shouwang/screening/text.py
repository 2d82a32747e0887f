"""Chinese wording of warnings: evidence summaries, labels of evidence fields and parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.schemas.feeds import FEED_SCHEMAS

PARAMETER_LABELS = {
    "monitoring_line": "监测标准（年人均纯收入）",
    "income_drop_share": "收入大幅缩减比例",
    "medical_oop_share_priority": "医疗自付占比（脱贫户、监测户）",
    "medical_oop_share_other": "医疗自付占比（其他农户）",
    "prev_year_rural_income": "上年农村居民人均可支配收入",
    "medical_oop_income_share_priority": "医疗自付占家庭纯收入比例（脱贫户、监测户）",
    "medical_oop_income_share_other": "医疗自付占家庭纯收入比例（其他农户）",
    "rigid_expense_share": "刚性支出占家庭收入比例",
    "prev_year_disposable_income": "上年居民人均可支配收入",
    "stay_self_pay_monitored": "单次住院自付金额（监测户）",
    "stay_self_pay_other": "单次住院自付金额（其他农户）",
    "disaster_loss_amount": "灾害直接经济损失金额",
    "working_age_min": "劳动年龄下限",
    "working_age_max": "劳动年龄上限",
    "compulsory_school_age_min": "义务教育适龄下限",
    "compulsory_school_age_max": "义务教育适龄上限",
}

EVIDENCE_LABELS = {
    "net_income": "家庭纯收入（元）",
    "population": "家庭人口数",
    "per_capita_net_income": "人均纯收入（元）",
    "monitoring_line": "监测标准（元）",
    "monitoring_state": "监测状态",
    "prev_net_income": "上年家庭纯收入（元）",
    "prev_population": "上年家庭人口数",
    "prev_per_capita_net_income": "上年人均纯收入（元）",
    "drop_share": "降幅",
    "min_drop_share": "规定降幅",
    "oop_total": "12个月医疗自付合计（元）",
    "claims": "结算笔数",
    "household_type": "户类型",
    "share": "规定比例",
    "reference_income": "上年农村居民人均可支配收入（元）",
    "threshold": "规定金额（元）",
    "out_of_pocket": "个人自付（元）",
    "total_cost": "医疗总费用（元）",
    "settle_date": "结算日期",
    "hospital_level": "医院等级",
    "diagnosis": "诊断",
    "diagnosed_on": "确诊日期",
    "disability_type": "残疾类别",
    "grade": "等级",
    "issued_on": "发证日期",
    "death_date": "死亡日期",
    "age_at_death": "死亡时年龄",
    "school_stage": "学段",
    "status": "状态",
    "as_of_date": "记录日期",
    "age": "年龄",
    "appraisal_date": "鉴定日期",
    "village_code": "村代码",
    "problem": "问题",
    "reported_on": "报告日期",
    "disaster_type": "灾害类型",
    "occurred_on": "发生日期",
    "loss_amount": "直接经济损失（元）",
    "house_damage": "房屋受损程度",
    "work_location": "务工地点",
    "assistance_type": "救助类型",
    "effective_date": "生效日期",
    "amount": "金额（元）",
    "year": "年度",
    "enrolled": "参保状态",
    "max_share": "规定比例",
    "share_of_income": "占家庭纯收入比例",
    "medical_expense": "医疗支出（元）",
    "education_expense": "教育支出（元）",
    "rigid_expense": "刚性支出合计（元）",
    "findings_in_period": "本期发现次数",
    "feed_batches": "部门数据批次",
    "parameters": "所用参数",
}


def feed_label(kind: str) -> str:
    schema = FEED_SCHEMAS.get(kind)
    return schema.label if schema else kind


def money(value: Any) -> str:
    """8500 → "8,500"; 4000.5 → "4,000.50"; what is not a number is shown as it is."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value if value is not None else "—")
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d.quantize(Decimal('0.01')):,}"


def money2(value: Any) -> str:
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.01')):,}"
    except (InvalidOperation, ValueError):
        return str(value if value is not None else "—")


def percent(value: Any) -> str:
    try:
        return f"{(Decimal(str(value)) * 100).normalize():f}%"
    except (InvalidOperation, ValueError):
        return str(value)


def _g(e: Mapping[str, Any], key: str) -> str:
    value = e.get(key)
    return "—" if value in (None, "") else str(value)


Summary = Callable[[str, Mapping[str, Any]], str]

SUMMARIES: dict[str, Summary] = {
    "income_below_line": lambda p, e: (
        f"{p}年人均纯收入 {money2(e.get('per_capita_net_income'))} 元，"
        f"低于监测标准 {money(e.get('monitoring_line'))} 元"
    ),
    "income_drop": lambda p, e: (
        f"{p}年人均纯收入 {money2(e.get('per_capita_net_income'))} 元，上年 "
        f"{money2(e.get('prev_per_capita_net_income'))} 元，下降 {percent(e.get('drop_share'))}"
        f"（规定 {percent(e.get('min_drop_share'))}）"
    ),
    "medical_oop_share": lambda p, e: (
        f"12个月医疗自付 {money2(e.get('oop_total'))} 元（{_g(e, 'claims')} 笔），超过上年农村居民人均可支配收入 "
        f"{money(e.get('reference_income'))} 元的 {percent(e.get('share'))}（{money(e.get('threshold'))} 元）"
    ),
    "medical_oop_income_share": lambda p, e: (
        f"全户12个月医疗自付 {money2(e.get('oop_total'))} 元（{_g(e, 'claims')} 笔），"
        + (
            f"占{p}年家庭纯收入 {money2(e.get('net_income'))} 元的 {percent(e.get('share_of_income'))}"
            if e.get("share_of_income") is not None
            else f"{p}年家庭纯收入 {money2(e.get('net_income'))} 元"
        )
        + f"，超过规定比例 {percent(e.get('max_share'))}"
    ),
    "rigid_expense_hardship": lambda p, e: (
        f"{p}年刚性支出 {money2(e.get('rigid_expense'))} 元（医疗 {money2(e.get('medical_expense'))}、"
        f"教育 {money2(e.get('education_expense'))}），"
        + (
            f"占家庭纯收入的 {percent(e.get('share_of_income'))}"
            if e.get("share_of_income") is not None
            else f"家庭纯收入 {money2(e.get('net_income'))} 元"
        )
        + f"，超过 {percent(e.get('max_share'))}；人均纯收入 {money2(e.get('per_capita_net_income'))} 元，"
        f"低于上年居民人均可支配收入 {money(e.get('reference_income'))} 元"
    ),
    "stay_self_pay": lambda p, e: (
        f"{_g(e, 'settle_date')} 单次住院个人自付 {money2(e.get('out_of_pocket'))} 元，"
        f"超过 {money(e.get('threshold'))} 元"
    ),
    "serious_illness": lambda p, e: f"{_g(e, 'diagnosed_on')} 确诊大病：{_g(e, 'diagnosis')}",
    "new_disability": lambda p, e: f"{_g(e, 'issued_on')} 新办残疾人证：{_g(e, 'disability_type')}{_g(e, 'grade')}",
    "labourer_death": lambda p, e: f"{_g(e, 'death_date')} 死亡，时年 {_g(e, 'age_at_death')} 岁（劳动年龄）",
    "deceased_still_listed": lambda p, e: f"部门报告 {_g(e, 'death_date')} 死亡，户籍库仍登记为在世",
    "school_dropout": lambda p, e: f"{_g(e, 'as_of_date')} {_g(e, 'school_stage')}辍学，时年 {_g(e, 'age')} 岁",
    "school_not_enrolled": lambda p, e: f"{_g(e, 'age')} 岁，{p}年内无在读学籍记录",
    "housing_unsafe": lambda p, e: f"{_g(e, 'appraisal_date')} 住房鉴定为 {_g(e, 'grade')} 级危房",
    "water_problem": lambda p, e: f"所在村 {_g(e, 'reported_on')} 报告饮水问题：{_g(e, 'problem')}，尚未解决",
    "disaster_house_damage": lambda p, e: (
        f"{_g(e, 'occurred_on')} {_g(e, 'disaster_type')}致房屋{_g(e, 'house_damage')}，"
        f"直接损失 {money2(e.get('loss_amount'))} 元"
    ),
    "disaster_loss": lambda p, e: (
        f"{_g(e, 'occurred_on')} {_g(e, 'disaster_type')}直接经济损失 {money2(e.get('loss_amount'))} 元，"
        f"超过 {money(e.get('threshold'))} 元"
    ),
    "labourer_job_loss": lambda p, e: f"{_g(e, 'as_of_date')} {_g(e, 'status')}（时年 {_g(e, 'age')} 岁）",
    "assistance_granted": lambda p, e: (
        f"{_g(e, 'effective_date')} 纳入{_g(e, 'assistance_type')}"
        + (f"，{money2(e['amount'])} 元" if e.get("amount") is not None else "")
    ),
    "assistance_ended": lambda p, e: f"{_g(e, 'effective_date')} {_g(e, 'assistance_type')}{_g(e, 'status')}",
    "medical_not_enrolled": lambda p, e: f"{_g(e, 'year')}年未参加基本医疗保险",
}


def summarize(rule_id: str, period: str, evidence: Mapping[str, Any]) -> str:
    """One line of Chinese: the figures that fired the warning."""
    summary = SUMMARIES.get(rule_id)
    if summary is None:
        return rule_id
    try:
        return summary(period, evidence or {})
    except (KeyError, TypeError, ValueError):
        return rule_id


def rule_title(rule_id: str) -> str:
    from engine.screening import RULES_BY_ID

    rule = RULES_BY_ID.get(rule_id)
    return rule.title if rule else rule_id


def skip_reason_zh(rule_id: str, given: set[str], missing_parameters: list[str], region: str, year: int) -> str:
    """Why a rule did not run, in Chinese (the engine says it in English in the manifest)."""
    from engine.screening import RULES_BY_ID

    rule = RULES_BY_ID[rule_id]
    absent = [name for name in rule.inputs if name not in given]
    if absent:
        labels = {"accounts": "年度收支", "households": "农户信息", "members": "家庭成员"}
        names = "、".join(labels.get(n) or feed_label(n) for n in absent)
        return f"缺少输入数据：{names}（尚未导入本县的该类部门数据）"
    if missing_parameters:
        names = "、".join(f"{PARAMETER_LABELS.get(n, n)}（{n}）" for n in missing_parameters)
        return f"区划 {region} 在 {year} 年没有参数值：{names}"
    return "未运行"
