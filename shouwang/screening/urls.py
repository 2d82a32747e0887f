from django.urls import path

from shouwang.screening import views, views_parameters, views_simulation

app_name = "screening"
urlpatterns = [
    path("", views.WarningListView.as_view(), name="warning_list"),
    path("warnings/<int:pk>/", views.WarningDetailView.as_view(), name="warning_detail"),
    path("warnings/<int:pk>/dismiss/", views.WarningDismissView.as_view(), name="warning_dismiss"),
    path("runs/", views.RunListView.as_view(), name="run_list"),
    path("runs/start/", views.RunStartView.as_view(), name="run_start"),
    path("runs/schedule/", views.ScheduleView.as_view(), name="schedule"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run_detail"),
    path("jobs/<int:job_id>/", views.JobView.as_view(), name="job"),
    path("parameters/", views_parameters.ParameterListView.as_view(), name="parameter_list"),
    path("parameters/new/", views_parameters.ParameterSetView.as_view(), name="parameter_new"),
    path("parameters/<int:pk>/edit/", views_parameters.ParameterSetView.as_view(), name="parameter_edit"),
    path("parameters/<int:pk>/withdraw/", views_parameters.ParameterWithdrawView.as_view(), name="parameter_withdraw"),
    path("simulate/", views_simulation.SimulationView.as_view(), name="simulate"),
]
