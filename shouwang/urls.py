from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("shouwang.core.urls")),
    path("accounts/", include("shouwang.accounts.urls")),
    path("registry/", include("shouwang.registry.urls")),
    path("jobs/", include("shouwang.jobs.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
