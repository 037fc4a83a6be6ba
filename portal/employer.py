"""The respondent's acknowledgement, as pages (docs/portal.md, "Employer acknowledgement"): the
mediator's invitation on the case page, and the respondent's public pages under
``/service/employer/<token>/``. The rules are ``portal.acknowledgement``'s.

Every request on the respondent's pages counts against the client address; code checks also
against the invitation, and resent codes against the invitation's SMS rate (``portal.throttle``).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from mediation import permissions
from mediation.models import Case
from mediation.selectors import case_get_for_user
from mediation.views.common import apply_errors, case_errors
from portal import acknowledgement, services, throttle
from portal.forms import CodeForm
from portal.models import RespondentInvitation
from portal.views import _ip

#: Session keys: the link shown once to the mediator (by case id); the respondent's checked code; the answer given.
LINKS = "portal.respondent_links"
GRANT = "portal.respondent_grant"
ANSWERED = "portal.respondent_answered"


# --- the mediator's side --------------------------------------------------------------------------

class InviteForm(forms.Form):
    party = forms.TypedChoiceField(label=gettext_lazy("被申请人"), coerce=int)
    phone = forms.CharField(label=gettext_lazy("联系人手机号码"), max_length=20,
                            help_text=gettext_lazy("一次性验证码将以短信发送到该号码"),
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))

    def __init__(self, *args: Any, respondents: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        party = self.fields["party"]
        assert isinstance(party, forms.TypedChoiceField)
        party.choices = [(p.pk, p.name) for p in respondents]
        if len(respondents) == 1:
            self.initial.setdefault("party", respondents[0].pk)


@login_required
@require_POST
@case_errors
def invitation_create(request: HttpRequest, pk: int) -> HttpResponse:
    """邀请被申请人在线确认: a new link (shown once on the case page) and a code by SMS."""
    case = case_get_for_user(user=request.user, case_id=pk, purpose="invite_respondent")
    if not permissions.user_may(request.user, "invite_respondent", case):
        raise PermissionDenied(_("您没有邀请本案被申请人在线确认的权限。"))
    form = InviteForm(request.POST, respondents=acknowledgement.respondents_of(case), auto_id="invite_%s")
    if form.is_valid():
        try:
            invited = acknowledgement.invitation_create(case_id=case.pk, actor=request.user,
                                                        party_id=form.cleaned_data["party"],
                                                        phone=form.cleaned_data["phone"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            links = request.session.get(LINKS, {})
            links[str(case.pk)] = request.build_absolute_uri(reverse("portal:respondent", args=[invited.token]))
            request.session[LINKS] = links
            if invited.sms_sent:
                messages.success(request, _("已生成在线确认链接，验证码已发送至联系人手机。"))
            else:
                messages.warning(request, _("已生成在线确认链接，但验证码短信未能发送；被申请人可在链接页面重新获取。"))
            return redirect("case_detail", pk=case.pk)
    return render(request, "mediation/action_form.html", {
        "case": case, "title": _("邀请被申请人在线确认"), "form": form,
        "target": reverse("respondent_invite", args=[case.pk])}, status=400)


def case_panel(request: HttpRequest, case: Case, parties: list[Any] | None = None) -> dict[str, Any] | None:
    """The case page's panel: the current invitation and its answer, the link once, the form."""
    panel = acknowledgement.case_panel(case, request.user, parties)
    if panel is None:
        return None
    links = request.session.get(LINKS) or {}
    link = links.pop(str(case.pk), None)
    if link is not None:
        request.session[LINKS] = links
    return {"panel": panel, "link": link,
            "form": InviteForm(respondents=panel.respondents, auto_id="invite_%s") if panel.may_invite else None}


# --- the respondent's side ------------------------------------------------------------------------

class AnswerForm(forms.Form):
    CONSENT, REFUSE = "consent", "refuse"
    answer = forms.ChoiceField(label=gettext_lazy("您的答复"), widget=forms.RadioSelect, choices=[
        (CONSENT, gettext_lazy("确认收到通知，同意调解")), (REFUSE, gettext_lazy("确认收到通知，不同意调解"))])
    reason = forms.CharField(label=gettext_lazy("不同意调解的理由"), max_length=200, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("不同意调解的，请填写理由"))
    answered_by = forms.CharField(label=gettext_lazy("经办人姓名"), max_length=50, required=False)


