from django.urls import path

from accounts import views
from api import pages as api_pages

urlpatterns = [
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("two-factor/", views.otp_setup, name="otp_setup"),
    path("two-factor/verify/", views.otp_verify, name="otp_verify"),
    path("two-factor/recovery-codes/", views.otp_recovery_codes, name="otp_recovery_codes"),
    # Personal access tokens for the REST API (docs/api.md).
    path("api-tokens/", api_pages.token_list, name="api_tokens"),
    path("api-tokens/<int:pk>/revoke/", api_pages.token_revoke, name="api_token_revoke"),
]
