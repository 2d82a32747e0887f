from django.urls import path

from shouwang.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.JobListView.as_view(), name="job_list"),
    path("<int:pk>/", views.JobDetailView.as_view(), name="job_detail"),
    path("<int:pk>/status.json", views.JobStatusView.as_view(), name="job_status"),
]
