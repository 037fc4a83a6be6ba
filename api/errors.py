"""Every error of the API as ``application/problem+json`` (RFC 9457), in the request's language:
``type``, ``title``, ``status``, ``detail``, ``instance``, and for invalid input the list ``errors``."""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms.utils import ErrorList
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workflows.errors import ActionNotAllowed, ConcurrentChange

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
#: The problem types this API answers with (docs/api.md lists them).
TYPE_BASE = "urn:labour-mediation:problem:"

#: Title of each problem type, by HTTP status where the status says it all.
TITLES = {
    400: gettext_lazy("请求内容有误"),
    401: gettext_lazy("未通过身份验证"),
    403: gettext_lazy("没有权限"),
    404: gettext_lazy("未找到"),
    405: gettext_lazy("不支持该请求方法"),
    406: gettext_lazy("无法提供所要求的格式"),
    409: gettext_lazy("与案件当前状态冲突"),
    413: gettext_lazy("请求内容过大"),
    415: gettext_lazy("不支持该请求内容格式"),
    422: gettext_lazy("无法处理该请求"),
    429: gettext_lazy("请求过于频繁"),
    500: gettext_lazy("服务器内部错误"),
}
CODES = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
         406: "not-acceptable", 409: "conflict", 413: "payload-too-large", 415: "unsupported-media-type",
         422: "unprocessable", 429: "throttled", 500: "server-error"}


