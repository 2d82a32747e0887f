"""One year of department feeds with planted shocks, background rows and realistic noise."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from engine.ids import make_id_number
from engine.synth.divisions import County
from engine.synth.names import NamePool
from engine.synth.population import Household, IdAllocator, Member, pick
from engine.synth.profiles import Profile
from engine.synth.writers import FileSpec, Record

BACKGROUND_OOP_CAP = 6_000.0  # a person's background out-of-pocket total stays below this
LARGE_OOP_FLOOR = 8_000.0  # each planted large claim leaves at least this out of pocket
SERIOUS_ADULT = (
    "终末期肾病",
    "肺癌",
    "食管癌",
    "胃癌",
    "结肠癌",
    "直肠癌",
    "肝癌",
    "急性心肌梗死",
    "脑梗死",
    "重性精神病",
    "耐多药肺结核",
    "慢性粒细胞白血病",
    "尘肺病",
    "膀胱癌",
    "肾癌",
)
SERIOUS_FEMALE = ("乳腺癌", "宫颈癌", "卵巢癌")
SERIOUS_CHILD = ("儿童急性淋巴细胞白血病", "儿童急性早幼粒细胞白血病", "儿童先天性心脏病", "唇腭裂", "儿童淋巴瘤")
SCHOOL_STAGE = {
    "学前教育": "学前",
    "小学": "小学",
    "七至九年级": "初中",
    "普通高中": "高中",
    "中职": "中职",
    "高职高专": "高职",
    "本科": "本科",
}
WORK_LOCATION = {
    "省外务工": "省外",
    "省内县外务工": "省内县外",
    "县内务工": "县内",
    "公益岗位": "县内",
    "自主创业": "县内",
}


@dataclass
class Context:
    county: County
    profile: Profile
    year: int
    seed: int
    households: list[Household]
    names: NamePool
    ids: IdAllocator
    deaths: dict[Member, dt.date] = field(default_factory=dict)  # new deaths in the year (shocks)
    serious: dict[Member, tuple[str, dt.date]] = field(default_factory=dict)
    big_medical: set[Member] = field(default_factory=set)
    severe_disaster: set[Household] = field(default_factory=set)
    income_drops: dict[Household, str] = field(default_factory=dict)  # household → figures

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.county.code}:{self.year}:{name}")

    @property
    def living(self) -> list[Member]:
        return [m for hh in self.households for m in hh.members if m.death_date is None]

    def day(self, rng: random.Random, start: dt.date | None = None, end: dt.date | None = None) -> dt.date:
        start = start or dt.date(self.year, 1, 1)
        end = end or dt.date(self.year, 12, 31)
        return start + dt.timedelta(days=rng.randrange(max(1, (end - start).days + 1)))


def _rec(m: Member, values: dict[str, object], **kw: object) -> Record:
    base: dict[str, object] = {
        "name": m.name,
        "sex": "男" if m.sex == "M" else "女",
        "birth_date": m.birth,
        "township": m.household.village.township_name,
        "village": m.household.village.short_name,
        "county_code": m.household.village.code[:6],
    }
    base.update(values)
    return Record(values=base, person=m, id_number=m.id_number, **kw)  # type: ignore[arg-type]


def _vulnerable(m: Member) -> bool:
    hh = m.household
    return hh.escaped or hh.monitoring_state != "未纳入" or m.dibao == "是" or m.tekun == "是"


def _f(**kw: object) -> str:
    return ";".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in kw.items())


# ----------------------------------------------------------------------------- deaths
def plan_deaths(ctx: Context) -> None:
    rng = ctx.rng("deaths-plan")
    for m in ctx.living:
        a = m.age
        q = 0.0004 if a < 16 else 0.0012 if a < 50 else 0.005 if a < 65 else 0.02 if a < 80 else 0.08
        if rng.random() < q:
            ctx.deaths[m] = ctx.day(rng)


def deaths(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("deaths")
    known = [m for hh in ctx.households for m in hh.members if m.death_date and m.death_date.year == ctx.year]
    police: list[Record] = []
    health: list[Record] = []
    for m, d in ctx.deaths.items():
        shock = ("labourer_death" if m.is_labourer else "death", _f(age=m.age, labour=m.labour))
        if rng.random() < 0.95:
            police.append(_rec(m, {"death_date": d}, shocks=[shock], event_date=d))
        if rng.random() < 0.6:
            health.append(_rec(m, {"death_date": d}, shocks=[shock], event_date=d))
    for m in known:  # already recorded in the registry: background
        assert m.death_date is not None
        police.append(_rec(m, {"death_date": m.death_date}))
        if rng.random() < 0.5:
            health.append(_rec(m, {"death_date": m.death_date}))
    for rows in (police, health):
        rows.sort(key=lambda r: (r.values["death_date"], r.person.key if r.person else ""))
    c, y = ctx.county.name, ctx.year
    return [
        (
            FileSpec(
                "deaths",
                f"deaths_police_{y}.csv",
                ("seq", "id_number", "name", "sex", "death_date", "township", "remark"),
                encoding="utf-8-sig",
                headers=(("id_number", "公民身份号码"),),
                date_style="iso",
                lower_x=0.0,
            ),
            police,
        ),
        (
            FileSpec(
                "deaths",
                f"deaths_health_{y}.csv",
                ("seq", "name", "sex", "birth_date", "id_number", "death_date", "village"),
                encoding="gbk",
                titles=(f"{c}{y}年居民死亡医学证明信息",),
                date_style="dot",
                blank_rows=2,
                lower_x=0.5,
            ),
            health,
        ),
    ]


# ----------------------------------------------------------------------------- serious illness
def _diagnosis(m: Member, rng: random.Random) -> str:
    if m.age < 15:
        return rng.choice(SERIOUS_CHILD)
    if m.sex == "F" and rng.random() < 0.35:
        return rng.choice(SERIOUS_FEMALE)
    return rng.choice(SERIOUS_ADULT)


def plan_serious(ctx: Context) -> None:
    rng = ctx.rng("serious-plan")
    for m in ctx.living:
        a = m.age
        p = 0.0008 if a < 15 else 0.0015 if a < 45 else 0.005 if a < 65 else 0.008
        if m.health != "患有大病" and rng.random() < p:
            end = ctx.deaths.get(m)
            ctx.serious[m] = (_diagnosis(m, rng), ctx.day(rng, end=end))


def serious_illness(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("serious")
    rows: list[Record] = []
    for m, (diag, d) in ctx.serious.items():
        rows.append(
            _rec(
                m,
                {"diagnosis": diag, "diagnosed_on": d},
                shocks=[("serious_illness", _f(diagnosis=diag))],
                event_date=d,
            )
        )
    for m in ctx.living:
        if m.health == "患有大病" and rng.random() < 0.85:
            d = dt.date(ctx.year - rng.randint(1, 4), 1, 1) + dt.timedelta(days=rng.randrange(365))
            rows.append(_rec(m, {"diagnosis": _diagnosis(m, rng), "diagnosed_on": d}))
    rows.sort(key=lambda r: (r.values["diagnosed_on"], r.person.key if r.person else ""))
    return [
        (
            FileSpec(
                "serious_illness",
                f"serious_illness_{ctx.year}.xlsx",
                ("seq", "name", "id_number", "sex", "diagnosis", "diagnosed_on", "township", "village"),
                fmt="xlsx",
                date_style="datetime",
                mixed_share=0.15,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- medical claims
_LEVELS = (("乡镇", 35), ("县级", 45), ("市级", 15), ("省级及以上", 5))
_HOSPITALS = {"乡镇": "{town}卫生院", "县级": "{county}人民医院", "市级": "{city}人民医院", "省级及以上": "省人民医院"}


def _claim(
    ctx: Context,
    m: Member | None,
    rng: random.Random,
    visit: str,
    total: float,
    level: str,
    vulnerable: bool,
    when: dt.date,
    min_oop: float = 0.0,
) -> dict[str, object]:
    if visit == "住院":
        basic = total * rng.uniform(0.55, 0.8) - rng.choice((200, 400, 600))
    elif visit == "门诊慢特病":
        basic = total * rng.uniform(0.6, 0.8)
    else:
        basic = total * rng.uniform(0.3, 0.6)
    basic = max(0.0, basic)
    critical = max(0.0, total - basic - 15_000) * rng.uniform(0.5, 0.6)
    rest = total - basic - critical
    assistance = rest * rng.uniform(0.3, 0.7) if vulnerable and visit != "门诊" else 0.0
    assistance = max(0.0, min(assistance, rest - min_oop))  # a planted claim keeps a large burden
    assistance_paid = round(assistance, 2)
    if min_oop:
        # Rounding each figure to cents must not take a planted burden below its floor.
        room = round(total, 2) - round(basic, 2) - round(critical, 2) - min_oop
        assistance_paid = max(0.0, min(assistance_paid, math.floor(round(room * 100, 6)) / 100))
    town = m.household.village.township_name if m else ""
    return {
        "settle_date": when,
        "visit_type": visit,
        "hospital_level": level,
        "hospital": _HOSPITALS[level].format(town=town, county=ctx.county.name, city=ctx.county.city_name),
        "total_cost": round(total, 2),
        "basic_paid": round(basic, 2),
        "critical_paid": round(critical, 2),
        "assistance_paid": assistance_paid,
        "out_of_pocket": max(0.0, round(round(total, 2) - round(basic, 2) - round(critical, 2) - assistance_paid, 2)),
    }


def medical_claims(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("medical")
    rows: list[Record] = []
    for m in ctx.living:
        end = ctx.deaths.get(m)
        vul = _vulnerable(m)
        chronic = m.health in ("长期慢性病", "患有大病")
        p = 0.9 if chronic else (0.55 if m.age >= 60 else 0.3 if m.age < 16 else 0.25)
        if rng.random() < p:
            n = int(pick(rng, (("1", 35), ("2", 25), ("3", 18), ("4", 10), ("5", 6), ("6", 6))))
            if chronic:
                n += rng.randint(2, 6)
            cum = 0.0
            for _ in range(n):
                x = rng.random()
                if chronic and x < 0.45:
                    visit, total, level = "门诊慢特病", rng.lognormvariate(6.2, 0.5), pick(rng, _LEVELS[:2])
                elif x < 0.85:
                    visit, total, level = "门诊", rng.lognormvariate(4.8, 0.8), pick(rng, _LEVELS[:3])
                else:
                    level = pick(rng, _LEVELS)
                    visit, total = "住院", rng.lognormvariate(8.3 + 0.3 * [lv for lv, _ in _LEVELS].index(level), 0.5)
                values = _claim(ctx, m, rng, visit, total, level, vul, ctx.day(rng, end=end))
                oop = float(values["out_of_pocket"])  # type: ignore[arg-type]
                if cum + oop > BACKGROUND_OOP_CAP:  # background stays below any warning line
                    break
                cum += oop
                rows.append(_rec(m, values))
        # planted: large out-of-pocket (因病)
        q = 0.6 if m in ctx.serious else (0.006 if chronic or m.age >= 60 else 0.002)
        if rng.random() < q:
            ctx.big_medical.add(m)
            start = ctx.serious[m][1] if m in ctx.serious else None
            for _ in range(rng.randint(1, 3)):
                level = pick(rng, (("县级", 20), ("市级", 45), ("省级及以上", 35)))
                total = rng.uniform(40_000, 260_000)
                when = ctx.day(rng, start=start, end=end)
                values = _claim(ctx, m, rng, "住院", total, level, vul, when, min_oop=LARGE_OOP_FLOOR)
                total_cost, big_oop = values["total_cost"], values["out_of_pocket"]
                assert isinstance(total_cost, float) and isinstance(big_oop, float)
                figures = _f(total_cost=total_cost, out_of_pocket=big_oop)
                rows.append(_rec(m, values, shocks=[("large_medical_oop", figures)], event_date=when))
    # people outside the registry (urban residents, other counties): unlinkable rows
    outsiders = max(3, len(rows) // 40)
    for _ in range(outsiders // 2):
        sex = "M" if rng.random() < 0.5 else "F"
        birth = dt.date(rng.randint(1940, ctx.year - 1), 1, 1) + dt.timedelta(days=rng.randrange(365))
        region = ctx.county.code if rng.random() < 0.7 else ctx.county.code[:4] + "01"
        if region == ctx.county.code:
            birth, id_number = ctx.ids.allocate(birth, sex)
        else:
            id_number = make_id_number(region, birth, rng.randrange(500), sex)
        name = ctx.names.surname(rng) + ctx.names.given(rng, sex)
        for _ in range(rng.randint(1, 3)):
            values = _claim(ctx, None, rng, "门诊", rng.lognormvariate(4.8, 0.8), "县级", False, ctx.day(rng))
            values.update(name=name, sex="男" if sex == "M" else "女", birth_date=birth, county_code=ctx.county.code)
            rows.append(Record(values=values, id_number=id_number, noise="not_in_registry"))
    rows.sort(key=lambda r: (r.values["settle_date"], r.person.key if r.person else "~", r.values["total_cost"]))
    quarters: list[list[Record]] = [[], [], [], []]
    for r in rows:
        quarters[(r.values["settle_date"].month - 1) // 3].append(r)  # type: ignore[attr-defined]
    c, y = ctx.county.name, ctx.year
    common = ("hospital_level", "total_cost", "basic_paid", "critical_paid", "assistance_paid", "out_of_pocket")
    specs = (
        FileSpec(
            "medical_claims",
            f"medical_claims_{y}Q1.csv",
            ("seq", "name", "id_number", "settle_date", "visit_type", "hospital", *common),
            encoding="gb18030",
            titles=(f"{c}{y}年第一季度医保结算数据",),
            date_style="slash",
            amount_style="comma",
            totals=True,
            lower_x=0.3,
        ),
        FileSpec(
            "medical_claims",
            f"medical_claims_{y}Q2.csv",
            ("id_number", "name", "sex", "birth_date", "visit_type", "settle_date", *common),
            encoding="utf-8-sig",
            headers=(("id_number", "身份证号码"), ("out_of_pocket", "个人负担")),
            date_style="compact",
            amount_style="yuan",
            blank_rows=3,
        ),
        FileSpec(
            "medical_claims",
            f"medical_claims_{y}Q3.xlsx",
            ("seq", "name", "id_number", "settle_date", "visit_type", "hospital", *common),
            fmt="xlsx",
            titles=(f"{c}{y}年第三季度医保结算数据", f"填报单位：{c}医疗保障局"),
            date_style="serial",
            amount_style="number",
            mixed_share=0.03,
            totals=True,
            blank_rows=2,
        ),
        FileSpec(
            "medical_claims",
            f"medical_claims_{y}Q4.csv",
            ("county_code", "name", "id_number", "visit_type", "settle_date", "hospital", *common),
            encoding="utf-8",
            headers=(("county_code", "行政区划代码"),),
            date_style="chinese",
            amount_style="yen",
            lower_x=1.0,
        ),
    )
    return list(zip(specs, quarters, strict=True))


# ----------------------------------------------------------------------------- enrolment
def medical_enrolment(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("enrolment")
    rows: list[Record] = []
    for m in ctx.living:
        lapsed = m.medical_insurance == "否" or rng.random() < 0.004
        if m.tekun == "是":
            subsidy = "全额"
        elif m.dibao == "是" or m.household.escaped or m.household.monitored:
            subsidy = "定额"
        else:
            subsidy = "无"
        if lapsed:
            rows.append(
                _rec(
                    m,
                    {"year": ctx.year, "enrolled": "未参保", "subsidy": ""},
                    shocks=[("medical_not_enrolled", _f(registry=m.medical_insurance))],
                )
            )
        else:
            rows.append(_rec(m, {"year": ctx.year, "enrolled": "已参保", "subsidy": subsidy}))
    return [
        (
            FileSpec(
                "medical_enrolment",
                f"medical_enrolment_{ctx.year}.csv",
                ("seq", "township", "village", "name", "id_number", "year", "enrolled", "subsidy"),
                encoding="gbk",
                titles=(f"{ctx.county.name}{ctx.year}年度城乡居民基本医疗保险参保名单",),
                lower_x=0.8,
                id_noise=0.02,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- disasters
def disaster_losses(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("disasters")
    y = ctx.year
    townships = list(ctx.county.townships)
    villages = list(ctx.county.villages)
    events = [
        (
            "洪涝",
            ctx.day(rng, dt.date(y, 6, 1), dt.date(y, 7, 31)),
            set(rng.sample(townships, min(2, len(townships)))),
            None,
            0.2,
            (("无", 35), ("一般损坏", 45), ("严重损坏", 14), ("倒塌", 6)),
        ),
        (
            "风雹",
            ctx.day(rng, dt.date(y, 4, 1), dt.date(y, 5, 31)),
            {rng.choice(townships)},
            None,
            0.1,
            (("无", 55), ("一般损坏", 40), ("严重损坏", 5)),
        ),
        (
            "地质灾害",
            ctx.day(rng, dt.date(y, 7, 1), dt.date(y, 8, 31)),
            set(),
            {v.code for v in rng.sample(villages, min(2, len(villages)))},
            0.08,
            (("一般损坏", 50), ("严重损坏", 30), ("倒塌", 20)),
        ),
        (
            "低温冷冻",
            ctx.day(rng, dt.date(y, 1, 5), dt.date(y, 2, 10)),
            {rng.choice(townships)},
            None,
            0.05,
            (("无", 100),),
        ),
    ]
    by_village: dict[str, list[Household]] = {}
    for hh in ctx.households:
        by_village.setdefault(hh.village.code, []).append(hh)
    rows: list[Record] = []

    def add(hh: Household, kind: str, when: dt.date, damage: str) -> None:
        loss = {
            "无": rng.uniform(300, 3_000),
            "一般损坏": rng.uniform(2_000, 12_000),
            "严重损坏": rng.uniform(15_000, 60_000),
            "倒塌": rng.uniform(50_000, 200_000),
        }[damage]
        values = {"disaster_type": kind, "occurred_on": when, "loss_amount": round(loss), "house_damage": damage}
        shocks = []
        if damage in ("严重损坏", "倒塌"):
            ctx.severe_disaster.add(hh)
            shocks.append(("disaster_severe", _f(disaster=kind, damage=damage, loss=float(round(loss)))))
        rows.append(_rec(hh.head, values, shocks=shocks, event_date=when))

    for kind, when, towns, vcodes, share, damage in events:
        for hh in ctx.households:
            inside = hh.village.township_code in towns if vcodes is None else hh.village.code in vcodes
            if inside and hh.head.alive and rng.random() < share:
                add(hh, kind, when, pick(rng, damage))
    # house fires in wooden villages: a cluster in one village
    village = rng.choice(villages)
    fire = ctx.day(rng, dt.date(y, 1, 1), dt.date(y, 3, 31))
    cluster = by_village.get(village.code, [])
    for hh in rng.sample(cluster, min(len(cluster), rng.randint(4, 12))):
        add(hh, "火灾", fire, pick(rng, (("严重损坏", 40), ("倒塌", 60))))
    rows.sort(key=lambda r: (r.values["occurred_on"], r.person.key if r.person else ""))
    return [
        (
            FileSpec(
                "disaster_losses",
                f"disaster_losses_{y}.csv",
                (
                    "seq",
                    "township",
                    "village",
                    "name",
                    "id_number",
                    "disaster_type",
                    "occurred_on",
                    "house_damage",
                    "loss_amount",
                ),
                encoding="gbk",
                titles=(f"{ctx.county.name}{y}年自然灾害受灾户损失统计表",),
                date_style="slash",
                amount_style="yuan",
                totals=True,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- assistance
def assistance_recipients(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("assistance")
    y = ctx.year
    rows: list[Record] = []
    for hh in ctx.households:
        living = hh.living
        dibao = [m for m in living if m.dibao == "是"]
        if dibao:
            since = dt.date(y - rng.randint(1, 4), rng.randint(1, 12), 1)
            monthly = round(rng.uniform(300, 560))
            ended = rng.random() < 0.12
            end = dt.date(y, rng.randint(2, 12), 1)
            for m in dibao:
                rows.append(
                    _rec(m, {"assistance_type": "低保", "status": "纳入", "effective_date": since, "amount": monthly})
                )
                if m in ctx.deaths:
                    d = ctx.deaths[m]
                    stop = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
                    rows.append(
                        _rec(
                            m,
                            {"assistance_type": "低保", "status": "停发", "effective_date": stop, "amount": 0},
                            shocks=[("assistance_stopped", _f(type="低保"))],
                            event_date=stop,
                        )
                    )
                elif ended:
                    rows.append(
                        _rec(
                            m,
                            {"assistance_type": "低保", "status": "退出", "effective_date": end, "amount": 0},
                            shocks=[("dibao_ended", _f(monthly=float(monthly)))],
                            event_date=end,
                        )
                    )
        elif (
            living
            and (
                hh.monitored
                or hh in ctx.severe_disaster
                or any(m in ctx.big_medical for m in living)
                or rng.random() < 0.006
            )
            and rng.random() < (0.3 if hh.monitored else 0.2 if len(living) < 5 else 0.1)
        ):
            start = ctx.day(rng, dt.date(y, 2, 1))
            monthly = round(rng.uniform(300, 560))
            for m in living:
                if m not in ctx.deaths:
                    rows.append(
                        _rec(
                            m,
                            {
                                "assistance_type": "低保",
                                "status": "纳入",
                                "effective_date": start,
                                "amount": monthly,
                            },
                            shocks=[("dibao_granted", _f(monthly=float(monthly)))],
                            event_date=start,
                        )
                    )
        for m in living:
            if m.tekun == "是":
                rows.append(
                    _rec(
                        m,
                        {
                            "assistance_type": "特困",
                            "status": "纳入",
                            "effective_date": dt.date(y - rng.randint(1, 6), rng.randint(1, 12), 1),
                            "amount": round(rng.uniform(600, 800)),
                        },
                    )
                )
            elif (
                len(living) == 1
                and m.age >= 60
                and m.labour in ("丧失劳动力", "无劳动力")
                and not dibao
                and m not in ctx.deaths
                and rng.random() < 0.08
            ):
                start = ctx.day(rng, dt.date(y, 2, 1))
                rows.append(
                    _rec(
                        m,
                        {
                            "assistance_type": "特困",
                            "status": "纳入",
                            "effective_date": start,
                            "amount": round(rng.uniform(600, 800)),
                        },
                        shocks=[("tekun_granted", _f(age=m.age))],
                        event_date=start,
                    )
                )
            if m.disabled and (m.disability_grade in ("一级", "二级") or m.dibao == "是"):
                rows.append(
                    _rec(
                        m,
                        {
                            "assistance_type": "残疾人两项补贴",
                            "status": "纳入",
                            "effective_date": dt.date(y - rng.randint(1, 5), rng.randint(1, 12), 1),
                            "amount": rng.choice((80, 90, 100)),
                        },
                    )
                )
            if (m in ctx.big_medical or (hh in ctx.severe_disaster and m is hh.head)) and rng.random() < 0.4:
                when = ctx.day(rng, dt.date(y, 3, 1))
                amount = round(rng.uniform(1_000, 8_000), -2)
                rows.append(
                    _rec(
                        m,
                        {"assistance_type": "临时救助", "status": "纳入", "effective_date": when, "amount": amount},
                        shocks=[("temporary_assistance", _f(amount=float(amount)))],
                        event_date=when,
                    )
                )
    rows.sort(key=lambda r: (r.values["assistance_type"], r.values["effective_date"], r.person.key if r.person else ""))
    return [
        (
            FileSpec(
                "assistance_recipients",
                f"assistance_recipients_{y}.xlsx",
                (
                    "seq",
                    "township",
                    "village",
                    "name",
                    "id_number",
                    "assistance_type",
                    "status",
                    "effective_date",
                    "amount",
                    "remark",
                ),
                fmt="xlsx",
                titles=(f"{ctx.county.name}{y}年社会救助对象名册",),
                merge_title=True,
                date_style="chinese",
                amount_style="number",
                totals=True,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- school
def _school_name(m: Member, stage: str, ctx: Context) -> str:
    c, v = ctx.county.name, m.household.village
    if stage in ("学前", "小学"):
        return f"{c}{v.short_name}{'幼儿园' if stage == '学前' else '小学'}"
    if stage == "初中":
        return f"{c}{v.township_name}中学"
    if stage == "高中":
        return f"{c}民族中学"
    if stage == "中职":
        return f"{c}中等职业学校"
    if stage == "高职":
        return f"{ctx.county.city_name}职业技术学院"
    return f"{ctx.county.province_name.rstrip('省市')}大学"


def school_enrolment(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("school")
    y = ctx.year
    as_of = dt.date(y, 9, 15)
    rows: list[Record] = []
    for m in ctx.living:
        stage = SCHOOL_STAGE.get(m.school_status)
        if stage is None or m in ctx.deaths:
            continue
        status, shocks = "在读", []
        if stage in ("小学", "初中") and rng.random() < 0.005:
            status = "辍学" if rng.random() < 0.75 else "休学"
            shocks = [("school_dropout" if status == "辍学" else "school_suspended", _f(stage=stage, age=m.age))]
        elif rng.random() < 0.005:
            status = "转出"
        rows.append(
            _rec(
                m,
                {
                    "school_stage": stage,
                    "status": status,
                    "as_of_date": as_of,
                    "school_name": _school_name(m, stage, ctx),
                },
                shocks=shocks,
                event_date=as_of if shocks else None,
            )
        )
    rows.sort(key=lambda r: (str(r.values["school_name"]), r.person.key if r.person else ""))
    return [
        (
            FileSpec(
                "school_enrolment",
                f"school_enrolment_{y}.csv",
                ("seq", "school_name", "school_stage", "name", "sex", "id_number", "status", "as_of_date"),
                encoding="gb18030",
                titles=(f"{ctx.county.name}{y}年秋季学期学生学籍信息", "数据来源：全国中小学生学籍信息管理系统"),
                date_style="dot",
                blank_rows=4,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- employment
def employment(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("employment")
    y = ctx.year
    rows: list[Record] = []
    for m in ctx.living:
        location = WORK_LOCATION.get(m.work_status)
        if location is None or not 16 <= m.age <= 64 or m in ctx.deaths or rng.random() > 0.75:
            continue
        hh = m.household
        x = rng.random()
        migrant = m.work_status in ("省外务工", "省内县外务工")
        if migrant and x < 0.035:
            when = ctx.day(rng, dt.date(y, 3, 1), dt.date(y, 11, 30))
            rows.append(
                _rec(
                    m,
                    {"status": "务工返乡", "as_of_date": when, "work_location": location, "monthly_wage": None},
                    shocks=[("migrant_return", _f(location=location))],
                    event_date=when,
                )
            )
            ctx.income_drops.setdefault(hh, "cause=migrant_return")
        elif migrant and x < 0.047:
            when = ctx.day(rng, dt.date(y, 3, 1), dt.date(y, 11, 30))
            rows.append(
                _rec(
                    m,
                    {"status": "失业登记", "as_of_date": when, "work_location": location, "monthly_wage": None},
                    shocks=[("unemployment", _f(location=location))],
                    event_date=when,
                )
            )
            ctx.income_drops.setdefault(hh, "cause=unemployment")
        else:
            wage = {
                "省外": rng.uniform(3_500, 7_000),
                "省内县外": rng.uniform(2_800, 5_000),
                "县内": rng.uniform(2_000, 3_600),
            }[location]
            if m.work_status == "公益岗位":
                wage = rng.choice((800, 1_000, 1_200, 1_500))
            status = (
                "灵活就业" if m.work_status == "自主创业" or (location == "县内" and rng.random() < 0.3) else "就业"
            )
            rows.append(
                _rec(
                    m,
                    {
                        "status": status,
                        "as_of_date": dt.date(y, 6, 30),
                        "work_location": location,
                        "monthly_wage": round(wage, -1),
                    },
                )
            )
    for m in ctx.deaths:
        if m.is_labourer:
            ctx.income_drops.setdefault(m.household, "cause=labourer_death")
    rows.sort(key=lambda r: (r.values["as_of_date"], r.person.key if r.person else ""))
    return [
        (
            FileSpec(
                "employment",
                f"employment_{y}.csv",
                ("seq", "name", "id_number", "status", "work_location", "monthly_wage", "as_of_date", "village"),
                encoding="gbk",
                date_style="slash",
                amount_style="plain",
                mixed_share=0.1,
                titles=(f"{ctx.county.name}{y}年农村劳动力就业失业动态监测表",),
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- pension
def pension(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("pension")
    rows: list[Record] = []
    for m in ctx.living:
        if m.age < 16 or m.work_status == "在校":
            continue
        if m.pension_insurance == "否":
            rows.append(_rec(m, {"year": ctx.year, "insured": "未参保", "tier": "", "paid_on_behalf": "否"}))
            continue
        on_behalf = (
            m.tekun == "是"
            or m.dibao == "是"
            or m.household.monitored
            or m.disability_grade in ("一级", "二级")
            or (m.household.escaped and rng.random() < 0.5)
        )
        if m.age >= 60:
            tier = ""
        elif on_behalf:
            tier = "100元档"
        else:
            tier = pick(rng, (("200元档", 55), ("300元档", 25), ("500元档", 12), ("1000元档", 5), ("2000元档", 3)))
        rows.append(
            _rec(
                m,
                {
                    "year": ctx.year,
                    "insured": "已参保",
                    "tier": tier,
                    "paid_on_behalf": "是" if on_behalf and m.age < 60 else "否",
                },
            )
        )
    return [
        (
            FileSpec(
                "pension",
                f"pension_{ctx.year}.csv",
                ("seq", "id_number", "name", "year", "insured", "tier", "paid_on_behalf", "township"),
                encoding="utf-8-sig",
                headers=(("id_number", "证件号码"),),
                id_noise=0.02,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- housing
def housing_appraisal(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("housing")
    rows: list[Record] = []
    for hh in ctx.households:
        if not hh.head.alive:
            continue
        when = ctx.day(rng, dt.date(ctx.year, 3, 1), dt.date(ctx.year, 11, 30))
        if hh.housing_grade in ("A", "B") and rng.random() < 0.012:
            grade = "C" if rng.random() < 0.75 else "D"
        elif hh.housing_grade in ("C", "D") and rng.random() < 0.5:
            grade = hh.housing_grade
        elif rng.random() < 0.08:
            grade = "A" if rng.random() < 0.65 else "B"
        else:
            continue
        shocks = [("housing_unsafe", _f(grade=grade, registry_grade=hh.housing_grade))] if grade in "CD" else []
        rows.append(
            _rec(
                hh.head, {"grade": grade, "appraisal_date": when, "address": hh.address}, shocks=shocks, event_date=when
            )
        )
    rows.sort(key=lambda r: (r.values["appraisal_date"], r.person.key if r.person else ""))
    return [
        (
            FileSpec(
                "housing_appraisal",
                f"housing_appraisal_{ctx.year}.xlsx",
                ("seq", "address", "name", "id_number", "grade", "appraisal_date", "remark"),
                fmt="xlsx",
                titles=(f"{ctx.county.name}{ctx.year}年农村房屋安全性鉴定结果汇总表",),
                merge_title=True,
                date_style="serial",
                mixed_share=0.1,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- disabilities
def disabilities(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("disabilities")
    y = ctx.year
    rows: list[Record] = []
    for m in ctx.living:
        if m.disabled:
            issued = dt.date(y - rng.randint(1, 12), 1, 1) + dt.timedelta(days=rng.randrange(365))
            status = "注销" if m in ctx.deaths else "有效"
            rows.append(
                _rec(
                    m,
                    {
                        "disability_type": m.disability_type,
                        "grade": m.disability_grade,
                        "issued_on": issued,
                        "status": status,
                    },
                )
            )
        else:
            p = 0.0008 if m.age < 45 else 0.004 if m.age < 65 else 0.009
            if m in ctx.serious:
                p = 0.1
            if rng.random() < p:
                kind = pick(
                    rng, (("视力", 15), ("听力", 20), ("言语", 2), ("肢体", 40), ("智力", 5), ("精神", 8), ("多重", 10))
                )
                grade = pick(rng, (("一级", 12), ("二级", 22), ("三级", 30), ("四级", 36)))
                issued = ctx.day(rng, end=ctx.deaths.get(m))
                rows.append(
                    _rec(
                        m,
                        {"disability_type": kind, "grade": grade, "issued_on": issued, "status": "有效"},
                        shocks=[("new_disability", _f(type=kind, grade=grade))],
                        event_date=issued,
                    )
                )
    rows.sort(key=lambda r: (r.values["issued_on"], r.person.key if r.person else ""))
    return [
        (
            FileSpec(
                "disabilities",
                f"disabilities_{y}.csv",
                ("seq", "name", "sex", "id_number", "disability_type", "grade", "issued_on", "status"),
                encoding="utf-8-sig",
                date_style="compact",
                lower_x=0.5,
            ),
            rows,
        )
    ]


# ----------------------------------------------------------------------------- water
def water_safety(ctx: Context) -> list[tuple[FileSpec, list[Record]]]:
    rng = ctx.rng("water")
    rows: list[Record] = []
    for v in ctx.county.villages:
        if rng.random() >= 0.1:
            continue
        for problem in rng.sample(("水量", "水质", "用水方便程度", "供水保证率"), rng.choice((1, 1, 2))):
            reported = ctx.day(rng, end=dt.date(ctx.year, 11, 30))
            resolved = reported + dt.timedelta(days=rng.randint(10, 90)) if rng.random() < 0.45 else None
            if resolved and resolved.year != ctx.year:
                resolved = None
            figures = _f(problem=problem, resolved="是" if resolved else "否")
            rows.append(
                Record(
                    values={
                        "village_code": v.code,
                        "village_name": v.short_name,
                        "township": v.township_name,
                        "problem": problem,
                        "reported_on": reported,
                        "resolved_on": resolved,
                        "county_code": ctx.county.code,
                    },
                    village_code=v.code,
                    shocks=[("water_problem", figures)],
                    event_date=reported,
                )
            )
    rows.sort(key=lambda r: (r.values["reported_on"], r.village_code))
    return [
        (
            FileSpec(
                "water_safety",
                f"water_safety_{ctx.year}.csv",
                ("seq", "township", "village_name", "village_code", "problem", "reported_on", "resolved_on"),
                encoding="utf-8-sig",
                date_style="chinese",
                id_noise=0.0,
                name_noise=0.0,
                duplicate_rate=0.0,
            ),
            rows,
        )
    ]


# Order matters: deaths and serious illness are planned first (claims stop at death, diagnoses
# bring large claims), disasters and medical before assistance (temporary assistance follows them).
GENERATORS = (
    ("deaths", deaths),
    ("serious_illness", serious_illness),
    ("medical_claims", medical_claims),
    ("medical_enrolment", medical_enrolment),
    ("disaster_losses", disaster_losses),
    ("assistance_recipients", assistance_recipients),
    ("school_enrolment", school_enrolment),
    ("employment", employment),
    ("pension", pension),
    ("housing_appraisal", housing_appraisal),
    ("disabilities", disabilities),
    ("water_safety", water_safety),
)
