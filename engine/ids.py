"""Resident ID numbers (公民身份号码) by GB 11643-1999.

Plain Python, no Django: the registry, the importers and the synthetic county all use it, and
so may Spark executors. Nothing here logs or prints a raw number; callers show `mask()`.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from engine.errors import BilingualError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

# Province-level prefixes of GB/T 2260 in use on ID numbers (incl. 71 Taiwan, 81/82 HK/Macau,
# 83 for residence permits of Taiwan residents).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()  # noqa: SIM905
)


class IDNumberError(BilingualError):
    """An ID number that fails GB 11643; the reasons never contain the value."""


@dataclass(frozen=True, slots=True)
class IDNumber:
    """A validated, normalised 18-character ID number with what it encodes."""

    value: str
    birth_date: dt.date
    sex: str  # "M" or "F": the 17th digit is odd for men

    @property
    def region_code(self) -> str:
        return self.value[:6]


def check_digit(first17: str) -> str:
    """The 18th character (ISO 7064 MOD 11-2) for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize_text(value: str) -> str:
    """Full-width digits/letters to ASCII (NFKC), surrounding and inner blanks removed, upper-case."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def parse_id_number(raw: str, *, today: dt.date | None = None) -> IDNumber:
    """Validate and normalise an ID number, upgrading a 15-digit first-generation one.

    Raises IDNumberError with a bilingual reason. The raw value never appears in the message.
    """
    if raw is None:
        raise IDNumberError("empty", "身份证号为空", "ID number is empty")
    value = normalize_text(str(raw))
    if not value:
        raise IDNumberError("empty", "身份证号为空", "ID number is empty")
    if len(value) == 15:
        if not value.isdigit():
            raise IDNumberError("chars", "15位身份证号只能包含数字", "a 15-digit ID number must be all digits")
        # First-generation numbers carry a 2-digit year of the 1900s.
        value = value[:6] + "19" + value[6:]
        value += check_digit(value)
    elif len(value) != 18:
        raise IDNumberError(
            "length",
            f"身份证号应为18位（或15位），实为{len(value)}位",
            f"ID number must have 18 (or 15) characters, not {len(value)}",
        )
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise IDNumberError("chars", "身份证号含有非法字符", "ID number contains invalid characters")
    if value[:2] not in _PROVINCES:
        raise IDNumberError("region", "身份证号的地区码无效", "ID number has an invalid region code")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IDNumberError("birth_date", "身份证号中的出生日期无效", "ID number has an invalid birth date") from None
    if birth.year < 1880 or birth > (today or dt.date.today()):
        raise IDNumberError("birth_date", "身份证号中的出生日期不合理", "ID number has an implausible birth date")
    if check_digit(value[:17]) != value[17]:
        raise IDNumberError("check_digit", "身份证号校验位错误", "ID number has a wrong check digit")
    return IDNumber(value=value, birth_date=birth, sex="M" if int(value[16]) % 2 else "F")


def is_valid_id_number(raw: str) -> bool:
    try:
        parse_id_number(raw)
    except IDNumberError:
        return False
    return True


def mask(value: str | None) -> str:
    """`522630199001011234` → `5226**********123X`-style: region and last four only."""
    if not value:
        return ""
    value = str(value)
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def make_id_number(region6: str, birth: dt.date, sequence: int, sex: str) -> str:
    """Build a valid number: region, birth date, a 3-digit sequence whose parity carries sex."""
    seq = sequence % 500 * 2 + (1 if sex == "M" else 0)
    first17 = f"{region6}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)
