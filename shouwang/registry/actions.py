"""Writes to the registry. Every change goes through here and leaves a ChangeRecord.

`do_*` functions take plain values that have already been validated (by a form or by the
import pipeline) and apply only what differs, so re-applying the same values changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import models

from engine.ids import IDNumber
from shouwang.core.protection import protector
from shouwang.registry.models import AnnualAccount, ChangeRecord, Household, Member

# Fields whose change is recorded masked.
PROTECTED = {"id_number"}


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return Decimal(str(old or 0)) == Decimal(str(new or 0))
    return old == new


def diff(instance: models.Model, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields of `values` that differ from the instance: {field: (before, after)}."""
    changed = {}
    for name, new in values.items():
        attname = getattr(instance._meta.get_field(name), "attname", name)
        old = getattr(instance, attname)
        if isinstance(new, models.Model):
            new = new.pk
        if not _same(old, new):
            changed[name] = (old, new)
    return changed


def change_records(
    household: Household, obj_type: str, label: str, changes: dict[str, tuple[Any, Any]], *, actor: Any, source: str
) -> list[ChangeRecord]:
    return [
        ChangeRecord(
            household=household,
            actor=actor if getattr(actor, "pk", None) else None,
            source=source,
            object_type=obj_type,
            object_label=label[:100],
            field=field,
            before=_display(before),
            after=_display(after),
        )
        for field, (before, after) in changes.items()
    ]


def apply_changes(instance: models.Model, changes: dict[str, tuple[Any, Any]]) -> None:
    for name, (_, new) in changes.items():
        setattr(instance, getattr(instance._meta.get_field(name), "attname", name), new)


def do_update_household(household: Household, values: Mapping[str, Any], *, actor: Any, source: str) -> int:
    """Apply household field values; returns the number of fields changed."""
    changes = diff(household, values)
    if changes:
        apply_changes(household, changes)
        household.save()
        ChangeRecord.objects.bulk_create(
            change_records(household, "household", household.number, changes, actor=actor, source=source)
        )
    return len(changes)


def do_update_member(member: Member, values: Mapping[str, Any], *, actor: Any, source: str) -> int:
    changes = diff(member, values)
    if changes:
        apply_changes(member, changes)
        member.save()
        ChangeRecord.objects.bulk_create(
            change_records(member.household, "member", member.name, changes, actor=actor, source=source)
        )
    return len(changes)


def protected_id_fields(id_number: IDNumber) -> dict[str, Any]:
    """The stored forms of an ID number: keyed hash, ciphertext and what may be shown."""
    p = protector()
    return {
        "id_number_hash": p.hash(id_number.value),
        "id_number_encrypted": p.encrypt(id_number.value, context=b"member.id_number"),
        "id_number_tail": id_number.value[-4:],
        "id_region_prefix": id_number.value[:6],
        "sex": id_number.sex,
        "birth_date": id_number.birth_date,
    }


def reveal_id_number(member: Member) -> str:
    """Decrypt one member's ID number. Callers check the capability and audit (see views)."""
    return protector().decrypt(member.id_number_encrypted, context=b"member.id_number")


def do_upsert_account(
    household: Household, year: int, values: Mapping[str, Any], *, actor: Any, source: str
) -> tuple[AnnualAccount, bool, int]:
    """Create or update the household's account for a year; returns (account, created, changed)."""
    account = AnnualAccount.objects.filter(household=household, year=year).first()
    label = f"{year}年收支"
    if account is None:
        account = AnnualAccount.objects.create(household=household, year=year, **values)
        ChangeRecord.objects.bulk_create(
            change_records(
                household, "account", label, {k: (None, v) for k, v in values.items()}, actor=actor, source=source
            )
        )
        return account, True, len(values)
    changes = diff(account, values)
    if changes:
        apply_changes(account, changes)
        account.save()
        ChangeRecord.objects.bulk_create(
            change_records(household, "account", label, changes, actor=actor, source=source)
        )
    return account, False, len(changes)
