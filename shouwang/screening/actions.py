"""`do_screen`: snapshot the registry, screen it with the engine, store the warnings.

Registry → snapshot (Arrow) → `engine.screening.evaluate_rules` → warnings upserted here, in
bulk and in one transaction, keyed by (household, rule, period):

- a new key → an open warning;
- an existing warning with the same evidence (`evidence_hash`) → unchanged, whatever its
  status: running a screen again changes nothing, and a dismissed warning stays dismissed;
- an open warning whose evidence changed → its evidence is updated;
- a dismissed warning whose evidence changed (new figures, a new feed batch) → reopened,
  with a note saying why and what the dismissal said;
- an open warning of a rule that ran, for the year and a household screened, that the run no
  longer raises (its batch was withdrawn, the registry was corrected) → lapsed (证据已失效);
  a lapsed warning raised again is reopened like a dismissed one.

A run may cover only some households (`household_keys`): after a new feed batch, only the
households that batch touched are screened, with the rules that read its kind. The rules
still see every row of the county's feeds for those households (a member's claims from
earlier batches count towards the 12-month total), and nothing outside them changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.feeds.standardize import arrow_schema
from engine.feeds.storage import FEEDS_DIR
from engine.schemas.feeds import FEED_SCHEMAS
from engine.screening import (
    ALL_RULES,
    RULES_BY_ID,
    ParameterError,
    ScreeningError,
    evaluate_rules,
    resolve_parameters,
)
from engine.screening.run import BACKENDS
from shouwang.core.audit import record_event
from shouwang.core.bulk import insert_rows
from shouwang.regions.models import Level, Region
from shouwang.registry.snapshot import account_snapshot, household_snapshot, member_snapshot
from shouwang.screening.models import RunStatus, RunTrigger, ScreeningRun, Warning, WarningStatus
from shouwang.screening.parameters import effective_parameter_table
from shouwang.screening.text import skip_reason_zh

Report = Callable[[int, int, str], None]
MIN_YEAR = 2014  # 建档立卡 began in 2014: there is nothing to screen before
STEPS = 5
_CHUNK = 900  # under SQLite's bound on query parameters


class ScreeningRequestError(ValueError):
    """A request that cannot be screened as asked (bad region, year, rule or engine); Chinese text."""


def check_request(region_code: str, year: int, rules: Iterable[str] | None, engine: str, force: bool) -> Region:
    region = Region.objects.filter(pk=region_code).first()
    if region is None:
        raise ScreeningRequestError(_("找不到区划：%(code)s") % {"code": region_code})
    this_year = dt.date.today().year
    if not MIN_YEAR <= int(year) <= this_year:
        raise ScreeningRequestError(
            _("年度 %(year)s 无效：只能筛查 %(first)s 年至 %(last)s 年")
            % {"year": year, "first": MIN_YEAR, "last": this_year}
        )
    unknown = sorted(set(rules or ()) - set(RULES_BY_ID))
    if unknown:
        raise ScreeningRequestError(f"未知的筛查规则：{'、'.join(unknown)}；可用规则：{', '.join(RULES_BY_ID)}")
    if engine not in BACKENDS:
        raise ScreeningRequestError(f"未知的计算引擎：{engine}；可选：{'、'.join(BACKENDS)}")
    if region.level < Level.COUNTY and engine == "duckdb" and not force:
        raise ScreeningRequestError(
            f"{region.name}（{region.code}）是{region.get_level_display()}级区划：内置引擎（DuckDB）按县筛查，"
            "请逐县运行（--region 县级代码），或改用 Spark 引擎（--engine spark）；确需在本机运行请加 --force"
        )
    return region


def county_feed_inputs(region_code: str, data_dir: Path | None = None) -> dict[str, Any]:
    """The stored feed Parquet of the region's county (or counties), per kind present.

    `DATA_DIR/feeds/kind=<kind>/county=<code>/period=<p>/batch-<id>.parquet`: one county is
    passed as its directory (the engine reads the files itself); several counties (a forced
    run above county level) as one Arrow table. Kinds without a file are left out, so the
    rules that need them are skipped and say so.
    """
    root = Path(data_dir or settings.DATA_DIR) / FEEDS_DIR
    prefix = region_code[:6]
    inputs: dict[str, Any] = {}
    for kind in FEED_SCHEMAS:
        kind_dir = root / f"kind={kind}"
        if not kind_dir.is_dir():
            continue
        counties = sorted(
            d
            for d in kind_dir.iterdir()
            if d.is_dir() and d.name.startswith("county=") and d.name[7:].startswith(prefix)
        )
        with_files = [d for d in counties if any(_parquet_files(d))]
        if len(with_files) == 1:
            inputs[kind] = with_files[0]
        elif with_files:
            tables = [pq.read_table(f) for d in with_files for f in _parquet_files(d)]
            inputs[kind] = pa.concat_tables(tables, promote_options="default")
    return inputs


def empty_feed(kind: str) -> pa.Table:
    """No rows of a kind, in its stored shape: what a county has once every batch of the kind
    was withdrawn. The rules then run and find nothing (so warnings lapse), where a kind never
    imported skips them and says so."""
    schema = arrow_schema(FEED_SCHEMAS[kind])
    for name in ("member_key", "household_key"):
        if name not in schema.names:
            schema = schema.append(pa.field(name, pa.int64()))
    return schema.empty_table()


def withdrawn_kinds(region_code: str, present: Iterable[str]) -> list[str]:
    """Kinds the county once had batches of but holds no rows of now."""
    from shouwang.exchange.models import FeedBatch

    kinds = FeedBatch.objects.filter(county__pk__startswith=region_code[:6]).values_list("kind", flat=True)
    return sorted(set(kinds) - set(present))


def _parquet_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in p.relative_to(directory).parts)
    )


def evidence_hash(member_key: int | None, evidence_json: str) -> str:
    """Same member and same evidence (figures, parameters, feed batches) ⇔ same hash."""
    return _digest(member_key, _canonical(json.loads(evidence_json)))


def _canonical(evidence: Any) -> str:
    return json.dumps(evidence, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _digest(member_key: int | None, canonical: str) -> str:
    return hashlib.sha256(f"{member_key or ''}\n{canonical}".encode()).hexdigest()


def do_screen(
    region_code: str,
    year: int,
    *,
    user: Any = None,
    rules: Iterable[str] | None = None,
    backend: str = "duckdb",
    report: Report | None = None,
    job: Any = None,
    force: bool = False,
    household_keys: Iterable[int] | None = None,
    trigger: str = RunTrigger.MANUAL,
    feed_batches: Iterable[int] = (),
) -> ScreeningRun:
    """Screen `region_code` for `year` and store the warnings; returns the (finished) run.

    `household_keys` limits the run to those households (a re-screen after a feed batch).
    Raises `ScreeningRequestError` (Chinese) for a request that cannot run; a run that fails
    inside the engine is recorded as failed and its error re-raised as `ScreeningError`.
    """
    step = report or (lambda *_: None)
    rule_ids = list(dict.fromkeys(rules or ()))
    region = check_request(region_code, year, rule_ids, backend, force)
    selected = [RULES_BY_ID[r] for r in rule_ids] if rule_ids else list(ALL_RULES)
    scope = None if household_keys is None else sorted({int(k) for k in household_keys})
    started = time.perf_counter()
    run = ScreeningRun.objects.create(
        region=region,
        year=year,
        engine=backend,
        rules=rule_ids,
        created_by=_user(user),
        job=job,
        trigger=trigger,
        feed_batches=sorted({int(b) for b in feed_batches}),
    )
    try:
        step(0, STEPS, "读取户籍快照")
        members = _only(member_snapshot(region.code), scope)
        households = _only(household_snapshot(region.code), scope)
        accounts = _only(account_snapshot(region.code), scope)
        step(1, STEPS, "读取部门数据")
        feeds = county_feed_inputs(region.code)
        feeds.update({kind: empty_feed(kind) for kind in withdrawn_kinds(region.code, feeds) if kind in FEED_SCHEMAS})
        step(2, STEPS, "加载参数")
        try:
            params = resolve_parameters(effective_parameter_table(region.code), region.code, int(year))
        except ParameterError as exc:
            raise ScreeningError(f"参数表无法使用：{exc}") from exc
        step(3, STEPS, f"运行 {len(selected)} 条规则")
        result = evaluate_rules(members, accounts, feeds, params, selected, backend, households=households)
        step(4, STEPS, f"写入 {result.warnings.num_rows} 条线索")
        given = {"members", "households", "accounts", *feeds}
        skipped = {
            rule_id: {
                "reason": reason,
                "reason_zh": skip_reason_zh(
                    rule_id, given, params.missing(RULES_BY_ID[rule_id].parameters), region.code, int(year)
                ),
            }
            for rule_id, reason in result.manifest.get("skipped", {}).items()
        }
        with transaction.atomic():
            counts = _upsert(run, region.code, result.warnings, members, households, scope)
            rules_run = list(result.manifest.get("rules", {}))
            counts["lapsed"] = _lapse(run, region.code, result.warnings, households, rules_run, scope)
            run.manifest = result.manifest
            run.households_screened = None if scope is None else households.num_rows
            run.skipped = skipped
            run.warnings_total = sum(n for k, n in counts.items() if k != "lapsed")
            run.warnings_new = counts["new"]
            run.warnings_unchanged = counts["unchanged"]
            run.warnings_updated = counts["updated"]
            run.warnings_reopened = counts["reopened"]
            run.warnings_suppressed = counts["suppressed"]
            run.warnings_lapsed = counts["lapsed"]
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.seconds = round(time.perf_counter() - started, 3)
            run.save()
            record_event(
                "screening.run",
                actor=_user(user),
                obj=run,
                region_code=region.code,
                year=int(year),
                engine=backend,
                rules=rule_ids or "all",
                trigger=trigger,
                households=run.households_screened,
                counts=counts,
                skipped=sorted(skipped),
            )
        step(STEPS, STEPS, "完成")
        return run
    except Exception as exc:
        run.status = RunStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.seconds = round(time.perf_counter() - started, 3)
        run.save(update_fields=["status", "error", "finished_at", "seconds"])
        raise


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


def _only(table: pa.Table, household_keys: list[int] | None) -> pa.Table:
    if household_keys is None:
        return table
    return table.filter(pc.is_in(table.column("household_key"), value_set=pa.array(household_keys, pa.int64())))


def _stored(region_code: str, household_keys: list[int] | None, **filters: Any) -> Iterator[Any]:
    """The stored warnings matching `filters` of a whole region (`household_keys` None: one
    query on the warnings' own village) or of some households (a query per chunk of them)."""
    matching = Warning.objects.filter(**filters).order_by()
    if household_keys is None:
        yield matching.filter(village__pk__startswith=region_code)
        return
    for i in range(0, len(household_keys), _CHUNK):
        yield matching.filter(household_id__in=household_keys[i : i + _CHUNK])


def _lapse(
    run: ScreeningRun,
    region_code: str,
    warnings: pa.Table,
    households: pa.Table,
    rules_run: list[str],
    scope: list[int] | None,
) -> int:
    """Open warnings this run would have raised again but did not: lapsed, with a note.

    Only what the run covered: the rules that ran (not those skipped for a missing input or
    parameter), the run's year, and the households screened.
    """
    if not rules_run:
        return 0
    raised = set(
        zip(
            warnings.column("household_key").to_pylist(),
            warnings.column("rule_id").to_pylist(),
            warnings.column("period").to_pylist(),
            strict=True,
        )
    )
    keys = None if scope is None else households.column("household_key").to_pylist()
    gone: list[int] = []
    for stored in _stored(
        region_code, keys, rule_id__in=rules_run, status=WarningStatus.OPEN, period__startswith=str(run.year)
    ):
        for pk, *key in stored.values_list("pk", "household_id", "rule_id", "period"):
            if tuple(key) not in raised:
                gone.append(pk)
    now = timezone.now()
    note = f"{now:%Y-%m-%d} 筛查 #{run.pk} 未再发现（部门数据撤回或更正、户籍信息已更新）"[:300]
    for i in range(0, len(gone), _CHUNK):
        Warning.objects.filter(pk__in=gone[i : i + _CHUNK]).update(
            status=WarningStatus.LAPSED, note=note, last_run=run, updated_at=now
        )
    return len(gone)


def _upsert(
    run: ScreeningRun,
    region_code: str,
    warnings: pa.Table,
    members: pa.Table,
    households: pa.Table,
    scope: list[int] | None,
) -> dict[str, int]:
    """The run's findings against the stored warnings: new ones inserted, changed ones updated
    or reopened, unchanged ones only marked seen by this run.

    The stored warnings are compared as tuples (key, status, evidence hash) and only those
    whose evidence changed are loaded as models: most months most findings are unchanged."""
    counts = {"new": 0, "unchanged": 0, "updated": 0, "reopened": 0, "suppressed": 0}
    village_of = dict(
        zip(households.column("household_key").to_pylist(), households.column("village_code").to_pylist(), strict=True)
    )
    member_keys = set(members.column("member_key").to_pylist())
    rows = [r for r in warnings.to_pylist() if r["household_key"] in village_of]
    if not rows:
        return counts
    # The engine gives its warnings rule by rule; written in household order, as the stored
    # warnings' unique key runs (and as they were made), inserts and updates touch each index
    # page once instead of once per rule.
    rows.sort(key=lambda r: (r["household_key"], r["rule_id"], r["period"]))
    rule_ids = sorted({r["rule_id"] for r in rows})
    keys = None if scope is None else sorted({r["household_key"] for r in rows})
    existing: dict[tuple[int, str, str], tuple[int, str, str]] = {}
    for stored in _stored(region_code, keys, rule_id__in=rule_ids):
        fields = ("pk", "household_id", "rule_id", "period", "status", "evidence_hash")
        for pk, household, rule, period, status, digest in stored.values_list(*fields):
            existing[(household, rule, period)] = (pk, status, digest)
    new: list[_Finding] = []
    changed: dict[int, _Finding] = {}
    seen: list[int] = []
    for r in rows:
        member_key = r["member_key"] if r["member_key"] in member_keys else None
        evidence = json.loads(r["evidence"])
        canonical = _canonical(evidence)
        finding = _Finding(r, member_key, evidence, canonical, _digest(member_key, canonical))
        old = existing.get((r["household_key"], r["rule_id"], r["period"]))
        if old is None:
            counts["new"] += 1
            new.append(finding)
        elif old[2] == finding.digest and old[1] != WarningStatus.LAPSED:
            counts["suppressed" if old[1] == WarningStatus.DISMISSED else "unchanged"] += 1
            seen.append(old[0])
        else:
            changed[old[0]] = finding
    now = timezone.now()
    _insert(run, new, village_of, now)
    update: list[Warning] = []
    pks = sorted(changed)
    for i in range(0, len(pks), _CHUNK):
        for old in Warning.objects.filter(pk__in=pks[i : i + _CHUNK]):
            found = changed[old.pk]
            r = found.row
            old.member_id = found.member_key
            old.severity, old.cause = r["severity"], r["cause"]
            old.evidence, old.evidence_hash = found.evidence, found.digest
            old.last_run, old.updated_at = run, now
            if old.status == WarningStatus.LAPSED:
                counts["reopened"] += 1
                old.status = WarningStatus.OPEN
                old.note = f"{now:%Y-%m-%d} 筛查 #{run.pk} 再次发现，重新打开"[:300]
            elif old.status == WarningStatus.DISMISSED:
                counts["reopened"] += 1
                old.status = WarningStatus.OPEN
                note = f"{now:%Y-%m-%d} 筛查 #{run.pk} 发现证据变化，重新打开（原排除理由：{old.dismissed_reason}）"
                old.note = note[:300]
                old.dismissed_by, old.dismissed_at, old.dismissed_reason = None, None, ""
            else:
                counts["updated"] += 1
            update.append(old)
    Warning.objects.bulk_update(
        update,
        [
            "member",
            "severity",
            "cause",
            "evidence",
            "evidence_hash",
            "last_run",
            "updated_at",
            "status",
            "note",
            "dismissed_by",
            "dismissed_at",
            "dismissed_reason",
        ],
        batch_size=500,
    )
    # Still raised, unchanged: only the run that last saw it moves (the warning itself does not).
    seen.sort()
    for i in range(0, len(seen), _CHUNK):
        Warning.objects.filter(pk__in=seen[i : i + _CHUNK]).update(last_run=run)
    return counts


@dataclass(frozen=True)
class _Finding:
    """One finding of the run, its evidence parsed once and hashed."""

    row: dict[str, Any]
    member_key: int | None
    evidence: Any
    canonical: str  # the evidence as JSON, keys sorted: what is hashed and what is stored
    digest: str


# What a new warning takes from its finding; the other fields are those `_insert` gives all
# new warnings alike. A field added to `Warning` must be given one or the other.
_FINDING_FIELDS = (
    "household_id",
    "village_id",
    "member_id",
    "rule_id",
    "period",
    "severity",
    "cause",
    "evidence",
    "evidence_hash",
)


def _insert(run: ScreeningRun, new: list[_Finding], village_of: dict[int, str], now: dt.datetime) -> None:
    """New warnings, without a model each (`shouwang.core.bulk`): the values all new warnings
    share adapted once, by their fields' own `get_db_prep_save`, and the evidence as the JSON
    text already made for its hash (the same JSON as Django's, keys sorted)."""
    if not new:
        return
    same = {
        "status": WarningStatus.OPEN.value,
        "note": "",
        "dismissed_reason": "",
        "dismissed_by_id": None,
        "dismissed_at": None,
        "first_run_id": run.pk,
        "last_run_id": run.pk,
        "created_at": now,
        "updated_at": now,
    }
    fields = {f.attname: f for f in Warning._meta.concrete_fields if not f.primary_key}
    if set(fields) != {*_FINDING_FIELDS, *same}:
        raise RuntimeError(f"Warning's fields changed; _insert gives {sorted([*_FINDING_FIELDS, *same])}")
    tail = tuple(fields[name].get_db_prep_save(value, connection) for name, value in same.items())
    insert_rows(
        Warning,
        (*_FINDING_FIELDS, *same),
        (
            (
                f.row["household_key"],
                village_of[f.row["household_key"]],
                f.member_key,
                f.row["rule_id"],
                f.row["period"],
                f.row["severity"],
                f.row["cause"],
                f.canonical,
                f.digest,
                *tail,
            )
            for f in new
        ),
    )


def do_dismiss(warning: Warning, *, user: Any, reason: str, request: Any = None) -> Warning:
    """Dismiss a warning after verification (排除), with the reason; audited."""
    reason = reason.strip()
    if not reason:
        raise ScreeningRequestError(_("请填写排除理由"))
    warning.status = WarningStatus.DISMISSED
    warning.dismissed_reason = reason[:300]
    warning.dismissed_by = user
    warning.dismissed_at = timezone.now()
    warning.save(update_fields=["status", "dismissed_reason", "dismissed_by", "dismissed_at", "updated_at"])
    record_event(
        "screening.warning_dismiss",
        actor=user,
        request=request,
        obj=warning,
        region_code=warning.household.village_id,
        rule_id=warning.rule_id,
        period=warning.period,
        reason=warning.dismissed_reason,
    )
    return warning
