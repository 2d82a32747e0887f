"""Keeping the figures current (统计更新): recompute what changed, then add up the levels.

A change marks its village (or a screening its county, an import its region) as stale, in
the same transaction as the change itself; the worker's housekeeping recomputes the stale
parts within a minute, and every county once a day since "overdue" moves with the calendar.
Recomputing a part replaces its villages' rows and then each level above — township,
county, prefecture, province — as the sum of the level below, so a case moving in one
village costs a village's worth of queries and a few small sums, not a province's.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from shouwang.core.bulk import insert_rows
from shouwang.insights import metrics
from shouwang.insights.models import Refresh, RegionStat, StaleRegion
from shouwang.jobs.runner import periodic
from shouwang.regions.models import CODE_LENGTHS, Level, Region
from shouwang.registry.models import Household

log = logging.getLogger(__name__)

CHUNK = 900  # codes per IN (…) list: under SQLite's default limit of variables


@dataclass(frozen=True)
class RefreshSummary:
    prefix: str
    villages: int
    rows: int
    seconds: float


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _codes(prefix: str, level: int) -> list[str]:
    """The regions of `level` inside `prefix`, or the one containing it."""
    width = CODE_LENGTHS[Level(level)]
    if len(prefix) >= width:
        return [prefix[:width]]
    return list(Region.objects.filter(code__startswith=prefix, level=level).values_list("code", flat=True))


def refresh(prefix: str, today: dt.date | None = None) -> RefreshSummary:
    """Recompute every figure of the villages under `prefix` and the sums above them."""
    return refresh_many([prefix], today)[0]


def refresh_many(prefixes: Sequence[str], today: dt.date | None = None) -> list[RefreshSummary]:
    """Recompute several parts (disjoint prefixes: the counties of a province, the stale
    villages), each with the levels inside it, then the levels above them once.

    A province's 88 counties refreshed one by one each summed the prefecture and the province
    again; here those sums are made once, after the last county. A part is recorded as
    current (and its stale marks dropped) only once the sums above it are made too."""
    today = today or timezone.localdate()
    done: list[tuple[RefreshSummary, dt.datetime]] = []
    try:
        for prefix in prefixes:
            done.append(_refresh_part(prefix, today))
    finally:
        # Also when a part failed (its own rows rolled back): the levels above the parts done
        # are summed from what is written, so no level disagrees with the one below it.
        if done:
            _finish(done, today)
    return [summary for summary, _ in done]


def _refresh_part(prefix: str, today: dt.date) -> tuple[RefreshSummary, dt.datetime]:
    """One part's villages and the levels inside it, in one transaction."""
    started = time.perf_counter()
    marked_before = timezone.now()
    counts: Counter[tuple[str, str, str]] = Counter()
    for village, metric, key, value in metrics.village_rows(prefix, today):
        counts[village, metric, key] += value
    villages = _codes(prefix, Level.VILLAGE)
    with transaction.atomic():
        for chunk in _chunks(villages):
            RegionStat.objects.filter(level=Level.VILLAGE, region_code__in=chunk).delete()
        insert_rows(
            RegionStat,
            _STAT_FIELDS,
            ((v, int(Level.VILLAGE), m, k, n) for (v, m, k), n in counts.items() if n),
        )
        for level in _LEVELS:
            if CODE_LENGTHS[level] >= len(prefix):  # the levels inside the part
                _sum_level(_codes(prefix, level), level)
    seconds = round(time.perf_counter() - started, 3)
    return RefreshSummary(prefix, len(villages), len(counts), seconds), marked_before


def _finish(done: list[tuple[RefreshSummary, dt.datetime]], today: dt.date) -> None:
    """The levels above the parts summed once, then each part recorded as current."""
    prefixes = [summary.prefix for summary, _ in done]
    with transaction.atomic():
        for level in _LEVELS:  # the levels above the parts, township first
            width = CODE_LENGTHS[level]
            above = sorted({p[:width] for p in prefixes if len(p) > width})
            if above:
                _sum_level(above, level)
        for summary, marked_before in done:
            prefix = summary.prefix
            Refresh.objects.update_or_create(
                code=prefix, defaults={"computed_at": timezone.now(), "as_of": today, "seconds": summary.seconds}
            )
            # What this refresh covers is current now; a shorter prefix's record still stands,
            # and so does a mark made while it ran.
            Refresh.objects.filter(code__startswith=prefix).exclude(code=prefix).delete()
            StaleRegion.objects.filter(code__startswith=prefix, marked_at__lte=marked_before).delete()