def activate_request_language(request: HttpRequest) -> str:
    """The language the client asked for (Accept-Language, or the browser's language cookie); Chinese
    when it asked for none we speak."""
    language = translation.get_language_from_request(request)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def problem(status_code: int, *, detail: str = "", instance: str = "", code: str = "",
            title: str | None = None, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (code or CODES.get(status_code, "error")),
        "title": str(title if title is not None else TITLES.get(status_code, _("请求失败"))),
        "status": status_code,
        "detail": str(detail or ""),
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def _flatten(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested error detail as a flat list of ``{field, detail, code}``."""
    if isinstance(detail, dict):
        found = []
        for name, value in detail.items():
            inner = name if name not in ("non_field_errors", "__all__") else None
            found += _flatten(value, f"{field}.{inner}" if field and inner else (inner or field))
        return found
    if isinstance(detail, list):
        if detail and all(isinstance(value, dict) for value in detail):  # rows: each by its place
            return [item for index, value in enumerate(detail)
                    for item in _flatten(value, f"{field}.{index}" if field else str(index))]
        return [item for value in detail for item in _flatten(value, field)]
    return [{"field": field, "detail": str(detail), "code": getattr(detail, "code", "invalid")}]


class Unprocessable(exceptions.ValidationError):
    """The body was read but its content is refused (its documented shape, a form or a service): 422."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


def _plain_errors(errors: Any) -> Any:
    """Errors in whatever shape they come, as DRF takes them: a Django ``ValidationError`` (a service's;
    its formset row keys "instalments-0-amount" dotted as the request's), a form's ``ErrorDict``, a
    serializer's nested errors, a mapping of field to messages, or a list of messages."""
    if isinstance(errors, DjangoValidationError):
        if not hasattr(errors, "error_dict"):
            return list(errors.messages)
        return {(k.replace("-", ".") if k.count("-") >= 2 else k): list(v) for k, v in errors.message_dict.items()}
    if isinstance(errors, dict):
        return {k: ([str(e) for e in v] if isinstance(v, ErrorList) else v) for k, v in errors.items()}
    return errors


def refused(errors: Any) -> Unprocessable:
    """The content of a request refused: a 422 problem listing each error (``errors``), nested and row
    errors by dotted path ("applicants.1.id_number"), the whole request's with ``field`` null."""
    return Unprocessable(_plain_errors(errors))


def bad_parameters(errors: Any) -> exceptions.ValidationError:
    """A request that cannot be read as sent (its query parameters or headers): a 400 problem."""
    return exceptions.ValidationError(_plain_errors(errors))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: what DRF knows, plus the lifecycle's refusals, as problem documents."""
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    if isinstance(exc, DjangoValidationError):  # a service refused the content
        exc = refused(exc)
    elif isinstance(exc, ConcurrentChange | ActionNotAllowed):
        exc = Conflict(exc.message)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("未找到该资源，或您无权查看。"))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE (files aside)
        exc = PayloadTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = TooManyParts()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("API request failed", exc_info=exc)
        return Response(problem(500, detail=_("处理请求时出错，请稍后再试。"), instance=instance),
                        status=500, content_type=PROBLEM_TYPE)
    assert isinstance(exc, exceptions.APIException)
    errors = None
    detail: Any = _in_our_words(exc, request) or exc.detail
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = _("提交的内容有 %(n)d 处错误。") % {"n": len(errors)} if errors else ""
    elif isinstance(exc, exceptions.Throttled):
        detail = _("请求过于频繁，请在 %(seconds)d 秒后再试。") % {"seconds": int(getattr(exc, "wait", None) or 1)}
    body = problem(response.status_code, detail=str(detail), instance=instance,
                   code=getattr(exc, "problem_code", ""), errors=errors)
    response.data = body
    response.content_type = PROBLEM_TYPE
    return response


def _in_our_words(exc: exceptions.APIException, request: Any) -> str | None:
    """DRF's own refusals in the project's words (DRF's catalogue is not installed: settings.py)."""
    kind = type(exc)
    if kind is exceptions.MethodNotAllowed:
        return _("不支持 %(method)s 请求方法。") % {"method": getattr(request, "method", "")}
    if kind is exceptions.NotAcceptable:
        return _("本接口只以 JSON 答复，请在 Accept 头中接受 application/json。")
    if kind is exceptions.UnsupportedMediaType:
        return _("请求内容须为 JSON（Content-Type: application/json）。")
    if kind is exceptions.ParseError:
        return _("请求内容不是有效的 JSON。")
    if kind is exceptions.NotAuthenticated:
        return _("请提供访问令牌（Authorization: Bearer …），或先登录。")
    if kind is exceptions.PermissionDenied and exc.detail == exceptions.PermissionDenied.default_detail:
        return _("您没有执行此操作的权限。")
    return None


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("案件状态已变化，请重新读取后再试。")
    problem_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    """A request larger than the server reads (``REQUEST_MAX_BYTES`` declared, or a body beyond
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` besides its files): 413, before anything is done."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("请求内容过大，服务器不予读取。")
    problem_code = "payload-too-large"


def too_large(request: HttpRequest) -> JsonResponse:
    """The 413 of ``RequestSizeLimitMiddleware`` under /api/: a problem document, never the HTML page."""
    language = activate_request_language(request)
    response = JsonResponse(problem(413, detail=str(PayloadTooLarge.default_detail), instance=request.get_full_path(),
                                    code="payload-too-large"),
                            status=413, content_type=PROBLEM_TYPE, json_dumps_params={"ensure_ascii": False})
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    response["Connection"] = "close"  # the unread body would otherwise be taken as the next request
    return response


class TooManyParts(exceptions.ParseError):
    """More fields or files than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` / ``…_FILES``: unreadable as sent (400)."""

    default_detail = gettext_lazy("请求中的字段或文件过多，无法读取。")


class IdempotencyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy("该 Idempotency-Key 已用于内容不同的请求；新的请求请换一个新的键。")
    problem_code = "idempotency-key-reused"


@csrf_exempt  # nothing to protect, and a refused POST would otherwise get the HTML 403 page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any address under /api/ that names nothing: a problem document, never the HTML 404 page."""
    language = activate_request_language(request)
    response = JsonResponse(problem(404, detail=_("接口中没有这个地址。"), instance=request.get_full_path()),
                            status=404, content_type=PROBLEM_TYPE, json_dumps_params={"ensure_ascii": False})
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    return response


__all__ = ["PayloadTooLarge", "Unprocessable", "activate_request_language", "bad_parameters", "exception_handler",
           "not_found", "problem", "refused", "too_large"]
