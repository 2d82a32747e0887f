"""/api/v1/… (the REST API, namespace "api") and the token page of the web UI ("apiweb").

The API answers for itself: its operations and its OpenAPI document are exempt from the
login redirect (an anonymous caller gets 401 JSON, not a login page) and carry
``Cache-Control: no-store``; the interactive docs page stays behind the web login.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, include, path
from django.views.decorators.cache import never_cache

from shouwang.api import views
from shouwang.api.api import api

# Pages of the web UI, behind the usual login.
KEEP_LOGIN = {"openapi-view", "api-root"}


def _prepare(pattern: Any) -> Any:
    if isinstance(pattern, URLPattern):
        callback = never_cache(pattern.callback)
        if pattern.name == "openapi-json":
            callback = views.openapi_guard(callback)
        if pattern.name not in KEEP_LOGIN:
            callback.login_required = False  # type: ignore[attr-defined]
        pattern.callback = callback
    return pattern


_patterns, _app_name, _namespace = api.urls
api_urls = ([_prepare(p) for p in _patterns], _app_name, _namespace)

web_urls = (
    [
        path("", views.TokenListView.as_view(), name="tokens"),
        path("create/", views.TokenCreateView.as_view(), name="token_create"),
        path("<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
    ],
    "apiweb",
)

urlpatterns = [
    path("v1/", api_urls),
    path("tokens/", include(web_urls, namespace="apiweb")),
]
