"""The API's record endpoints: a case's attachments and documents, the statistics, ledger export jobs
and the caller's notifications (docs/api.md).

Each reads and writes through the same selectors, services and ``mediation.permissions`` checks as
the web pages: attachments as the case page (``services.attachment_add``,
``services.downloads.attachment_open``), documents as ``mediation.documents.views``
(``documents_for_case``, ``document_issue``, ``document_download``), statistics as the statistics page
(``StatisticsForm``, ``statistics_compute``), exports as 我的导出 (``jobs.services``), notifications as
the notification centre (``notifications.services``). Outside the caller's scope a case does not
exist (404); bad input is a 422 problem document listing each error, and nothing is written.
"""
from __future__ import annotations

import io
import mimetypes
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import PROBLEM_TYPE, bad_parameters, problem, refused
from api.idempotency import KEY_PARAMETER, idempotent
from api.pagination import TimeCursorPagination
from api.serializers import problems
from api.serializers_records import (
    AttachmentSerializer,
    AttachmentUploadSerializer,
    CaseDocumentsSerializer,
    DocumentIssueSerializer,
    IssuedSerializer,
    JobSerializer,
    LedgerExportRequestSerializer,
    NotificationSerializer,
    ReadAllSerializer,
    StatisticsSerializer,
    statistics_data,
)
from api.views import ApiView
from jobs import services as jobs
from jobs.kinds import filters_to_parameters
from jobs.models import Job
from mediation import permissions
from mediation import services as case_services
from mediation.audit import log as audit
from mediation.documents import services as documents
from mediation.documents.forms import IssueForm
from mediation.documents.models import IssuedDocument
from mediation.documents.render import DocumentRenderError
from mediation.documents.selectors import document_standing, documents_for_case
from mediation.models import Attachment
from mediation.reports.forms import StatisticsForm
from mediation.reports.ledger.access import may_use_ledger
from mediation.reports.statistics import statistics_compute, statistics_organisations
from mediation.selectors import case_get_for_user
from mediation.services.downloads import attachment_open
from mediation.services.work import ATTACHMENT_TYPES
from mediation.typing import User
from mediation.views.cases import filters_from_data
from notifications import services as notices

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


#: What a download's answer says of the file besides its type (docs/api.md, "Downloads").
_DOWNLOAD_HEADERS = [
    OpenApiParameter("Content-Disposition", str, OpenApiParameter.HEADER, response=[200],
                     description="attachment; filename=\"…\" 或 filename*=utf-8''…（中文文件名）"),
]


def _valid(serializer: Any) -> dict[str, Any]:
    if not serializer.is_valid():
        raise refused(serializer.errors)
    return dict(serializer.validated_data)


def _caller(request: Request) -> User:
    """The signed-in user (``TokenScope`` lets nobody else through)."""
    return cast(User, request.user)


def _binary(*media_types: str) -> dict[Any, Any]:
    return {(200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=gettext_lazy("文件内容"))
            for media_type in media_types}


def _file(handle: Any, *, filename: str, content_type: str) -> FileResponse:
    """A download: the file under its name (RFC 6266, Chinese names as ``filename*``), never sniffed or kept."""
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