_LEVELS = (Level.TOWNSHIP, Level.COUNTY, Level.PREFECTURE, Level.PROVINCE)
_STAT_FIELDS = ("region_code", "level", "metric", "key", "value")


def _sum_level(codes: list[str], level: int) -> None:
    """Each region of `codes` (all of one level) as the sum of its children's rows."""
    width = CODE_LENGTHS[Level(level)]
    for chunk in _chunks(codes):
        children = list(Region.objects.filter(parent_id__in=chunk).values_list("code", flat=True))
        # Children in several chunks may give one parent's key twice: add them up.
        merged: Counter[tuple[str, str, str]] = Counter()
        for part in _chunks(children):
            for parent, metric, key, total in (
                RegionStat.objects.filter(level=level + 1, region_code__in=part)
                .annotate(parent=Substr("region_code", 1, width))
                .order_by()
                .values_list("parent", "metric", "key")
                .annotate(total=Sum("value"))
            ):
                merged[parent, metric, key] += total
        RegionStat.objects.filter(level=level, region_code__in=chunk).delete()
        insert_rows(RegionStat, _STAT_FIELDS, ((r, int(level), m, k, v) for (r, m, k), v in merged.items()))


# -- Marking and housekeeping ---------------------------------------------------------------


def mark_stale(code: str | None) -> None:
    """Note that the figures of `code` (a village, or a whole county after a screening) changed."""
    if not code:
        return
    StaleRegion.objects.bulk_create(
        [StaleRegion(code=code)], update_conflicts=True, unique_fields=["code"], update_fields=["marked_at"]
    )


def _outermost(codes: Iterable[str]) -> list[str]:
    out: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(code.startswith(p) for p in out):
            out.append(code)
    return out


def refresh_stale(today: dt.date | None = None) -> list[RefreshSummary]:
    """Recompute every part marked stale; a mark renewed meanwhile is kept for next time."""
    marks = list(StaleRegion.objects.values_list("code", "marked_at"))
    if not marks:
        return []
    done = refresh_many(_outermost(code for code, _at in marks), today)
    for code, at in marks:
        StaleRegion.objects.filter(code=code, marked_at__lte=at).delete()
    return done


def counties_with_households() -> list[str]:
    villages = Household.objects.order_by().values_list("village_id", flat=True).distinct()
    return sorted({v[:6] for v in villages})


def stale_within(code: str) -> int:
    """How many stale marks touch the figures of `code` (inside it, or containing it)."""
    above = [code[:n] for n in CODE_LENGTHS.values() if n <= len(code)]
    return StaleRegion.objects.filter(Q(code__startswith=code) | Q(code__in=above)).count()


def current_for(code: str, today: dt.date) -> bool:
    """Whether every figure under `code` is as of `today` and none is marked stale — when a
    page may read the figures instead of counting the records itself.

    Every county under `code` must have been refreshed today, by a refresh of the county or
    of a region containing it (a village's refresh after a change does not make the rest of
    its county current); and no mark may touch `code`, inside it or above it."""
    if stale_within(code):
        return False
    above = [code[:n] for n in CODE_LENGTHS.values() if n <= len(code)]
    if Refresh.objects.filter(code__in=above, as_of=today).exists():
        return True
    if len(code) >= CODE_LENGTHS[Level.COUNTY]:
        return False  # (the county containing `code` was not refreshed today)
    counties = _codes(code, Level.COUNTY)
    if not counties:
        return False
    covering = [
        c
        for c in Refresh.objects.filter(code__startswith=code, as_of=today).values_list("code", flat=True)
        if len(c) <= CODE_LENGTHS[Level.COUNTY]
    ]
    return all(any(county.startswith(c) for c in covering) for county in counties)


@periodic("insights.stale", every=30)
def _refresh_stale() -> None:
    for summary in refresh_stale():
        log.info("statistics of %s recomputed in %.1f s", summary.prefix, summary.seconds)


@periodic("insights.daily", every=6 * 3600)
def _refresh_daily() -> None:
    """Overdue counts move with the calendar: every county whose figures are not from today."""
    today = timezone.localdate()
    current = set(Refresh.objects.filter(as_of=today).values_list("code", flat=True))
    for county in counties_with_households():
        if not any(county.startswith(c) for c in current):
            mark_stale(county)
