"""守望 REST API, version 1 (mounted at /api/v1/; OpenAPI at /api/v1/openapi.json).

Every read goes through `restrict()` / `access_object()` with the caller's role and region, so
the API sees exactly what the web UI shows the same user — and an object outside the caller's
region answers 404 like one that does not exist. ID numbers leave only masked. Errors are
always ``{"detail": "<中文说明>", "code": "<代码>"}``, never a traceback.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation
from ninja.renderers import JSONRenderer

from shouwang.api.auth import ANY_AUTH, ApiError
from shouwang.api.routers.common import error
from shouwang.api.routers.feeds import feeds_router
from shouwang.api.routers.households import me_router, registry_router
from shouwang.api.routers.jobs import jobs_router
from shouwang.api.routers.tokens import tokens_router
from shouwang.core.logging import mask_id_like

logger = logging.getLogger(__name__)


class ChineseJSONRenderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # readable Chinese in curl output and logs


class ShouwangAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Operation ids are part of the published OpenAPI contract (client generators name their
        # methods after them). They were minted while every operation lived in this module, so
        # keep that prefix whichever router module now holds the view.
        return "shouwang_api_api_" + operation.view_func.__name__


api = ShouwangAPI(
    title="守望 Shouwang API",
    version="1",
    description=(
        "防止返贫动态监测和帮扶平台接口。认证：网页会话（Cookie + CSRF）或接口令牌"
        "（`Authorization: Bearer sw_…`）。每次请求均按调用者的角色与所属区划限定范围；"
        "范围外的对象与不存在的对象一样返回 404。身份证号只以脱敏形式返回。"
        '错误统一为 `{"detail": "中文说明", "code": "代码"}`。'
    ),
    urls_namespace="api",
    auth=ANY_AUTH,
    renderer=ChineseJSONRenderer(),
    # Swagger UI from ninja's own static files (no CDN); no call-out to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)


# -- uniform errors --------------------------------------------------------------------------


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error(request, exc.status_code, exc.code, exc.message)
    for name, value in exc.headers.items():
        response[name] = value
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="shouwang"'
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    response = error(request, 401, "unauthenticated", "需要登录，或在 Authorization 头中提供有效的接口令牌。")
    response["WWW-Authenticate"] = 'Bearer realm="shouwang"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in str(exc):
        return error(request, 403, "csrf_failed", "CSRF 校验失败：网页会话调用须携带 X-CSRFToken 请求头。")
    if exc.status_code == 429:
        return error(request, 429, "rate_limited", "请求过于频繁，请稍后再试。")
    messages = {
        400: ("invalid_request", "请求体无法解析：请发送 JSON（Content-Type: application/json）。"),
        403: ("forbidden", "无权执行此操作。"),
        404: ("not_found", "对象不存在或无权访问。"),
    }
    code, detail = messages.get(exc.status_code, ("error", "请求无法处理。"))
    return error(request, exc.status_code, code, detail)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 404, "not_found", "对象不存在或无权访问。")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 403, "forbidden", "您的角色无权执行此操作。")


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": mask_id_like(str(e.get("msg", ""))),
            "type": e.get("type"),
        }
        for e in exc.errors
    ]
    return error(request, 422, "invalid_request", "请求参数有误，请对照接口文档检查。", errors=errors)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The logging filter masks anything ID-shaped; the response carries no detail at all.
    logger.exception("API error on %s %s", request.method, request.path)
    return error(request, 500, "server_error", "服务器内部错误，请稍后重试或联系系统管理员。")


api.add_router("", me_router)
api.add_router("", registry_router)
api.add_router("", jobs_router)
api.add_router("", feeds_router)
api.add_router("", tokens_router)
