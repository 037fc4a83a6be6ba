"""Document pages: issue (POST), download, the case-file export, and public verification.

Verification is public on purpose: the people holding a printed agreement or an
e-mailed notice (a worker, an employer, a court clerk) have no account. The page
shows what is printed on the document anyway (case number, type, date, issuing
organisation), the registered SHA-256, and what the paper is worth today (an
agreement: 待签署, 已生效 with the date it took effect — the date the parties wrote
by the last signature —, 已被更正版本取代 or 已作废), never a name or ID number.
"""
from __future__ import annotations

import hashlib
import io
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jobs.services import background_enabled
from jobs.views import start_export
from mediation.audit import log as audit
from mediation.documents import export as exporting
from mediation.documents import registry, services
from mediation.documents.codes import format_code
from mediation.documents.forms import BulkIssueForm, CodeForm, ExportForm, FileCheckForm, IssueForm, SignedCopyForm
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.documents.render import DocumentRenderError
from mediation.documents.selectors import document_standing, documents_for_case
from mediation.selectors import CaseFilters, case_get_for_user
from mediation.typing import AuthenticatedHttpRequest
from mediation.views.common import forbidden
from workflows.errors import ActionNotAllowed

logger = logging.getLogger(__name__)


def _back(request: HttpRequest, case_id: int) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("case_detail", args=[case_id]) + "#documents"


@login_required
def case_documents(request: AuthenticatedHttpRequest, case_id: int) -> HttpResponse:
    case = case_get_for_user(user=request.user, case_id=case_id, purpose="documents")
    context = {"case": case, **documents_for_case(case, request.user)}
    return render(request, "documents/web/case_documents.html", context)


@login_required
@require_POST
def issue(request: AuthenticatedHttpRequest, case_id: int) -> HttpResponse:
    case = case_get_for_user(user=request.user, case_id=case_id, purpose="document_issue")
    if not services.may_issue(request.user, case):
        return forbidden(request, _("只有承办组织的调解员或负责人可以生成本案文书。"))
    form = IssueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("文书类型无效。"))
        return redirect(_back(request, case.pk))
    kind, subject_id, stage = form.cleaned_data["kind"], form.cleaned_data["subject_id"], form.cleaned_data["stage"]
    try:
        document = services.document_issue(case_id=case.pk, kind=kind, actor=request.user, subject_id=subject_id,
                                           stage=stage or "", verify_base_url=request.build_absolute_uri("/"))
    except PermissionDenied as exc:
        return forbidden(request, str(exc) or _("您没有生成本案文书的权限。"))
    except DocumentRenderError as exc:
        messages.error(request, str(exc))
    except (ActionNotAllowed, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or "；".join(getattr(exc, "messages", [str(exc)])))
    else:
        if getattr(document, "reused", False) and document_standing(document).key == "awaiting_signatures":
            messages.info(request, _("签署版已经登记，每份原件都打印这同一份文件，不再重新生成：%(doc)s")
                          % {"doc": document})
        elif getattr(document, "reused", False):
            messages.info(request, _("调解协议已生效，其文书已冻结，不再重新生成：%(doc)s") % {"doc": document})
        else:
            messages.success(request, _("已生成并登记：%(doc)s") % {"doc": document})
    return redirect(_back(request, case.pk))


