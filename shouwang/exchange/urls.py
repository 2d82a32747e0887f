from django.urls import path

from shouwang.exchange import views, views_linkage

app_name = "exchange"
urlpatterns = [
    path("", views.BatchListView.as_view(), name="batch_list"),
    path("upload/", views.UploadView.as_view(), name="upload"),
    path("jobs/<int:job_id>/", views.JobView.as_view(), name="job"),
    path("batches/<int:pk>/", views.BatchDetailView.as_view(), name="batch_detail"),
    path("batches/<int:pk>/commit/", views.BatchCommitView.as_view(), name="batch_commit"),
    path("batches/<int:pk>/withdraw/", views.BatchWithdrawView.as_view(), name="batch_withdraw"),
    path("batches/<int:pk>/report.<str:fmt>", views.BatchReportView.as_view(), name="batch_report"),
    path("batches/<int:pk>/unmatched.<str:fmt>", views_linkage.BatchUnmatchedView.as_view(), name="batch_unmatched"),
    path("reviews/", views_linkage.ReviewListView.as_view(), name="review_list"),
    path("reviews/<int:pk>/", views_linkage.ReviewDetailView.as_view(), name="review_detail"),
    path("reviews/<int:pk>/decide/", views_linkage.ReviewDecideView.as_view(), name="review_decide"),
    path("kinds/", views.KindIndexView.as_view(), name="kind_index"),
    path("kinds/<str:kind>/", views.KindDocView.as_view(), name="kind_doc"),
    path("kinds/<str:kind>/template.xlsx", views.TemplateView.as_view(), name="template"),
]
