"""The background job: a registry import run by the job runner on a stored upload."""

from __future__ import annotations

from typing import Any

from engine.validate import RowError
from shouwang.jobs.runner import job_handler
from shouwang.registry.importing.outcome import Report
from shouwang.registry.importing.run import run_registry_import
from shouwang.registry.importing.uploads import do_delete_upload, read_upload, report_path, write_error_report


@job_handler("registry_import")
def registry_import_job(job: Any, report: Report) -> dict[str, Any]:
    """params: upload (token), filename, dry_run, user_id. Result: the outcome summary."""
    from shouwang.accounts.models import User

    params = job.params
    user = User.objects.filter(pk=params.get("user_id")).first()
    if user is None:
        raise PermissionError("the importing user no longer exists")
    token = params["upload"]
    outcome = run_registry_import(
        read_upload(token),
        filename=params.get("filename", ""),
        user=user,
        dry_run=bool(params.get("dry_run", True)),
        report=report,
        change_source=f"import:{job.pk}",
    )
    result = outcome.as_dict()
    if outcome.errors or outcome.file_error:
        errors = list(outcome.errors)
        if outcome.file_error:
            errors.insert(0, RowError("", "", "", outcome.file_error["reason_zh"], outcome.file_error["reason_en"]))
        write_error_report(errors, report_path(token, job.pk))
        result["report"] = True
    # Raw ID numbers are kept no longer than needed: after the import, or as soon as the file
    # is known to be unusable (a rejected file cannot be confirmed; it must be fixed and re-sent).
    if outcome.committed or not outcome.ok:
        do_delete_upload(token)
    result["upload_deleted"] = outcome.committed or not outcome.ok
    return result
