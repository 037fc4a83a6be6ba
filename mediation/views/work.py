"""Pages with more than one form: intake, the agreement editor; plus queues and downloads."""
from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import forms, permissions, services
from mediation.audit import log as audit
from mediation.models import Agreement, Attachment, Case, Employer, Person
from mediation.selectors import (
    case_deadline_watchlist,
    case_get_for_user,
    escalations_awaiting,
    follow_through,
    mediators_by_organisation,
)
from mediation.typing import AuthenticatedHttpRequest
from mediation.views.common import BoundedPaginator, apply_errors, case_errors, forbidden
from workflows.clocks import local_today
from workflows.states import WORKING_STATES, CaseState


def _prefixed_errors(exc: ValidationError, intake, applicants, claims, agents, respondents) -> None:
    """Route a service's "applicants-0-id_number" style keys to the right form of the right formset."""
    for key, errors in exc.message_dict.items():
        placed = False
        for prefix, formset in (("applicants", applicants), ("claims", claims), ("agents", agents),
                                ("respondents", respondents)):
            if key.startswith(prefix + "-"):
                _, index, field = key.split("-", 2)
                live = [f for f in formset.forms if f.has_changed() and not formset._should_delete_form(f)]
                form = live[int(index)] if int(index) < len(live) else None
                if form is not None:
                    form.add_error(field if field in form.fields else None, errors)
                    placed = True
        if not placed:
            target = key if key in intake.fields else None
            if key.startswith("employer_") and key in intake.fields:
                target = key
            intake.add_error(target, errors)


@login_required
@case_errors
def case_intake(request: AuthenticatedHttpRequest) -> HttpResponse:
    organisations = permissions.organisations_user_may_register_in(request.user)
    if not organisations.exists():
        return forbidden(request, _("您没有登记案件的权限。"))
    duplicates = []
    if request.method == "POST":
        intake = forms.IntakeForm(request.POST, organisations=organisations)
        applicants = forms.ApplicantFormSet(request.POST, prefix="applicants")
        claims = forms.ClaimFormSet(request.POST, prefix="claims")
        agents = forms.AgentFormSet(request.POST, prefix="agents")
        # Further respondents are optional: a form sent without their rows has none.
        respondents = forms.RespondentFormSet(request.POST if "respondents-TOTAL_FORMS" in request.POST else None,
                                              prefix="respondents")
        valid = all([intake.is_valid(), applicants.is_valid(), claims.is_valid(), agents.is_valid(),
                     not respondents.is_bound or respondents.is_valid()])
        already = (Case.objects.filter(intake_token=intake.cleaned_data["intake_token"]).first()
                   if intake.is_valid() else None)
        if already is not None and permissions.may_view_case(request.user, already):
            # The same form sent twice (a double click, a retry): show the case it made.
            return redirect("case_detail", pk=already.pk)
        if valid:
            d = intake.cleaned_data
            people = [services.PersonInput(**f.cleaned_data_without_delete) for f in _live(applicants)]
            data = services.Registration(
                organisation=d["organisation"], received_at=d["received_at"], channel=d["channel"],
                application_form=d["application_form"], dispute_summary=d["dispute_summary"], reasons=d["reasons"],
                categories=[c.code for c in d["categories"]],
                employer=services.EmployerInput(
                    name=d["employer_name"], credit_code=d["employer_credit_code"],
                    legal_representative=d["employer_legal_representative"], address=d["employer_address"],
                    phone=d["employer_phone"], industry=d["employer_industry"], has_union=d["employer_has_union"]),
                applicants=people,
                claims=[services.ClaimInput(description=f.cleaned_data["description"], amount=f.cleaned_data["amount"],
                                            category_code=f.cleaned_data["category"].code
                                            if f.cleaned_data.get("category") else "") for f in _live(claims)],
                agents=[services.PersonInput(**f.cleaned_data_without_delete) for f in _live(agents)],
                is_new_employment_form=d["is_new_employment_form"], work_form=d["work_form"],
                platform=services.EmployerInput(name=d["platform_name"], credit_code=d["platform_credit_code"],
                                                is_platform=True) if d["platform_name"].strip() else None,
                dispute_known_on=d["dispute_known_on"],
                employer_capacity=d["employer_capacity"] or "employer", workers_involved=d["workers_involved"],
                other_respondents=[services.RespondentInput(employer=services.EmployerInput(
                    name=f.cleaned_data["name"], credit_code=f.cleaned_data["credit_code"],
                    legal_representative=f.cleaned_data["legal_representative"], address=f.cleaned_data["address"]),
                    capacity=f.cleaned_data["capacity"]) for f in _live(respondents)] if respondents.is_bound else [],
            )
            duplicates = _possible_duplicates(request.user, people, d)
            if duplicates and not d.get("confirm_duplicate"):
                messages.warning(request, _("该申请人对同一用人单位已有未结案件，请核对后再次提交以确认登记。"))
                confirmed = request.POST.copy()
                confirmed["confirm_duplicate"] = "1"
                intake.data = confirmed
            else:
                try:
                    case = services.case_register(actor=request.user, data=data, intake_token=d["intake_token"])
                except ValidationError as exc:
                    _prefixed_errors(exc, intake, applicants, claims, agents, respondents)
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


