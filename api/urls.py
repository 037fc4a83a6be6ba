"""/api/: the versioned endpoints under /api/v1/, the OpenAPI schema and its docs (docs/api.md)."""
from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import errors, views

app_name = "api"

v1 = [
    path("cases/", views.CaseListView.as_view(), name="case_list"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case_detail"),
    path("cases/<int:pk>/transitions/", views.TransitionListView.as_view(), name="case_transitions"),
    path("cases/<int:pk>/transitions/<slug:name>/", views.TransitionView.as_view(), name="case_transition"),
]

urlpatterns = [
    re_path(r"^(?P<version>v1)/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ is a problem document too, never the site's HTML 404 page.
    re_path(r"^.*$", errors.not_found, name="not_found"),
]
