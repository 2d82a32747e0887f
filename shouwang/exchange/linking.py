"""Probabilistic linkage of feed rows inside an import, the review queue, and what stays unmatched.

After exact linkage (ID hash), the rows without a member — no ID, or a valid ID nobody in
the registry has — go through `engine.linkage.link_records` against the county's members
(`member_snapshot`), with the village and township names a file gives resolved against the
county's divisions (`county_places`): accepted links carry the member's and household's keys
(`link_status = probabilistic`), grey-zone rows become `LinkReview`s with their ranked
candidates (`review`), the rest stay `unmatched` and are listed back to the department.

A reviewer (county or township officer) accepts one candidate — the stored row is rewritten
(`confirmed`, with the keys) — or rejects them all (`unmatched`); either way the batch's
Parquet file is replaced atomically, the batch's link counts follow, and the act is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.feeds.linking import LinkStatus, ReviewItem, confirm_link, link_counts, link_probabilistic
from engine.feeds.storage import read_batch, restore_batch_file, rewrite_batch_file
from engine.schemas.feeds import FEED_SCHEMAS
from shouwang.accounts.roles import Capability
from shouwang.core.audit import record_event
from shouwang.core.scoping import user_region_contains
from shouwang.exchange.models import BatchStatus, FeedBatch, LinkReview, LinkReviewCandidate, ReviewStatus


class LinkageError(RuntimeError):
    """Probabilistic linkage failed: the import stores nothing."""


@dataclass
class LinkageResult:
    table: pa.Table
    reviews: list[ReviewItem]
    summary: dict[str, Any]


def links_people(kind: str) -> bool:
    return "id_number" in {c.name for c in FEED_SCHEMAS[kind].columns}


def link_batch_rows(table: pa.Table, kind: str, county: str) -> LinkageResult:
    """The exactly linked rows of one file, through probabilistic linkage (see module doc)."""
    from engine.feeds.linking import add_row_ids

    unmatched = table.num_rows and pc.any(pc.equal(table.column("link_status"), LinkStatus.UNMATCHED.value)).as_py()
    if not links_people(kind) or not unmatched:
        table = add_row_ids(table)
        probability = pc.if_else(
            pc.equal(table.column("link_status"), LinkStatus.EXACT.value),
            pa.scalar(1.0),
            pa.scalar(None, pa.float64()),
        )
        return LinkageResult(table.append_column("link_probability", probability), [], {})
    from shouwang.registry.snapshot import member_snapshot

    try:
        outcome = link_probabilistic(table, member_snapshot(county), places=county_places(county), kind=kind)
    except Exception as exc:  # Splink/DuckDB: whatever went wrong, nothing is stored
        raise LinkageError(f"{type(exc).__name__}: {exc}") from exc
    return LinkageResult(outcome.table, outcome.reviews, outcome.summary)


@dataclass
class StagedLinks:
    """The links of a staged batch beyond `link_exact`'s (by row id), its review items and
    link counts (`engine.feeds.linking.link_counts`)."""

    overrides: pa.Table
    reviews: list[ReviewItem]
    counts: dict[str, Any]
    summary: dict[str, Any]


def link_staged_rows(rows: Path, kind: str, county: str, keys: dict[str, tuple[int, int]]) -> StagedLinks:
    """A staged batch (`engine.feeds.sandbox.STAGED_ROWS`) through exact, then probabilistic
    linkage, without holding it: the exact links are counted reading the ID hashes alone; only
    when rows are left unmatched and the county has members are the columns linkage compares
    read (all rows: they set the batch's prior) and linked as `link_batch_rows` does. The
    rows themselves get their links when they are written (`engine.feeds.linking.linked_batches`)."""
    from engine.feeds.linking import exact_counts, link_overrides, linkage_rows, no_overrides

    counts = exact_counts(rows, keys)
    if not links_people(kind) or not counts["unmatched"]:
        return StagedLinks(no_overrides(), [], counts, {})
    from shouwang.registry.snapshot import member_snapshot

    registry = member_snapshot(county)
    if not registry.num_rows:
        return StagedLinks(no_overrides(), [], counts, {})
    table = linkage_rows(rows, keys, kind)
    try:
        outcome = link_probabilistic(table, registry, places=county_places(county), kind=kind)
    except Exception as exc:  # Splink/DuckDB: whatever went wrong, nothing is stored
        raise LinkageError(f"{type(exc).__name__}: {exc}") from exc
    return StagedLinks(link_overrides(outcome.table), outcome.reviews, link_counts(outcome.table), outcome.summary)


def county_places(county: str) -> pa.Table:
    """The county's villages with their townships, by NBS name (`engine.linkage.places`): what
    a file's 所在村 / 乡镇（街道） / address is resolved against."""
    from engine.linkage.places import PLACES_SCHEMA
    from shouwang.regions.models import Level, Region

    townships = dict(Region.objects.filter(code__startswith=county, level=Level.TOWNSHIP).values_list("code", "name"))
    villages = Region.objects.filter(code__startswith=county, level=Level.VILLAGE).order_by("code")
    rows = [(code, name, code[:9], townships.get(code[:9], "")) for code, name in villages.values_list("code", "name")]
    rows += [("", "", code, name) for code, name in townships.items() if not any(r[2] == code for r in rows)]
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pa.table(
        {f.name: pa.array([v or None for v in c], f.type) for f, c in zip(PLACES_SCHEMA, columns, strict=True)},
        schema=PLACES_SCHEMA,
    )


def create_reviews(batch: FeedBatch, reviews: list[ReviewItem]) -> int:
    """The batch's review items and their candidates (inside the import's transaction)."""
    if not reviews:
        return 0
    made = LinkReview.objects.bulk_create(
        [
            LinkReview(
                batch=batch,
                county_id=batch.county_id,
                row_id=r.row_id,
                line=r.line[:40],
                name=(r.name or "")[:50],
                birth_date=r.birth_date,
                best_probability=r.candidates[0]["probability"] if r.candidates else 0.0,
            )
            for r in reviews
        ]
    )
    if made and made[0].pk is None:  # a backend that does not return keys
        made = list(LinkReview.objects.filter(batch=batch).order_by("row_id"))
    by_row = {m.row_id: m for m in made}
    LinkReviewCandidate.objects.bulk_create(
        [
            LinkReviewCandidate(
                review=by_row[r.row_id],
                member_id=c["member_key"],
                rank=rank,
                probability=c["probability"],
                pair_probability=c["pair_probability"],
            )
            for r in reviews
            for rank, c in enumerate(r.candidates, 1)
        ]
    )
    return len(made)


# -- who sees which review ---------------------------------------------------------------------


def visible_reviews(user: Any, capability: Capability = Capability.VIEW_REGISTRY) -> Any:
    """Reviews of committed batches the user may see: all of a county within their region
    (county officers and above), or — a township officer or village cadre — those with a
    candidate living in their subtree. Department officers hold no registry capability and
    see none: the candidates are registry data."""
    prefix = getattr(user, "region_prefix", None)
    if not user.is_authenticated or prefix is None or not user.can(capability):
        return LinkReview.objects.none()
    inside = Q(county__pk__startswith=prefix) | Q(candidates__member__household__village__pk__startswith=prefix)
    ids = LinkReview.objects.filter(batch__status=BatchStatus.COMMITTED).filter(inside).values("pk")
    return LinkReview.objects.filter(pk__in=ids)


def access_review(user: Any, pk: int, capability: Capability = Capability.VIEW_REGISTRY) -> LinkReview:
    """One review the user may see, or 404 alike for absent and forbidden."""
    try:
        return visible_reviews(user, capability).select_related("batch", "county").get(pk=pk)
    except (LinkReview.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


class ReviewError(ValueError):
    """A decision that cannot be taken (already decided, not a candidate, outside the region)."""


def do_decide_review(review: LinkReview, user: Any, *, member_id: int | None, request: Any = None) -> LinkReview:
    """Accept `member_id` (one of the review's candidates) or reject (`member_id=None`).

    The batch's stored row is rewritten (atomically; the old file is put back if the
    transaction fails), the batch's link counts and manifest follow, and the decision is
    audited as `exchange.link_review`.
    """
    if not user.can(Capability.EDIT_REGISTRY):
        raise PermissionError("may not decide link reviews")
    from engine.feeds.storage import write_manifest
    from shouwang.exchange.actions import data_dir

    rewritten: list[tuple[str, bytes]] = []
    try:
        with transaction.atomic():
            batch = FeedBatch.objects.select_for_update().get(pk=review.batch_id)  # one decision per batch at a time
            locked = LinkReview.objects.select_for_update().get(pk=review.pk)
            if locked.status != ReviewStatus.PENDING:
                raise ReviewError(_("该记录已核实"))
            if batch.status != BatchStatus.COMMITTED:
                raise ReviewError(_("批次已撤回"))
            candidate = None
            if member_id is not None:
                candidate = locked.candidates.select_related("member__household").filter(member_id=member_id).first()
                if candidate is None:
                    raise ReviewError(_("所选成员不是候选人"))
                if not user_region_contains(user, candidate.member.household.village_id):
                    raise ReviewError(_("所选成员不在您的辖区"))
            member_key = candidate.member_id if candidate else None
            household_key = candidate.member.household_id if candidate else None
            for rel in batch.storage_paths:
                body = _rewrite_if_holds(rel, locked.row_id, member_key, household_key)
                if body is not None:
                    rewritten.append((rel, body))
            if not rewritten:
                raise ReviewError(_("批次文件中找不到该行"))
            locked.status = ReviewStatus.ACCEPTED if candidate else ReviewStatus.REJECTED
            locked.member_id = member_key
            locked.decided_by = user
            locked.decided_at = timezone.now()
            locked.save(update_fields=["status", "member", "decided_by", "decided_at"])
            links = link_counts(read_batch(data_dir(), list(batch.storage_paths)))
            counts = dict(batch.counts or {})
            counts["links"] = links
            batch.counts = counts
            batch.save(update_fields=["counts"])
            if batch.manifest_path:
                _update_manifest(batch, links, write_manifest)
            record_event(
                "exchange.link_review",
                actor=user,
                request=request,
                obj=locked,
                region_code=batch.county_id,
                batch=batch.pk,
                line=locked.line,
                decision=str(locked.status),
                member=member_key,
                candidates=list(locked.candidates.values_list("member_id", flat=True)),
            )
    except BaseException:
        for rel, body in rewritten:
            restore_batch_file(data_dir(), rel, body)
        raise
    return locked


def _rewrite_if_holds(rel: str, row_id: int, member_key: int | None, household_key: int | None) -> bytes | None:
    import pyarrow.parquet as pq

    from shouwang.exchange.actions import data_dir

    path = data_dir() / rel
    rows = pq.read_table(path, columns=["row_id"]).column("row_id")
    if not pc.any(pc.equal(rows, row_id)).as_py():
        return None
    return rewrite_batch_file(data_dir(), rel, lambda t: confirm_link(t, row_id, member_key, household_key))


def _update_manifest(batch: FeedBatch, links: dict[str, Any], write_manifest: Any) -> None:
    from shouwang.exchange.actions import data_dir

    path = data_dir() / batch.manifest_path
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    manifest.setdefault("counts", {})["links"] = links
    write_manifest(data_dir(), batch.pk, manifest)


# -- rows listed back to the department ----------------------------------------------------------

UNMATCHED_HEADERS = ("行号/Line", "姓名/Name", "身份证号/ID (masked)", "原因/Reason", "Reason (English)")


def unmatched_rows(batch: FeedBatch) -> list[tuple[str, ...]]:
    """The batch's rows without a member (and those still in review): line, name, masked
    ID or blank, reason — neutralised for spreadsheets."""
    from engine.validate import neutralise
    from shouwang.exchange.actions import data_dir

    if not batch.storage_paths:
        return []
    table = read_batch(data_dir(), list(batch.storage_paths))
    if not table.num_rows or "link_status" not in table.column_names:
        return []
    wanted = pc.is_in(table.column("link_status"), value_set=pa.array([LinkStatus.UNMATCHED, LinkStatus.REVIEW]))
    columns = ["line", "name", "id_masked", "id_hash", "link_status"]
    rows = table.filter(wanted).select([c for c in columns if c in table.column_names]).to_pylist()
    out = []
    for r in sorted(rows, key=lambda r: _line_order(r["line"])):
        if r["link_status"] == LinkStatus.REVIEW:
            zh, en = "待核实：有相近的库内人员，正在人工核实", "in review: similar registry members are being checked"
        elif r.get("id_hash") is None:
            zh, en = "身份证号缺失，按姓名等未找到库内人员", "ID number missing; no registry member found by name"
        else:
            zh, en = (
                "身份证号不在本县户籍库中，按姓名等也未找到",
                "ID number not in the county's registry; no match by name",
            )
        out.append(tuple(neutralise(v) for v in (r["line"], r.get("name") or "", r.get("id_masked") or "", zh, en)))
    return out


def _line_order(line: str) -> tuple[str, int]:
    sheet, _, number = line.rpartition("!")
    return (sheet, int(number) if number.isdigit() else 0)
