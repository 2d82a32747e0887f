from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from shouwang.monitoring.views_apply import PublicApplyView

urlpatterns = [
    path("", include("shouwang.core.urls")),
    path("accounts/", include("shouwang.accounts.urls")),
    path("registry/", include("shouwang.registry.urls")),
    path("jobs/", include("shouwang.jobs.urls")),
    path("exchange/", include("shouwang.exchange.urls")),
    path("screening/", include("shouwang.screening.urls")),
    path("monitoring/", include("shouwang.monitoring.urls")),
    path("insights/", include("shouwang.insights.urls")),
    # 一码申报: the public self-application form of a village (no sign-in; a signed link)
    path("apply/<str:token>/", PublicApplyView.as_view(), name="apply"),
    path("api/", include("shouwang.api.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