def _live(formset):
    for form in formset.forms:
        if form.has_changed() and not formset._should_delete_form(form):
            form.cleaned_data_without_delete = {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
            yield form


def _possible_duplicates(user, people, d):
    ids = [p.id_number for p in people if p.id_number]
    person_ids = list(Person.objects.filter(id_number__in=ids).values_list("pk", flat=True))
    if not person_ids:
        return []
    code = d["employer_credit_code"]
    employer = (Employer.objects.filter(credit_code=code).first() if code
                else Employer.objects.filter(name=d["employer_name"].strip()).first())
    if employer is None:
        return []
    return services.open_cases_between(user=user, person_ids=person_ids, employer=employer)


@login_required
@case_errors
def agreement_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
    if not permissions.user_may(request.user, "work", case):
        raise PermissionDenied(_("您没有办理本案件的权限。"))
    draft = case.agreements.filter(status=Agreement.Status.DRAFT).prefetch_related("terms", "instalments").first()
    if request.method == "POST":
        form = forms.AgreementForm(request.POST)
        terms = forms.TermFormSet(request.POST, prefix="terms")
        instalments = forms.InstalmentFormSet(request.POST, prefix="instalments")
        if all([form.is_valid(), terms.is_valid(), instalments.is_valid()]):
            d = form.cleaned_data
            printed = draft.signing_document if draft is not None else None
            cleared = draft.signatures.count() if draft is not None else 0
            try:
                services.agreement_draft(
                    case_id=case.pk, actor=request.user, dispute_summary=d["dispute_summary"],
                    claims_summary=d["claims_summary"], waived=d["waived"], copies=d["copies"],
                    terms=[f.cleaned_data["text"] for f in _live(terms)],
                    instalments=[services.InstalmentInput(amount=f.cleaned_data["amount"],
                                                          due_on=f.cleaned_data["due_on"],
                                                          method=f.cleaned_data["method"]) for f in _live(instalments)])
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
        if draft:
            form = forms.AgreementForm(initial={"dispute_summary": draft.dispute_summary,
                                                "claims_summary": draft.claims_summary, "waived": draft.waived,
                                                "copies": draft.copies})
            terms = forms.TermFormSet(prefix="terms", initial=[{"text": t.text} for t in draft.terms.all()])
            instalments = forms.InstalmentFormSet(prefix="instalments", initial=[
                {"amount": i.amount, "due_on": i.due_on, "method": i.method} for i in draft.instalments.all()])
        else:
            # The claims are itemised in the agreement from the case; 当事人请求 is for what they add to them.
            form = forms.AgreementForm(initial={"dispute_summary": case.dispute_summary})
            terms = forms.TermFormSet(prefix="terms", initial=[{}])
            instalments = forms.InstalmentFormSet(prefix="instalments")
        status = 200
    return render(request, "mediation/agreement_edit.html", {
        "case": case, "form": form, "terms": terms, "instalments": instalments, "draft": draft,
        "editable": case.state in WORKING_STATES or (
            draft is not None and draft.supersedes_id is not None
            and case.state in (CaseState.SETTLED, CaseState.PERFORMED)),
    }, status=status)


@login_required
def escalation_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not permissions.holds(request.user, "decide_escalation"):
        return forbidden(request, _("提级审批由上级组织的负责人办理。"))
    # Oldest first, a page at a time: each request comes with its forms, and a district may have
    # thousands waiting.
    awaiting = escalations_awaiting(user=request.user).order_by("requested_at", "pk")
    page = BoundedPaginator(awaiting, 20).get_page(request.GET.get("page"))
    pending = list(page.object_list)
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
    attachment = get_object_or_404(Attachment, pk=attachment_id, case=case)
    if not permissions.may_see_personal_data(request.user, case):
        # Evidence carries the parties' personal data, like the issued documents (docs/permissions.md).
        return forbidden(request, _("证据材料载有当事人的个人信息，仅承办本案的调解员和负责人可以下载。"))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    audit.record(actor=request.user, action="attachment.download", obj=attachment, case=case)
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
