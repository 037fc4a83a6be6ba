from django.urls import path

from portal import employer, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("apply/done/", views.apply_done, name="apply_done"),
    path("follow/", views.follow, name="follow"),
    path("documents/", views.documents, name="documents"),
    path("documents/code/", views.documents_code, name="documents_code"),
    path("documents/list/", views.documents_list, name="documents_list"),
    path("documents/<int:pk>/download/", views.document_download, name="document_download"),
    path("documents/end/", views.documents_end, name="documents_end"),
    # The respondent's acknowledgement (portal/employer.py).
    path("employer/done/", employer.respondent_done, name="respondent_done"),
    path("employer/<str:token>/", employer.respondent, name="respondent"),
    path("employer/<str:token>/resend/", employer.respondent_resend, name="respondent_resend"),
    path("employer/<str:token>/answer/", employer.respondent_answer, name="respondent_answer"),
]
