"""Department feeds: their declarations (`/feeds/kinds`) and pushing a file (`/feeds/{kind}`)."""

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Form, Router
from ninja.files import UploadedFile

from engine.schema import TableSchema
from engine.schemas.feeds import FEED_SCHEMAS
from shouwang.accounts.models import User
from shouwang.accounts.roles import Capability
from shouwang.api import schemas as s
from shouwang.api.auth import ApiError
from shouwang.api.models import ApiToken
from shouwang.api.routers.common import ERRORS, caller, error, invalid, require
from shouwang.core.audit import record_event
from shouwang.core.logging import mask_id_like
from shouwang.core.scoping import user_region_contains
from shouwang.regions.models import Level, Region

# -- department feeds -------------------------------------------------------------------------

feeds_router = Router(tags=["部门数据"])


def scrub(value: Any) -> Any:
    """Mask anything ID-shaped in a structure on its way out (row errors echo bad values)."""
    if isinstance(value, str):
        return mask_id_like(value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def feed_summary(schema: TableSchema) -> dict[str, Any]:
    return {
        "kind": schema.kind,
        "label": schema.label,
        "description": schema.description,
        "version": schema.version,
        "required_columns": [col.name for col in schema.required],
    }


def feed_declaration(schema: TableSchema) -> dict[str, Any]:
    return {
        **feed_summary(schema),
        "key": list(schema.key),
        "columns": [
            {
                "name": col.name,
                "label": col.label,
                "aliases": list(col.aliases),
                "headers": list(col.headers),
                "type": str(col.type),
                "required": col.required,
                "choices": list(col.choices),
                "help": col.help,
                "example": col.example,
                "max_length": col.max_length,
            }
            for col in schema.columns
        ],
    }


def feed_schema(kind: str) -> TableSchema:
    schema = FEED_SCHEMAS.get(kind)
    if schema is None:
        raise invalid(f"未知的数据类型“{kind[:40]}”；可用类型：" + "、".join(FEED_SCHEMAS))
    return schema


@feeds_router.get(
    "/feeds/kinds", response={200: list[s.FeedKindSummary], **ERRORS}, url_name="feed_kinds", summary="部门数据类型一览"
)
def feed_kinds(request: HttpRequest) -> list[dict[str, Any]]:
    return [feed_summary(schema) for schema in FEED_SCHEMAS.values()]


@feeds_router.get(
    "/feeds/kinds/{kind}",
    response={200: s.FeedKindOut, **ERRORS},
    url_name="feed_kind",
    summary="一种部门数据的声明：列、中文表头、别名、类型、代码表、是否必填",
)
def feed_kind(request: HttpRequest, kind: str) -> dict[str, Any]:
    return feed_declaration(feed_schema(kind))


def upload_limit() -> int:
    return int(getattr(settings, "SHOUWANG_API_UPLOAD_MAX_BYTES", settings.REGISTRY_UPLOAD_MAX_BYTES))


def resolve_county(user: User, county: str | None) -> str:
    county = (county or "").strip()
    if not county:
        own = user.region_id or ""
        if len(own) < 6:
            raise invalid("您的所属区划在县级以上，请用 county 参数指定县区代码。")
        county = own[:6]
    if not re.fullmatch(r"\d{6}", county):
        raise invalid("county 应为 6 位县区代码。")
    in_scope = user_region_contains(user, county)
    if not in_scope or not Region.objects.filter(code=county, level=Level.COUNTY).exists():
        raise ApiError(404, "not_found", "县区不存在或不在您的管辖范围内。")
    return county


def sha256_of(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@feeds_router.post(
    "/feeds/{kind}",
    response={200: s.FeedPushOut, 413: s.ErrorOut, 503: s.ErrorOut, **ERRORS},  # 422 may carry `outcome`
    url_name="feed_push",
    summary="推送一份部门数据文件（CSV 或 XLSX；需部门数据专员令牌）",
    description=(
        "multipart/form-data：file（文件）、dry_run（仅校验，默认 false）、valid_rows_only（仅导入有效行，"
        "默认 false：有任何错误行则整份文件不导入）、county（县区代码，默认为令牌所属用户的县）、"
        "sheet（XLSX 的工作表名称，默认为第一个有内容的工作表；不存在时返回 422 并列出文件中的工作表）。"
        "同一文件（同一工作表）重复推送按内容识别，不会重复导入。"
    ),
)
def feed_push(
    request: HttpRequest,
    kind: str,
    file: Annotated[UploadedFile | None, File(description="CSV（UTF-8 或 GBK）或 XLSX 文件")] = None,
    dry_run: Annotated[bool, Form(description="仅校验、不导入（默认 false）")] = False,
    valid_rows_only: Annotated[bool, Form(description="有错误行时仍导入有效行（默认 false：整份不导入）")] = False,
    county: Annotated[str | None, Form(description="县区代码（6 位），默认为调用者所属的县")] = None,
    sheet: Annotated[
        str | None, Form(max_length=100, description="XLSX 的工作表名称（默认：第一个有内容的工作表）")
    ] = None,
) -> Any:
    user = caller(request)
    require(user, Capability.UPLOAD_FEEDS)
    feed_schema(kind)
    county_code = resolve_county(user, county)
    if file is None:
        raise invalid("请以 multipart/form-data 的 file 字段上传文件。")
    filename = Path(file.name or "").name
    suffix = Path(filename).suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        raise invalid("只接受 .csv 或 .xlsx 文件。")
    size = file.size or 0
    if size == 0:
        raise invalid("文件为空。")
    limit = upload_limit()
    if size > limit:
        raise ApiError(413, "payload_too_large", f"文件过大：上限为 {limit // (1024 * 1024)} MB。")
    if suffix == ".xlsx" and file.read(4) != b"PK\x03\x04":
        raise invalid("文件内容不是有效的 XLSX。")
    file.seek(0)
    digest = sha256_of(file)
    try:
        from shouwang.exchange import actions as exchange
    except ImportError:
        raise ApiError(503, "unavailable", "部门数据导入功能暂不可用，请稍后再试。") from None
    source: bytes | Path
    temporary = getattr(file, "temporary_file_path", None)
    source = Path(temporary()) if temporary else file.read()
    token: ApiToken | None = getattr(request, "api_token", None)
    audit: dict[str, Any] = {
        "kind": kind,
        "county": county_code,
        "filename": mask_id_like(filename),
        "size": size,
        "sha256": digest,
        "dry_run": dry_run,
        "valid_rows_only": valid_rows_only,
        "sheet": mask_id_like((sheet or "").strip()),
        "token": token.prefix if token else None,
    }
    try:
        outcome = exchange.do_import_feed(
            source,
            filename=filename,
            kind=kind,
            county=county_code,
            user=user,
            dry_run=dry_run,
            valid_rows_only=valid_rows_only,
            channel="api",
            sheet=(sheet or "").strip() or None,
        )
    except ValueError as exc:
        record_event("api.feed_push", actor=user, request=request, region_code=county_code, result="rejected", **audit)
        raise invalid("文件无法导入：" + mask_id_like(str(exc))[:300]) from None
    result = scrub(outcome.as_dict())
    counts = {
        k: result.get(k) for k in ("status", "total", "valid", "rejected", "duplicates", "already_imported", "batch_id")
    }
    record_event("api.feed_push", actor=user, request=request, region_code=county_code, result="ok", **audit, **counts)
    result.update(kind=kind, county=county_code, dry_run=dry_run, valid_rows_only=valid_rows_only, sha256=digest)
    result["errors"] = list(result.get("errors") or [])
    if result.get("file_error"):
        # The whole file was refused (encoding, header, size…): 422 with the outcome attached.
        return error(request, 422, "file_rejected", str(result.get("message") or "文件被拒绝。"), outcome=result)
    return result
