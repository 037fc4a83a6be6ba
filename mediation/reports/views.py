"""The district's view: the statistics page, the monthly table, and the ledger in and out.

Who: supervisors, administrators and auditors (``may_read_statistics``), over the
organisations they supervise or read; mediators are refused (403). Importing is
for supervisors (their subtree) and administrators (the district) only.
"""
from __future__ import annotations

import functools
import io
from typing import Any, Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs.services import background_enabled
from jobs.views import start_export
from mediation.audit import log as audit
from mediation.reports import charts, ledger
from mediation.reports.forms import LedgerImportForm, MonthlyTableForm, StatisticsForm
from mediation.reports.models import ImportBatch
from mediation.reports.statistics import (
    MONTHLY_COLUMNS,
    Statistics,
    may_read_statistics,
    monthly_rows,
    statistics_compute,
    statistics_organisations,
)
from mediation.selectors import case_list_visible_to
from mediation.spreadsheets import no_formulas
from mediation.typing import AuthenticatedHttpRequest
from mediation.views.cases import filters_from_request
from mediation.views.common import forbidden
from workflows.clocks import local_today

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _readers_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Log in first; then supervisors, administrators and auditors only (403 with the reason otherwise)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not may_read_statistics(request.user):
            return forbidden(request, _("统计分析和案件台账供负责人、管理员和监督员使用。"))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


# ---------------------------------------------------------------------------- statistics

def _charts(stats: Statistics) -> dict[str, Any]:
    months = [m for m, _f in stats.by_month]
    trend = charts.trend_chart(months, [
        (_("收案"), [f.received for _m, f in stats.by_month], charts.BRAND),
        (_("调解成功"), [f.settled for _m, f in stats.by_month], charts.OK),
        (_("调解不成"), [f.failed for _m, f in stats.by_month], charts.DANGER),
    ], title=_("每月收案与调解结果"))
    concluded = stats.totals.concluded
    stages = []
    for number, name, f in stats.by_line:
        share = f"{f.concluded / concluded * 100:.1f}%" if concluded else ""
        stages.append((_("第%(n)d道防线 %(name)s") % {"n": number, "name": name}, f.concluded,
                       _("占调解终结的 %(share)s") % {"share": share} if share else ""))
    referred = stats.totals.referred
    stages.append((_("转仲裁/诉讼"), referred, ""))
    funnel = charts.funnel_chart(stages, title=_("三道防线化解情况（调解终结件数）"))
    categories = charts.bar_chart(sorted(((c.name, f.received) for c, f in stats.by_category),
                                         key=lambda item: -item[1]),
                                  title=_("按争议类别的收案数"), colour=charts.PALETTE[3])
    return {"trend_chart": trend, "funnel_chart": funnel, "category_chart": categories}


@_readers_only
@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    """The figures of DOMAIN.md §9 over the user's scope, with charts drawn on the server."""
    form = StatisticsForm(request.GET or None, organisations=statistics_organisations(request.user))
    query = form.to_query()
    if not form.is_bound:
        # Show the period being counted rather than empty month boxes.
        form.initial.update(first_month=query.first_month, last_month=query.last_month)
    stats = statistics_compute(user=request.user, query=query)
    return render(request, "reports/statistics.html", {
        "form": form, "stats": stats, "query": query, "tables": _tables(request, stats), **_charts(stats),
    })


def _tables(request: HttpRequest, stats: Statistics) -> list[dict[str, Any]]:
    """The breakdowns as uniform rows (label, link, figures) for one table template."""
    drill = request.GET.copy()
    drill.pop("organisation", None)

    def drill_url(group: Any) -> str:
        drill["organisation"] = str(group.organisation.pk)
        return "?" + drill.urlencode()

    return [
        {"title": _("按组织"), "dimension": _("组织"), "overdue": True, "rows": [
            {"label": g.label, "url": drill_url(g) if g.drill_down else "", "f": f} for g, f in stats.by_organisation]},
        {"title": _("按防线"), "dimension": _("防线"), "overdue": True, "rows": [
            {"label": f"{n}　{name}", "f": f} for n, name, f in stats.by_line]},
        {"title": _("按来源渠道"), "dimension": _("来源渠道"), "overdue": True, "rows": [
            {"label": label, "f": f} for _c, label, f in stats.by_channel]},
        {"title": _("按月份"), "dimension": _("月份"), "overdue": False, "rows": [
            {"label": f"{m:%Y-%m}", "f": f} for m, f in stats.by_month]},
        {"title": _("按争议类别"), "dimension": _("争议类别"), "overdue": False,
         "note": _("一件案件可有多个类别。"), "rows": [
            {"label": c.name, "f": f} for c, f in stats.by_category]},
    ]


