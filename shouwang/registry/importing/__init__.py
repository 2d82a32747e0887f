"""Registry import (户籍信息导入): validate a whole file, then upsert it in one transaction.

The file is one of the kinds of `engine.schemas.registry` — members (one row per person, the
household's columns repeated and required to agree) or annual accounts — as CSV or XLSX; an
XLSX workbook may hold both kinds on two sheets, members first. Everything is checked before
anything is written: cell types (engine.validate), then the registry's own rules (the village
exists and lies in the importer's region, one 户主 per household, an ID number belongs to one
household only, …). One bad row and nothing is written.

Writes are an upsert by household number and ID hash: existing rows are loaded in bulk, the
differences computed with `actions.diff`, and only what differs is written, with one
ChangeRecord per changed field (one "新建" record per new object, not one per field). The
same file imported twice writes nothing the second time.

Columns absent from the file's header are left alone on existing rows; a blank cell in a
present column sets the field to its empty/default value.
"""

# The package is split by concept: `outcome` (what an import found and did), `fields` (columns →
# model fields), `plan` (validating the file set and planning writes against existing rows),
# `apply` (the atomic write), `run` (the entry point), `uploads` (encrypted uploads, error
# reports) and `jobs` (the background job). Importing the package registers the job handler.

from shouwang.core.protection import protector
from shouwang.registry.importing.apply import apply_plan
from shouwang.registry.importing.fields import ACCOUNT_FIELDS, HOUSEHOLD_FIELDS, MEMBER_FIELDS
from shouwang.registry.importing.jobs import registry_import_job
from shouwang.registry.importing.outcome import MAX_ERRORS_IN_RESULT, ImportOutcome, Report, Tally
from shouwang.registry.importing.run import run_registry_import
from shouwang.registry.importing.uploads import (
    do_delete_upload,
    error_report_csv_bytes,
    error_report_xlsx_bytes,
    read_report_rows,
    read_upload,
    report_path,
    store_upload,
    upload_dir,
    upload_exists,
    write_error_report,
)

__all__ = [
    "ACCOUNT_FIELDS",
    "HOUSEHOLD_FIELDS",
    "MAX_ERRORS_IN_RESULT",
    "MEMBER_FIELDS",
    "ImportOutcome",
    "Report",
    "Tally",
    "apply_plan",
    "do_delete_upload",
    "error_report_csv_bytes",
    "error_report_xlsx_bytes",
    "protector",
    "read_report_rows",
    "read_upload",
    "registry_import_job",
    "report_path",
    "run_registry_import",
    "store_upload",
    "upload_dir",
    "upload_exists",
    "write_error_report",
]
