"""The auditors' pages: search the trail by case, user and date; one case's extract as .xlsx."""
from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from mediation import permissions
from mediation.audit.forms import AuditSearchForm
from mediation.audit.labels import action_label
from mediation.audit.log import record
from mediation.audit.models import AuditEvent
from mediation.audit.selectors import events_search, events_visible_to
from mediation.selectors import case_get_for_user
from mediation.spreadsheets import text_cell
from mediation.typing import AuthenticatedHttpRequest
from mediation.views.common import forbidden

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50


def _values(value: Any) -> str:
    return "" if value in (None, {}, []) else json.dumps(value, ensure_ascii=False, sort_keys=True)


@login_required
@require_GET
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not permissions.may_read_audit(request.user):
        return forbidden(request, _("审计日志仅供监督员和管理员查阅。"))
    form = AuditSearchForm(request.GET or None)
    events = AuditEvent.objects.none()
    if not form.is_bound:
        events = events_search(user=request.user)
    elif form.is_valid():
        d = form.cleaned_data
        events = events_search(user=request.user, case=d["case"], username=d["user"], date_from=d["date_from"],
                               date_to=d["date_to"])
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [{"event": e, "label": action_label(e.action), "old": _values(e.old), "new": _values(e.new)}
            for e in page]
    return render(request, "audit/log.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "everything": permissions.may_read_audit(request.user, everything=True)},
        status=200 if not form.errors else 400)


def _text_cell(sheet: Any, row: int, column: int, value: Any) -> None:
    """A string cell, never a formula: openpyxl takes "=…" for a formula unless told it is text."""
    text_cell(sheet.cell(row=row, column=column), value)


@login_required
@require_GET
def case_extract(request: AuthenticatedHttpRequest, case_id: int) -> HttpResponseBase:
    """Every event of one case the reader may see, oldest first, as .xlsx (404 outside the reader's scope)."""
    case = case_get_for_user(user=request.user, case_id=case_id, purpose="audit_extract")
    if not permissions.may_read_audit(request.user):
        return forbidden(request, _("审计日志仅供监督员和管理员查阅。"))
    from openpyxl import Workbook

    events = events_visible_to(request.user).filter(case_id=case.pk).order_by("at", "pk")  # by time: see events_search
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has its one worksheet
    sheet.title = _("审计记录")
    header = [_("序号"), _("时间"), _("用户ID"), _("用户名"), _("事件"), _("对象"), _("原值"), _("新值"), _("理由"),
              _("IP地址"), _("请求ID"), _("SHA-256")]
    for column, text in enumerate(header, start=1):
        _text_cell(sheet, 1, column, str(text))
    row = 1
    for e in events.iterator(chunk_size=500):
        row += 1
        local = timezone.localtime(e.at)
        values = [e.pk, f"{local:%Y-%m-%d %H:%M:%S}", e.actor_id, e.actor_name, action_label(e.action),
                  f"{e.object_type}:{e.object_id}" if e.object_type else "", _values(e.old), _values(e.new),
                  e.reason, e.ip, e.request_id, e.hash]
        for column, value in enumerate(values, start=1):
            _text_cell(sheet, row, column, value)
    record(actor=request.user, action="audit.extract", case=case, new={"rows": row - 1}, request=request)
    out = io.BytesIO()
    workbook.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    filename = f"审计记录-{case.number}.xlsx"
    response["Content-Disposition"] = (f"attachment; filename=\"audit-{case.pk}.xlsx\"; "
                                       f"filename*=UTF-8''{quote(filename)}")
    response["Cache-Control"] = "private, no-store"
    return response
