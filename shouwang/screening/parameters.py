"""Rule parameters in force: the shipped table plus the counties' local values (本地设定).

`effective_parameter_table(region_code)` merges `data/policy/parameters.csv` with the current
(not superseded) `ParameterOverride` rows into one engine `ParameterTable`. The overrides go
through `parse_parameter_rows` in the CSV's row format, so the engine's checks apply and
"the most specific region prefix wins" does the rest. A local value set for exactly the region
of a shipped row would clash with it (two rows of one region starting in the same year are
refused, and an earlier-starting override would lose to a later shipped row), so the local
value wins cleanly: a shipped row of the same parameter and region is cut out of the
override's years (kept for the years before and after).

`do_set_parameter` and `do_withdraw_parameter` write new versions, never update one; audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.screening import ALL_RULES, ParameterError, load_parameters
from engine.screening.params import GRADES, ParameterTable, ParameterValue, parse_parameter_rows
from shouwang.core.audit import record_event
from shouwang.regions.models import Region
from shouwang.screening.models import ParameterOverride

# Every parameter a rule reads: the only names a county may set.
EDITABLE_PARAMETERS: tuple[str, ...] = tuple(dict.fromkeys(p for r in ALL_RULES for p in r.parameters))
LOCAL_NOTE = "本地设定"


class ParameterRequestError(ValueError):
    """A local value that cannot be set as asked; Chinese text."""


def _year(y: int | None) -> str:
    return "" if y is None else str(y)


def _shipped_row(r: ParameterValue, year_from: int | None, year_to: int | None) -> dict[str, str]:
    return {
        "parameter": r.name,
        "region_code": r.region_code,
        "year_from": _year(year_from),
        "year_to": _year(year_to),
        "value": str(r.value),
        "unit": r.unit,
        "grade": r.grade,
        "source": r.source,
        "note": r.note,
    }


def override_row(o: ParameterOverride) -> dict[str, str]:
    """An override in the CSV's row format; the note says it is local and which version."""
    note = f"{LOCAL_NOTE} #{o.pk}" + (f"：{o.note}" if o.note else "")
    return {
        "parameter": o.name,
        "region_code": o.region_id,
        "year_from": str(o.first_year),
        "year_to": _year(o.last_year),
        "value": _number(o.value),
        "unit": o.unit,
        "grade": o.grade,
        "source": o.source,
        "note": note,
    }


def _cut(lo: int | None, hi: int | None, start: int, end: int | None) -> list[tuple[int | None, int | None]]:
    """The parts of the years [lo, hi] outside [start, end] (None = open)."""
    if (hi is not None and hi < start) or (end is not None and lo is not None and lo > end):
        return [(lo, hi)]  # no overlap
    pieces: list[tuple[int | None, int | None]] = []
    if lo is None or lo < start:
        pieces.append((lo, start - 1))
    if end is not None and (hi is None or hi > end):
        pieces.append((end + 1, hi))
    return pieces


def current_overrides(region_code: str | None = None) -> list[ParameterOverride]:
    qs = ParameterOverride.objects.filter(superseded_at__isnull=True)
    if region_code:
        qs = qs.filter(region__pk__startswith=region_code[:6])
    # One version per key (versions of a key supersede each other; the newest wins regardless).
    seen: dict[tuple[str, str, int], ParameterOverride] = {}
    for o in qs.order_by("created_at", "id"):
        seen[(o.name, o.region_id, o.first_year)] = o
    return list(seen.values())


def merge_rows(shipped: ParameterTable, overrides: Iterable[ParameterOverride]) -> ParameterTable:
    overrides = list(overrides)
    rows: list[dict[str, str]] = []
    for r in shipped.rows:
        spans: list[tuple[int | None, int | None]] = [(r.year_from, r.year_to)]
        for o in overrides:
            if o.name == r.name and o.region_id == r.region_code:
                spans = [s for lo, hi in spans for s in _cut(lo, hi, o.first_year, o.last_year)]
        rows.extend(_shipped_row(r, lo, hi) for lo, hi in spans)
    rows.extend(override_row(o) for o in overrides)
    return parse_parameter_rows(rows)


def effective_parameter_table(region_code: str | None = None, shipped: ParameterTable | None = None) -> ParameterTable:
    """The shipped table with the current local values of `region_code`'s county merged in."""
    return merge_rows(shipped or load_parameters(), current_overrides(region_code))


def is_local(pv: ParameterValue | None) -> bool:
    return pv is not None and pv.note.startswith(f"{LOCAL_NOTE} #")


def _number(value: Decimal) -> str:
    """9000.0000 → "9000" (as the shipped table writes it); 0.2500 → "0.25"."""
    return f"{value.normalize():f}"


