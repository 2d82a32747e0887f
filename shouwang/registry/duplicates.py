"""Finding probable duplicate persons (一人多户) in a region, as a background job."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from engine.linkage import find_duplicate_persons
from shouwang.jobs.models import Job
from shouwang.jobs.runner import Report, job_handler
from shouwang.registry.models import DuplicateCandidate
from shouwang.registry.snapshot import member_snapshot

JOB_KIND = "registry_duplicates"


def do_find_duplicates(region_code: str, report: Report | None = None) -> dict[str, int]:
    """Refresh the region's candidates: new pairs are added, known pairs keep their decision,
    and undecided pairs the model no longer proposes are dropped."""
    step = report or (lambda *_: None)
    step(0, 3, "读取成员")
    snapshot = member_snapshot(region_code)
    step(1, 3, f"比对 {snapshot.num_rows} 名成员")
    pairs = find_duplicate_persons(snapshot).to_pylist() if snapshot.num_rows else []
    step(2, 3, "保存疑似重复")
    found = {(p["member_key_l"], p["member_key_r"]): p for p in pairs}
    in_region = DuplicateCandidate.objects.filter(member_a__household__village__pk__startswith=region_code)
    with transaction.atomic():
        known = {(c.member_a_id, c.member_b_id): c for c in in_region}
        stale = [c.pk for key, c in known.items() if key not in found and c.decision == "pending"]
        DuplicateCandidate.objects.filter(pk__in=stale).delete()
        new = [
            DuplicateCandidate(member_a_id=a, member_b_id=b, probability=p["match_probability"], reason=p["reason"])
            for (a, b), p in found.items()
            if (a, b) not in known
        ]
        DuplicateCandidate.objects.bulk_create(new)
        for key, candidate in known.items():
            if key in found:
                candidate.probability = found[key]["match_probability"]
                candidate.reason = found[key]["reason"]
        DuplicateCandidate.objects.bulk_update([c for k, c in known.items() if k in found], ["probability", "reason"])
    step(3, 3, "完成")
    return {"members": snapshot.num_rows, "pairs": len(found), "new": len(new), "dropped": len(stale)}


@job_handler(JOB_KIND)
def find_duplicates_job(job: Job, report: Report) -> dict[str, Any]:
    return do_find_duplicates(job.region_id, report)
