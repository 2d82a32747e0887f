"""The feed exchange's rows of the permission matrix (see shouwang/testing/matrix.py).

The world: a committed batch of 台江县 uploaded by the department officer, that upload's
job, and a linkage review item of the batch whose candidate is the world's member (in the
first village of 台拱街道). Department officers and county officers of 台江县 see the batch; a
county officer of 黎平县 gets the list (of their own county, empty) but 404 for our batch. The
review queue is registry data: registry viewers see it (the village cadre and the township
officer because the candidate lives in their area), registry editors decide (the decision
fails softly here — the batch has no files — and redirects); department officers get 403 on
the list and 404 on an item. The kind documentation and templates are open to every
signed-in user.
"""

from __future__ import annotations

from shouwang.testing.matrix import ALL, EDITORS, ELSEWHERE, VIEWERS, only

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
    "exchange:batch_unmatched": ("get", only(FEED_VIEWERS)),
    "exchange:review_list": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "exchange:review_detail": ("get", only(VIEWERS)),
    "exchange:review_decide": ("post", only(EDITORS, ok=302)),
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
    "exchange:batch_unmatched": lambda w: {"pk": w["feed_batch"].pk, "fmt": "xlsx"},
    "exchange:review_detail": lambda w: {"pk": w["link_review"].pk},
    "exchange:review_decide": lambda w: {"pk": w["link_review"].pk},
    "exchange:kind_doc": lambda w: {"kind": "medical_claims"},
    "exchange:template": lambda w: {"kind": "medical_claims"},
}

DATA = {"exchange:batch_withdraw": {"reason": "测试"}, "exchange:review_decide": {"decision": "reject"}}


def build_world(world: dict, persona) -> None:
    from shouwang.exchange.models import FeedBatch, LinkReview, LinkReviewCandidate
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
    review = LinkReview.objects.create(
        batch=world["feed_batch"], county_id="522630", row_id=0, line="2", name="测试", best_probability=0.4
    )
    LinkReviewCandidate.objects.create(review=review, member=world["member"], rank=1, probability=0.4)
    world["link_review"] = review
