"""`do_screen`: snapshot the registry, screen it with the engine, store the warnings.

Registry → snapshot (Arrow) → `engine.screening.evaluate_rules` → warnings upserted here, in
bulk and in one transaction, keyed by (household, rule, period):

- a new key → an open warning;
- an existing warning with the same evidence (`evidence_hash`) → unchanged, whatever its
  status: running a screen again changes nothing, and a dismissed warning stays dismissed;
- an open warning whose evidence changed → its evidence is updated;
- a dismissed warning whose evidence changed (new figures, a new feed batch) → reopened,
  with a note saying why and what the dismissal said.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

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
from shouwang.regions.models import Level, Region
from shouwang.registry.snapshot import account_snapshot, household_snapshot, member_snapshot
from shouwang.screening.models import RunStatus, ScreeningRun, Warning, WarningStatus
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
        raise ScreeningRequestError(f"找不到区划：{region_code}")
    this_year = dt.date.today().year
    if not MIN_YEAR <= int(year) <= this_year:
        raise ScreeningRequestError(f"年度 {year} 无效：只能筛查 {MIN_YEAR} 年至 {this_year} 年")
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


def _parquet_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in p.relative_to(directory).parts)
    )


def evidence_hash(member_key: int | None, evidence_json: str) -> str:
    """Same member and same evidence (figures, parameters, feed batches) ⇔ same hash."""
    canonical = json.dumps(json.loads(evidence_json), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
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
) -> ScreeningRun:
    """Screen `region_code` for `year` and store the warnings; returns the (finished) run.

    Raises `ScreeningRequestError` (Chinese) for a request that cannot run; a run that fails
    inside the engine is recorded as failed and its error re-raised as `ScreeningError`.
    """
    step = report or (lambda *_: None)
    rule_ids = list(dict.fromkeys(rules or ()))
    region = check_request(region_code, year, rule_ids, backend, force)
    selected = [RULES_BY_ID[r] for r in rule_ids] if rule_ids else list(ALL_RULES)
    started = time.perf_counter()
    run = ScreeningRun.objects.create(
        region=region, year=year, engine=backend, rules=rule_ids, created_by=_user(user), job=job
    )
    try:
        step(0, STEPS, "读取户籍快照")
        members = member_snapshot(region.code)
        households = household_snapshot(region.code)
        accounts = account_snapshot(region.code)
        step(1, STEPS, "读取部门数据")
        feeds = county_feed_inputs(region.code)
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
            counts = _upsert(run, result.warnings, members, households)
            run.manifest = result.manifest
            run.skipped = skipped
            run.warnings_total = sum(counts.values())
            run.warnings_new = counts["new"]
            run.warnings_unchanged = counts["unchanged"]
            run.warnings_updated = counts["updated"]
            run.warnings_reopened = counts["reopened"]
            run.warnings_suppressed = counts["suppressed"]
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


def _upsert(run: ScreeningRun, warnings: pa.Table, members: pa.Table, households: pa.Table) -> dict[str, int]:
    counts = {"new": 0, "unchanged": 0, "updated": 0, "reopened": 0, "suppressed": 0}
    household_keys = set(households.column("household_key").to_pylist())
    member_keys = set(members.column("member_key").to_pylist())
    rows = [r for r in warnings.to_pylist() if r["household_key"] in household_keys]
    if not rows:
        return counts
    existing: dict[tuple[int, str, str], Warning] = {}
    rule_ids = sorted({r["rule_id"] for r in rows})
    keys = sorted({r["household_key"] for r in rows})
    for i in range(0, len(keys), _CHUNK):
        for w in Warning.objects.filter(household_id__in=keys[i : i + _CHUNK], rule_id__in=rule_ids).only(
            "id", "household_id", "rule_id", "period", "status", "evidence_hash", "dismissed_reason"
        ):
            existing[(w.household_id, w.rule_id, w.period)] = w
    now = timezone.now()
    create: list[Warning] = []
    update: list[Warning] = []
    seen: list[int] = []
    for r in rows:
        member_key = r["member_key"] if r["member_key"] in member_keys else None
        digest = evidence_hash(member_key, r["evidence"])
        old = existing.get((r["household_key"], r["rule_id"], r["period"]))
        if old is None:
            counts["new"] += 1
            create.append(
                Warning(
                    household_id=r["household_key"],
                    member_id=member_key,
                    rule_id=r["rule_id"],
                    period=r["period"],
                    severity=r["severity"],
                    cause=r["cause"],
                    evidence=json.loads(r["evidence"]),
                    evidence_hash=digest,
                    status=WarningStatus.OPEN,
                    first_run=run,
                    last_run=run,
                )
            )
            continue
        if old.evidence_hash == digest:
            counts["suppressed" if old.status == WarningStatus.DISMISSED else "unchanged"] += 1
            seen.append(old.pk)
            continue
        old.member_id = member_key
        old.severity, old.cause = r["severity"], r["cause"]
        old.evidence, old.evidence_hash = json.loads(r["evidence"]), digest
        old.last_run, old.updated_at = run, now
        if old.status == WarningStatus.DISMISSED:
            counts["reopened"] += 1
            old.status = WarningStatus.OPEN
            note = f"{now:%Y-%m-%d} 筛查 #{run.pk} 发现证据变化，重新打开（原排除理由：{old.dismissed_reason}）"
            old.note = note[:300]
            old.dismissed_by, old.dismissed_at, old.dismissed_reason = None, None, ""
        else:
            counts["updated"] += 1
        update.append(old)
    Warning.objects.bulk_create(create, batch_size=500)
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
    for i in range(0, len(seen), _CHUNK):
        Warning.objects.filter(pk__in=seen[i : i + _CHUNK]).update(last_run=run)
    return counts


def do_dismiss(warning: Warning, *, user: Any, reason: str, request: Any = None) -> Warning:
    """Dismiss a warning after verification (排除), with the reason; audited."""
    reason = reason.strip()
    if not reason:
        raise ScreeningRequestError("请填写排除理由")
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
