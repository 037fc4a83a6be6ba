"""Every lifecycle move as the web and the tests make it: the form that validates the
user's input, the service that performs it, and how the form's cleaned data become the
service's arguments. The graph itself is ``workflows.machine``; who may is ``permissions``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from django import forms as django_forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from mediation import forms
from mediation.selectors import mediators_of
from workflows import machine
from workflows import services as lifecycle
from workflows.clocks import local_today

Data = dict[str, Any]


@dataclass(frozen=True)
class Move:
    service: Callable[..., Any]
    arguments: Callable[[Data], Data] = lambda data: {}
    form: type[django_forms.Form] | None = None
    form_kwargs: Callable[[Any], Data] = lambda case: {}
    #: The service checks the state the user saw (``expected_state``) against the locked case.
    stale_check: bool = True
    #: Shown as a dangerous (red) action on the case page.
    danger: bool = False
    #: The form is told who fills it in (``user=``), to explain choices that are not open to them.
    asks_user: bool = False

    def bind(self, case: Any, data: Any = None, *, user: Any = None, **kwargs: Any) -> django_forms.Form | None:
        """The move's form for ``case``, bound to ``data`` (blank when None)."""
        if self.form is None:
            return None
        if self.asks_user and user is not None:
            kwargs["user"] = user
        return self.form(data, **self.form_kwargs(case), **kwargs)

    def perform(self, *, case_id: int, actor: Any, data: Data, expected_state: str | None = None) -> Any:
        """Call the service with the cleaned data."""
        stale = {"expected_state": expected_state} if self.stale_check else {}
        return self.service(case_id=case_id, actor=actor, **self.arguments(data), **stale)


def _reason(data: Data) -> Data:
    return {"reason": data.get("reason", "")}


def _approval_candidates(case: Any) -> Data:
    pending = case.pending_escalation()
    return {"candidates": mediators_of(pending.to_organisation) if pending else None}


def _consent(data: Data) -> Data:
    """The respondents' consent to mediation, required on the page (人社部令第17号)."""
    return {"consented_on": data["consent_recorded_on"], "consent_note": data["consent_note"]}


def _consent_initial(case: Any) -> Data:
    """Today, or what the respondent answered online (``portal.acknowledgement``): the mediator still confirms."""
    from portal.acknowledgement import accept_initial

    return {"initial": {"consent_recorded_on": local_today(), **accept_initial(case)}}


def _reject_initial(case: Any) -> Data:
    """Today, or the refusal the respondent gave online, as the reason."""
    from portal.acknowledgement import reject_initial

    return {"initial": {"refused_on": local_today(), **reject_initial(case)}}


def _rejection(data: Data) -> Data:
    refused = data.get("reason_kind") == forms.RejectForm.RESPONDENT_REFUSED
    return {**_reason(data), "respondent_refused_on": data.get("refused_on") if refused else None,
            "reason_kind": data.get("reason_kind") or ""}


def _refer_initial(case: Any) -> Data:
    return {"initial": {"referred_on": local_today(), "body": _("宁波市奉化区劳动人事争议仲裁委员会")}}


def refuse_unpermitted(case: Any, name: str, user: Any) -> None:
    """A move the state allows but the user may not make is refused before its input is read (the
    case page's form and the API alike); one the state no longer allows (someone else was quicker)
    is left to the service, which says what happened."""
    if machine.has_transition(case, name) and not machine.may_transition(case, name, user):
        raise PermissionDenied(_("您没有对本案件执行“%(action)s”的权限。") % {"action": machine.transition_label(name)})


MOVES: dict[str, Move] = {
    "accept": Move(lifecycle.case_accept, _consent, forms.AcceptForm, _consent_initial),
    "reject": Move(lifecycle.case_reject, _rejection, forms.RejectForm, _reject_initial, danger=True),
    "request_escalation": Move(
        lifecycle.escalation_request, lambda d: {**_reason(d), "to_organisation_id": d["to_organisation"].pk},
        forms.EscalationForm, lambda case: {"targets": lifecycle.escalation_targets(case)}, asks_user=True),
    "approve_escalation": Move(
        lifecycle.escalation_approve, lambda d: {**_reason(d), "mediators": list(d.get("mediators") or [])},
        forms.ApproveEscalationForm, _approval_candidates, stale_check=False),
    "deny_escalation": Move(lifecycle.escalation_deny, _reason, forms.ReasonForm, stale_check=False, danger=True),
    "cancel_escalation": Move(lifecycle.escalation_cancel, _reason, forms.ReasonForm),
    "record_agreement": Move(lifecycle.case_record_agreement),
    "terminate": Move(lifecycle.case_terminate, _reason, forms.ReasonForm, danger=True),
    "confirm_performance": Move(lifecycle.case_confirm_performance),
    "report_nonperformance": Move(lifecycle.case_report_nonperformance, _reason, forms.ReasonForm, danger=True),
    "refer": Move(
        lifecycle.case_refer, lambda d: {"destination": d["destination"], "body": d["body"],
                                         "referred_on": d["referred_on"], "note": d.get("note", "")},
        forms.ReferForm, _refer_initial),
    "withdraw": Move(lifecycle.case_withdraw, _reason, forms.WithdrawForm, danger=True),
    "close": Move(lifecycle.case_close, lambda d: {**_reason(d), "archive_number": d.get("archive_number", "")},
                  forms.CloseForm),
    "reopen": Move(lifecycle.case_reopen, _reason, forms.ReasonForm, stale_check=False),
}