def _gone(request: HttpRequest) -> HttpResponse:
    """The one page for any link that does not open an invitation now."""
    return render(request, "portal/employer/gone.html", status=404)


def _throttled(request: HttpRequest, action: str, invitation: RespondentInvitation | None = None) -> HttpResponse:
    services.audit_throttled(action=action, number=invitation.case.number if invitation is not None else "")
    return render(request, "portal/throttled.html", status=429)


def _address_allowed(request: HttpRequest) -> bool:
    return throttle.allow("lookup-ip", _ip(request), "PORTAL_LOOKUP_RATE_PER_IP")


def _granted(request: HttpRequest, invitation: RespondentInvitation) -> bool:
    held: dict[str, Any] | None = request.session.get(GRANT)
    return bool(held and held.get("invitation") == invitation.pk and held.get("until", 0) >= time.time())


def _code_page(request: HttpRequest, invitation: RespondentInvitation, token: str, form: CodeForm, *,
               status: int = 200, **extra: Any) -> HttpResponse:
    return render(request, "portal/employer/code.html", {
        "form": form, "token": token, "phone_end": invitation.phone[-4:], "code_minutes": settings.PORTAL_CODE_MINUTES,
        **extra}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def respondent(request: HttpRequest, token: str) -> HttpResponse:
    """The link: enter the code sent to the contact's mobile."""
    if not _address_allowed(request):
        return _throttled(request, "portal.respondent_code_check")
    invitation = acknowledgement.invitation_find(token)
    if invitation is None:
        return _gone(request)
    if _granted(request, invitation):
        return redirect("portal:respondent_answer", token=token)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not throttle.allow("respondent-invitation", str(invitation.pk), "PORTAL_LOOKUP_RATE_PER_CASE"):
            return _throttled(request, "portal.respondent_code_check", invitation)
        if acknowledgement.code_check(invitation_id=invitation.pk, code=form.cleaned_data["code"]):
            request.session.cycle_key()
            request.session[GRANT] = {"invitation": invitation.pk,
                                      "until": int(time.time()) + settings.PORTAL_GRANT_MINUTES * 60}
            return redirect("portal:respondent_answer", token=token)
        return _code_page(request, invitation, token, CodeForm(), status=400, refused=True)
    return _code_page(request, invitation, token, form, status=400 if form.is_bound else 200)


@never_cache
@require_POST
def respondent_resend(request: HttpRequest, token: str) -> HttpResponse:
    if not _address_allowed(request):
        return _throttled(request, "portal.respondent_code")
    invitation = acknowledgement.invitation_find(token)
    if invitation is None:
        return _gone(request)
    if not throttle.allow("respondent-sms", str(invitation.pk), "PORTAL_SMS_RATE_PER_CASE"):
        return _throttled(request, "portal.respondent_code", invitation)
    sent = acknowledgement.code_resend(invitation_id=invitation.pk)
    return _code_page(request, invitation, token, CodeForm(), resent=sent, sms_failed=not sent)


@never_cache
@require_http_methods(["GET", "POST"])
def respondent_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The case in general terms, and the answer: once."""
    if not _address_allowed(request):
        return _throttled(request, "portal.respondent_answer")
    invitation = acknowledgement.invitation_find(token)
    if invitation is None:
        request.session.pop(GRANT, None)
        return _gone(request)
    if not _granted(request, invitation):
        return redirect("portal:respondent", token=token)
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            answered = acknowledgement.answer_record(
                invitation_id=invitation.pk, consents=data["answer"] == AnswerForm.CONSENT, code_checked=True,
                reason=data.get("reason", ""), answered_by=data.get("answered_by", ""))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            request.session.pop(GRANT, None)
            request.session[ANSWERED] = {"answer": answered.answer, "organisation": invitation.case.organisation.name}
            return redirect("portal:respondent_done")
    return render(request, "portal/employer/answer.html", {
        "form": form, "token": token, "summary": acknowledgement.summary_of(invitation)},
        status=400 if form.is_bound else 200)


@never_cache
def respondent_done(request: HttpRequest) -> HttpResponse:
    answered = request.session.pop(ANSWERED, None)
    if answered is None:
        return redirect("portal:home")
    return render(request, "portal/employer/done.html", {"answered": answered})
