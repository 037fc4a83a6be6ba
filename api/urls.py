"""/api/: the versioned endpoints under /api/v1/, the OpenAPI schema and its docs (docs/api.md)."""
from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import errors, views, views_records, views_work

app_name = "api"

v1 = [
    path("cases/", views_work.CaseCollectionView.as_view(), name="case_list"),  # list and registration
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case_detail"),
    path("cases/<int:pk>/transitions/", views.TransitionListView.as_view(), name="case_transitions"),
    path("cases/<int:pk>/transitions/<slug:name>/", views.TransitionView.as_view(), name="case_transition"),
    # A case's records, the statistics, ledger exports and one's notifications (api/views_records.py)
    path("cases/<int:pk>/attachments/", views_records.AttachmentListView.as_view(), name="case_attachments"),
    path("cases/<int:pk>/attachments/<int:attachment_id>/download/", views_records.AttachmentDownloadView.as_view(),
         name="case_attachment_download"),
    path("cases/<int:pk>/documents/", views_records.DocumentListView.as_view(), name="case_documents"),
    path("cases/<int:pk>/documents/<int:document_id>/download/", views_records.DocumentDownloadView.as_view(),
         name="case_document_download"),
    path("statistics/", views_records.StatisticsView.as_view(), name="statistics"),
    path("exports/ledger/", views_records.LedgerExportView.as_view(), name="export_ledger"),
    path("exports/<int:job_id>/", views_records.JobView.as_view(), name="export_detail"),
    path("exports/<int:job_id>/download/", views_records.JobDownloadView.as_view(), name="export_download"),
    path("notifications/", views_records.NotificationListView.as_view(), name="notifications"),
    path("notifications/read-all/", views_records.NotificationReadAllView.as_view(), name="notifications_read_all"),
    path("notifications/<int:notification_id>/read/", views_records.NotificationReadView.as_view(),
         name="notification_read"),
    # The work on a case (api/views_work.py).
    path("cases/<int:pk>/sessions/", views_work.SessionListView.as_view(), name="case_sessions"),
    path("cases/<int:pk>/agreements/", views_work.AgreementListView.as_view(), name="case_agreements"),
    path("cases/<int:pk>/agreements/draft/", views_work.AgreementDraftView.as_view(), name="case_agreement_draft"),
    path("cases/<int:pk>/signatures/", views_work.SignatureListView.as_view(), name="case_signatures"),
    path("cases/<int:pk>/instalments/", views_work.InstalmentListView.as_view(), name="case_instalments"),
    path("cases/<int:pk>/instalments/<int:instalment_id>/pay/", views_work.PaymentView.as_view(),
         name="case_instalment_pay"),
    path("cases/<int:pk>/follow-ups/", views_work.FollowUpListView.as_view(), name="case_follow_ups"),
]

urlpatterns = [
    re_path(r"^(?P<version>v1)/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ is a problem document too, never the site's HTML 404 page.
    re_path(r"^.*$", errors.not_found, name="not_found"),
]
