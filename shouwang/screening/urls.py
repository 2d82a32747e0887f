from django.urls import path

from shouwang.screening import views, views_simulation

app_name = "screening"
urlpatterns = [
    path("", views.WarningListView.as_view(), name="warning_list"),
    path("warnings/<int:pk>/", views.WarningDetailView.as_view(), name="warning_detail"),
    path("warnings/<int:pk>/dismiss/", views.WarningDismissView.as_view(), name="warning_dismiss"),
    path("runs/", views.RunListView.as_view(), name="run_list"),
    path("runs/start/", views.RunStartView.as_view(), name="run_start"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run_detail"),
    path("jobs/<int:job_id>/", views.JobView.as_view(), name="job"),
    path("simulate/", views_simulation.SimulationView.as_view(), name="simulate"),
]
