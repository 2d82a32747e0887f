from django.urls import path

from shouwang.registry import views, views_duplicates, views_import

app_name = "registry"
urlpatterns = [
    path("", views.HouseholdListView.as_view(), name="household_list"),
    path("households/<int:pk>/", views.HouseholdDetailView.as_view(), name="household_detail"),
    path("households/<int:pk>/edit/", views.HouseholdEditView.as_view(), name="household_edit"),
    path("members/", views.MemberSearchView.as_view(), name="member_search"),
    path("members/<int:pk>/edit/", views.MemberEditView.as_view(), name="member_edit"),
    path("members/<int:pk>/reveal-id/", views.MemberRevealIDView.as_view(), name="member_reveal_id"),
    path("duplicates/", views_duplicates.DuplicateListView.as_view(), name="duplicate_list"),
    path("duplicates/scan/", views_duplicates.DuplicateScanView.as_view(), name="duplicate_scan"),
    path("duplicates/<int:pk>/decide/", views_duplicates.DuplicateDecideView.as_view(), name="duplicate_decide"),
    path("import/", views_import.ImportStartView.as_view(), name="import_start"),
    path("import/<int:job_id>/", views_import.ImportResultView.as_view(), name="import_result"),
    path("import/<int:job_id>/commit/", views_import.ImportCommitView.as_view(), name="import_commit"),
    path("import/<int:job_id>/report.<str:fmt>", views_import.ImportReportView.as_view(), name="import_report"),
    path("import/template/<str:kind>.xlsx", views_import.ImportTemplateView.as_view(), name="import_template"),
]
