"""Village and township names as departments write them → division codes, for linkage.

Department files name places, they rarely code them: 所在村 `红阳村` or `红阳`, 乡镇（街道）
`台拱街道` or `台拱镇`, or an address `台江县台拱街道红阳村3组`. The registry knows each
member's village by its 12-digit code and the county's divisions by their NBS names
(`红阳村村民委员会`, `台拱街道`). A name becomes a code only when it is unambiguous in the
county — a village name shared by two townships needs the township too — so that a wrong
village never counts as evidence; an unresolved name is simply missing (neutral).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

PLACES_SCHEMA = pa.schema(
    [
        ("village_code", pa.string()),
        ("village_name", pa.string()),
        ("township_code", pa.string()),
        ("township_name", pa.string()),
    ]
)
# Longest first: the NBS names end in the committee's name; what people write ends in 村, 社区 …
_VILLAGE_SUFFIXES = ("村民委员会", "居民委员会", "村委会", "居委会", "委员会", "村", "社区", "居")
_TOWNSHIP_SUFFIXES = ("街道办事处", "民族乡", "办事处", "街道", "镇", "乡")


def _clean(value: object) -> str:
    if value is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(value)).split())


def _stem(name: str, suffixes: Iterable[str]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


class PlaceIndex:
    """The county's villages and townships by every spelling that names one of them."""

    def __init__(self, places: pa.Table) -> None:
        rows = places.select([f.name for f in PLACES_SCHEMA]).to_pylist()
        self.townships: dict[str, set[str]] = {}
        self.villages: dict[str, set[tuple[str, str]]] = {}  # name → {(village code, township code)}
        for r in rows:
            code, township = r["village_code"], r["township_code"] or (r["village_code"] or "")[:9]
            for key in self._township_keys(_clean(r["township_name"])):
                self.townships.setdefault(key, set()).add(township)
            if code:
                for key in self._village_keys(_clean(r["village_name"])):
                    self.villages.setdefault(key, set()).add((code, township))
        # Address search: spellings long enough not to occur by chance inside other words.
        self._village_words = sorted((k for k in self.villages if len(k) >= 2), key=len, reverse=True)
        self._township_words = sorted((k for k in self.townships if len(k) >= 2), key=len, reverse=True)

    @staticmethod
    def _village_keys(name: str) -> set[str]:
        if not name:
            return set()
        short = _stem(name, _VILLAGE_SUFFIXES[:5])  # 红阳村村民委员会 → 红阳村
        return {name, short, _stem(short, _VILLAGE_SUFFIXES[5:])}  # … and 红阳

    @staticmethod
    def _township_keys(name: str) -> set[str]:
        return {name, _stem(name, _TOWNSHIP_SUFFIXES)} if name else set()

    def township(self, name: object) -> str | None:
        text = _clean(name)
        for key in (text, _stem(text, _TOWNSHIP_SUFFIXES)):
            codes = self.townships.get(key)
            if codes:
                return next(iter(codes)) if len(codes) == 1 else None
        return None

    def village(self, name: object, township: str | None) -> str | None:
        text = _clean(name)
        if not text:
            return None
        short = _stem(text, _VILLAGE_SUFFIXES[:5])
        for key in (text, short, _stem(short, _VILLAGE_SUFFIXES[5:])):
            found = self.villages.get(key)
            if not found:
                continue
            if township is not None:
                found = {f for f in found if f[1] == township}
            if len({code for code, _ in found}) == 1:
                return next(iter(found))[0]
            return None
        return None

    def from_address(self, address: object) -> tuple[str | None, str | None]:
        """(village code, township code) named in an address (`…台拱街道红阳村3组`), each
        only when exactly one fits; the village is looked for after the township."""
        text = _clean(address)
        if not text:
            return None, None
        township = None
        for word in self._township_words:
            if word in text:
                township = self.township(word)
                text = text.split(word, 1)[1]
                break
        for word in self._village_words:
            if word in text:
                found = {f for f in self.villages[word] if township is None or f[1] == township}
                if len({code for code, _ in found}) == 1:
                    code, town = next(iter(found))
                    return code, town
                break
        return None, township

    def resolve(self, village: object, township: object, address: object) -> tuple[str | None, str | None]:
        """(village code, township code) of one row; a township column wins over an address."""
        town = self.township(township)
        code = self.village(village, town)
        if code is None and address is not None:
            address_code, address_town = self.from_address(address)
            town = town or address_town
            if address_code is not None and address_code[:9] == town:
                code = address_code
        return code, (code[:9] if code else town)


def resolve_places(
    places: pa.Table,
    n: int,
    *,
    village: pa.Array | pa.ChunkedArray | None = None,
    township: pa.Array | pa.ChunkedArray | None = None,
    address: pa.Array | pa.ChunkedArray | None = None,
) -> tuple[pa.Array, pa.Array]:
    """Village codes (12 digits) and township codes (9) of `n` rows from the names they give;
    null where a row names no place or an ambiguous one. Resolved once per distinct triple."""
    index = PlaceIndex(places)

    def column(values: pa.Array | pa.ChunkedArray | None) -> pa.Array:
        if values is None:
            return pa.nulls(n, pa.string())
        return pc.cast(values, pa.string())

    # One text per row standing for its triple (\x1f never occurs in a name; null is "\x1e").
    parts = [pc.fill_null(_flat(column(v)), "\x1e") for v in (village, township, address)]
    triple = pc.binary_join_element_wise(*parts, "\x1f")
    distinct = pc.unique(triple)
    resolved = []
    for text in distinct.to_pylist():
        v, t, a = (None if p == "\x1e" else p for p in text.split("\x1f"))
        resolved.append(index.resolve(v, t, a))
    at = pc.index_in(triple, value_set=distinct)
    villages = pc.take(pa.array([r[0] for r in resolved], pa.string()), at)
    townships = pc.take(pa.array([r[1] for r in resolved], pa.string()), at)
    return villages, townships


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
