"""Standardising the columns linkage compares: names (and their pinyin), birth dates, sex, places.

Names are compared in three spellings, all derived here once per distinct name:

- `name`: NFKC (full-width forms folded), every blank removed (`张 伟` → `张伟`), middle dots
  unified (`·`);
- `name_pinyin`: toneless pinyin, one reading per character (the most common one, and the
  surname reading for the first character: 单 shan, 曾 zeng, 解 xie …), so a homophone typo
  (张伟 / 章伟 → zhangwei) agrees exactly;
- `name_fuzzy`: that pinyin with the confusions of southwestern Mandarin and of clerks typing
  from hearing folded (模糊音: zh/z, ch/c, sh/s, n/l, eng/en, ing/in), so 陈/程 (chen/cheng)
  and 周/邹 (zhou/zou) agree too; `name_initials` (first letters, `zw`) and `surname_fuzzy`
  serve blocking.

Characters are converted one by one, without phrase context, so a typo in one character never
changes the reading of its neighbour. Conversion runs once per distinct character (cached):
a registry of 300,000 members has a few thousand distinct characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.linkage.settings import DEFAULT, LinkSettings

# Surnames whose surname reading differs from the character's most common reading (多音字).
SURNAME_READINGS = {
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "查": "zha",
    "曾": "zeng",
    "乐": "yue",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "种": "chong",
    "秘": "bi",
    "繁": "po",
    "员": "yun",
    "重": "chong",
    "柏": "bai",
    "隗": "wei",
    "能": "nai",
    "黑": "he",
    "牟": "mou",
    "句": "gou",
    "召": "shao",
    "薄": "bo",
    "折": "she",
    "过": "guo",
    "祭": "zhai",
    "冼": "xian",
    "洗": "xian",
    "卜": "bu",
    "万": "wan",
    "尉": "wei",
    "长": "chang",
    "沈": "shen",
    "宁": "ning",
    "车": "che",
    "都": "du",
    "藏": "zang",
}
_DOTS = str.maketrans({"•": "·", "‧": "·", "・": "·", "∙": "·", "．": "·", ".": "·"})
_SEX = {"男": "M", "M": "M", "MALE": "M", "1": "M", "女": "F", "F": "F", "FEMALE": "F", "2": "F"}

FEED_COLUMNS = ("row_id", "id_hash", "name", "birth_date", "sex", "village_code")
REGISTRY_COLUMNS = ("member_key", "id_hash", "name", "birth_date", "sex", "village_code", "household_key")


def normalize_name(value: str | None) -> str | None:
    """NFKC, blanks removed, middle dots unified; `None` for an empty name."""
    if value is None:
        return None
    text = "".join(unicodedata.normalize("NFKC", str(value)).split()).translate(_DOTS)
    return text or None


@lru_cache(maxsize=65536)
def char_pinyin(char: str, *, surname: bool = False) -> str:
    """Toneless pinyin of one character (its most common reading; the surname reading first)."""
    if surname and char in SURNAME_READINGS:
        return SURNAME_READINGS[char]
    if not ("\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or char >= "\U00020000"):
        return char.lower() if char.isalnum() else ""
    from pypinyin import Style, lazy_pinyin  # pinyin of names (homophone typos); imported lazily

    reading = lazy_pinyin(char, style=Style.NORMAL, v_to_u=False, errors="default")
    return reading[0].lower() if reading else char


def fuzzy_syllable(syllable: str) -> str:
    """Fold the confusions of 模糊音: zh/z ch/c sh/s n/l initials, eng/en ing/in finals."""
    s = syllable
    for retroflex in ("zh", "ch", "sh"):
        if s.startswith(retroflex):
            s = s[0] + s[2:]
            break
    if s.startswith("n") and not s.startswith("ng"):
        s = "l" + s[1:]
    if s.endswith(("eng", "ing")):
        s = s[:-1]
    return s


def name_spellings(name: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(pinyin, fuzzy pinyin, initials, fuzzy surname syllable) of a normalised name."""
    if not name:
        return None, None, None, None
    syllables = [char_pinyin(c, surname=(i == 0)) for i, c in enumerate(name)]
    syllables = [s for s in syllables if s]
    if not syllables:
        return None, None, None, None
    fuzzy = [fuzzy_syllable(s) for s in syllables]
    return "".join(syllables), "".join(fuzzy), "".join(s[0] for s in syllables), fuzzy[0]


def normalize_sex(value: str | None) -> str | None:
    if value is None:
        return None
    return _SEX.get(unicodedata.normalize("NFKC", str(value)).strip().upper())


