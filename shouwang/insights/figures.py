"""Reading the pre-aggregated figures back: one region's numbers, shaped into the dashboard's
sections. Each section is a table (what the page shows under the chart, and what an export
writes) and a chart option for ECharts built from the same rows, so the chart, the table and
the export cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from engine.schemas.feeds import FEED_DEPARTMENTS
from engine.screening import RULES_BY_ID
from shouwang.insights.metrics import INCOME_BINS, INDICATORS, MAX_DAYS
from shouwang.insights.models import RegionStat
from shouwang.monitoring import catalogue
from shouwang.monitoring.models import CaseKind, Category, RiskCause, Source, Step
from shouwang.screening.models import Severity
from shouwang.screening.text import rule_title

MONITORED, ELIMINATED = "监测中", "风险已消除"
POVERTY_ESCAPED = "脱贫户"

INDICATOR_LABELS = {
    "food_clothing": _("吃穿未保障"),
    "education": _("义务教育阶段失学辍学"),
    "medical": _("有成员未参加基本医疗保险"),
    "housing": _("住房安全等级 C/D"),
    "water": _("饮水安全未达标（任一项）"),
    "water_quantity": _("饮水水量不达标"),
    "water_quality": _("饮水水质不达标"),
    "water_convenience": _("用水不方便"),
    "water_reliability": _("供水保证率不达标"),
}
WARNING_STATES = {
    "untaken": _("待核实"),
    "verifying": _("核实中"),
    "dismissed": _("已排除"),
    "converted": _("已纳入监测"),
    "lapsed": _("证据已失效"),
}
COLOUR_LABELS = {"red": _("已超期"), "orange": _("2 天内到期"), "yellow": _("5 天内到期"), "": _("未到期")}
FLAG_LABELS = {
    "no_measure": _("满 1 个月未落实措施"),
    "no_development": _("有劳动能力无开发式措施"),
    "cause": _("风险类型无对应措施"),
}
REGISTRY_RULES = _("农户收入（本系统）")
SEVERITY_COLOURS = {"red": "#c0392b", "orange": "#e67e22", "yellow": "#f1c40f"}


def department(rule_id: str) -> str:
    """The department whose data raise a rule: its first feed input, else the registry."""
    rule = RULES_BY_ID.get(rule_id)
    for kind in rule.inputs if rule else ():
        if kind in FEED_DEPARTMENTS:
            return FEED_DEPARTMENTS[kind]
    return str(REGISTRY_RULES)


class Figures:
    """The figures of one region: metric → key → count."""

    def __init__(self, code: str, rows: Iterable[tuple[str, str, int]]) -> None:
        self.code = code
        self.data: dict[str, dict[str, int]] = defaultdict(dict)
        for metric, key, value in rows:
            self.data[metric][key] = value

    @classmethod
    def of(cls, code: str) -> Figures:
        return cls(code, RegionStat.objects.filter(region_code=code).values_list("metric", "key", "value"))

    @classmethod
    def of_many(cls, codes: Sequence[str], metrics: Sequence[str]) -> dict[str, Figures]:
        rows: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for code, metric, key, value in RegionStat.objects.filter(
            region_code__in=list(codes), metric__in=list(metrics)
        ).values_list("region_code", "metric", "key", "value"):
            rows[code].append((metric, key, value))
        return {code: cls(code, rows.get(code, [])) for code in codes}

    def parts(self, metric: str) -> Iterable[tuple[list[str], int]]:
        for key, value in self.data.get(metric, {}).items():
            yield key.split("|"), value

    def total(self, metric: str, **where: str | Sequence[str]) -> int:
        """The sum of `metric` over the keys whose numbered parts match: total("households",
        p1="监测中") sums every household in monitoring, whatever its type and category."""
        out = 0
        for parts, value in self.parts(metric):
            if all(_matches(parts, int(name[1:]), want) for name, want in where.items()):
                out += value
        return out

    @property
    def empty(self) -> bool:
        return not self.data


def _matches(parts: list[str], index: int, want: str | Sequence[str]) -> bool:
    if index >= len(parts):
        return False
    return parts[index] == want if isinstance(want, str) else parts[index] in want


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def median_of(histogram: Mapping[int, int]) -> int | None:
    """The median of a histogram {days: count}; None when it is empty."""
    n = sum(histogram.values())
    if not n:
        return None
    seen = 0
    for days in sorted(histogram):
        seen += histogram[days]
        if 2 * seen >= n:
            return days
    return None  # pragma: no cover - the loop always reaches n


# -- Sections ---------------------------------------------------------------------------


@dataclass
class Section:
    slug: str
    title: str | Promise
    columns: list[str | Promise]
    rows: list[list[Any]]
    chart: dict[str, Any] | None = None
    note: str | Promise = ""
    links: list[str | None] = field(default_factory=list)  # per row, for drill-down

    @property
    def table_rows(self) -> list[tuple[str | None, list[Any]]]:
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows, strict=True))


def _bar(
    labels: Sequence[Any], series: Sequence[tuple[Any, Sequence[Any]]], *, stack: bool = False, horizontal: bool = False
) -> dict[str, Any]:
    category_axis = {
        "type": "category",
        "data": [str(x) for x in labels],
        "axisLabel": {"interval": 0, "hideOverlap": True},
    }
    value_axis = {"type": "value", "minInterval": 1}
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0} if len(series) > 1 else {"show": False},
        "grid": {"left": 8, "right": 16, "bottom": 8, "top": 32, "containLabel": True},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [
            {"name": str(name), "type": "bar", "data": list(values), **({"stack": "total"} if stack else {})}
            for name, values in series
        ],
    }


def _line(labels: Sequence[str], series: Sequence[tuple[Any, Sequence[Any]]]) -> dict[str, Any]:
    option = _bar(labels, series)
    for s in option["series"]:
        s["type"] = "line"
        s["smooth"] = False
    option["xAxis"]["axisLabel"] = {"hideOverlap": True}
    return option


def _pie(items: Sequence[tuple[Any, Any]], colours: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0},
        **({"color": list(colours)} if colours else {}),
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "70%"],
                "top": 24,
                "data": [{"name": str(name), "value": value} for name, value in items],
            }
        ],
    }


def overview(f: Figures) -> dict[str, Any]:
    households = f.total("households")
    escaped = f.total("households", p0=POVERTY_ESCAPED)
    monitored = f.total("households", p1=MONITORED)
    members = f.total("members")
    open_cases = f.total("cases")
    overdue = f.total("cases", p2="red") + f.total("untaken", p0="red") + f.total("visits_due", p0="red")
    return {
        "households": households,
        "members": members,
        "escaped": escaped,
        "escaped_share": share(escaped, households),
        "monitored": monitored,
        "monitored_share": share(monitored, households),
        "monitored_members": f.total("members", p1=MONITORED),
        "eliminated": f.total("households", p1=ELIMINATED),
        "untaken": f.total("untaken"),
        "open_cases": open_cases,
        "overdue": overdue,
        "flagged": sum(f.data.get("plan_flags", {}).values()),
    }


def categories_section(f: Figures) -> Section:
    rows: list[list[Any]] = []
    for category in Category.values:
        monitored = f.total("households", p1=MONITORED, p2=category)
        eliminated = f.total("households", p1=ELIMINATED, p2=category)
        escaped = f.total("households", p0=POVERTY_ESCAPED, p1=MONITORED, p2=category)
        rows.append([gettext(category), monitored, escaped, monitored - escaped, eliminated])
    rows.append([gettext("合计"), *(sum(r[i] for r in rows) for i in range(1, 5))])
    body = rows[:-1]
    chart = _bar(
        [r[0] for r in body],
        [(gettext("监测中"), [r[1] for r in body]), (gettext("风险已消除"), [r[4] for r in body])],
    )
    return Section(
        "categories",
        _("监测对象类别与状态（户）"),
        [_("类别"), _("监测中"), _("其中脱贫户"), _("其中一般农户"), _("风险已消除")],
        rows,
        chart,
    )


def months(today: dt.date, count: int = 24) -> list[str]:
    out = []
    year, month = today.year, today.month
    for _i in range(count):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def monthly_section(f: Figures, today: dt.date) -> Section:
    """Month by month from the first identification (at most five years: the policy's
    transition period) up to this month."""
    identified: dict[str, int] = defaultdict(int)
    eliminated: dict[str, int] = defaultdict(int)
    for parts, n in f.parts("identified"):
        identified[parts[0]] += n
    for parts, n in f.parts("eliminated"):
        eliminated[parts[0]] += n
    window = months(today, 60)
    first = min([*identified, *eliminated], default=window[-12])
    labels = [m for m in window if m >= min(first, window[-12])]
    earlier_i = sum(n for m, n in identified.items() if m < labels[0])
    earlier_e = sum(n for m, n in eliminated.items() if m < labels[0])
    rows = [[m, identified.get(m, 0), eliminated.get(m, 0)] for m in labels]
    chart = _line(
        labels,
        [(gettext("识别纳入"), [r[1] for r in rows]), (gettext("风险消除"), [r[2] for r in rows])],
    )
    note = ""
    if earlier_i or earlier_e:
        note = _("更早：识别纳入 %(i)s 户，风险消除 %(e)s 户。") % {"i": earlier_i, "e": earlier_e}
    return Section(
        "monthly",
        _("每月识别纳入与风险消除（户）"),
        [_("月份"), _("识别纳入"), _("风险消除")],
        rows,
        chart,
        note=note,
    )


def warnings_section(f: Figures) -> tuple[Section, Section, dict[str, Any]]:
    by_rule: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (rule, severity, state), n in ((tuple(p), n) for p, n in f.parts("warnings")):
        by_rule[rule, severity][state] += n
    states = list(WARNING_STATES)
    rule_rows = []
    for (rule, severity), counts in sorted(by_rule.items(), key=lambda kv: -sum(kv[1].values())):
        rule_rows.append(
            [
                rule_title(rule),
                department(rule),
                Severity(severity).label,
                sum(counts.values()),
                *(counts.get(s, 0) for s in states),
            ]
        )
    by_department: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (rule, _severity), counts in by_rule.items():
        for s, n in counts.items():
            by_department[department(rule)][s] += n
    department_rows = [
        [name, sum(counts.values()), *(counts.get(s, 0) for s in states)]
        for name, counts in sorted(by_department.items(), key=lambda kv: -sum(kv[1].values()))
    ]
    chart = _bar(
        [r[0] for r in department_rows],
        [(WARNING_STATES[s], [r[2 + i] for r in department_rows]) for i, s in enumerate(states)],
        stack=True,
        horizontal=True,
    )
    state_headers = [WARNING_STATES[s] for s in states]
    departments = Section(
        "warnings_by_department",
        _("预警线索：按部门与去向"),
        [_("数据来源部门"), _("线索数"), *state_headers],
        department_rows,
        chart,
    )
    colours = {s.value: 0 for s in Severity}
    for (_rule, severity), counts in by_rule.items():
        colours[severity] += sum(counts.values())
    rules = Section(
        "warnings_by_rule",
        _("预警线索：按规则与等级"),
        [_("规则"), _("数据来源部门"), _("预警等级"), _("线索数"), *state_headers],
        rule_rows,
        _pie([(Severity(s).label, n) for s, n in colours.items()], [SEVERITY_COLOURS[s] for s in colours]),
    )
    days: dict[str, dict[int, int]] = {"dismissed": defaultdict(int), "converted": defaultdict(int)}
    for (outcome, d), n in ((tuple(p), n) for p, n in f.parts("verify_days")):
        days.setdefault(outcome, defaultdict(int))[int(d)] += n
    both: dict[int, int] = defaultdict(int)
    for hist in days.values():
        for day, count in hist.items():
            both[day] += count
    medians = {
        "all": median_of(both),
        "dismissed": median_of(days["dismissed"]),
        "converted": median_of(days["converted"]),
        "verified": sum(both.values()),
        "capped": MAX_DAYS,
    }
    return departments, rules, medians


def causes_section(f: Figures) -> Section:
    monitored = f.total("households", p1=MONITORED)
    counts = dict(f.data.get("causes", {}))
    order = [c.value for c in RiskCause] + sorted(set(counts) - set(RiskCause.values))
    rows = [
        [gettext(cause), counts.get(cause, 0), share(counts.get(cause, 0), monitored)]
        for cause in order
        if counts.get(cause)
    ]
    chart = _bar([r[0] for r in rows][::-1], [(gettext("户数"), [r[1] for r in rows][::-1])], horizontal=True)
    return Section(
        "causes",
        _("监测户风险类型（户，一户可有多项）"),
        [_("风险类型"), _("户数"), _("占监测户")],
        rows,
        chart,
    )


def measures_section(f: Figures) -> tuple[Section, Section]:
    names = list(catalogue.categories())
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (category, status), n in ((tuple(p), n) for p, n in f.parts("measures")):
        by_category[category][status] += n
    funds = f.data.get("measure_funds", {})
    order = names + sorted(set(by_category) - set(names))
    rows = []
    for category in order:
        counts = by_category.get(category, {})
        if not counts:
            continue
        active = counts.get("planned", 0) + counts.get("in_progress", 0)
        rows.append(
            [
                gettext(category),
                sum(counts.values()),
                active,
                counts.get("completed", 0),
                counts.get("stopped", 0),
                funds.get(category, 0),
            ]
        )
    chart = _bar([r[0] for r in rows], [(gettext("措施数"), [r[1] for r in rows])])
    measures = Section(
        "measures",
        _("帮扶措施：按类别"),
        [_("措施类别"), _("措施数"), _("计划或实施中"), _("已完成"), _("已终止"), _("投入资金（元）")],
        rows,
        chart,
    )
    coverage: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (cause, covered), n in ((tuple(p), n) for p, n in f.parts("coverage")):
        coverage[cause][int(covered)] += n
    mapping = catalogue.cause_categories()
    cov_rows = [
        [
            gettext(cause),
            "、".join(gettext(x) for x in sorted(mapping.get(cause, ()))),
            sum(v),
            v[1],
            v[0],
            share(v[1], sum(v)),
        ]
        for cause, v in sorted(coverage.items(), key=lambda kv: -sum(kv[1]))
    ]
    cov_chart = _bar(
        [r[0] for r in cov_rows],
        [(gettext("有对应措施"), [r[3] for r in cov_rows]), (gettext("无对应措施"), [r[4] for r in cov_rows])],
        stack=True,
    )
    cov = Section(
        "coverage",
        _("措施对风险类型的覆盖（监测户）"),
        [_("风险类型"), _("应有措施类别"), _("户数"), _("已有对应措施"), _("无对应措施"), _("覆盖率")],
        cov_rows,
        cov_chart,
    )
    return measures, cov


def overdue_section(f: Figures) -> Section:
    colours = ["red", "orange", "yellow"]
    rows = []
    by_step: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, step, colour), n in ((tuple(p), n) for p, n in f.parts("cases")):
        by_step[kind, step][colour] += n
    for (kind, step), counts in sorted(by_step.items()):
        rows.append(
            [f"{CaseKind(kind).label}：{Step(step).label}", sum(counts.values()), *(counts.get(x, 0) for x in colours)]
        )
    untaken = f.data.get("untaken", {})
    rows.append([gettext("预警线索待核实"), sum(untaken.values()), *(untaken.get(x, 0) for x in colours)])
    visits = f.data.get("visits_due", {})
    rows.append([gettext("监测户回访"), sum(visits.values()), *(visits.get(x, 0) for x in colours)])
    flags = f.data.get("plan_flags", {})
    for key, label in FLAG_LABELS.items():
        if flags.get(key):
            rows.append([gettext("帮扶措施待落实：") + str(label), flags[key], flags[key], 0, 0])
    chart = _bar(
        [r[0] for r in rows],
        [(COLOUR_LABELS[x], [r[2 + i] for r in rows]) for i, x in enumerate(colours)],
        stack=True,
        horizontal=True,
    )
    chart["color"] = ["#c0392b", "#e67e22", "#f1c40f"]
    return Section(
        "overdue",
        _("办理时限：在办事项与超期"),
        [_("事项"), _("在办"), COLOUR_LABELS["red"], COLOUR_LABELS["orange"], COLOUR_LABELS["yellow"]],
        rows,
        chart,
        note=_("措施待落实按已满时限计为超期。"),
    )


def income_section(f: Figures) -> Section:
    years = sorted({int(p[0]) for p, _n in f.parts("income")})
    if not years:
        return Section(
            "income", _("人均纯收入分布（相对监测标准）"), [_("收入区间")], [], None, note=_("暂无年度收支数据。")
        )
    year = years[-1]
    groups = (("monitored", (MONITORED,)), ("eliminated", (ELIMINATED,)), ("other", ("未纳入",)))
    rows: list[list[Any]] = []
    for bin_label in INCOME_BINS:
        counts = [f.total("income", p0=str(year), p1=states, p2=bin_label) for _g, states in groups]
        rows.append([f"{bin_label} ×", *counts, sum(counts)])
    below = sum(r[4] for r in rows[:3])
    lines = sorted({int(p[1]) for p, _n in f.parts("income_line") if p[0] == str(year)})
    no_line = f.total("income", p0=str(year), p2="no_line")
    chart = _bar(
        [r[0] for r in rows],
        [
            (gettext("监测户"), [r[1] for r in rows]),
            (gettext("风险已消除"), [r[2] for r in rows]),
            (gettext("其他农户"), [r[3] for r in rows]),
        ],
        stack=True,
    )
    line_text = "、".join(f"{x:,}" for x in lines) if lines else "—"
    note = _("%(year)s 年；监测标准 %(lines)s 元/人·年；低于标准 %(below)s 户。") % {
        "year": year,
        "lines": line_text,
        "below": below,
    }
    if no_line:
        note = f"{note} " + gettext("另有 %(n)s 户所在县该年度未设监测标准，未计入。") % {"n": no_line}
    return Section(
        "income",
        _("人均纯收入分布（相对监测标准）"),
        [_("人均纯收入 ÷ 监测标准"), _("监测户"), _("风险已消除户"), _("其他农户"), _("合计")],
        rows,
        chart,
        note=note,
    )


def indicators_section(f: Figures) -> Section:
    households = f.total("households")
    escaped = f.total("households", p0=POVERTY_ESCAPED)
    monitored = f.total("households", p1=MONITORED)
    rows = []
    for name in INDICATORS:
        n_all = f.total("indicators", p0=name)
        n_escaped = f.total("indicators", p0=name, p1=POVERTY_ESCAPED)
        n_monitored = f.total("indicators", p0=name, p2=MONITORED)
        rows.append(
            [
                INDICATOR_LABELS[name],
                n_all,
                share(n_all, households),
                n_escaped,
                share(n_escaped, escaped),
                n_monitored,
                share(n_monitored, monitored),
            ]
        )
    chart = _bar(
        [r[0] for r in rows],
        [
            (gettext("全部农户"), [r[1] for r in rows]),
            (gettext("脱贫户"), [r[3] for r in rows]),
            (gettext("监测户"), [r[5] for r in rows]),
        ],
        horizontal=True,
    )
    return Section(
        "indicators",
        _("“两不愁三保障”及饮水安全：存在问题的户"),
        [_("指标"), _("全部农户"), _("占比"), _("脱贫户"), _("占比"), _("监测户"), _("占比")],
        rows,
        chart,
    )


CHILD_METRICS = ("households", "cases", "untaken", "visits_due", "warnings")


def children_section(children: Sequence[Any], figures: Mapping[str, Figures], link: Any) -> Section:
    rows, links = [], []
    for child in children:
        f = figures[child.code]
        households = f.total("households")
        monitored = f.total("households", p1=MONITORED)
        overdue = f.total("cases", p2="red") + f.total("untaken", p0="red") + f.total("visits_due", p0="red")
        rows.append(
            [
                child.name,
                households,
                f.total("households", p0=POVERTY_ESCAPED),
                monitored,
                share(monitored, households),
                f.total("households", p1=ELIMINATED),
                f.total("untaken"),
                f.total("cases"),
                overdue,
            ]
        )
        links.append(link(child.code))
    chart = _bar(
        [r[0] for r in rows],
        [(gettext("监测中"), [r[3] for r in rows]), (gettext("风险已消除"), [r[5] for r in rows])],
        stack=True,
    )
    return Section(
        "children",
        _("下级区划"),
        [
            _("区划"),
            _("农户"),
            _("脱贫户"),
            _("监测中"),
            _("监测户占比"),
            _("风险已消除"),
            _("待核实线索"),
            _("在办案件"),
            _("超期事项"),
        ],
        rows,
        chart,
        links=links,
    )


def sources_section(f: Figures) -> Section:
    outcomes = ("open", "approved", "dismissed", "rolled_back")
    by_source: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, source, outcome), n in ((tuple(p), n) for p, n in f.parts("case_sources")):
        if kind == CaseKind.IDENTIFICATION:
            by_source[source][outcome] += n
    rows = [
        [Source(source).label, sum(counts.values()), *(counts.get(o, 0) for o in outcomes)]
        for source, counts in sorted(by_source.items(), key=lambda kv: -sum(kv[1].values()))
    ]
    return Section(
        "sources",
        _("识别纳入：按发现渠道"),
        [_("发现渠道"), _("案件数"), _("在办"), _("已审定纳入"), _("已排除"), _("已回退")],
        rows,
        _pie([(r[0], r[1]) for r in rows]),
    )


def all_sections(f: Figures, today: dt.date) -> list[Section]:
    departments, rules, _medians = warnings_section(f)
    measures, coverage = measures_section(f)
    return [
        categories_section(f),
        monthly_section(f, today),
        sources_section(f),
        departments,
        rules,
        causes_section(f),
        measures,
        coverage,
        overdue_section(f),
        income_section(f),
        indicators_section(f),
    ]
