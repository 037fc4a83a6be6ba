"""POST endpoints that change a case. Each validates with a form, calls one service, and answers:
back to the case with a message, 400 with the form's errors, 403 with the reason."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mediation import forms, permissions, services
from mediation.models import Agreement, Instalment, Referral
from mediation.selectors import case_get_for_user
from mediation.transitions import MOVES, refuse_unpermitted
from mediation.views.common import apply_errors, case_errors
from workflows.machine import TRANSITION_NAMES, transition_label


def _form_page(request, case, title, form, status=400, **extra):
    return render(request, "mediation/action_form.html",
                  {"case": case, "title": title, "form": form, **extra}, status=status)


def _done(request, case, message):
    messages.success(request, message)
    return redirect("case_detail", pk=case.pk)


@login_required
@require_POST
@case_errors
def case_transition(request, pk: int, name: str):
    if name not in TRANSITION_NAMES:
        raise Http404
    case = case_get_for_user(user=request.user, case_id=pk, purpose=name)
    expected = request.POST.get("expected_state") or None
    user = request.user
    label = transition_label(name)
    move = MOVES[name]
    refuse_unpermitted(case, name, user)
    form = move.bind(case, request.POST, user=user)
    if form is not None and not form.is_valid():
        return _form_page(request, case, label, form, action=name, expected_state=expected)
    try:
        move.perform(case_id=pk, actor=user, data=form.cleaned_data if form is not None else {},
                     expected_state=expected)
    except ValidationError as exc:
        form = form or forms.ReasonForm(request.POST)
        form.is_valid()
        apply_errors(form, exc)
        return _form_page(request, case, label, form, action=name, expected_state=expected)
    if name == "approve_escalation" and not case_list_contains(user, pk):
        messages.success(request, _("已批准提级。"))
        return redirect("escalation_queue")
    return _done(request, case, _("已完成：%(action)s。") % {"action": label})


def case_list_contains(user, pk: int) -> bool:
    from mediation.selectors import case_list_visible_to

    return case_list_visible_to(user=user).filter(pk=pk).exists()


def _refuse_unless(user, action: str, case) -> None:
    """Fail closed before reading the input: without the right, the form is never looked at."""
    if not permissions.user_may(user, action, case):
        raise PermissionDenied(_("您没有对本案件执行此操作的权限。"))


def _simple(form_class, service_call, title, success, action="work", **form_kwargs):
    """A POST view for a form whose cleaned data go to one service call (which checks again, under its lock)."""

    @login_required
    @require_POST
    @case_errors
    def view(request, pk: int, **kwargs):
        case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
        _refuse_unless(request.user, action, case)
        form = form_class(request.POST, request.FILES, **{k: v(case) for k, v in form_kwargs.items()})
        if form.is_valid():
            try:
                service_call(request, case, form.cleaned_data, **kwargs)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                return _done(request, case, success)
        return _form_page(request, case, title, form, target=request.path)

    return view


session_new = _simple(
    forms.SessionForm,
    lambda r, case, d: services.session_record(case_id=case.pk, actor=r.user, held_at=d["held_at"], place=d["place"],
                                               attendees=d["attendees"], record=d["record"], result=d["result"]),
    _("记录调解"), _("调解笔录已保存。"))

followup_new = _simple(
    forms.FollowUpForm,
    lambda r, case, d: services.followup_record(case_id=case.pk, actor=r.user, **d),
    _("登记回访"), _("回访记录已保存。"))

extend_deadline = _simple(
    forms.ExtendForm,
    lambda r, case, d: services.deadline_extend(case_id=case.pk, actor=r.user, extra_days=d["extra_days"],
                                                consent_note=d["consent_note"]),
    _("延长调解期限"), _("调解期限已延长。"), action="extend_deadline")

attachment_upload = _simple(
    forms.AttachmentForm,
    lambda r, case, d: services.attachment_add(case_id=case.pk, actor=r.user, upload=d["file"], kind=d["kind"],
                                               description=d["description"]),
    _("上传附件"), _("附件已上传。"))


def _assign(r, case, d):
    services.mediators_assign(case_id=case.pk, actor=r.user, mediators=list(d["mediators"]))


def _candidates(case):
    from mediation.views.cases import _candidates as candidates

    return candidates(case)


assign_mediators = _simple(forms.AssignForm, _assign, _("指派调解员"), _("已指派调解员。"), action="assign_mediator",
                           candidates=_candidates)


def _sign(r, case, d, agreement_id):
    agreement = get_object_or_404(Agreement, pk=agreement_id, case=case)
    services.signature_record(agreement_id=agreement.pk, actor=r.user, kind=d["kind"], signed_on=d["signed_on"],
                              document_code=d["document_code"], signer_name=d["signer_name"], party_id=d["party"])


signature_add = _simple(forms.SignatureForm, _sign, _("登记签字盖章"), _("签章已登记。"),
                        parties=lambda case: case.parties.exclude(role="agent").select_related("person", "employer"))


def _pay(r, case, d, instalment_id):
    inst = get_object_or_404(Instalment, pk=instalment_id, agreement__case=case)
    services.instalment_record_payment(instalment_id=inst.pk, actor=r.user, paid_on=d["paid_on"],
                                       paid_amount=d["paid_amount"], note=d["payment_note"])


payment_record = _simple(forms.PaymentForm, _pay, _("登记履行"), _("履行情况已登记。"))


def _correct_payment(r, case, d, instalment_id):
    inst = get_object_or_404(Instalment, pk=instalment_id, agreement__case=case)
    services.instalment_correct_payment(instalment_id=inst.pk, actor=r.user, paid_on=d["paid_on"],
                                        paid_amount=d["paid_amount"], reason=d["reason"], note=d["payment_note"])


payment_correct = _simple(forms.PaymentCorrectionForm, _correct_payment, _("更正履行记录"), _("履行记录已更正。"))


def _outcome(r, case, d, referral_id):
    referral = get_object_or_404(Referral, pk=referral_id, case=case)
    services.referral_record_outcome(referral_id=referral.pk, actor=r.user, outcome=d["outcome"],
                                     outcome_on=d["outcome_on"], summary=d["summary"], amount=d["amount"])


referral_outcome = _simple(forms.ReferralOutcomeForm, _outcome, _("登记仲裁或诉讼结果"), _("处理结果已登记。"))


@login_required
@require_POST
@case_errors
def agreement_correct(request, pk: int):
    case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
    services.agreement_correct(case_id=case.pk, actor=request.user)
    messages.success(request, _("已建立更正版本草稿；原生效协议保持不变。"))
    return redirect("agreement_edit", pk=case.pk)
