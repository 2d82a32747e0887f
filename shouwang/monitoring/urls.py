from django.urls import path

from shouwang.monitoring import views, views_apply, views_households, views_notices

app_name = "monitoring"
urlpatterns = [
    path("", views.InboxView.as_view(), name="inbox"),
    path("overdue/", views.OverdueView.as_view(), name="overdue"),
    path("cases/", views.CaseListView.as_view(), name="case_list"),
    path("export/<str:kind>.xlsx", views.ExportView.as_view(), name="export"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case_detail"),
    path("cases/<int:pk>/act/", views.CaseActionView.as_view(), name="case_act"),
    path("cases/<int:pk>/documents/<int:event_id>/", views.DocumentView.as_view(), name="case_document"),
    path("warnings/<int:warning_id>/start/", views.StartFromWarningView.as_view(), name="start_from_warning"),
    path("households/<int:pk>/", views_households.HouseholdMonitoringView.as_view(), name="household"),
    path("households/<int:pk>/dossier.pdf", views_households.DossierView.as_view(), name="dossier"),
    path("households/<int:pk>/measures/", views_households.MeasureAddView.as_view(), name="measure_add"),
    path("households/<int:pk>/visits/", views_households.VisitAddView.as_view(), name="visit_add"),
    path("households/<int:pk>/report/", views_households.ReportRiskView.as_view(), name="report_risk"),
    path("households/<int:pk>/eliminate/", views_households.EliminationStartView.as_view(), name="eliminate"),
    path("measures/<int:pk>/", views_households.MeasureEditView.as_view(), name="measure_edit"),
    path("notices/new/", views_notices.NoticeNewView.as_view(), name="notice_new"),
    path("notices/<int:pk>/", views_notices.NoticeDetailView.as_view(), name="notice_detail"),
    path("notices/<int:pk>/print/", views_notices.NoticePrintView.as_view(), name="notice_print"),
    path("notices/<int:pk>/act/", views_notices.NoticeActionView.as_view(), name="notice_act"),
    path("applications/new/", views_apply.StaffApplicationView.as_view(), name="application_new"),
    path("applications/poster/", views_apply.ApplyPosterView.as_view(), name="apply_poster"),
]
