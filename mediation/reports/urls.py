from __future__ import annotations

from django.urls import path

from mediation.reports import views

app_name = "reports"
urlpatterns = [
    path("statistics/", views.statistics_page, name="statistics"),
    path("monthly/", views.monthly_table, name="monthly"),
    path("monthly.xlsx", views.monthly_table_xlsx, name="monthly_xlsx"),
    path("monthly.pdf", views.monthly_table_pdf, name="monthly_pdf"),
    path("ledger/", views.ledger_page, name="ledger"),
    path("ledger/export.xlsx", views.ledger_export, name="ledger_export"),
    path("ledger/template.xlsx", views.ledger_template, name="ledger_template"),
    path("ledger/import/", views.ledger_import, name="ledger_import"),
]
