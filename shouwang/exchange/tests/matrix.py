"""The feed exchange's rows of the permission matrix (see shouwang/testing/matrix.py).

The world: a committed batch of 台江县 uploaded by the department officer, and that
upload's job. Department officers and county officers of 台江县 see the batch; a county
officer of 黎平县 gets the list (of their own county, empty) but 404 for our batch. The
kind documentation and templates are open to every signed-in user.
"""

from __future__ import annotations

from shouwang.testing.matrix import ALL, ELSEWHERE, only

FEED_VIEWERS = {"county_officer", "department_officer"}
UPLOADERS = {"department_officer"}

EXPECTED = {
    "exchange:batch_list": ("get", only(FEED_VIEWERS | ELSEWHERE, other=403)),
    "exchange:upload": ("get", only(UPLOADERS, other=403)),
    "exchange:job": ("get", only(UPLOADERS)),
    "exchange:batch_detail": ("get", only(FEED_VIEWERS)),
    # A committed batch cannot be committed again: the uploader is sent back to it.
    "exchange:batch_commit": ("post", only(UPLOADERS, ok=302)),
    "exchange:batch_withdraw": ("post", {**only(FEED_VIEWERS, ok=302)}),
    "exchange:batch_report": ("get", only(FEED_VIEWERS)),
    "exchange:kind_index": ("get", only(ALL)),
    "exchange:kind_doc": ("get", only(ALL)),
    "exchange:template": ("get", only(ALL)),
}

KWARGS = {
    "exchange:job": lambda w: {"job_id": w["feed_job"].pk},
    "exchange:batch_detail": lambda w: {"pk": w["feed_batch"].pk},
    "exchange:batch_commit": lambda w: {"pk": w["feed_batch"].pk},
    "exchange:batch_withdraw": lambda w: {"pk": w["feed_batch"].pk},
    "exchange:batch_report": lambda w: {"pk": w["feed_batch"].pk, "fmt": "csv"},
    "exchange:kind_doc": lambda w: {"kind": "medical_claims"},
    "exchange:template": lambda w: {"kind": "medical_claims"},
}

DATA = {"exchange:batch_withdraw": {"reason": "测试"}}


def build_world(world: dict, persona) -> None:
    from shouwang.exchange.models import FeedBatch
    from shouwang.jobs.models import Job

    uploader = persona("department_officer")
    world["feed_batch"] = FeedBatch.objects.create(
        kind="medical_claims",
        county_id="522630",
        filename="claims.csv",
        sha256="0" * 64,
        channel="web",
        status="committed",
        counts={"total": 1, "valid": 1},
        created_by=uploader,
    )
    world["feed_job"] = Job.objects.create(
        kind="feed_import",
        region_id="522630",
        created_by=uploader,
        params={"kind": "medical_claims", "county": "522630", "dry_run": True},
        status="running",
    )