# ------------------------------------------------------------------------ monthly table

def _monthly(request: HttpRequest) -> tuple[MonthlyTableForm, Statistics]:
    form = MonthlyTableForm(request.GET or None, organisations=statistics_organisations(request.user))
    query = form.to_query()
    if not form.is_bound:
        form.initial.update(month=query.first_month)
    stats = statistics_compute(user=request.user, query=query)
    return form, stats


def _monthly_title(stats: Statistics) -> tuple[str, str]:
    unit = "、".join(o.name for o in stats.roots) or _("本辖区")
    month = stats.query.first_month
    return unit, _("%(y)d年%(m)d月") % {"y": month.year, "m": month.month}


def _monthly_context(request: HttpRequest) -> dict[str, Any]:
    form, stats = _monthly(request)
    unit, month_label = _monthly_title(stats)
    return {"form": form, "stats": stats, "columns": MONTHLY_COLUMNS, "rows": monthly_rows(stats),
            "unit": unit, "month_label": month_label, "querystring": request.GET.urlencode(),
            "today": local_today()}


@_readers_only
@require_GET
def monthly_table(request: HttpRequest) -> HttpResponse:
    """劳资纠纷月统计表: one month, one row per township (or per unit below the chosen organisation)."""
    return render(request, "reports/monthly.html", _monthly_context(request))


