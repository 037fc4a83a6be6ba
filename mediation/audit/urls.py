from __future__ import annotations

from django.urls import path

from mediation.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_log, name="log"),
    path("cases/<int:case_id>.xlsx", views.case_extract, name="case_extract"),
]
