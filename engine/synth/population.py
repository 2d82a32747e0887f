"""Households and members of the synthetic registry (clean base data)."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.ids import make_id_number
from engine.synth.divisions import County, Village
from engine.synth.names import NamePool
from engine.synth.profiles import Profile


@dataclass(slots=True, eq=False)
class Member:
    household: Household
    seq: int
    relationship: str
    sex: str  # "M" / "F"
    age: int  # completed years on 31 August of the year
    birth: dt.date = dt.date(2000, 1, 1)
    name: str = ""
    id_number: str = ""
    ethnicity: str = "汉族"
    education: str = ""
    school_status: str = "非在校生"
    health: str = "健康"  # illness: 健康 / 长期慢性病 / 患有大病
    disabled: bool = False
    disability_type: str = ""
    disability_grade: str = ""
    labour: str = "普通劳动力"
    work_status: str = "不适用"
    work_place: str = ""
    medical_insurance: str = "是"
    pension_insurance: str = "否"
    dibao: str = "否"
    tekun: str = "否"
    death_date: dt.date | None = None

    @property
    def health_text(self) -> str:
        """健康状况 as the registry file writes it: one value, or a combination."""
        parts = [self.health] if self.health != "健康" or not self.disabled else []
        return "、".join([*parts, "残疾"] if self.disabled else parts)

    @property
    def key(self) -> str:
        """Person key without any ID number: household number + member sequence."""
        return f"{self.household.number}-{self.seq:02d}"

    @property
    def alive(self) -> bool:
        return self.death_date is None

    @property
    def is_labourer(self) -> bool:
        return 16 <= self.age <= 59 and self.labour in ("技能劳动力", "普通劳动力")


@dataclass(slots=True, eq=False)
class Household:
    number: str
    village: Village
    address: str
    surname: str
    ethnicity: str
    phone: str = ""
    household_type: str = "一般农户"
    poverty_exit_year: str = ""
    monitoring_category: str = ""
    monitoring_state: str = "未纳入"
    housing_grade: str = "A"
    housing_appraised_on: dt.date | None = None
    water: tuple[str, str, str, str] = ("是", "是", "是", "是")
    food_clothing_ok: str = "是"
    members: list[Member] = field(default_factory=list)
    accounts: dict[int, dict[str, int]] = field(default_factory=dict)

    @property
    def head(self) -> Member:
        return self.members[0]

    @property
    def living(self) -> list[Member]:
        return [m for m in self.members if m.death_date is None]

    @property
    def escaped(self) -> bool:
        return self.household_type == "脱贫户"

    @property
    def monitored(self) -> bool:
        return self.monitoring_state == "监测中"


@functools.cache
def _cumulative(weighted: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    return tuple(v for v, _ in weighted), tuple(itertools.accumulate(w for _, w in weighted))


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    """One value of a (value, weight) table."""
    values, cum = _cumulative(weighted)
    return values[min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(values) - 1)]


def weighted_villages(villages: tuple[Village, ...], rng: random.Random) -> list[float]:
    """Cumulative weights: villages differ in size (lognormal, deterministic per seed)."""
    acc, out = 0.0, []
    for _ in villages:
        acc += math.exp(rng.gauss(0, 0.45))
        out.append(acc)
    return out


class IdAllocator:
    """Unique ID numbers for one county: at most 500 per birth date and sex (GB 11643 sequence)."""

    def __init__(self, region6: str, rng: random.Random) -> None:
        self.region6 = region6
        self.rng = rng
        self.used: dict[tuple[dt.date, str], list[int]] = {}  # (birth, sex) → [offset, count]

    def allocate(self, birth: dt.date, sex: str) -> tuple[dt.date, str]:
        while True:
            slot = self.used.get((birth, sex))
            if slot is None:
                # real sequence numbers are spread out (police-station blocks): start anywhere
                slot = self.used[(birth, sex)] = [self.rng.randrange(500), 0]
            if slot[1] < 500:
                sequence = (slot[0] + slot[1]) % 500
                slot[1] += 1
                return birth, make_id_number(self.region6, birth, sequence, sex)
            birth += dt.timedelta(days=1)  # this birth date's numbers are used up


# ----------------------------------------------------------------------------- structure
def _head_age(rng: random.Random, lo: int, hi: int, mode: int) -> int:
    return int(rng.triangular(lo, hi + 0.999, mode))


def _compose(rng: random.Random) -> list[tuple[str, str, int]]:
    """(relationship, sex, age) for one household; the head first. Ages are plausible."""
    r = rng.random()
    out: list[tuple[str, str, int]] = []
    if r < 0.10:  # elderly living alone (空巢/独居)
        out.append(("户主", "F" if rng.random() < 0.55 else "M", _head_age(rng, 60, 94, 72)))
        return out
    if r < 0.22:  # elderly couple, children moved out (空巢老人)
        age = _head_age(rng, 60, 88, 68)
        out.append(("户主", "M", age))
        out.append(("配偶", "F", max(55, age + rng.randint(-6, 2))))
        return out
    if r < 0.27:  # single adult, sometimes with a sibling or a parent
        age = _head_age(rng, 22, 59, 40)
        sex = "M" if rng.random() < 0.8 else "F"
        out.append(("户主", sex, age))
        x = rng.random()
        if x < 0.3:
            out.append(("兄弟姐妹", "M" if rng.random() < 0.5 else "F", max(16, age + rng.randint(-8, 8))))
        elif x < 0.6 and age + 22 <= 92:
            out.append(("父母", "F", min(95, age + rng.randint(22, 32))))
        return out
    extended = r >= 0.68
    if not extended:  # nuclear: couple (or single parent) and children
        age = _head_age(rng, 24, 62, 40)
    else:
        age = _head_age(rng, 42, 75, 55) if rng.random() < 0.65 else _head_age(rng, 26, 50, 38)
    head_sex = "M" if rng.random() < 0.9 else "F"
    out.append(("户主", head_sex, age))
    spouse_age = None
    if rng.random() < 0.9:
        spouse_age = max(20, age + (rng.randint(-7, 2) if head_sex == "M" else rng.randint(-2, 7)))
        out.append(("配偶", "F" if head_sex == "M" else "M", spouse_age))
    mother_age = spouse_age if head_sex == "M" and spouse_age is not None else age
    n_children = int(pick(rng, (("0", 4), ("1", 22), ("2", 40), ("3", 23), ("4", 11))))
    children: list[tuple[str, str, int]] = []
    gap = rng.randint(20, 30)
    for i in range(n_children):
        child_age = mother_age - gap - i * rng.randint(1, 4)
        if child_age < 0:
            break
        sex = "M" if rng.random() < 0.53 else "F"
        children.append(("子" if sex == "M" else "女", sex, child_age))
    out.extend(children)
    if extended:
        adults = [c for c in children if c[2] >= 22]
        if adults and age >= 42:
            child = adults[0]
            in_law_sex = "F" if child[1] == "M" else "M"
            if child[1] == "M" or rng.random() < 0.2:  # 上门女婿 is rarer
                in_law_age = max(20, child[2] + rng.randint(-4, 3))
                out.append(("儿媳" if in_law_sex == "F" else "女婿", in_law_sex, in_law_age))
                parent_age = child[2] if child[1] == "F" else in_law_age
                for j in range(int(pick(rng, (("0", 15), ("1", 40), ("2", 35), ("3", 10))))):
                    gc_age = parent_age - rng.randint(20, 28) - j * rng.randint(1, 3)
                    if gc_age < 0:
                        break
                    out.append(("孙子女", "M" if rng.random() < 0.53 else "F", gc_age))
        elif age <= 55:
            # head's parents live in the household
            if rng.random() < 0.75:
                out.append(("父母", "M", min(96, age + rng.randint(24, 34))))
            if rng.random() < 0.85:
                out.append(("父母", "F", min(95, age + rng.randint(21, 30))))
            if age <= 32 and rng.random() < 0.15:
                out.append(("祖父母", "F", min(97, age + rng.randint(46, 56))))
    return out


# ----------------------------------------------------------------------------- attributes
DISABILITY_TYPES = (
    ("视力", 14.9),
    ("听力", 24.2),
    ("言语", 1.5),
    ("肢体", 29.1),
    ("智力", 6.7),
    ("精神", 7.4),
    ("多重", 16.2),
)
DISABILITY_GRADES = (("一级", 12), ("二级", 20), ("三级", 30), ("四级", 38))
OUT_OF_PROVINCE = (
    "浙江省宁波市",
    "浙江省杭州市",
    "浙江省温州市",
    "广东省东莞市",
    "广东省深圳市",
    "广东省佛山市",
    "福建省泉州市",
    "福建省厦门市",
    "江苏省苏州市",
    "上海市",
)


def _disability_rate(age: int) -> float:
    if age < 15:
        return 0.012
    if age < 45:
        return 0.035
    if age < 60:
        return 0.075
    if age < 75:
        return 0.13
    return 0.21


def _chronic_rate(age: int) -> float:
    if age < 18:
        return 0.01
    if age < 40:
        return 0.03
    if age < 60:
        return 0.12
    return 0.30


def _school(age: int, rng: random.Random) -> tuple[str, str]:
    """(school_status, education) for a person of this age; adults get a cohort education."""
    if age < 3:
        return "学龄前儿童", "学龄前"
    if age < 6:
        return ("学前教育", "学龄前") if rng.random() < 0.9 else ("学龄前儿童", "学龄前")
    if age <= 11:
        return "小学", "小学"
    if age <= 15:
        return "七至九年级", "初中"
    if age <= 18:
        x = rng.random()
        if x < 0.55:
            return "普通高中", "高中"
        if x < 0.82:
            return "中职", "中职"
        return "非在校生", "初中"
    if age <= 22:
        x = rng.random()
        if x < 0.16:
            return "高职高专", "高中"
        if x < 0.28:
            return "本科", "高中"
    return "非在校生", _adult_education(age, rng)


def _adult_education(age: int, rng: random.Random) -> str:
    if age >= 65:
        return pick(rng, (("文盲或半文盲", 45), ("小学", 45), ("初中", 10)))
    if age >= 45:
        return pick(rng, (("文盲或半文盲", 12), ("小学", 48), ("初中", 35), ("高中", 5)))
    if age >= 30:
        return pick(rng, (("文盲或半文盲", 3), ("小学", 25), ("初中", 55), ("高中", 9), ("中职", 5), ("大专", 3)))
    return pick(rng, (("小学", 8), ("初中", 50), ("高中", 15), ("中职", 14), ("大专", 8), ("本科及以上", 5)))


def add_illness_of_disabled(households: list[Household], rng: random.Random) -> None:
    """A disabled person may be chronically or seriously ill too (policy.md §11: 健康状况
    combinations), at everyone's rates. Drawn after the households, from a stream of its own,
    so the county drawn before illness and disability were recorded apart stays as it was."""
    for hh in households:
        boost = 1.35 if hh.escaped else 1.0
        for m in hh.members:
            if not m.disabled:
                continue
            if rng.random() < 0.006 + (0.01 if m.age >= 45 else 0):
                m.health = "患有大病"
            elif rng.random() < _chronic_rate(m.age) * boost:
                m.health = "长期慢性病"


def _fill_member(m: Member, rng: random.Random, profile: Profile, county: County, escaped: bool) -> None:
    m.school_status, m.education = _school(m.age, rng)
    boost = 1.35 if escaped else 1.0
    x = rng.random()
    if x < _disability_rate(m.age) * boost:
        m.disabled = True
        m.disability_type = pick(rng, DISABILITY_TYPES)
        m.disability_grade = pick(rng, DISABILITY_GRADES)
    elif rng.random() < 0.006 + (0.01 if m.age >= 45 else 0):
        m.health = "患有大病"
    elif rng.random() < _chronic_rate(m.age) * boost:
        m.health = "长期慢性病"
    studying = m.school_status not in ("非在校生", "学龄前儿童")
    # labour capacity (劳动技能): children and the old have none; health lowers it
    if m.age < 16 or studying or m.age >= 75:
        m.labour = "无劳动力"
    elif m.disabled and m.disability_grade in ("一级", "二级"):
        m.labour = "丧失劳动力"
    elif m.health == "患有大病":
        m.labour = "丧失劳动力" if rng.random() < 0.5 else "弱劳动力或半劳动力"
    elif m.disabled or m.health == "长期慢性病" or m.age >= 65:
        m.labour = "弱劳动力或半劳动力"
    elif m.age >= 60:
        m.labour = "普通劳动力" if rng.random() < 0.4 else "弱劳动力或半劳动力"
    else:
        m.labour = (
            "技能劳动力"
            if m.education in ("中职", "大专", "高中") and rng.random() < 0.35
            else ("技能劳动力" if rng.random() < 0.08 else "普通劳动力")
        )
    # work status
    if studying:
        m.work_status = "在校"
    elif m.age < 16:
        m.work_status = "不适用"
    elif m.labour in ("技能劳动力", "普通劳动力"):
        if m.age <= 55 and rng.random() < profile.migrant_share:
            m.work_status = pick(rng, (("省外务工", 68), ("省内县外务工", 32)))
        else:
            m.work_status = pick(rng, (("务农", 55), ("县内务工", 32), ("公益岗位", 5), ("自主创业", 5), ("无业", 3)))
    elif m.labour == "弱劳动力或半劳动力":
        m.work_status = pick(rng, (("务农", 75), ("公益岗位", 10), ("无业", 15)))
    else:
        m.work_status = "无业" if m.age < 60 else "不适用"
    if m.work_status == "省外务工":
        m.work_place = rng.choice(OUT_OF_PROVINCE)
    elif m.work_status == "省内县外务工":
        m.work_place = f"{county.province_name}" + rng.choice(("省会", "州府", "邻县"))
    elif m.work_status in ("县内务工", "公益岗位", "自主创业"):
        m.work_place = county.name
    m.medical_insurance = "是" if rng.random() < 0.985 else "否"
    m.pension_insurance = "是" if m.age >= 16 and not studying and rng.random() < 0.93 else "否"


def build_households(
    county: County,
    profile: Profile,
    names: NamePool,
    n: int,
    year: int,
    rng: random.Random,
    ids: IdAllocator,
    progress: Callable[[int], object] | None = None,
) -> list[Household]:
    """n households with members, household flags and IDs; deterministic for the rng state."""
    cum = weighted_villages(county.villages, rng)
    total = cum[-1]
    ethnic = tuple((e, float(w)) for e, w in profile.ethnicities)
    households: list[Household] = []
    for i in range(n):
        x = rng.random() * total
        lo, hi = 0, len(cum) - 1
        while lo < hi:  # bisect over cumulative weights
            mid = (lo + hi) // 2
            if cum[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        village = county.villages[lo]
        group = rng.randint(1, 12)
        hh = Household(
            number=f"{county.code}{i + 1:06d}",
            village=village,
            address=f"{county.name}{village.township_name}{village.short_name}{group}组",
            surname=names.surname(rng),
            ethnicity=pick(rng, ethnic),
            phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.85 else "",
        )
        # household type first: members of 脱贫户 are somewhat more often ill or disabled
        if rng.random() < profile.escaped_share:
            hh.household_type = "脱贫户"
            hh.poverty_exit_year = pick(
                rng, (("2014", 4), ("2015", 9), ("2016", 15), ("2017", 20), ("2018", 22), ("2019", 22), ("2020", 8))
            )
        spouse_surname = names.surname(rng)
        for seq, (rel, sex, age) in enumerate(_compose(rng), start=1):
            m = Member(household=hh, seq=seq, relationship=rel, sex=sex, age=max(0, age))
            if rel in ("户主", "子", "女", "孙子女", "兄弟姐妹") or (rel in ("父母", "祖父母") and sex == "M"):
                surname = hh.surname if rng.random() < 0.96 else names.surname(rng)
            elif rel == "配偶":
                surname = spouse_surname
            else:
                surname = names.surname(rng)
            m.name = surname + names.given(rng, sex)
            m.ethnicity = hh.ethnicity if rng.random() < 0.93 else pick(rng, ethnic)
            _fill_member(m, rng, profile, county, hh.escaped)
            # birth date: exactly `age` completed years on 31 August of the year
            start = dt.date(year - m.age - 1, 9, 1)
            m.birth, m.id_number = ids.allocate(start + dt.timedelta(days=rng.randrange(365)), sex)
            hh.members.append(m)
        households.append(hh)
        assign_household_flags(hh, rng, profile, year)
        if progress is not None:
            progress(1)
    return households


# ----------------------------------------------------------------------------- household flags
def assign_household_flags(hh: Household, rng: random.Random, profile: Profile, year: int) -> None:
    members = hh.members
    # a few members died before or early in the year (known to the registry, not shocks)
    for m in members[1:]:
        p = 0.001 if m.age < 60 else (0.012 if m.age < 80 else 0.045)
        if rng.random() < p:
            m.death_date = dt.date(year - 1, 1, 1) + dt.timedelta(days=rng.randrange(365 + 150))
    living = hh.living
    # monitoring (policy.md §2): category consistent with the household type
    x = rng.random()
    if hh.escaped:
        state = "监测中" if x < 0.06 else ("风险已消除" if x < 0.15 else "未纳入")
    else:
        state = "监测中" if x < 0.02 else ("风险已消除" if x < 0.04 else "未纳入")
    hh.monitoring_state = state
    if state != "未纳入":
        sudden = rng.random() < 0.25
        hh.monitoring_category = "突发严重困难户" if sudden else ("脱贫不稳定户" if hh.escaped else "边缘易致贫户")
    # social assistance: 低保 mostly whole-household, 特困 for the old living alone without labour
    no_labour = all(m.labour in ("丧失劳动力", "无劳动力") for m in living)
    if len(living) == 1 and living[0].age >= 60 and no_labour and rng.random() < 0.3:
        living[0].tekun = "是"
    else:
        p = 0.04 + (0.08 if hh.escaped else 0) + (0.25 if hh.monitored else 0) + (0.2 if no_labour else 0)
        if rng.random() < p:
            if rng.random() < 0.8:
                for m in living:
                    m.dibao = "是"
            else:
                target = max(living, key=lambda m: (m.disabled or m.health != "健康", m.age))
                target.dibao = "是"
    # housing and water: mostly safe
    hh.housing_grade = pick(rng, (("A", 70), ("B", 27), ("C", 2.4), ("D", 0.6)))
    hh.housing_appraised_on = dt.date(year - rng.randint(2, 6), 3, 1) + dt.timedelta(days=rng.randrange(240))
    hh.water = tuple("否" if rng.random() < 0.01 else "是" for _ in range(4))  # type: ignore[assignment]
    hh.food_clothing_ok = "是"
    _accounts(hh, rng, profile, year)


PENSION_MONTHLY = 165  # 城乡居民基础养老金, approximate for Guizhou 2025
DIBAO_MONTHLY = 420  # per person, approximate average rural 低保 payment
TEKUN_YEARLY = 7_800


def _accounts(hh: Household, rng: random.Random, profile: Profile, year: int) -> None:
    """Income components for `year` and `year - 1` (registry_accounts)."""
    living = hh.living
    pop = max(1, len(living))
    line = profile.monitoring_line
    pc = math.exp(rng.gauss(math.log(profile.income_median), profile.income_sigma))
    if hh.escaped:
        pc *= 0.88
    if hh.monitoring_state == "监测中" and hh.monitoring_category != "突发严重困难户":
        pc = rng.uniform(0.6, 0.97) * line
    elif hh.monitoring_state != "未纳入":
        pc = max(pc, rng.uniform(1.05, 1.6) * line)
    elif pc < line and rng.random() < 0.85:
        # most low-income households are in monitoring or above the line ("应纳尽纳");
        # the rest stay below the line unmonitored: a registry-level finding
        pc = rng.uniform(1.02, 1.35) * line
    net = pc * pop
    pension = sum(1 for m in living if m.age >= 60 and m.pension_insurance == "是") * PENSION_MONTHLY * 12
    dibao = sum(1 for m in living if m.dibao == "是") * DIBAO_MONTHLY * 12
    tekun = sum(1 for m in living if m.tekun == "是") * TEKUN_YEARLY
    eco = rng.choice((0, 0, 120, 300, 600))
    transfer: float = pension + dibao + tekun + eco
    prop: float = rng.choice((0, 0, 0, 200, 400, 800, 1500))
    if transfer + prop > net * 0.9:
        if hh.monitoring_state == "监测中" and hh.monitoring_category != "突发严重困难户":
            scale = net * 0.6 / (transfer + prop)
            transfer, prop = transfer * scale, prop * scale
        else:
            net = (transfer + prop) / 0.9
    rest = net - transfer - prop
    workers = sum(1 for m in living if m.work_status in ("省外务工", "省内县外务工", "县内务工", "公益岗位"))
    wage_share = rng.uniform(0.7, 0.92) if workers else rng.uniform(0.0, 0.2)
    wage = rest * wage_share
    op_net = rest - wage
    cost_ratio = rng.uniform(0.25, 0.45)
    op_income = op_net / (1 - cost_ratio)
    op_cost = op_income - op_net
    students = [m for m in living if m.school_status not in ("非在校生", "学龄前儿童")]
    edu = 0.0
    for m in students:
        edu += {
            "学前教育": 800,
            "小学": 300,
            "七至九年级": 500,
            "普通高中": 2500,
            "中职": 1800,
            "高职高专": 7000,
            "本科": 9000,
        }.get(m.school_status, 0) * rng.uniform(0.7, 1.3)
    medical = 0.0 if rng.random() < 0.55 else rng.uniform(100, 2500)
    if any(m.health in ("长期慢性病", "患有大病") for m in living):
        medical += rng.uniform(500, 4000)
    if hh.monitoring_category == "突发严重困难户":
        medical += rng.uniform(15_000, 50_000)
    current = {
        "wage_income": round(wage),
        "operating_income": round(op_income),
        "operating_cost": round(op_cost),
        "property_income": round(prop),
        "transfer_income": round(transfer),
        "population": pop,
        "medical_expense": round(medical),
        "education_expense": round(edu),
    }
    growth = rng.gauss(1.065, 0.04)
    previous = {k: (v if k == "population" else round(v / growth)) for k, v in current.items()}
    previous["medical_expense"] = round(rng.uniform(0, 2000) if rng.random() < 0.5 else 0)
    hh.accounts = {year - 1: previous, year: current}
