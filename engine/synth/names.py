"""Chinese names: a pool drawn once from Faker zh_CN (seeded), plus local surname weights and
the homophone table used for realistic name typos in department feeds."""

from __future__ import annotations

import random

from faker import Faker

# Qiandongnan (黔东南) Miao and Dong surnames, most common first; weights are an approximation
# from local gazetteer surname lists, not a census count.
LOCAL_SURNAMES: dict[str, tuple[tuple[str, int], ...]] = {
    "5226": (
        ("杨", 18),
        ("张", 12),
        ("吴", 10),
        ("龙", 8),
        ("王", 7),
        ("李", 6),
        ("刘", 6),
        ("潘", 5),
        ("石", 4),
        ("邰", 4),
        ("唐", 3),
        ("万", 3),
        ("姜", 2),
        ("欧", 2),
        ("罗", 2),
        ("陈", 2),
        ("田", 2),
        ("顾", 2),
        ("文", 1),
        ("邓", 1),
    ),
}

# Homophones and near-homophones (incl. southwestern-Mandarin en/eng and tone confusions) that
# clerks type for one another. Applied to one character of a name.
HOMOPHONES: dict[str, str] = {
    "张": "章",
    "章": "张",
    "王": "汪",
    "汪": "王",
    "李": "里",
    "刘": "柳",
    "杨": "阳",
    "吴": "伍",
    "陈": "程",
    "徐": "许",
    "许": "徐",
    "龙": "隆",
    "石": "时",
    "潘": "盘",
    "邰": "台",
    "唐": "汤",
    "罗": "骆",
    "姜": "江",
    "胡": "湖",
    "何": "贺",
    "周": "邹",
    "赵": "肇",
    "林": "琳",
    "黄": "皇",
    "伟": "玮",
    "芳": "方",
    "英": "瑛",
    "华": "花",
    "明": "铭",
    "军": "君",
    "丽": "莉",
    "静": "婧",
    "敏": "民",
    "秀": "绣",
    "兰": "蓝",
    "梅": "玫",
    "红": "洪",
    "平": "萍",
    "霞": "侠",
    "燕": "艳",
    "勇": "永",
    "杰": "洁",
    "磊": "垒",
    "斌": "彬",
    "波": "博",
    "建": "健",
    "国": "郭",
    "玉": "钰",
    "凤": "风",
    "云": "芸",
    "琴": "勤",
    "珍": "真",
    "娟": "鹃",
    "婷": "亭",
    "涛": "滔",
    "超": "潮",
    "刚": "钢",
    "辉": "晖",
    "文": "雯",
    "春": "椿",
    "金": "今",
    "海": "亥",
    "荣": "蓉",
    "桂": "贵",
    "德": "得",
    "生": "声",
    "成": "城",
    "光": "广",
    "志": "智",
    "忠": "中",
    "清": "青",
    "飞": "菲",
}


class NamePool:
    """Pre-drawn surnames and given names; picking from it costs one `random` call."""

    def __init__(self, seed: int, county_code: str, size: int = 1500) -> None:
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = [fake.last_name() for _ in range(size)]
        male = [fake.first_name_male() for _ in range(size)]
        female = [fake.first_name_female() for _ in range(size)]
        rng = random.Random(f"names:{seed}")
        # Faker's zh_CN given names are few; compose two-character names from their characters too.
        self.male = male + self._compose(male, rng, size)
        self.female = female + self._compose(female, rng, size)
        local = LOCAL_SURNAMES.get(county_code[:4], ())
        self.local_surnames = [s for s, w in local for _ in range(w)]

    @staticmethod
    def _compose(names: list[str], rng: random.Random, size: int) -> list[str]:
        chars = sorted({c for n in names for c in n})
        return [rng.choice(chars) + rng.choice(chars) for _ in range(size)]

    def surname(self, rng: random.Random) -> str:
        if self.local_surnames and rng.random() < 0.75:
            return rng.choice(self.local_surnames)
        return rng.choice(self.surnames)

    def given(self, rng: random.Random, sex: str) -> str:
        return rng.choice(self.male if sex == "M" else self.female)


def homophone_typo(name: str, rng: random.Random) -> str | None:
    """The name with one character swapped for a homophone, or None when none applies."""
    positions = [i for i, c in enumerate(name) if c in HOMOPHONES]
    if not positions:
        return None
    i = rng.choice(positions)
    return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
