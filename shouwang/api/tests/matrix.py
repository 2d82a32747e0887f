"""The API's rows in the permission matrix (see shouwang/testing/matrix.py).

The matrix signs personas in with a browser session, so these rows check the API's scoping
and capabilities through session auth; token auth runs the same code as the token's owner and
is covered in test_api.py. An anonymous caller gets 401 JSON from every API operation and
from the OpenAPI document; the docs page and the token page of the web UI send them to login.
"""

from __future__ import annotations

from shouwang.api.models import ApiToken
from shouwang.testing.matrix import ALL, ELSEWHERE, VIEWERS, only

ADMINS = {"system_admin", "security_admin", "audit_admin"}

EXPECTED: dict[str, tuple[str, dict[str, int]]] = {
    "api:openapi-json": ("get", only(ALL)),
    "api:openapi-view": ("get", only(ALL)),
    "api:api-root": ("get", only(set())),  # ninja's placeholder root answers 404
    "api:me": ("get", only(ALL)),
    "api:household_list": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "api:household_detail": ("get", only(VIEWERS)),
    "api:job_detail": ("get", only({"county_officer"})),
    "api:feed_kinds": ("get", only(ALL)),
    "api:feed_kind": ("get", only(ALL)),
    # Only a department data officer may push; the matrix sends no file, so they get 422.
    "api:feed_push": ("post", only({"department_officer"}, ok=422, other=403)),
    "api:token_list": ("get", only(ALL)),
    # Administrators may hold no token (403 before the body is read); others get 400 because
    # the matrix posts a form instead of the JSON body.
    "api:token_create": ("post", only(ALL - ADMINS, ok=400, other=403)),
    "api:token_revoke": ("delete", only({"county_officer"}, ok=204)),
    "apiweb:tokens": ("get", only(ALL)),
    "apiweb:token_create": ("post", only(ALL - ADMINS, other=403)),
    "apiweb:token_revoke": ("post", only({"county_officer"}, ok=302)),
}

API_OPERATIONS = [
    name for name in EXPECTED if name.startswith("api:") and name not in {"api:openapi-view", "api:api-root"}
]
ANONYMOUS: dict[str, int] = dict.fromkeys(API_OPERATIONS, 401)

DATA: dict[str, dict] = {"apiweb:token_create": {"label": "矩阵测试令牌", "expires_in_days": "30"}}

KWARGS = {
    "api:household_detail": lambda w: {"household_id": w["household"].pk},
    "api:job_detail": lambda w: {"job_id": w["job"].pk},
    "api:feed_kind": lambda w: {"kind": "medical_claims"},
    "api:feed_push": lambda w: {"kind": "medical_claims"},
    "api:token_revoke": lambda w: {"token_id": w["api_token"].pk},
    "apiweb:token_revoke": lambda w: {"pk": w["api_token"].pk},
}


def build_world(world: dict, persona) -> None:
    """A token of the county officer: only they may revoke it; everyone else gets 404."""
    token, _plaintext = ApiToken.issue(persona("county_officer"), "县级移动端")
    world["api_token"] = token
