"""The county's real divisions (NBS 2023 statistical codes) from the shipped data/divisions files."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

DIVISIONS_DIR = Path(__file__).resolve().parents[2] / "data" / "divisions"


class UnknownCountyError(ValueError):
    """The county code is malformed or not a county in the 2023 division codes."""


@dataclass(frozen=True, slots=True)
class Village:
    code: str  # 12 digits
    name: str  # full NBS name, e.g. 红阳村村民委员会
    short_name: str  # 红阳村
    township_code: str  # 9 digits
    township_name: str  # 台拱街道


@dataclass(frozen=True, slots=True)
class County:
    code: str
    name: str
    province_code: str
    province_name: str
    city_name: str
    villages: tuple[Village, ...]

    @property
    def townships(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.township_code for v in self.villages))


def _short(name: str) -> str:
    for suffix in ("村民委员会", "居民委员会", "村委会", "居委会"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _rows_with_prefix(path: Path, prefix: str) -> list[dict[str, str]]:
    """Rows whose code starts with `prefix`, filtering raw lines before CSV parsing (fast)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        header = fh.readline()
        lines = [line for line in fh if line.startswith(prefix)]
    return list(csv.DictReader(io.StringIO(header + "".join(lines))))


def load_county(code: str, directory: Path = DIVISIONS_DIR) -> County:
    """The county and its rural villages (村民委员会; all village-level units if it has none).

    Raises UnknownCountyError (a ValueError) with a Chinese message for a bad or unknown code.
    """
    code = (code or "").strip()
    if len(code) != 6 or not code.isdigit():
        raise UnknownCountyError(f"县级区划代码应为6位数字：{code!r}")
    areas = [r for r in _rows_with_prefix(directory / "areas.csv.gz", code) if r["code"] == code]
    if not areas:
        raise UnknownCountyError(f"区划代码 {code} 不是2023年统计用区划代码中的县级区划")
    area = areas[0]
    province = next(r for r in _rows_with_prefix(directory / "provinces.csv.gz", code[:2]) if r["code"] == code[:2])
    cities = [r for r in _rows_with_prefix(directory / "cities.csv.gz", code[:4]) if r["code"] == code[:4]]
    townships = {r["code"]: r["name"] for r in _rows_with_prefix(directory / "streets.csv.gz", code)}
    rows = [r for r in _rows_with_prefix(directory / "villages.csv.gz", code) if r["areaCode"] == code]
    rural = [r for r in rows if "村民委员会" in r["name"] or r["name"].endswith("村委会")]
    chosen = sorted(rural or rows, key=lambda r: r["code"])
    if not chosen:
        raise UnknownCountyError(f"县级区划 {code}（{area['name']}）下没有村级区划，无法生成")
    villages = tuple(
        Village(
            code=r["code"],
            name=r["name"],
            short_name=_short(r["name"]),
            township_code=r["streetCode"],
            township_name=townships.get(r["streetCode"], ""),
        )
        for r in chosen
    )
    return County(
        code=code,
        name=area["name"],
        province_code=code[:2],
        province_name=province["name"],
        city_name=cities[0]["name"] if cities else "",
        villages=villages,
    )