@_readers_only
@require_GET
def monthly_table_xlsx(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    context = _monthly_context(request)
    columns, rows = context["columns"], context["rows"]
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has its one worksheet
    sheet.title = _("月统计表")
    width = len(columns) + 2
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(row=1, column=1, value=_("劳资纠纷月统计表")).font = Font(bold=True, size=16)
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    sheet.cell(row=2, column=1, value=_("填报单位：%(unit)s　　统计月份：%(month)s")
               % {"unit": context["unit"], "month": context["month_label"]})
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    header = [_("序号"), _("单位")] + [str(h) for _k, h, _t in columns]
    for i, text in enumerate(header, start=1):
        cell = sheet.cell(row=4, column=i, value=text)
        cell.font, cell.border = Font(bold=True), border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, (label, values) in enumerate(rows, start=5):
        is_total = r == 4 + len(rows)
        sheet.cell(row=r, column=1, value="" if is_total else r - 4).border = border
        sheet.cell(row=r, column=2, value=label).border = border
        for c, ((_k, _h, kind), value) in enumerate(zip(columns, values, strict=True), start=3):
            cell = sheet.cell(row=r, column=c, value=value)
            cell.border = border
            if kind == "pct":
                cell.number_format = "0.0%"
            elif kind == "yuan":
                cell.number_format = "#,##0.00"
            if is_total:
                cell.font = Font(bold=True)
    foot = 6 + len(rows)
    sheet.cell(row=foot, column=1, value=_(
        "说明：收案以收到申请时间计；涉及人数为所收案件中有共同请求的劳动者人数（含未列为申请人的），"
        "涉及10人以上的为集体争议（劳动争议调解仲裁法第七条），一件案件有多个被申请人的只计一件；"
        "受理、调解成功、调解不成、撤回、转仲裁/诉讼以该操作的时间计；"
        "调解成功率＝调解成功÷（调解成功＋调解不成）；"
        "基层化解率＝在第一、二道防线调解终结且未转仲裁/诉讼的件数÷调解终结件数。"))
    sheet.cell(row=foot + 2, column=1, value=_("填表人：　　　　审核人：　　　　填报日期：%(d)s")
               % {"d": f"{context['today']:%Y-%m-%d}"})
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 26
    for i in range(3, width + 1):
        sheet.column_dimensions[get_column_letter(i)].width = 12
    sheet.row_dimensions[4].height = 32
    out = io.BytesIO()
    no_formulas(workbook)  # organisation names come from the administrators' data
    workbook.save(out)
    audit.record(actor=request.user, action="export.monthly_xlsx", new={"query": request.GET.urlencode()[:500]})
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = _attachment(f"劳资纠纷月统计表-{context['stats'].query.first_month:%Y-%m}.xlsx")
    return response


@_readers_only
@require_GET
def monthly_table_pdf(request: HttpRequest) -> HttpResponse:
    """The monthly table as an A4 landscape PDF, through the documents app's pure renderer."""
    from mediation.documents.render import DocumentRenderError, render_pdf

    context = _monthly_context(request)
    # Plain values only: the renderer runs without the request or the database.
    plain = {key: context[key] for key in ("columns", "rows", "unit", "month_label", "today")}
    plain["columns"] = [(key, str(header), kind) for key, header, kind in plain["columns"]]
    try:
        pdf = render_pdf("reports/monthly_pdf.html", plain)
    except DocumentRenderError as exc:
        return render(request, "mediation/forbidden.html", {"message": str(exc)}, status=503)
    audit.record(actor=request.user, action="export.monthly_pdf", new={"query": request.GET.urlencode()[:500]})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = _attachment(f"劳资纠纷月统计表-{context['stats'].query.first_month:%Y-%m}.pdf")
    return response


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    # RFC 6266: a plain ASCII fallback, and the Chinese name for browsers that read filename*.
    return f"attachment; filename=\"report.{filename.rsplit('.', 1)[-1]}\"; filename*=UTF-8''{quote(filename)}"


# --------------------------------------------------------------------------------- ledger

def _ledger_context(request: AuthenticatedHttpRequest, **extra: Any) -> dict[str, Any]:
    form, filters = filters_from_request(request)
    extra.setdefault("export_as_job", background_enabled() and not (filters and filters.query))
    count = case_list_visible_to(user=request.user, filters=filters).count()
    may_import = ledger.may_import(request.user)
    return {
        "form": form, "count": count, "querystring": request.GET.urlencode(), "may_import": may_import,
        "import_form": extra.pop("import_form", None) or LedgerImportForm(),
        "batches": ImportBatch.objects.filter(user=request.user)[:5] if may_import else [],
        "columns": ledger.COLUMNS, **extra,
    }


@_readers_only
@require_GET
def ledger_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The ledger: the case list's filters, an export of exactly those cases, and the import."""
    return render(request, "reports/ledger.html", _ledger_context(request))


@_readers_only
@require_http_methods(["GET", "POST"])
def ledger_export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The .xlsx ledger of the case list's cases for this query string, streamed from a temporary file.

    With workers, a POST (the page's button) starts a job instead; a GET never creates anything."""
    form, filters = filters_from_request(request)
    if form.is_bound and not form.is_valid():
        return render(request, "reports/ledger.html", _ledger_context(request), status=400)
    if request.method == "POST" and background_enabled() and not (filters and filters.query):
        # With workers: a job, downloaded later from 我的导出 (a free-text search, which may hold a
        # name or ID number, is never stored in a job: such an export is small and streams at once).
        return start_export(request, kind="ledger", filters=filters,
                            query_string=audit.scrub(request.GET.urlencode()))
    result = ledger.ledger_export(user=request.user, filters=filters, query_string=request.GET.urlencode())
    # FileResponse streams the file in blocks and closes (so deletes) the temporary file at the end.
    response = FileResponse(result.file, content_type=XLSX)
    response["Content-Disposition"] = _attachment(f"案件台账-{local_today():%Y%m%d}.xlsx")
    response["X-Ledger-Rows"] = str(result.rows)
    return response


@login_required
@require_GET
def ledger_template(request: HttpRequest) -> HttpResponse:
    if not ledger.may_import(request.user):
        return forbidden(request, _("只有负责人和管理员可以导入历史台账。"))
    response = HttpResponse(ledger.ledger_template(), content_type=XLSX)
    response["Content-Disposition"] = _attachment("案件台账导入模板.xlsx")
    return response


@login_required
@require_POST
def ledger_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Check (``action=check``) or import (``action=import``) a historical ledger; all rows or none."""
    if not ledger.may_import(request.user):
        return forbidden(request, _("只有负责人和管理员可以导入历史台账。"))
    form = LedgerImportForm(request.POST, request.FILES)
    report = None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > ledger.MAX_IMPORT_BYTES:
            form.add_error("file", _("文件过大：台账文件不能超过 %(mb)d MB。")
                           % {"mb": ledger.MAX_IMPORT_BYTES // (1024 * 1024)})
        else:
            dry_run = request.POST.get("action") != "import"
            report = ledger.ledger_import(user=request.user, data=upload.read(), filename=upload.name,
                                          dry_run=dry_run)
            if not dry_run and report.ok:
                messages.success(request, _("导入完成：新增 %(n)d 件案件，跳过已存在的 %(s)d 件。")
                                 % {"n": report.created, "s": len(report.skipped)})
    status = 400 if (report is not None and not report.ok) or form.errors else 200
    return render(request, "reports/ledger.html",
                  _ledger_context(request, import_form=form, report=report), status=status)
