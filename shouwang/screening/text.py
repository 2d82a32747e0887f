"""Wording of warnings: evidence summaries, labels of evidence fields and parameters.

The source strings are Chinese and marked for translation: a page shown in English gets the
English of the catalogue; a job run by the worker (no request) writes the Chinese.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext, gettext_lazy, gettext_noop

from engine.schemas.feeds import FEED_SCHEMAS

_ = gettext_lazy

# The engine's warning causes (engine.screening.rules.Cause) that are not also a risk type of the
# national system (monitoring.models.RiskCause, marked there): marked here, so that a page shows
# warning.cause through the catalogue. A cause added to the engine without a line here fails
# test_translations.
ENGINE_CAUSES = (
    gettext_noop("住房安全"),
    gettext_noop("饮水安全"),
    gettext_noop("义务教育"),
    gettext_noop("基本医疗保险"),
    gettext_noop("收入低于监测范围"),
    gettext_noop("收入大幅缩减"),
    gettext_noop("刚性支出较大"),
    gettext_noop("社会救助变动"),
    gettext_noop("基础信息待更新"),
)

PARAMETER_LABELS = {
    "monitoring_line": _("监测标准（年人均纯收入）"),
    "income_drop_share": _("收入大幅缩减比例"),
    "medical_oop_share_priority": _("医疗自付占比（脱贫户、监测户）"),
    "medical_oop_share_other": _("医疗自付占比（其他农户）"),
    "prev_year_rural_income": _("上年农村居民人均可支配收入"),
    "medical_oop_income_share_priority": _("医疗自付占家庭纯收入比例（脱贫户、监测户）"),
    "medical_oop_income_share_other": _("医疗自付占家庭纯收入比例（其他农户）"),
    "rigid_expense_share": _("刚性支出占家庭收入比例"),
    "prev_year_disposable_income": _("上年居民人均可支配收入"),
    "stay_self_pay_monitored": _("单次住院自付金额（监测户）"),
    "stay_self_pay_other": _("单次住院自付金额（其他农户）"),
    "disaster_loss_amount": _("灾害直接经济损失金额"),
    "working_age_min": _("劳动年龄下限"),
    "working_age_max": _("劳动年龄上限"),
    "compulsory_school_age_min": _("义务教育适龄下限"),
    "compulsory_school_age_max": _("义务教育适龄上限"),
}

EVIDENCE_LABELS = {
    "net_income": _("家庭纯收入（元）"),
    "population": _("家庭人口数"),
    "per_capita_net_income": _("人均纯收入（元）"),
    "monitoring_line": _("监测标准（元）"),
    "monitoring_state": _("监测状态"),
    "prev_net_income": _("上年家庭纯收入（元）"),
    "prev_population": _("上年家庭人口数"),
    "prev_per_capita_net_income": _("上年人均纯收入（元）"),
    "drop_share": _("降幅"),
    "min_drop_share": _("规定降幅"),
    "oop_total": _("12个月医疗自付合计（元）"),
    "claims": _("结算笔数"),
    "household_type": _("户类型"),
    "share": _("规定比例"),
    "reference_income": _("上年农村居民人均可支配收入（元）"),
    "threshold": _("规定金额（元）"),
    "out_of_pocket": _("个人自付（元）"),
    "total_cost": _("医疗总费用（元）"),
    "settle_date": _("结算日期"),
    "hospital_level": _("医院等级"),
    "diagnosis": _("诊断"),
    "diagnosed_on": _("确诊日期"),
    "disability_type": _("残疾类别"),
    "grade": _("等级"),
    "issued_on": _("发证日期"),
    "death_date": _("死亡日期"),
    "age_at_death": _("死亡时年龄"),
    "school_stage": _("学段"),
    "status": _("状态"),
    "as_of_date": _("记录日期"),
    "age": _("年龄"),
    "appraisal_date": _("鉴定日期"),
    "village_code": _("村代码"),
    "problem": _("问题"),
    "reported_on": _("报告日期"),
    "disaster_type": _("灾害类型"),
    "occurred_on": _("发生日期"),
    "loss_amount": _("直接经济损失（元）"),
    "house_damage": _("房屋受损程度"),
    "work_location": _("务工地点"),
    "assistance_type": _("救助类型"),
    "effective_date": _("生效日期"),
    "amount": _("金额（元）"),
    "year": _("年度"),
    "enrolled": _("参保状态"),
    "max_share": _("规定比例"),
    "share_of_income": _("占家庭纯收入比例"),
    "medical_expense": _("医疗支出（元）"),
    "education_expense": _("教育支出（元）"),
    "rigid_expense": _("刚性支出合计（元）"),
    "findings_in_period": _("本期发现次数"),
    "feed_batches": _("部门数据批次"),
    "parameters": _("所用参数"),
}


def feed_label(kind: str) -> str:
    schema = FEED_SCHEMAS.get(kind)
    return gettext(schema.label) if schema else kind


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
        gettext("%(p)s年人均纯收入 %(income)s 元，低于监测标准 %(line)s 元")
        % {"p": p, "income": money2(e.get("per_capita_net_income")), "line": money(e.get("monitoring_line"))}
    ),
    "income_drop": lambda p, e: (
        gettext("%(p)s年人均纯收入 %(income)s 元，上年 %(prev)s 元，下降 %(drop)s（规定 %(min)s）")
        % {
            "p": p,
            "income": money2(e.get("per_capita_net_income")),
            "prev": money2(e.get("prev_per_capita_net_income")),
            "drop": percent(e.get("drop_share")),
            "min": percent(e.get("min_drop_share")),
        }
    ),
    "medical_oop_share": lambda p, e: (
        gettext(
            "12个月医疗自付 %(oop)s 元（%(claims)s 笔），超过上年农村居民人均可支配收入 %(reference)s 元的 %(share)s"
            "（%(threshold)s 元）"
        )
        % {
            "oop": money2(e.get("oop_total")),
            "claims": _g(e, "claims"),
            "reference": money(e.get("reference_income")),
            "share": percent(e.get("share")),
            "threshold": money(e.get("threshold")),
        }
    ),
    "medical_oop_income_share": lambda p, e: (
        (
            gettext("全户12个月医疗自付 %(oop)s 元（%(claims)s 笔），占%(p)s年家庭纯收入 %(income)s 元的 %(share)s")
            if e.get("share_of_income") is not None
            else gettext("全户12个月医疗自付 %(oop)s 元（%(claims)s 笔），%(p)s年家庭纯收入 %(income)s 元")
        )
        % {
            "p": p,
            "oop": money2(e.get("oop_total")),
            "claims": _g(e, "claims"),
            "income": money2(e.get("net_income")),
            "share": percent(e.get("share_of_income")),
        }
        + gettext("，超过规定比例 %(max)s") % {"max": percent(e.get("max_share"))}
    ),
    "rigid_expense_hardship": lambda p, e: (
        (
            gettext("%(p)s年刚性支出 %(rigid)s 元（医疗 %(medical)s、教育 %(education)s），占家庭纯收入的 %(share)s")
            if e.get("share_of_income") is not None
            else gettext(
                "%(p)s年刚性支出 %(rigid)s 元（医疗 %(medical)s、教育 %(education)s），家庭纯收入 %(income)s 元"
            )
        )
        % {
            "p": p,
            "rigid": money2(e.get("rigid_expense")),
            "medical": money2(e.get("medical_expense")),
            "education": money2(e.get("education_expense")),
            "share": percent(e.get("share_of_income")),
            "income": money2(e.get("net_income")),
        }
        + gettext("，超过 %(max)s；人均纯收入 %(per_capita)s 元，低于上年居民人均可支配收入 %(reference)s 元")
        % {
            "max": percent(e.get("max_share")),
            "per_capita": money2(e.get("per_capita_net_income")),
            "reference": money(e.get("reference_income")),
        }
    ),
    "stay_self_pay": lambda p, e: (
        gettext("%(date)s 单次住院个人自付 %(oop)s 元，超过 %(threshold)s 元")
        % {"date": _g(e, "settle_date"), "oop": money2(e.get("out_of_pocket")), "threshold": money(e.get("threshold"))}
    ),
    "serious_illness": lambda p, e: (
        gettext("%(date)s 确诊大病：%(diagnosis)s") % {"date": _g(e, "diagnosed_on"), "diagnosis": _g(e, "diagnosis")}
    ),
    "new_disability": lambda p, e: (
        gettext("%(date)s 新办残疾人证：%(type)s%(grade)s")
        % {"date": _g(e, "issued_on"), "type": _g(e, "disability_type"), "grade": _g(e, "grade")}
    ),
    "labourer_death": lambda p, e: (
        gettext("%(date)s 死亡，时年 %(age)s 岁（劳动年龄）")
        % {"date": _g(e, "death_date"), "age": _g(e, "age_at_death")}
    ),
    "deceased_still_listed": lambda p, e: (
        gettext("部门报告 %(date)s 死亡，户籍库仍登记为在世") % {"date": _g(e, "death_date")}
    ),
    "school_dropout": lambda p, e: (
        gettext("%(date)s %(stage)s辍学，时年 %(age)s 岁")
        % {"date": _g(e, "as_of_date"), "stage": _g(e, "school_stage"), "age": _g(e, "age")}
    ),
    "school_not_enrolled": lambda p, e: gettext("%(age)s 岁，%(p)s年内无在读学籍记录") % {"age": _g(e, "age"), "p": p},
    "housing_unsafe": lambda p, e: (
        gettext("%(date)s 住房鉴定为 %(grade)s 级危房") % {"date": _g(e, "appraisal_date"), "grade": _g(e, "grade")}
    ),
    "water_problem": lambda p, e: (
        gettext("所在村 %(date)s 报告饮水问题：%(problem)s，尚未解决")
        % {"date": _g(e, "reported_on"), "problem": _g(e, "problem")}
    ),
    "disaster_house_damage": lambda p, e: (
        gettext("%(date)s %(disaster)s致房屋%(damage)s，直接损失 %(loss)s 元")
        % {
            "date": _g(e, "occurred_on"),
            "disaster": _g(e, "disaster_type"),
            "damage": _g(e, "house_damage"),
            "loss": money2(e.get("loss_amount")),
        }
    ),
    "disaster_loss": lambda p, e: (
        gettext("%(date)s %(disaster)s直接经济损失 %(loss)s 元，超过 %(threshold)s 元")
        % {
            "date": _g(e, "occurred_on"),
            "disaster": _g(e, "disaster_type"),
            "loss": money2(e.get("loss_amount")),
            "threshold": money(e.get("threshold")),
        }
    ),
    "labourer_job_loss": lambda p, e: (
        gettext("%(date)s %(status)s（时年 %(age)s 岁）")
        % {"date": _g(e, "as_of_date"), "status": _g(e, "status"), "age": _g(e, "age")}
    ),
    "assistance_granted": lambda p, e: (
        (
            gettext("%(date)s 纳入%(type)s，%(amount)s 元")
            if e.get("amount") is not None
            else gettext("%(date)s 纳入%(type)s")
        )
        % {
            "date": _g(e, "effective_date"),
            "type": _g(e, "assistance_type"),
            "amount": money2(e["amount"]) if e.get("amount") is not None else "",
        }
    ),
    "assistance_ended": lambda p, e: (
        gettext("%(date)s %(type)s%(status)s")
        % {"date": _g(e, "effective_date"), "type": _g(e, "assistance_type"), "status": _g(e, "status")}
    ),
    "medical_not_enrolled": lambda p, e: gettext("%(year)s年未参加基本医疗保险") % {"year": _g(e, "year")},
}


def summarize(rule_id: str, period: str, evidence: Mapping[str, Any]) -> str:
    """One line: the figures that fired the warning (Chinese, or the active language)."""
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
    return gettext(rule.title) if rule else rule_id


def skip_reason_zh(rule_id: str, given: set[str], missing_parameters: list[str], region: str, year: int) -> str:
    """Why a rule did not run, in Chinese (the engine says it in English in the manifest)."""
    from engine.screening import RULES_BY_ID

    rule = RULES_BY_ID[rule_id]
    absent = [name for name in rule.inputs if name not in given]
    if absent:
        labels = {"accounts": gettext("年度收支"), "households": gettext("农户信息"), "members": gettext("家庭成员")}
        names = gettext("、").join(labels.get(n) or feed_label(n) for n in absent)
        return gettext("缺少输入数据：%(names)s（尚未导入本县的该类部门数据）") % {"names": names}
    if missing_parameters:
        names = gettext("、").join(f"{PARAMETER_LABELS.get(n, n)}（{n}）" for n in missing_parameters)
        return gettext("区划 %(region)s 在 %(year)s 年没有参数值：%(names)s") % {
            "region": region,
            "year": year,
            "names": names,
        }
    return gettext("未运行")
