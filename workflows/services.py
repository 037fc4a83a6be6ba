"""Lifecycle moves (DOMAIN.md §3), each atomic and logged.

Every service follows one pattern: lock the case row, check that the state allows
the move, check that the actor may make it (fail closed), apply the transition,
save, and write the ``TransitionLog`` row in the same transaction. A refused move
raises and changes nothing.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any, Callable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition

from mediation import permissions
from mediation.audit import log as audit
from mediation.documents import legal
from mediation.models import Case, Consent, Organisation, Referral
from workflows import clocks, machine
from workflows.errors import ActionNotAllowed, ConcurrentChange
from workflows.machine import TRANSITION_NAMES, needs_reason, transition_label
from workflows.models import EscalationRequest, TransitionLog
from workflows.states import CaseState

logger = logging.getLogger(__name__)

_CONDITION_MESSAGES: dict[str, Any] = {
    "record_agreement": gettext_lazy(
        "调解协议尚未生效：须经双方当事人签字或盖章、调解员签字并加盖调解组织印章（劳动争议调解仲裁法第十四条）。"),
    "confirm_performance": gettext_lazy("调解协议约定的款项尚未全部履行，不能确认履行完毕。"),
    "request_escalation": gettext_lazy(
        "本组织已是最高一级调解组织，不能再提级；调解不成的，可终止调解后转仲裁或诉讼。"),
}


def lock_case(case_id: int) -> Case:
    """Fetch the case under a row lock.

    No joins here: when a waiting transaction gets the row after another one moved
    the case to a new organisation, PostgreSQL re-checks the locked row against the
    *old* joined organisation row and would drop it ("not found").
    """
    try:
        return Case.objects.select_for_update().get(pk=case_id)
    except Case.DoesNotExist:
        raise ActionNotAllowed(_("案件不存在。")) from None


def condition_message(name: str, case: Case) -> str:
    if name == "close":
        if case.state == CaseState.PERFORMED:
            return _("已履行的案件须先登记回访记录，才能结案。")
        if case.state == CaseState.REFERRED:
            return _("已转仲裁或诉讼的案件须先登记仲裁或诉讼的处理结果，才能结案（调裁诉闭环）。")
        if case.state == CaseState.MEDIATION_FAILED:
            return _("调解不成的案件须先出具调解终止书（告知当事人可依法申请仲裁），才能结案。")
    message = _CONDITION_MESSAGES.get(name) or _("案件尚不满足“%(action)s”的条件。")
    return str(message) % {"action": transition_label(name)}


#: The moves that settle a pending escalation request: whoever comes second is told who came first.
ESCALATION_DECISIONS = ("approve_escalation", "deny_escalation", "cancel_escalation")
_DECIDED_MESSAGES: dict[str, Any] = {
    EscalationRequest.Decision.APPROVED: gettext_lazy("该提级申请已由 %(who)s 于 %(when)s 批准，无需再审批。"),
    EscalationRequest.Decision.DENIED: gettext_lazy("该提级申请已由 %(who)s 于 %(when)s 决定不予提级，无需再审批。"),
    EscalationRequest.Decision.CANCELLED: gettext_lazy("该提级申请已由 %(who)s 于 %(when)s 撤销，无需再审批。"),
}
_DECIDED_MESSAGES_TO_REQUESTER: dict[str, Any] = {
    EscalationRequest.Decision.APPROVED: gettext_lazy("该提级申请已由 %(who)s 于 %(when)s 批准，不能再撤回。"),
    EscalationRequest.Decision.DENIED: gettext_lazy("该提级申请已由 %(who)s 于 %(when)s 决定不予提级，不能再撤回。"),
    EscalationRequest.Decision.CANCELLED: gettext_lazy("该提级申请已由 %(who)s 于 %(when)s 撤销，不能再撤回。"),
}


def already_decided_message(case: Case, name: str) -> str | None:
    """Why a decision on the case's escalation request came too late: who settled it, and when.

    Two supervisors deciding at once queue on the case's row lock; the second finds the
    request decided (or cancelled) and the case moved on, and is told by whom and when
    rather than only that the state no longer allows the move.
    """
    if case.pending_escalation() is not None:
        return None
    last = (case.escalations.exclude(decision=EscalationRequest.Decision.PENDING).exclude(decided_at=None)
            .select_related("decided_by").order_by("-decided_at", "-pk").first())
    if last is None:
        return None
    messages = _DECIDED_MESSAGES_TO_REQUESTER if name == "cancel_escalation" else _DECIDED_MESSAGES
    who = (last.decided_by.get_full_name() or last.decided_by.get_username()) if last.decided_by else _("他人")
    return str(messages[last.decision]) % {
        "who": who, "when": timezone.localtime(last.decided_at).strftime("%Y-%m-%d %H:%M")}


def perform(
    *,
    case_id: int,
    actor: Any,
    name: str,
    reason: str = "",
    expected_state: str | None = None,
    kwargs: dict[str, Any] | Callable[[Case], dict[str, Any]] | None = None,
    before: Callable[[Case], None] | None = None,
    after: Callable[[Case], None] | None = None,
) -> Case:
    """Apply transition ``name`` to the case; the shared body of every lifecycle service.

    ``kwargs`` are the transition method's arguments, or a function of the locked
    case that returns them (for targets recorded on the case, such as the state to
    return to). ``before`` may validate against the locked case (raise to refuse);
    ``after`` updates fields in memory once the state has moved; all run inside the
    transaction, so whatever they write commits or rolls back with the move.
    """
    if name not in TRANSITION_NAMES:
        raise ValueError(name)
    reason = (reason or "").strip()
    label = transition_label(name)
    with transaction.atomic():
        case = lock_case(case_id)
        was = audit.field_values(case)
        stale = expected_state is not None and case.state != expected_state
        if name in ESCALATION_DECISIONS and (stale or not machine.has_transition(case, name)):
            decided = already_decided_message(case, name)
            if decided:
                raise ActionNotAllowed(decided)
        if stale:
            raise ConcurrentChange(_("案件状态已被他人更新为“%(state)s”，请刷新页面后再操作。")
                                   % {"state": case.get_state_display()})
        if not machine.has_transition(case, name):
            raise ActionNotAllowed(_("案件当前状态为“%(state)s”，不能执行“%(action)s”。")
                                   % {"state": case.get_state_display(), "action": label})
        if not machine.may_transition(case, name, actor):
            raise PermissionDenied(_("您没有对本案件执行“%(action)s”的权限。") % {"action": label})
        if needs_reason(name) and not reason:
            raise ValidationError({"reason": _("请填写理由。")})
        if not machine.conditions_met(case, name):
            raise ActionNotAllowed(condition_message(name, case))
        if before:
            before(case)
        from_state, from_org = case.state, case.organisation_id
        arguments = kwargs(case) if callable(kwargs) else (kwargs or {})
        getattr(case, name)(**arguments)
        if after:
            after(case)
        try:
            case.save()
        except ConcurrentTransition:
            # Only reachable when the row was not locked (a caller bypassing lock_case).
            raise ConcurrentChange(_("案件刚被他人更新，请刷新页面后再操作。")) from None
        TransitionLog.build(
            case=case, transition=name, from_state=from_state, to_state=case.state,
            from_organisation_id=from_org, to_organisation_id=case.organisation_id,
            actor_id=actor.pk, reason=reason).save()
        old, new = audit.changes(was, audit.field_values(case))
        audit.record(actor=actor, action=f"case.{name}", obj=case, old=old, new=new, reason=reason)
    logger.info("case %s: %s (%s -> %s) by user %s", case.pk, name, from_state, case.state, actor.pk)
    return case


def _refresh_deadlines(case: Case) -> None:
    for field, value in clocks.stored_deadline_fields(case).items():
        setattr(case, field, value)


# --- the moves ------------------------------------------------------------------

def _check_consent_date(case: Case, on: datetime.date, field: str) -> None:
    """The respondents were asked after the application arrived and not later than today."""
    received_on = clocks.local_date(case.received_at)
    if on > clocks.local_today():
        raise ValidationError({field: _("征询被申请人意见的日期不能晚于今天。")})
    if on < received_on:
        raise ValidationError({field: _("征询被申请人意见的日期不能早于收到调解申请的日期（%(received)s）。")
                               % {"received": received_on.isoformat()}})


def case_accept(*, case_id: int, actor: Any, expected_state: str | None = None,
                consented_on: datetime.date | None = None, consent_note: str = "") -> Case:
    """Accept within 3 working days of receipt (人社部令第17号); the organisation's line picks the state.

    Mediation is voluntary: the committee accepts a dispute within its scope when both
    sides agree to mediation (企业劳动争议协商调解规定, 人社部令第17号). ``consented_on`` and
    ``consent_note`` record when and how the respondents agreed; the case page's form
    requires them. Callers that have no such record — the historical ledger import, the
    demo and bulk generators — leave them out and the case shows no consent on record
    (docs/states.md, "Consent at acceptance").
    """
    consent_note = (consent_note or "").strip()
    reason = ""
    if consented_on is not None:
        if not consent_note:
            raise ValidationError({"consent_note": _("请说明征询被申请人意见的方式和情况。")})
        reason = _("被申请人同意调解（%(on)s，%(how)s）") % {"on": consented_on.isoformat(), "how": consent_note}

    def before(case: Case) -> None:
        if consented_on is not None:
            _check_consent_date(case, consented_on, "consent_recorded_on")

    def after(case: Case) -> None:
        case.accepted_at = timezone.now()
        _refresh_deadlines(case)
        if consented_on is not None:
            case.respondent_consent = Consent.CONSENTED
            case.consent_recorded_on, case.consent_note = consented_on, consent_note[:200]
        # Whoever accepts an unassigned case works it until a supervisor assigns someone else.
        if not case.mediators.exists():
            case.mediators.add(actor)

    return perform(case_id=case_id, actor=actor, name="accept", reason=reason, expected_state=expected_state,
                   before=before, after=after)


def case_reject(*, case_id: int, actor: Any, reason: str, expected_state: str | None = None,
                respondent_refused_on: datetime.date | None = None, reason_kind: str = "") -> Case:
    """Not accepted, with the reason; a notice goes to the applicant.

    ``reason_kind`` (``scope``, ``respondent_refused``, ``other``) is written at the head of the
    history row's reason (``documents.legal.tagged_rejection_reason``): the notice chooses the
    applicant's remedy by it (``documents.legal.rejection_remedy``).

    ``respondent_refused_on``: the respondents said on that day that they do not agree to
    mediation. Mediation is voluntary (人社部令第17号), so the application is not accepted;
    the refusal is recorded on the case and the rejection notice says so and points the
    applicant to the arbitration commission.
    """

    def before(case: Case) -> None:
        if respondent_refused_on is not None:
            _check_consent_date(case, respondent_refused_on, "refused_on")

    def after(case: Case) -> None:
        case.rejected_at = timezone.now()
        if respondent_refused_on is not None:
            case.respondent_consent = Consent.REFUSED
            case.consent_recorded_on, case.consent_note = respondent_refused_on, reason.strip()[:200]

    if respondent_refused_on is not None:
        reason_kind = legal.REJECT_RESPONDENT_REFUSED
    return perform(case_id=case_id, actor=actor, name="reject",
                   reason=legal.tagged_rejection_reason(reason_kind, reason), expected_state=expected_state,
                   before=before, after=after)


def escalation_targets(case: Case) -> list[Organisation]:
    """Organisations a case may move up to: active ancestors, the nearest (the usual choice) first."""
    return sorted(case.organisation.ancestors().filter(is_active=True), key=lambda o: -len(o.path))


def escalation_request(*, case_id: int, actor: Any, to_organisation_id: int, reason: str,
                       expected_state: str | None = None) -> EscalationRequest:
    """Ask a supervisor of a higher organisation to take the case over."""
    created: list[EscalationRequest] = []
    state_at_request: list[str] = []

    def before(case: Case) -> None:
        target = next((o for o in escalation_targets(case) if o.pk == to_organisation_id), None)
        if target is None:
            raise ValidationError({"to_organisation": _("只能提级到本组织的上级组织。")})
        # A request nobody else could decide would wait in no queue for ever.
        if not permissions.escalation_deciders(target, exclude=actor).exists():
            raise ValidationError({"to_organisation": _(
                "提级目标组织“%(org)s”除您之外没有可以审批的负责人，请选择其他上级组织或联系管理员指定负责人。")
                % {"org": target.name}})
        # A denial returns the case to exactly this state.
        state_at_request.append(case.state)

    def after(case: Case) -> None:
        created.append(EscalationRequest.objects.create(
            case=case, from_organisation=case.organisation, to_organisation_id=to_organisation_id,
            from_state=state_at_request[0], reason=reason.strip(), requested_by=actor))

    perform(case_id=case_id, actor=actor, name="request_escalation", reason=reason,
            expected_state=expected_state, before=before, after=after)
    return created[0]


def _decide(pending: EscalationRequest, decision: str, actor: Any, reason: Any) -> None:
    """How a pending request ends (approved, denied, cancelled): who, when and why, on the request."""
    pending.decision = decision
    pending.decided_by, pending.decided_at, pending.decision_reason = actor, timezone.now(), str(reason).strip()
    pending.save(update_fields=["decision", "decided_by", "decided_at", "decision_reason"])


def escalation_approve(*, case_id: int, actor: Any, reason: str = "", mediators: Sequence[Any] = ()) -> Case:
    """Move the case to the target organisation; its former mediators keep read access.

    The approver may assign the target organisation's mediators in the same step;
    otherwise the case waits, unassigned, on the supervisors' "to assign" list.
    """
    former: list[Any] = []

    def after(case: Case) -> None:
        pending = case.pending_escalation()
        former.extend(case.mediators.all())
        former.append(pending.requested_by)
        case.organisation = pending.to_organisation
        _decide(pending, EscalationRequest.Decision.APPROVED, actor, reason)

    with transaction.atomic():
        case = perform(case_id=case_id, actor=actor, name="approve_escalation", reason=reason,
                       kwargs=lambda case: {"to_line": case.pending_escalation().to_organisation.line},
                       after=after)
        for user in former:
            permissions.grant_case_read(user, case)
        case.mediators.clear()
        for user in mediators:
            if not permissions.user_may(user, "work", case):
                raise ValidationError({"mediators": _("%(name)s 不是承办组织的调解员。")
                                       % {"name": user.get_full_name() or user.get_username()}})
        case.mediators.set(mediators)
        audit.record(actor=actor, action="case.mediators", obj=case,
                     old={"mediators": sorted(u.get_username() for u in former[:-1])},
                     new={"mediators": sorted(u.get_username() for u in mediators)})
    return case


def escalation_deny(*, case_id: int, actor: Any, reason: str) -> Case:
    """Refuse the request; the case returns to the state it was in when the request was made."""

    def after(case: Case) -> None:
        _decide(case.pending_escalation(), EscalationRequest.Decision.DENIED, actor, reason)

    return perform(case_id=case_id, actor=actor, name="deny_escalation", reason=reason,
                   kwargs=lambda case: {"return_to": case.pending_escalation().from_state}, after=after)


def escalation_cancel(*, case_id: int, actor: Any, reason: str, expected_state: str | None = None) -> Case:
    """The requester takes their own pending request back; the case returns to where it was."""

    def after(case: Case) -> None:
        _decide(case.pending_escalation(), EscalationRequest.Decision.CANCELLED, actor, reason)

    return perform(case_id=case_id, actor=actor, name="cancel_escalation", reason=reason,
                   expected_state=expected_state,
                   kwargs=lambda case: {"return_to": case.pending_escalation().from_state}, after=after)


def case_record_agreement(*, case_id: int, actor: Any, expected_state: str | None = None) -> Case:
    """Working → settled, only once the agreement is effective (劳动争议调解仲裁法 art. 14)."""

    def after(case: Case) -> None:
        agreement = case.effective_agreement()
        case.concluded_at = timezone.now()
        case.amount_agreed = agreement.total_amount
        case.agreement_effective_on = agreement.effective_on

    return perform(case_id=case_id, actor=actor, name="record_agreement", expected_state=expected_state,
                   after=after)


def case_terminate(*, case_id: int, actor: Any, reason: str, expected_state: str | None = None) -> Case:
    """No agreement: a termination notice is issued and the parties may go to arbitration."""

    def after(case: Case) -> None:
        case.concluded_at = timezone.now()

    return perform(case_id=case_id, actor=actor, name="terminate", reason=reason,
                   expected_state=expected_state, after=after)


def case_confirm_performance(*, case_id: int, actor: Any, expected_state: str | None = None) -> Case:
    def after(case: Case) -> None:
        case.amount_recovered = case.effective_agreement().paid_amount

    return perform(case_id=case_id, actor=actor, name="confirm_performance", expected_state=expected_state,
                   after=after)


def case_report_nonperformance(*, case_id: int, actor: Any, reason: str,
                               expected_state: str | None = None) -> Case:
    """A party did not perform within the agreed time (劳动争议调解仲裁法 arts. 15–16)."""

    def after(case: Case) -> None:
        agreement = case.effective_agreement()
        case.amount_recovered = agreement.paid_amount if agreement else case.amount_recovered

    return perform(case_id=case_id, actor=actor, name="report_nonperformance", reason=reason,
                   expected_state=expected_state, after=after)


def case_refer(*, case_id: int, actor: Any, destination: str, body: str, referred_on: datetime.date,
               note: str = "", expected_state: str | None = None) -> Case:
    """Hand the case to arbitration or court; it stays open until their outcome is recorded."""
    if destination not in Referral.Destination.values:
        raise ValidationError({"destination": _("请选择移交去向。")})
    if not (body or "").strip():
        raise ValidationError({"body": _("请填写接收机构。")})

    def after(case: Case) -> None:
        Referral.objects.create(case=case, destination=destination, body=body.strip(), referred_on=referred_on,
                                referred_by=actor, note=note.strip())

    return perform(case_id=case_id, actor=actor, name="refer", reason=note, expected_state=expected_state,
                   after=after)


def case_withdraw(*, case_id: int, actor: Any, reason: str, expected_state: str | None = None) -> Case:
    def after(case: Case) -> None:
        pending = case.pending_escalation()
        if pending is not None:
            _decide(pending, EscalationRequest.Decision.CANCELLED, actor, _("申请人撤回调解申请"))
        case.concluded_at = timezone.now()

    return perform(case_id=case_id, actor=actor, name="withdraw", reason=reason,
                   expected_state=expected_state, after=after)


def case_close(*, case_id: int, actor: Any, reason: str = "", archive_number: str = "",
               expected_state: str | None = None) -> Case:
    """Supervisor's closure; performed cases need a follow-up, referred ones their outcome.

    A failed mediation the parties did not take to arbitration or court is closed with the
    reason (for instance that the arbitration time limit of 劳动争议调解仲裁法 art. 27 ran out,
    or that the applicant said they would not apply), once the termination notice is issued.
    """

    def before(case: Case) -> None:
        if case.state == CaseState.MEDIATION_FAILED and not (reason or "").strip():
            raise ValidationError({"reason": _("调解不成的案件结案须写明理由，如当事人未申请仲裁或诉讼的情况。")})
        case.closed_from_state = case.state

    def after(case: Case) -> None:
        case.closed_at = timezone.now()
        if archive_number.strip():
            case.archive_number = archive_number.strip()

    return perform(case_id=case_id, actor=actor, name="close", reason=reason, expected_state=expected_state,
                   before=before, after=after)


def case_reopen(*, case_id: int, actor: Any, reason: str) -> Case:
    """Rare: a supervisor reopens a closed case; it returns to the state it was closed from."""

    def after(case: Case) -> None:
        case.closed_at = None

    return perform(case_id=case_id, actor=actor, name="reopen", reason=reason,
                   kwargs=lambda case: {"return_to": case.closed_from_state}, after=after)


def available_transitions(case: Case, user: Any) -> list[str]:
    """The moves this user may make on this case now (state, conditions aside, and permission)."""
    return [name for name in TRANSITION_NAMES
            if machine.has_transition(case, name) and machine.may_transition(case, name, user)]
