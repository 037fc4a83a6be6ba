"""我的导出: the signed-in user's own jobs, their progress, and downloads while they last."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jobs import services
from jobs.kinds import filters_to_parameters
from jobs.models import Job
from mediation.selectors import CaseFilters
from mediation.typing import AuthenticatedHttpRequest
from mediation.views.common import forbidden

#: How many of the user's jobs the page lists (the newest first).
LIST_LIMIT = 50


@login_required
@require_GET
def job_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    jobs = list(Job.objects.filter(owner=request.user)[:LIST_LIMIT])
    return render(request, "jobs/list.html", {
        "jobs": jobs, "section": "jobs", "days": settings.JOBS_EXPIRE_DAYS,
        "refresh": any(not job.finished for job in jobs)})


@login_required
@require_GET
def job_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse | FileResponse:
    try:
        job, handle = services.job_file_open(user=request.user, job_id=pk)
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    response = FileResponse(handle, as_attachment=True, filename=job.file_name)
    response["Cache-Control"] = "private, no-store"
    return response


def start_export(request: AuthenticatedHttpRequest, *, kind: str, filters: CaseFilters | None,
                 **parameters: Any) -> HttpResponse:
    """Start a background export for the signed-in user and send them to 我的导出.

    Called by the web export views when a broker is configured (``services.background_enabled``).
    """
    job = services.job_start(owner=request.user, kind=kind,
                             parameters={"filters": filters_to_parameters(filters), **parameters})
    messages.success(request, _("已开始在后台导出（#%(id)d）。完成后可在“我的导出”中下载。") % {"id": job.pk})
    return redirect("jobs:list")
