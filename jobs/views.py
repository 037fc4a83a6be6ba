"""我的导出: the signed-in user's own jobs, their progress, and downloads while they last."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jobs import services
from jobs.kinds import REGISTRY, filters_to_parameters
from jobs.models import Job
from mediation.audit import log as audit
from mediation.permissions import reach_signature
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
    # Someone else's job is not found, whatever its state: ids reveal nothing.
    job = get_object_or_404(Job, pk=pk, owner=request.user)
    if job.status != Job.Status.DONE or not job.file:
        raise Http404(_("该导出没有可下载的文件。"))
    if job.expired:
        services.job_file_delete(job)
        raise Http404(_("该导出文件已过期并已删除，请重新导出。"))
    kind = REGISTRY.get(job.kind)
    # The rights are checked again now: a file made last week is not handed to someone who lost them.
    if kind is None or not kind.may_download(request.user):
        return forbidden(request, _("您已没有查看这些数据的权限，不能下载该导出。"))
    if job.parameters.get("reach") != reach_signature(request.user):
        # Moved to another organisation, or another role: the file may hold cases no longer theirs.
        return forbidden(request, _(
            "您的组织或角色在导出后已变更，该文件可能包含您现在无权查看的案件，不能下载；请重新导出。"))
    try:
        handle = job.file.open("rb")
    except (FileNotFoundError, OSError):
        services.job_file_delete(job)
        raise Http404(_("该导出文件已不在存储中，请重新导出。")) from None
    audit.record(actor=request.user, action="export.download", obj=job, new={
        "job": job.pk, "kind": job.kind, "sha256": job.file_sha256, "size": job.file_size})
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
