"""The background job of a web upload: `do_import_feed` on the stored (encrypted) upload, and
the expiry of uploads a dry run kept for a confirmation that never came."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from django.conf import settings

from shouwang.core.audit import record_event
from shouwang.core.uploads import EncryptedUploads
from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import Channel, FeedBatch
from shouwang.jobs.runner import Report, job_handler, periodic

JOB_KIND = "feed_import"
UPLOADS = EncryptedUploads("feeds")
DEFAULT_KEEP_HOURS = 24.0


@job_handler(JOB_KIND)
def feed_import_job(job: Any, report: Report) -> dict[str, Any]:
    """params: upload (token), filename, kind, county, dry_run, valid_rows_only, user_id, sheet."""
    from shouwang.accounts.models import User

    params = job.params
    user = User.objects.filter(pk=params.get("user_id")).first()
    if user is None:
        raise PermissionError("the uploading user no longer exists")
    token = params["upload"]
    outcome = do_import_feed(
        UPLOADS.read(token),
        filename=params.get("filename", ""),
        kind=params["kind"],
        county=params["county"],
        user=user,
        dry_run=bool(params.get("dry_run", True)),
        valid_rows_only=bool(params.get("valid_rows_only", False)),
        channel=Channel.WEB,
        sheet=params.get("sheet") or None,
        progress=report,
        upload_token=token,
    )
    # Raw ID numbers are kept no longer than needed: a dry run with valid rows keeps the
    # encrypted upload for its confirmation (until it expires); anything else deletes it now.
    keep = outcome.dry_run and outcome.file_error is None and outcome.stats.valid > 0 and not outcome.already_imported
    if not keep:
        UPLOADS.delete(token)
        FeedBatch.objects.filter(upload_token=token).update(upload_token="")
    return outcome.as_dict(max_errors=50)


def keep_hours() -> float:
    """How long a dry run's encrypted upload waits for its confirmation: the setting
    FEED_UPLOAD_KEEP_HOURS, else SHOUWANG_FEED_UPLOAD_KEEP_HOURS, else 24."""
    value = getattr(settings, "FEED_UPLOAD_KEEP_HOURS", None)
    if value is None:
        value = os.environ.get("SHOUWANG_FEED_UPLOAD_KEEP_HOURS") or DEFAULT_KEEP_HOURS
    return float(value)


@periodic("exchange.purge_uploads", every=3600)
def purge_expired_uploads(*, hours: float | None = None, now: float | None = None) -> int:
    """Delete the encrypted feed uploads older than `hours` (default `keep_hours()`) that no
    queued or running import still needs; their dry runs can no longer be confirmed (the
    officer uploads again). Returns how many were deleted; audited when any were."""
    from shouwang.jobs.models import Job, JobStatus

    limit = (keep_hours() if hours is None else hours) * 3600
    now = time.time() if now is None else now
    pending = {
        params.get("upload")
        for params in Job.objects.filter(kind=JOB_KIND, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list(
            "params", flat=True
        )
        if isinstance(params, dict)
    }
    expired: list[str] = []
    for path in UPLOADS.directory().glob("*.bin"):
        token = path.stem
        try:
            UPLOADS.path(token)  # only files of the store itself
            age = now - path.stat().st_mtime
        except ValueError:
            continue
        except FileNotFoundError:  # deleted meanwhile by the job that used it
            continue
        if age < limit or token in pending:
            continue
        UPLOADS.delete(token)
        expired.append(token)
    if expired:
        FeedBatch.objects.filter(upload_token__in=expired).update(upload_token="")
        record_event(
            "exchange.purge_uploads",
            actor=None,
            count=len(expired),
            older_than=str(dt.timedelta(seconds=int(limit))),
        )
    return len(expired)
