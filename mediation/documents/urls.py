from django.urls import path

from mediation.documents import views

app_name = "documents"
urlpatterns = [
    path("cases/<int:case_id>/", views.case_documents, name="case_documents"),
    path("cases/<int:case_id>/issue/", views.issue, name="issue"),
    path("<int:pk>/download/", views.download, name="download"),
    path("<int:pk>/signed-copy/", views.signed_copy_add, name="signed_copy_add"),
    path("export/", views.export, name="export"),
    path("export/bulk-issue/", views.bulk_issue, name="bulk_issue"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:code>/", views.verify_code, name="verify_code"),
]