class DownloadView(ApiView):
    """Answers with a file whatever the client accepts; its errors are problem documents as elsewhere."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)


# --- attachments ------------------------------------------------------------------------------------

class AttachmentListView(ApiView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: AttachmentSerializer(many=True), **problems(404)},
                   operation_id="cases_attachments_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """The case's attachments (metadata only; the case page lists them to every reader of the case)."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="attachments")
        rows = Attachment.objects.filter(case=case).select_related("uploaded_by").order_by("uploaded_at", "pk")
        return Response(AttachmentSerializer(rows, many=True).data)

    @extend_schema(request={"multipart/form-data": AttachmentUploadSerializer},
                   responses={201: AttachmentSerializer, **problems(400, 403, 404, 415, 422)},
                   parameters=[KEY_PARAMETER], operation_id="cases_attachments_create")
    def post(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """Upload one file to the case, as the case page's form: same type and size checks, same storage
        and audit row; on any refusal nothing is stored."""
        return idempotent(request, lambda: self._upload(request, pk), self.handle_exception)

    def _upload(self, request: Request, pk: int) -> Response:
        user = request.user
        case = case_get_for_user(user=user, case_id=pk, purpose="work")
        if not permissions.user_may(user, "work", case):  # refused before the input is read
            raise PermissionDenied(_("您没有对本案件执行此操作的权限。"))
        data = _valid(AttachmentUploadSerializer(data=request.data))
        try:
            attachment = case_services.attachment_add(case_id=case.pk, actor=user, upload=data["file"],
                                                      kind=data["kind"], description=data["description"])
        except DjangoValidationError as exc:
            raise refused(exc) from None
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDownloadView(DownloadView):
    @extend_schema(responses={**_binary(*ATTACHMENT_TYPES), **problems(403, 404, negotiated=False)},
                   operation_id="cases_attachments_download", parameters=_DOWNLOAD_HEADERS)
    def get(self, request: Request, pk: int, attachment_id: int, **kwargs: Any) -> FileResponse:
        """The file as uploaded, for those who may see the parties' personal data (as on the case page)."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="download")
        attachment, handle = attachment_open(user=request.user, case=case, attachment_id=attachment_id)
        return _file(handle, filename=attachment.original_name, content_type=attachment.content_type)


# --- documents --------------------------------------------------------------------------------------

def _issuable(row: dict[str, Any]) -> dict[str, Any]:
    latest = row["latest"]
    return {**row, "kind_label": str(row["kind_label"]), "label": str(row["label"]),
            "latest": latest.pk if latest is not None else None}


class DocumentListView(ApiView):
    @extend_schema(responses={200: CaseDocumentsSerializer, **problems(404)}, operation_id="cases_documents_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """The case's registered documents (newest first) and, for those who may issue, what can be issued now."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="documents")
        found = documents_for_case(case, _caller(request), scope_checked=True)["documents"]
        for document in found["issued"]:
            document.case = case
        return Response(CaseDocumentsSerializer({
            "issued": found["issued"], "issuable": [_issuable(row) for row in found["issuable"]],
            "may_issue": found["may_issue"], "may_download": found["may_download"]}).data)

    @extend_schema(request=DocumentIssueSerializer,
                   responses={200: IssuedSerializer, 201: IssuedSerializer, **problems(400, 403, 404, 409, 415, 422)},
                   parameters=[KEY_PARAMETER], operation_id="cases_documents_create")
    def post(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """Issue (render and register) one document, as the case page's button: 201 with the new document,
        or 200 with the registered one when it is frozen or the agreement's signing version (``reused``)."""
        return idempotent(request, lambda: self._issue(request, pk), self.handle_exception)

    def _issue(self, request: Request, pk: int) -> Response:
        user = _caller(request)
        case = case_get_for_user(user=user, case_id=pk, purpose="document_issue")
        if not documents.may_issue(user, case, scope_checked=True):
            raise PermissionDenied(_("只有承办组织的调解员或负责人可以生成本案文书。"))
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise refused([_("请求内容应为 JSON 对象。")])
        _valid(DocumentIssueSerializer(data=body))
        form = IssueForm({key: body.get(key) for key in ("kind", "subject_id", "stage")})
        if not form.is_valid():
            raise refused(form.errors)
        d = form.cleaned_data
        try:
            document = documents.document_issue(case_id=case.pk, kind=d["kind"], actor=user,
                                                subject_id=d["subject_id"], stage=d["stage"] or "",
                                                verify_base_url=request.build_absolute_uri("/"))
        except DocumentRenderError as exc:
            raise refused([str(exc)]) from None
        except DjangoValidationError as exc:
            raise refused(exc) from None
        reused = bool(getattr(document, "reused", False))
        document = IssuedDocument.objects.select_related("case", "author").get(pk=document.pk)
        document.standing = document_standing(document)
        document.reused = reused
        return Response(IssuedSerializer(document).data,
                        status=status.HTTP_200_OK if reused else status.HTTP_201_CREATED)


class DocumentDownloadView(DownloadView):
    @extend_schema(responses={**_binary("application/pdf"), **problems(403, 404, 500, negotiated=False)},
                   operation_id="cases_documents_download", parameters=_DOWNLOAD_HEADERS)
    def get(self, request: Request, pk: int, document_id: int, **kwargs: Any) -> Any:
        """The registered PDF, byte for byte (its SHA-256 checked), for those who may see the parties'
        personal data; on the audit trail as the web download."""
        try:
            document, data = documents.document_download(user=_caller(request), document_id=document_id, case_id=pk)
        except documents.StoredDocumentAltered:
            # A server fault (storage no longer holds what was registered), never the altered bytes.
            return Response(problem(500, detail=_("存储中的文书与登记的校验值不符，已停止下载。请联系管理员。"),
                                    instance=request.get_full_path()),
                            status=500, content_type=PROBLEM_TYPE)
        return _file(io.BytesIO(data), filename=documents.download_filename(document), content_type="application/pdf")


# --- statistics -------------------------------------------------------------------------------------

_PERIOD = [
    OpenApiParameter("first_month", str, description="YYYY-MM（默认：截止月份前11个月）"),
    OpenApiParameter("last_month", str, description="YYYY-MM（默认：本月）；期间最长36个月"),
    OpenApiParameter("organisation", int, description="组织（含下级），须在调用者的统计范围内"),
    OpenApiParameter("line", int), OpenApiParameter("channel", str), OpenApiParameter("category", str),
]


class StatisticsView(ApiView):
    @extend_schema(parameters=_PERIOD, responses={200: StatisticsSerializer, **problems(400, 403)},
                   operation_id="statistics_retrieve")
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The statistics page's figures over the caller's scope (supervisors, administrators, auditors)."""
        from mediation.reports.statistics import may_read_statistics

        user = request.user
        if not may_read_statistics(user):
            raise PermissionDenied(_("统计分析和案件台账供负责人、管理员和监督员使用。"))
        form = StatisticsForm(request.query_params or None, organisations=statistics_organisations(user))
        if form.is_bound and not form.is_valid():
            raise bad_parameters(form.errors)
        stats = statistics_compute(user=user, query=form.to_query())
        return Response(StatisticsSerializer(statistics_data(stats)).data)


# --- ledger export jobs -----------------------------------------------------------------------------

def _as_query(body: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in body.items():
        if isinstance(value, bool):
            if value:
                query[key] = "on"
        elif value not in (None, ""):
            query[key] = str(value)
    return query


class LedgerExportView(ApiView):
    @extend_schema(request=LedgerExportRequestSerializer,
                   responses={202: JobSerializer, **problems(400, 403, 415, 422)},
                   parameters=[KEY_PARAMETER], operation_id="exports_ledger_create")
    def post(self, request: Request, **kwargs: Any) -> Response:
        """Start a ledger export (案件台账, .xlsx) of the cases the case list shows for these filters;
        poll ``Location`` until ``status`` is ``done``, then download."""
        return idempotent(request, lambda: self._start(request), self.handle_exception)

    def _start(self, request: Request) -> Response:
        user = request.user
        if not may_use_ledger(user):
            raise PermissionDenied(_("统计分析和案件台账供负责人、管理员和监督员使用。"))
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise refused([_("请求内容应为 JSON 对象。")])
        if body.get("q"):
            # A free-text search may hold a name or ID number: it is never kept in a job (as on the web).
            raise refused({"q": [_("后台导出不能按搜索词筛选，请用其他筛选条件。")]})
        data = _valid(LedgerExportRequestSerializer(data=body))
        query = _as_query(data)
        form, filters = filters_from_data(user, query or None)
        if form.is_bound and not form.is_valid():
            raise refused(form.errors)
        job = jobs.job_start(owner=user, kind=Job.Kind.LEDGER,
                             parameters={"filters": filters_to_parameters(filters),
                                         "query_string": audit.scrub(query.urlencode())})
        job.refresh_from_db()
        response = Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = request.build_absolute_uri(f"/api/v1/exports/{job.pk}/")
        return response


class JobView(ApiView):
    @extend_schema(responses={200: JobSerializer, **problems(404)}, operation_id="exports_retrieve")
    def get(self, request: Request, job_id: int, **kwargs: Any) -> Response:
        """One of the caller's export jobs: its progress, and whether its file can be downloaded."""
        return Response(JobSerializer(jobs.job_of(user=request.user, job_id=job_id)).data)


class JobDownloadView(DownloadView):
    @extend_schema(responses={**_binary(XLSX, "application/zip"), **problems(403, 404, negotiated=False)},
                   operation_id="exports_download", parameters=_DOWNLOAD_HEADERS)
    def get(self, request: Request, job_id: int, **kwargs: Any) -> FileResponse:
        """The finished job's file, as 我的导出 hands it out: the owner's rights checked again now."""
        job, handle = jobs.job_file_open(user=request.user, job_id=job_id)
        content_type = XLSX if job.file_name.endswith(".xlsx") else (
            mimetypes.guess_type(job.file_name)[0] or "application/octet-stream")
        return _file(handle, filename=job.file_name, content_type=content_type)


# --- notifications ----------------------------------------------------------------------------------

class NotificationPagination(TimeCursorPagination):
    ordering = ("-created_at", "-pk")


class NotificationListView(ApiView):
    pagination_class = NotificationPagination

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="true：只列未读")],
                   responses={200: NotificationSerializer(many=True), **problems(400, 404, 422)},
                   operation_id="notifications_list")
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The caller's own notifications, newest first."""
        rows = notices.notifications_of(request.user)
        unread = request.query_params.get("unread")
        if unread is not None:
            if unread.lower() not in ("true", "false", "1", "0"):
                raise bad_parameters({"unread": [_("请填写 true 或 false。")]})
            rows = rows.filter(read_at__isnull=unread.lower() in ("true", "1"))
        paginator = NotificationPagination()
        page: Any = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(NotificationSerializer(page, many=True).data)


class NotificationReadView(ApiView):
    @extend_schema(request=None, responses={200: NotificationSerializer, **problems(400, 403, 404, 415, 422)},
                   parameters=[KEY_PARAMETER], operation_id="notifications_read")
    def post(self, request: Request, notification_id: int, **kwargs: Any) -> Response:
        """Mark one of the caller's notifications read (anyone else's: 404)."""
        return idempotent(request, lambda: Response(NotificationSerializer(
            notices.notification_mark_read(user=request.user, notification_id=notification_id)).data),
            self.handle_exception)


class NotificationReadAllView(ApiView):
    @extend_schema(request=None, responses={200: ReadAllSerializer, **problems(400, 403, 415, 422)},
                   parameters=[KEY_PARAMETER], operation_id="notifications_read_all")
    def post(self, request: Request, **kwargs: Any) -> Response:
        """Mark all of the caller's unread notifications read."""
        return idempotent(request, lambda: Response(
            {"marked": notices.notifications_mark_all_read(user=request.user)}), self.handle_exception)