@login_required
def download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    try:
        document, data = services.document_download(user=request.user, document_id=pk)
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    except services.StoredDocumentAltered as exc:
        # Status 500, not 403 or 409: nothing is wrong with the request or the user's rights, and nothing
        # they change makes it succeed — the server's own storage no longer holds what it registered.
        return render(request, "documents/web/integrity_failed.html",
                      {"document": exc.document, "back": _back(request, exc.document.case_id)}, status=500)
    response = FileResponse(io.BytesIO(data), as_attachment=True, filename=services.download_filename(document),
                            content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def signed_copy_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Upload the scan of a signed paper original against the registered document it was printed from."""
    document = IssuedDocument.objects.filter(pk=pk).only("case_id").first()
    if document is None:
        raise Http404
    case = case_get_for_user(user=request.user, case_id=document.case_id, purpose=f"signed_copy:{pk}")
    if not services.may_issue(request.user, case):
        return forbidden(request, _("只有承办组织的调解员或负责人可以上传签署原件。"))
    form = SignedCopyForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择签署原件的扫描文件。"))
        return redirect(_back(request, case.pk))
    try:
        copy = services.signed_copy_add(document_id=pk, actor=request.user, upload=form.cleaned_data["file"])
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    except (ActionNotAllowed, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or "；".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("签署原件扫描件已随文书保存（验证码 %(code)s）。")
                         % {"code": copy.document.code_display})
    return redirect(_back(request, case.pk))


# --- export -----------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    if not exporting.may_export(request.user):
        return forbidden(request, _("只有负责人可以导出卷宗。"))
    form = ExportForm(request.POST or request.GET or None)
    filters = CaseFilters()
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        filters = CaseFilters(state=d["state"] or None, received_from=d["received_from"],
                              received_to=d["received_to"])
    cases = exporting.export_scope(request.user, filters)
    count = cases.count()
    limit = exporting.web_export_limit()
    if request.method == "POST" and form.is_valid():
        if count == 0:
            messages.error(request, _("所选范围内没有案件。"))
        elif count > limit:
            messages.error(request, _("所选范围有 %(n)d 件案件，网页一次最多导出 %(limit)d 件。请缩小范围，"
                                      "或由管理员运行 manage.py export_case_files。") % {"n": count, "limit": limit})
        else:
            if background_enabled():  # with workers: a job, downloaded later from 我的导出
                return start_export(request, kind="case_files", filters=filters,
                                    verify_base_url=request.build_absolute_uri("/"))
            audit.record(actor=request.user, action="export.case_files", new={
                "cases": count, "filters": form.cleaned_data})
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
            response = StreamingHttpResponse(
                exporting.stream_case_files(user=request.user, cases=cases.iterator(chunk_size=100),
                                            verify_base_url=request.build_absolute_uri("/")),
                content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="case-files-{stamp}.zip"'
            response["Cache-Control"] = "private, no-store"
            return response
    return render(request, "documents/web/export.html", {"form": form, "count": count, "limit": limit,
                                                         "bulk_form": BulkIssueForm()})


@login_required
@require_POST
def bulk_issue(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """批量生成文书: start a job issuing one kind for every case of the scope; then 我的导出.

    Always a job: with a broker a worker runs it, without one it runs in this process once the
    request's transaction commits (``job_start``), and the file waits on 我的导出 either way.
    """
    if not exporting.may_export(request.user):
        return forbidden(request, _("只有负责人可以批量生成文书。"))
    form = BulkIssueForm(request.POST)
    if not form.is_valid():
        # A kind that is not one per case (or a bad date): said on the form, and no job.
        count = exporting.export_scope(request.user).count()
        return render(request, "documents/web/export.html", {"form": ExportForm(), "count": count,
                                                             "limit": exporting.web_export_limit(),
                                                             "bulk_form": form}, status=400)
    d = form.cleaned_data
    filters = CaseFilters(state=d["state"] or None, received_from=d["received_from"], received_to=d["received_to"])
    count, limit = exporting.export_scope(request.user, filters).count(), exporting.web_export_limit()
    if count == 0:
        messages.error(request, _("所选范围内没有案件。"))
        return redirect("documents:export")
    if count > limit:
        messages.error(request, _("所选范围有 %(n)d 件案件，一次最多批量生成 %(limit)d 件。请缩小范围。")
                       % {"n": count, "limit": limit})
        return redirect("documents:export")
    return start_export(request, kind="bulk_issue", filters=filters, document_kind=d["kind"],
                        verify_base_url=request.build_absolute_uri("/"))


# --- public verification --------------------------------------------------------------------------

def verify(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return redirect("documents:verify_code", code=format_code(form.cleaned_data["code"]))
    return render(request, "documents/web/verify.html", {"form": form})


@require_http_methods(["GET", "POST"])
def verify_code(request: HttpRequest, code: str) -> HttpResponse:
    document = registry.find_by_code(code)
    if document is None:
        return render(request, "documents/web/verify.html",
                      {"form": CodeForm(initial={"code": code}), "not_found": True}, status=404)
    check = None
    file_form = FileCheckForm()
    if request.method == "POST":
        file_form = FileCheckForm(request.POST, request.FILES)
        if file_form.is_valid():
            upload = file_form.cleaned_data["file"]
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            check = {"sha256": digest.hexdigest(), "matches": digest.hexdigest() == document.sha256}
    return render(request, "documents/web/verify_result.html", {
        "document": document, "kind_label": DocumentKind(document.kind).label, "check": check,
        "file_form": file_form, "standing": document_standing(document)})
