"""The background job of a web upload: `do_import_feed` on the stored (encrypted) upload."""

from __future__ import annotations

from typing import Any

from shouwang.core.uploads import EncryptedUploads
from shouwang.exchange.actions import do_import_feed
from shouwang.exchange.models import Channel, FeedBatch
from shouwang.jobs.runner import Report, job_handler

JOB_KIND = "feed_import"
UPLOADS = EncryptedUploads("feeds")


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
    # encrypted upload for its confirmation; anything else deletes it now.
    keep = outcome.dry_run and outcome.file_error is None and outcome.stats.valid > 0 and not outcome.already_imported
    if not keep:
        UPLOADS.delete(token)
        FeedBatch.objects.filter(upload_token=token).update(upload_token="")
    return outcome.as_dict(max_errors=50)
