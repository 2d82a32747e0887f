"""The atomic write: bulk inserts and updates of a plan, and one ChangeRecord per change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from engine.validate import mask_id_like
from shouwang.registry.actions import apply_changes, change_records, protected_id_fields
from shouwang.registry.importing.outcome import _Progress
from shouwang.registry.importing.plan import _chunks, _Plan
from shouwang.registry.models import AnnualAccount, ChangeRecord, Household, Member

BATCH = 1000


def _as_row(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not f.primary_key}


_CONVERTED = (models.DateField, models.DecimalField, models.JSONField)  # DateTimeField is a DateField


def _insert_rows(model: Any, rows: list[dict[str, Any]], progress: _Progress | None = None, message: str = "") -> None:
    """INSERT rows (attname → value) with one prepared statement per batch (executemany).

    Equivalent to bulk_create without signals or returned keys, and without compiling one
    large statement per batch — which is where bulk_create spends most of its time on 100,000
    rows. Missing fields take their model default; auto_now(_add) fields the current time;
    dates, datetimes and decimals go through the field's own database conversion.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    # Table and column names come from the model's own metadata, quoted; values are parameters.
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    now = timezone.now()
    plan = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default: Any = now
        else:
            default = None if f.null and not f.has_default() else f.get_default()
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        plan.append((f.attname, default, auto, isinstance(f, _CONVERTED), f))
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, BATCH):
            params = []
            for row in chunk:
                values = []
                for attname, default, auto, convert, f in plan:
                    value = row.get(attname, default)
                    if auto and value is None:
                        value = now
                    if convert and value is not None:
                        value = f.get_db_prep_save(value, connection)
                    values.append(value)
                params.append(values)
            cursor.executemany(sql, params)
            if progress is not None:
                progress.step(len(chunk), message)


def apply_plan(plan: _Plan, progress: _Progress, *, user: Any, source: str, filename: str) -> None:
    """Write the plan in one transaction: bulk inserts and updates, and their history."""
    work = (
        len(plan.new_households)
        + len(plan.household_changes)
        + len(plan.new_members)
        + len(plan.member_changes)
        + len(plan.new_accounts)
        + len(plan.account_changes)
    )
    progress.total = max(progress.total, progress.done + work, 1)
    progress.done = max(progress.done, progress.total - work)
    actor_id = user.pk if getattr(user, "pk", None) else None
    actor = user if actor_id else None
    origin = f"导入 {mask_id_like(Path(filename).name)}"[:200]
    now = timezone.now()
    records: list[dict[str, Any]] = []

    def created(household_id: int, obj_type: str, label: str) -> dict[str, Any]:
        return {
            "household_id": household_id,
            "actor_id": actor_id,
            "source": source,
            "object_type": obj_type,
            "object_label": label[:100],
            "field": "新建",
            "before": "",
            "after": origin,
        }

    with transaction.atomic():
        _insert_rows(Household, list(plan.new_households.values()), progress, "写入农户")
        ids = {number: hh.pk for number, hh in plan.households.items()}
        for chunk in _chunks(list(plan.new_households)):
            ids.update(Household.objects.filter(number__in=chunk).values_list("number", "id"))
        records += [created(ids[number], "household", number) for number in plan.new_households]

        for hh, changes in plan.household_changes:
            apply_changes(hh, changes)
            hh.updated_at = now
            records += map(_as_row, change_records(hh, "household", hh.number, changes, actor=actor, source=source))
        _bulk_update(
            Household,
            [hh for hh, _ in plan.household_changes],
            {f for _, ch in plan.household_changes for f in ch} | {"updated_at"},
            progress,
        )

        member_rows = []
        for m in plan.new_members:
            household_id = ids[m.household_number]
            member_rows.append({"household_id": household_id, **m.values, **protected_id_fields(m.id_number)})
            records.append(created(household_id, "member", m.values.get("name") or ""))
        _insert_rows(Member, member_rows, progress, "写入家庭成员")

        for member, number, changes in plan.member_changes:
            apply_changes(member, changes)
            records += map(
                _as_row,
                change_records(plan.households[number], "member", member.name, changes, actor=actor, source=source),
            )
        _bulk_update(
            Member,
            [m for m, _, _ in plan.member_changes],
            {f for _, _, ch in plan.member_changes for f in ch},
            progress,
        )

        account_rows = []
        for number, values in plan.new_accounts:
            account_rows.append({"household_id": ids[number], **values})
            records.append(created(ids[number], "account", f"{values['year']}年收支"))
        _insert_rows(AnnualAccount, account_rows, progress, "写入年度收支")
        for account, number, changes in plan.account_changes:
            apply_changes(account, changes)
            records += map(
                _as_row,
                change_records(
                    plan.households[number], "account", f"{account.year}年收支", changes, actor=actor, source=source
                ),
            )
        _bulk_update(
            AnnualAccount,
            [a for a, _, _ in plan.account_changes],
            {f for _, _, ch in plan.account_changes for f in ch},
            progress,
        )

        _insert_rows(ChangeRecord, records)


def _bulk_update(model: Any, objs: list[Any], fields: set[str], progress: _Progress) -> None:
    if not objs:
        return
    names = sorted(fields)
    for chunk in _chunks(objs, 500):
        model.objects.bulk_update(chunk, names)
        progress.step(len(chunk), f"更新{model._meta.verbose_name}")