def _map_distinct(array: pa.ChunkedArray | pa.Array, fn: Callable[[Any], object], type_: pa.DataType) -> pa.Array:
    """Apply `fn` once per distinct value (names repeat: 1M rows, ~100,000 names)."""
    distinct = pc.unique(array)
    mapped = pa.array([fn(v) for v in distinct.to_pylist()], type=type_)
    return pc.take(mapped, pc.index_in(array, value_set=distinct))


def _column(table: pa.Table, name: str, type_: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, type_)
    col = table.column(name)
    return col if col.type == type_ else col.cast(type_)


def _codes(array: pa.ChunkedArray | pa.Array, length: int) -> pa.Array:
    def clean(value: object) -> str | None:
        if value is None:
            return None
        text = unicodedata.normalize("NFKC", str(value)).strip()
        return text[:length] if text.isdigit() and len(text) >= length else None

    return _map_distinct(array, clean, pa.string())


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(unicodedata.normalize("NFKC", str(value)).split()).lower()
    return text or None


def prepared_columns(settings: LinkSettings) -> list[tuple[str, pa.DataType]]:
    """The prepared table's columns for these comparisons (beyond `uid`)."""
    out: list[tuple[str, pa.DataType]] = []
    for spec in settings.comparisons:
        c = spec.column
        if spec.method == "name":
            out += [(c, pa.string()), *((f"{c}_{s}", pa.string()) for s in ("pinyin", "fuzzy", "initials", "surname"))]
        elif spec.method == "date":
            out += [(c, pa.date32()), (f"{c}_ym", pa.string()), (f"{c}_year", pa.int32())]
        elif spec.method == "place":
            out += [(c, pa.string()), ("township_code", pa.string())]
        else:
            out.append((c, pa.string()))
    return out


def prepare_records(table: pa.Table, key: str, settings: LinkSettings = DEFAULT) -> pa.Table:
    """The standardised columns the comparisons of `settings` compare, for a feed
    (`key="row_id"`) or registry (`key="member_key"`) table, keyed `uid`. A column the table
    lacks is null (neutral in every comparison). An optional `township_code` column fills in
    the township where a feed knows only that (a file with a township but no village)."""
    n = table.num_rows
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {"uid": _column(table, key, pa.int64())}
    for spec in settings.comparisons:
        c = spec.column
        if spec.method == "name":
            names = _map_distinct(_column(table, c, pa.string()), normalize_name, pa.string())
            spellings = _map_distinct(
                names,
                lambda v: dict(zip(("p", "f", "i", "s"), name_spellings(v), strict=True)),
                pa.struct([("p", pa.string()), ("f", pa.string()), ("i", pa.string()), ("s", pa.string())]),
            )
            arrays[c] = names
            for part, field_ in (("pinyin", "p"), ("fuzzy", "f"), ("initials", "i"), ("surname", "s")):
                arrays[f"{c}_{part}"] = pc.struct_field(spellings, field_)
        elif spec.method == "date":
            dates = _column(table, c, pa.date32())
            arrays[c] = dates
            arrays[f"{c}_ym"] = pc.strftime(dates, format="%Y-%m")
            arrays[f"{c}_year"] = pc.year(dates).cast(pa.int32())
        elif spec.method == "sex":
            arrays[c] = _map_distinct(_column(table, c, pa.string()), normalize_sex, pa.string())
        elif spec.method == "place":
            raw = _column(table, c, pa.string())
            township = _codes(raw, 9)
            if "township_code" in table.column_names:
                township = pc.coalesce(township, _codes(_column(table, "township_code", pa.string()), 9))
            arrays[c] = _codes(raw, 12)
            arrays["township_code"] = township
        elif spec.method == "id":
            values = _column(table, c, pa.string())
            arrays[c] = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
        else:
            arrays[c] = _map_distinct(_column(table, c, pa.string()), _text, pa.string())
    schema = pa.schema([("uid", pa.int64()), *prepared_columns(settings)])
    out = pa.Table.from_arrays(
        [pa.chunked_array([a]) if isinstance(a, pa.Array) else a for a in (arrays[f.name] for f in schema)],
        schema=schema,
    )
    assert out.num_rows == n
    return out


def check_columns(table: pa.Table, required: tuple[str, ...], what: str) -> None:
    """Raise ValueError naming the columns a feed or registry table lacks."""
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise ValueError(f"{what} lacks column(s): {', '.join(missing)}")
