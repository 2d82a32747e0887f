from django.urls import path

from shouwang.insights import views, views_reports

app_name = "insights"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("reports/", views_reports.ReportListView.as_view(), name="reports"),
    path("reports/<int:pk>.<str:fmt>", views_reports.ReportDownloadView.as_view(), name="report_download"),
    path("<str:code>/", views.DashboardView.as_view(), name="dashboard"),
    path("<str:code>/export/<slug:slug>.<str:fmt>", views.SectionExportView.as_view(), name="export"),
]
