"""The dashboards' rows of the permission matrix (see shouwang/testing/matrix.py).

Figures are registry data in aggregate: whoever may view the registry sees the dashboards of
their region and below; a region outside answers 404, as for a code that does not exist.
The world's dashboard is the world's village; its report was built for that village.
"""

from __future__ import annotations

from shouwang.testing.matrix import ELSEWHERE, VIEWERS, only

EXPECTED = {
    "insights:home": ("get", only(VIEWERS | ELSEWHERE, ok=302)),
    "insights:dashboard": ("get", only(VIEWERS)),
    "insights:export": ("get", only(VIEWERS)),
    "insights:reports": ("get", only(VIEWERS | ELSEWHERE)),
    "insights:report_download": ("get", only(VIEWERS)),
}

KWARGS = {
    "insights:dashboard": lambda w: {"code": w["household"].village_id},
    "insights:export": lambda w: {"code": w["household"].village_id, "slug": "categories", "fmt": "xlsx"},
    "insights:report_download": lambda w: {"pk": w["report_job"].pk, "fmt": "xlsx"},
}


def build_world(world: dict, persona) -> None:
    from shouwang.insights.exports import as_xlsx
    from shouwang.insights.refresh import refresh
    from shouwang.insights.reports import report_path
    from shouwang.jobs.models import Job, JobStatus

    village = world["household"].village_id
    refresh(village)
    job = Job.objects.create(
        kind="insights.report",
        region_id=village,
        params={"period": "2025-06", "region": village, "public": False},
        status=JobStatus.SUCCEEDED,
    )
    report_path(job, "xlsx").write_bytes(as_xlsx("表1", ["区划名称", "农户数"], [["测试村", 1]]))
    world["report_job"] = job