def _clean(
    user: Any, *, name: str, region_code: str, first_year: Any, last_year: Any, value: Any, source: str, grade: str
) -> tuple[Region, int, int | None, Decimal]:
    if name not in EDITABLE_PARAMETERS:
        raise ParameterRequestError(_("未知的参数：%(name)s") % {"name": name})
    prefix = user.region_prefix or ""
    region = Region.objects.filter(pk=region_code).first()
    if region is None or not prefix or not region.code.startswith(prefix):
        raise ParameterRequestError(_("适用区划须为本县或本县所辖乡镇"))
    try:
        first = int(first_year)
        last = int(last_year) if str(last_year or "").strip() else None
    except (TypeError, ValueError):
        raise ParameterRequestError(_("年度须为四位数字")) from None
    if not 2014 <= first <= 2100 or (last is not None and not 2014 <= last <= 2100):
        raise ParameterRequestError(_("年度须在 2014 年至 2100 年之间"))
    if last is not None and last < first:
        raise ParameterRequestError(_("截止年度不能早于起始年度"))
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except Exception:
        raise ParameterRequestError(_("数值须为数字")) from None
    if not number.is_finite() or number < 0:
        raise ParameterRequestError(_("数值须为不小于 0 的数字"))
    if number >= 10**10 or number != number.quantize(Decimal("0.0001")):
        raise ParameterRequestError(_("数值过大或小数位数超过 4 位"))
    if not source.strip():
        raise ParameterRequestError(_("请填写依据文件（设定该数值的文件名称、文号或网址）"))
    if grade not in GRADES:
        raise ParameterRequestError(_("证据等级须为 %(grades)s 之一") % {"grades": "、".join(GRADES)})
    return region, first, last, number


def do_set_parameter(
    user: Any,
    *,
    name: str,
    region_code: str,
    first_year: Any,
    last_year: Any = None,
    value: Any,
    unit: str = "",
    source: str,
    grade: str,
    note: str = "",
    replaces: ParameterOverride | None = None,
    request: Any = None,
) -> ParameterOverride:
    """Set a local value: a new version, superseding `replaces` and any current value of the
    same parameter, region and first year. Audited with the old and the new value."""
    region, first, last, number = _clean(
        user,
        name=name,
        region_code=region_code,
        first_year=first_year,
        last_year=last_year,
        value=value,
        source=source,
        grade=grade,
    )
    with transaction.atomic():
        old_qs = ParameterOverride.objects.select_for_update().filter(
            superseded_at__isnull=True, name=name, region=region, first_year=first
        )
        olds = list(old_qs)
        if replaces is not None and replaces.pk not in {o.pk for o in olds}:
            replaces = ParameterOverride.objects.select_for_update().get(pk=replaces.pk)
            if replaces.superseded_at is not None:
                raise ParameterRequestError(_("该设定已被修改或撤销，请刷新后重试"))
            olds.append(replaces)
        new = ParameterOverride.objects.create(
            name=name,
            region=region,
            first_year=first,
            last_year=last,
            value=number,
            unit=unit.strip()[:32],
            source=source.strip()[:500],
            grade=grade,
            note=note.strip()[:500],
            created_by=user if getattr(user, "pk", None) else None,
        )
        now = timezone.now()
        ParameterOverride.objects.filter(pk__in=[o.pk for o in olds]).update(superseded_by=new, superseded_at=now)
        record_event(
            "screening.parameter_set",
            actor=user,
            request=request,
            obj=new,
            region_code=region.code,
            parameter=name,
            old=[_describe(o) for o in olds],
            new=_describe(new),
        )
    return new


def do_withdraw_parameter(override: ParameterOverride, user: Any, request: Any = None) -> ParameterOverride:
    """Withdraw a local value (撤销本地设定): superseded with no successor; audited."""
    with transaction.atomic():
        updated = ParameterOverride.objects.filter(pk=override.pk, superseded_at__isnull=True).update(
            superseded_at=timezone.now()
        )
        if not updated:
            raise ParameterRequestError(_("该设定已被修改或撤销"))
        override.refresh_from_db()
        record_event(
            "screening.parameter_withdraw",
            actor=user,
            request=request,
            obj=override,
            region_code=override.region_id,
            parameter=override.name,
            old=_describe(override),
            new=None,
        )
    return override


def _describe(o: ParameterOverride) -> dict[str, Any]:
    return {
        "id": o.pk,
        "value": _number(o.value),
        "unit": o.unit,
        "region": o.region_id,
        "first_year": o.first_year,
        "last_year": o.last_year,
        "source": o.source,
        "grade": o.grade,
    }


__all__ = [
    "EDITABLE_PARAMETERS",
    "ParameterError",
    "ParameterRequestError",
    "do_set_parameter",
    "do_withdraw_parameter",
    "effective_parameter_table",
    "is_local",
]
