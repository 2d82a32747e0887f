from django.urls import path

from shouwang.core import views, views_audit

app_name = "core"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("audit/", views_audit.AuditLogView.as_view(), name="audit_log"),
]
