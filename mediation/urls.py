from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mediation.views import actions, cases, consultation, home, work
from portal import employer as portal_employer

urlpatterns = [
    path("", home.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cases/", cases.case_list, name="case_list"),
    path("cases/new/", work.case_intake, name="case_intake"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/do/<slug:name>/", actions.case_transition, name="case_transition"),
    path("cases/<int:pk>/sessions/", actions.session_new, name="session_new"),
    path("cases/<int:pk>/agreement/", work.agreement_edit, name="agreement_edit"),
    path("cases/<int:pk>/agreement/correct/", actions.agreement_correct, name="agreement_correct"),
    path("cases/<int:pk>/agreement/<int:agreement_id>/sign/", actions.signature_add, name="signature_add"),
    path("cases/<int:pk>/instalments/<int:instalment_id>/pay/", actions.payment_record, name="payment_record"),
    path("cases/<int:pk>/instalments/<int:instalment_id>/correct/", actions.payment_correct,
         name="payment_correct"),
    path("cases/<int:pk>/follow-ups/", actions.followup_new, name="followup_new"),
    path("cases/<int:pk>/referrals/<int:referral_id>/outcome/", actions.referral_outcome, name="referral_outcome"),
    path("cases/<int:pk>/mediators/", actions.assign_mediators, name="assign_mediators"),
    path("cases/<int:pk>/extend/", actions.extend_deadline, name="extend_deadline"),
    path("cases/<int:pk>/consultation/", consultation.consultation_edit, name="consultation_edit"),
    path("cases/<int:pk>/respondent-invitation/", portal_employer.invitation_create, name="respondent_invite"),
    path("cases/<int:pk>/attachments/", actions.attachment_upload, name="attachment_upload"),
    path("cases/<int:pk>/attachments/<int:attachment_id>/", work.attachment_download, name="attachment_download"),
    path("escalations/", work.escalation_queue, name="escalation_queue"),
    path("deadlines/", work.deadlines, name="deadlines"),
    path("notifications/", include("notifications.urls")),
    path("documents/", include("mediation.documents.urls")),
    path("reports/", include("mediation.reports.urls")),
    path("audit/", include("mediation.audit.urls")),
    path("exports/", include("jobs.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),  # the REST API (docs/api.md)
    path("service/", include("portal.urls")),  # the worker's own pages, public (docs/portal.md)
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
