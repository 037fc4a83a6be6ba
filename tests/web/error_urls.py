"""The site's URLs plus views that fail on purpose, for the error-page tests."""
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.urls import path

from mediation.urls import urlpatterns as site_urlpatterns


def _raise(request, status: int):
    if status == 400:
        raise BadRequest("bad request")
    if status == 403:
        raise PermissionDenied
    if status == 404:
        raise Http404
    raise RuntimeError("a failure in a view")


urlpatterns = [path("raise/<int:status>/", _raise), *site_urlpatterns]
