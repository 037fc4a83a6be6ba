"""Pages with more than one form: intake, the agreement editor; plus queues and downloads."""
from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import forms, permissions, prepared, services
from mediation.frame import frame_escalations_counted
from mediation.models import Agreement
from mediation.selectors import (
    capped_count,
    case_deadline_watchlist,
    case_get_for_user,
    escalations_awaiting,
    follow_through,
    mediators_by_organisation,
)
from mediation.services.downloads import attachment_open
from mediation.typing import AuthenticatedHttpRequest
from mediation.views.common import BoundedPaginator, apply_errors, case_errors, forbidden
from workflows.clocks import local_today
from workflows.states import WORKING_STATES, CaseState


@login_required
@case_errors
def case_intake(request: AuthenticatedHttpRequest) -> HttpResponse:
    organisations = permissions.organisations_user_may_register_in(request.user)
    if not organisations.exists():
        return forbidden(request, _("您没有登记案件的权限。"))
    duplicates = []
    if request.method == "POST":
        sent = forms.IntakeForms(request.POST, organisations=organisations)
        intake, applicants, claims, agents, respondents = (sent.intake, sent.applicants, sent.claims, sent.agents,
                                                           sent.respondents)
        valid = sent.is_valid()
        already = (services.case_already_registered(user=request.user,
                                                    intake_token=intake.cleaned_data["intake_token"])
                   if intake.is_valid() else None)
        if already is not None:
            # The same form sent twice (a double click, a retry): show the case it made.
            return redirect("case_detail", pk=already.pk)
        if valid:
            d = intake.cleaned_data
            data = sent.registration()
            duplicates = services.possible_duplicates(user=request.user, data=data)
            if duplicates and not d.get("confirm_duplicate"):
                messages.warning(request, _("该申请人对同一用人单位已有未结案件，请核对后再次提交以确认登记。"))
                confirmed = request.POST.copy()
                confirmed["confirm_duplicate"] = "1"
                intake.data = confirmed
            else:
                try:
                    case = services.case_register(actor=request.user, data=data, intake_token=d["intake_token"])
                except ValidationError as exc:
                    sent.add_errors(exc)
                else:
                    messages.success(request, _("已登记：%(number)s。") % {"number": case.number})
                    return redirect("case_detail", pk=case.pk)
        status = 400
    else:
        now = timezone.localtime().replace(second=0, microsecond=0)
        intake = forms.IntakeForm(organisations=organisations, initial={
            "organisation": organisations.first(), "received_at": now.strftime("%Y-%m-%dT%H:%M"),
            "intake_token": uuid.uuid4(), "channel": "walk_in"})
        applicants = forms.ApplicantFormSet(prefix="applicants")
        claims = forms.ClaimFormSet(prefix="claims", initial=[{}])
        agents = forms.AgentFormSet(prefix="agents")
        respondents = forms.RespondentFormSet(prefix="respondents")
        status = 200
    return render(request, "mediation/case_intake.html", {
        "intake": intake, "applicants": applicants, "claims": claims, "agents": agents, "respondents": respondents,
        "duplicates": duplicates,
    }, status=status)


@login_required
@case_errors
def agreement_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
    if not permissions.user_may(request.user, "work", case):
        raise PermissionDenied(_("您没有办理本案件的权限。"))
    draft = case.agreements.filter(status=Agreement.Status.DRAFT).prefetch_related("terms", "instalments").first()
    if request.method == "POST":
        sent = forms.AgreementForms(request.POST)
        form, terms, instalments = sent.form, sent.terms, sent.instalments
        if sent.is_valid():
            printed = draft.signing_document if draft is not None else None
            cleared = draft.signatures.count() if draft is not None else 0
            try:
                sent.draft(case_id=case.pk, actor=request.user)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("调解协议草稿已保存。定稿后请生成并打印签署版，各方签字盖章后逐项登记。"))
                if printed is not None:
                    messages.warning(request, _(
                        "原签署版（验证码 %(code)s）已作废，已登记的 %(n)d 项签章已清除；请重新生成签署版并重新签署。")
                        % {"code": printed.code_display, "n": cleared})
                return redirect("case_detail", pk=case.pk)
        status = 400
    else:
        shown = forms.AgreementForms(draft=draft, dispute_summary=case.dispute_summary)
        form, terms, instalments = shown.form, shown.terms, shown.instalments
        status = 200
    return render(request, "mediation/agreement_edit.html", {
        "case": case, "form": form, "terms": terms, "instalments": instalments, "draft": draft,
        "editable": case.state in WORKING_STATES or (
            draft is not None and draft.supersedes_id is not None
            and case.state in (CaseState.SETTLED, CaseState.PERFORMED)),
    }, status=status)


#: Escalation requests a page of the queue shows.
QUEUE_PAGE = 20


@login_required
def escalation_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not permissions.holds(request.user, "decide_escalation"):
        return forbidden(request, _("提级审批由上级组织的负责人办理。"))
    # Oldest first, a page at a time: each request comes with its forms, and a district may have
    # thousands waiting.
    awaiting = escalations_awaiting(user=request.user).order_by("requested_at", "pk")
    # The navigation counts the same requests up to its cap: within it, that is the exact count.
    # Past it, the queue counts them (up to the paginator's cap) through a statement written once.
    def count_rows(cap: int) -> int:
        return capped_count(request.user, ("escalation_queue.count",), lambda: awaiting, cap)

    paginator = BoundedPaginator(awaiting, QUEUE_PAGE, exact_count=frame_escalations_counted(request),
                                 count_rows=count_rows)
    page = paginator.get_page(request.GET.get("page"))
    # The first page's requests: a statement written once per process for the user's reach, planned once
    # per connection (its planning took the database several times what reading it does); later pages,
    # each a statement of its own, as Django writes them.
    pending = (prepared.rows(request.user, ("escalation_queue.first",), lambda: awaiting[:QUEUE_PAGE])
               if page.number == 1 else list(page.object_list))
    # Each approval form offers the target organisation's mediators: one query for all of them.
    candidates = mediators_by_organisation(sorted({e.to_organisation_id for e in pending}))
    # Who else may decide each request (its requester never): also for all of them at once.
    deciders = permissions.escalation_deciders_by_organisation({e.to_organisation for e in pending})
    items = []
    for e in pending:
        form = forms.ApproveEscalationForm(auto_id=f"approve{e.pk}_%s")
        field = forms.field_of(form, "mediators", forms.UsersChoiceField)
        field.choices = [(u.pk, forms.user_label(u)) for u in candidates[e.to_organisation_id]]
        items.append({"e": e, "form": form,
                      "deciders": [u for u in deciders[e.to_organisation_id] if u.pk != e.requested_by_id]})
    return render(request, "mediation/escalation_queue.html", {"items": items, "page": page, "query": "",
                                                               "today": local_today()})


@login_required
def deadlines(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = local_today()
    watch = case_deadline_watchlist(user=request.user, today=today)
    return render(request, "mediation/deadlines.html", {
        "overdue": watch["overdue"][:200], "due_soon": watch["due_soon"][:200], "today": today,
        "tasks": follow_through(user=request.user, today=today, limit=200)})


@login_required
def attachment_download(request: AuthenticatedHttpRequest, pk: int, attachment_id: int) -> HttpResponseBase:
    case = case_get_for_user(user=request.user, case_id=pk, purpose="download")
    try:
        attachment, handle = attachment_open(user=request.user, case=case, attachment_id=attachment_id)
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
