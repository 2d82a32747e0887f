"""Background jobs (`/jobs/{job_id}`)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from shouwang.accounts.roles import Capability
from shouwang.api import schemas as s
from shouwang.api.routers.common import ERRORS, caller
from shouwang.core.logging import mask_id_like
from shouwang.core.scoping import access_object
from shouwang.jobs.models import Job
from shouwang.jobs.views import visible_jobs

# -- jobs -------------------------------------------------------------------------------------

jobs_router = Router(tags=["后台任务"])


@jobs_router.get(
    "/jobs/{job_id}", response={200: s.JobOut, **ERRORS}, url_name="job_detail", summary="后台任务的状态与进度"
)
def job_detail(request: HttpRequest, job_id: int) -> dict[str, Any]:
    user = caller(request)
    job: Job = access_object(visible_jobs(user), user, Capability.VIEW_JOBS, pk=job_id)
    result = job.result if isinstance(job.result, dict) else {}
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "percent": job.percent,
        "progress": job.progress,
        "total": job.total,
        "message": mask_id_like(job.message),
        "finished": job.is_finished,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "summary": {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        "error": mask_id_like(job.error) if job.is_finished else "",
    }
