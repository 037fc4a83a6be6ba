"""The respondent's acknowledgement (docs/portal.md, "Employer acknowledgement"): a mediator invites a
respondent of a registered case to confirm online that the notice arrived and to say whether they
agree to mediation; the respondent opens the link, proves it with a one-time SMS code and answers.

Who may invite is ``permissions.user_may(user, "invite_respondent", case)``; the one-time codes are
the portal's (``portal.services.one_time_code``, ``one_time_code_send``, its hash comparison and
``PORTAL_CODE_MINUTES`` / ``PORTAL_CODE_ATTEMPTS``). The answer is a record for the mediator: the case
moves only when a mediator accepts or rejects it (``workflows.services``), with the consent fields
offered pre-filled from the answer (``accept_initial``, ``reject_initial``).
"""
from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import identity, permissions
from mediation.audit import log as audit
from mediation.models import Case, CaseParty, PartyRole
from portal import services
from portal.models import RespondentAnswer, RespondentInvitation
from workflows.clocks import local_date
from workflows.states import CaseState

#: Bytes of randomness in a link's token (its URL form is longer).
TOKEN_BYTES = 32


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def respondent_actor(invitation: RespondentInvitation) -> services.Visitor:
    """The respondent, as the audit trail names them: through which invitation they acted."""
    return services.Visitor(f"portal:respondent invitation {invitation.pk}")


def respondents_of(case: Case, parties: list[CaseParty] | None = None) -> list[CaseParty]:
    """The case's respondents in their order; from ``parties`` (all the case's, read already) when given."""
    if parties is not None:
        return sorted((p for p in parties if p.role == PartyRole.RESPONDENT), key=lambda p: (p.position, p.pk))
    return list(CaseParty.objects.filter(case=case, role=PartyRole.RESPONDENT).order_by("position", "pk"))


# --- the mediator invites -------------------------------------------------------------------------

@dataclass(frozen=True)
class Invited:
    invitation: RespondentInvitation
    #: The link's token, shown once to the mediator; only its hash is stored.
    token: str
    sms_sent: bool


def invitation_create(*, case_id: int, actor: Any, party_id: int | None, phone: str) -> Invited:
    """Invite a respondent of a registered case: a new link and a one-time code to ``phone``.

    ``PermissionDenied`` for a user without the right to accept the case; ``ValidationError`` (nothing
    written, nothing sent) for a case no longer awaiting acceptance, another case's party or a number
    that is not a mobile. The invitation ends the case's earlier ones; audited.
    """
    phone = identity.normalize_phone(phone or "")
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if not permissions.user_may(actor, "invite_respondent", case):
            raise PermissionDenied(_("您没有邀请本案被申请人在线确认的权限。"))
        errors: dict[str, list[str]] = {}
        if case.state != CaseState.REGISTERED:
            errors.setdefault("__all__", []).append(_("案件已不在待受理状态，无需邀请被申请人确认。"))
        party = next((p for p in respondents_of(case) if p.pk == party_id), None)
        if party is None:
            errors.setdefault("party", []).append(_("请选择本案的被申请人。"))
        if not phone:
            errors.setdefault("phone", []).append(_("请填写联系人的手机号码。"))
        else:
            try:
                identity.validate_phone(phone)
            except ValidationError as exc:
                errors.setdefault("phone", []).extend(exc.messages)
            else:
                if not identity.is_mobile(phone):
                    errors.setdefault("phone", []).append(_("验证码以短信发送，请填写11位手机号码。"))
        if errors or party is None:
            raise ValidationError(errors)
        now = timezone.now()
        superseded = list(RespondentInvitation.objects.filter(case=case, superseded_at__isnull=True)
                          .values_list("pk", flat=True))
        RespondentInvitation.objects.filter(pk__in=superseded).update(superseded_at=now)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        code = services.one_time_code()
        invitation = RespondentInvitation.objects.create(
            case=case, party=party, phone=phone, token_hash=_token_hash(token), created_at=now, created_by=actor,
            expires_at=now + datetime.timedelta(days=settings.PORTAL_INVITATION_DAYS),
            code_hash=make_password(code),
            code_expires_at=now + datetime.timedelta(minutes=settings.PORTAL_CODE_MINUTES))
        audit.record(actor=actor, action="portal.respondent_invite", obj=invitation, case=case, new={
            "party": party.pk, "respondent": party.name, "phone": identity.mask_phone(phone),
            "expires_at": invitation.expires_at, "superseded": superseded})
    sent = services.one_time_code_send(phone, code)
    if not sent:
        audit.record(actor=actor, action="portal.respondent_code", obj=invitation, case=case,
                     new={"result": "sms_failed"})
    return Invited(invitation, token, sent)


# --- the respondent answers -----------------------------------------------------------------------

def _live(invitation: RespondentInvitation | None, now: datetime.datetime) -> bool:
    """Usable: not superseded, not expired, not answered, and its case still awaits acceptance."""
    return (invitation is not None and invitation.superseded_at is None and invitation.expires_at > now
            and invitation.answered_at is None and invitation.case.state == CaseState.REGISTERED)


def invitation_find(token: str) -> RespondentInvitation | None:
    """The live invitation of this link, else None: a wrong, expired, superseded or answered link, or
    one whose case was decided, are all the same None."""
    if not token or len(token) > 100:
        return None
    invitation = (RespondentInvitation.objects.select_related("case", "party")
                  .filter(token_hash=_token_hash(token)).first())
    return invitation if invitation is not None and _live(invitation, timezone.now()) else None


def code_resend(*, invitation_id: int) -> bool:
    """A new code to the invitation's mobile, ending the earlier one; False when the invitation is no
    longer live or the gateway refused. Audited."""
    now = timezone.now()
    code = services.one_time_code()
    with transaction.atomic():
        invitation = (RespondentInvitation.objects.select_for_update().select_related("case")
                      .filter(pk=invitation_id).first())
        if invitation is None or not _live(invitation, now):
            return False
        invitation.code_hash = make_password(code)
        invitation.code_expires_at = now + datetime.timedelta(minutes=settings.PORTAL_CODE_MINUTES)
        invitation.code_attempts, invitation.code_used_at = 0, None
        invitation.save(update_fields=["code_hash", "code_expires_at", "code_attempts", "code_used_at"])
        phone = invitation.phone
    sent = services.one_time_code_send(phone, code)
    audit.record(actor=respondent_actor(invitation), action="portal.respondent_code", obj=invitation,
                 case=invitation.case, new={"result": "sent" if sent else "sms_failed"})
    return sent


def code_check(*, invitation_id: int, code: str) -> bool:
    """True when ``code`` is the invitation's live code (unused, unexpired, fewer than
    ``PORTAL_CODE_ATTEMPTS`` wrong tries); the code is then used. A wrong code counts as a try. Audited."""
    code = services.normalize_code(code)
    now = timezone.now()
    with transaction.atomic():
        invitation = (RespondentInvitation.objects.select_for_update().select_related("case")
                      .filter(pk=invitation_id).first())
        if invitation is None or not _live(invitation, now):
            services._matches(code, None)
            return False
        expires = invitation.code_expires_at
        live = (bool(invitation.code_hash) and invitation.code_used_at is None and expires is not None
                and expires > now and invitation.code_attempts < settings.PORTAL_CODE_ATTEMPTS)
        ok = services._matches(code, invitation.code_hash if live else None)
        if live:
            if ok:
                invitation.code_used_at = now
            else:
                invitation.code_attempts += 1
            invitation.save(update_fields=["code_used_at", "code_attempts"])
        audit.record(actor=respondent_actor(invitation), action="portal.respondent_code_check", obj=invitation,
                     case=invitation.case,
                     new={"result": "accepted" if ok else ("refused" if live else "expired_or_used")})
    return ok


@dataclass(frozen=True)
class Summary:
    """What the respondent sees of the case: no ID number, phone or address of anyone, no notes."""

    number: str
    respondent: str
    applicants: str
    categories: list[str]
    amount_claimed: Any
    organisation: str
    received_on: datetime.date


def summary_of(invitation: RespondentInvitation) -> Summary:
    case = Case.objects.select_related("organisation").get(pk=invitation.case_id)
    applicants = list(CaseParty.objects.filter(case=case, role=PartyRole.APPLICANT).order_by("position", "pk")
                      .values_list("name", flat=True))
    shown = identity.mask_name(applicants[0]) if applicants else ""
    if len(applicants) > 1:
        shown = _("%(name)s等%(n)d人") % {"name": shown, "n": len(applicants)}
    return Summary(number=case.number, respondent=invitation.party.name, applicants=shown,
                   categories=[c.name for c in case.categories.order_by("pk")], amount_claimed=case.amount_claimed,
                   organisation=case.organisation.name, received_on=local_date(case.received_at))


def answer_record(*, invitation_id: int, consents: bool, code_checked: bool, reason: str = "",
                  answered_by: str = "") -> RespondentInvitation:
    """Record the respondent's answer once: receipt confirmed, and consent or refusal (with the reason).

    ``code_checked``: the caller holds this browser's proof that the invitation's code was checked
    (the grant :func:`code_check` led to, kept in the server's session for ``PORTAL_GRANT_MINUTES``).
    That proof, not the code's state, is what counts: anyone holding the link may ask for a new code,
    and that must not take away an answer the respondent is giving.

    ``ValidationError`` (nothing written) without that proof, for a refusal without a reason or an
    invitation no longer live, answered already included. The case is not moved. Audited as the
    respondent.
    """
    reason, answered_by = (reason or "").strip(), (answered_by or "").strip()
    if not consents and not reason:
        raise ValidationError({"reason": _("请说明不同意调解的理由。")})
    if len(reason) > 200 or len(answered_by) > 50:
        raise ValidationError({"reason": _("理由不超过200字，经办人姓名不超过50字。")})
    now = timezone.now()
    with transaction.atomic():
        invitation = (RespondentInvitation.objects.select_for_update().select_related("case", "party")
                      .filter(pk=invitation_id).first())
        if invitation is None or not _live(invitation, now) or not code_checked:
            raise ValidationError(_("该链接已失效。"))
        invitation.answer = RespondentAnswer.CONSENTED if consents else RespondentAnswer.REFUSED
        invitation.reason = "" if consents else reason
        invitation.answered_by, invitation.answered_at = answered_by, now
        invitation.save(update_fields=["answer", "reason", "answered_by", "answered_at"])
        audit.record(actor=respondent_actor(invitation), action="portal.respondent_answer", obj=invitation,
                     case=invitation.case, new={"answer": invitation.answer, "reason": invitation.reason,
                                                "answered_by": answered_by, "respondent": invitation.party.name})
    return invitation


# --- back on the case page ------------------------------------------------------------------------

def current_invitation(case: Any) -> RespondentInvitation | None:
    """The case's current invitation (a new one supersedes the earlier), read once per case object:
    the case page's panel and its accept and reject forms all ask for it."""
    memo = case.__dict__.get("_current_invitation", _UNREAD)
    if memo is _UNREAD:
        memo = (RespondentInvitation.objects.select_related("party")
                .filter(case_id=case.pk, superseded_at__isnull=True).order_by("-created_at", "-pk").first())
        case.__dict__["_current_invitation"] = memo
    return memo


_UNREAD = object()


def latest_answer(case: Any) -> RespondentInvitation | None:
    """The answer of the case's current invitation, if it was given."""
    current = current_invitation(case)
    return current if current is not None and current.answered_at is not None else None


def answer_note(invitation: RespondentInvitation) -> str:
    """How the answer reads in the consent record: the online confirmation named."""
    by = _("，经办人%(name)s") % {"name": invitation.answered_by} if invitation.answered_by else ""
    if invitation.answer == RespondentAnswer.CONSENTED:
        return (_("被申请人%(party)s于%(on)s通过网上确认链接确认收到通知，同意调解%(by)s")
                % {"party": invitation.party.name, "on": timezone.localtime(invitation.answered_at).strftime(
                    "%Y-%m-%d %H:%M"), "by": by})[:200]
    return (_("被申请人%(party)s于%(on)s通过网上确认链接确认收到通知，不同意调解%(by)s。理由：%(reason)s")
            % {"party": invitation.party.name, "on": timezone.localtime(invitation.answered_at).strftime(
                "%Y-%m-%d %H:%M"), "by": by, "reason": invitation.reason})


def accept_initial(case: Any) -> dict[str, Any]:
    """The accept form's consent fields from an online consent (the mediator still confirms), else {}."""
    answered = latest_answer(case)
    if answered is None or answered.answer != RespondentAnswer.CONSENTED or answered.answered_at is None:
        return {}
    return {"consent_recorded_on": local_date(answered.answered_at), "consent_note": answer_note(answered)}


def reject_initial(case: Any) -> dict[str, Any]:
    """The reject form's fields from an online refusal, else {}."""
    answered = latest_answer(case)
    if answered is None or answered.answer != RespondentAnswer.REFUSED or answered.answered_at is None:
        return {}
    return {"reason_kind": "respondent_refused", "refused_on": local_date(answered.answered_at),
            "reason": answer_note(answered)}


@dataclass(frozen=True)
class Panel:
    """The case page's view of the invitations: the current one and its answer, and the form."""

    current: RespondentInvitation | None
    may_invite: bool
    respondents: list[CaseParty]
    note: str


def case_panel(case: Case, user: Any, parties: list[CaseParty] | None = None) -> Panel | None:
    """What the case page shows; None when there is nothing to show (no invitation and no right).

    Only while the case awaits acceptance: the answer serves the decision to accept or reject, and once
    it is made the consent (or the refusal) is on the case itself and the invitation on the audit
    trail. A case in any other state costs the page no query (its budget: tests/web); ``parties``: the
    case's, when the caller read them already."""
    if case.state != CaseState.REGISTERED:
        return None
    current = current_invitation(case)
    may_invite = permissions.user_may(user, "invite_respondent", case)
    if current is None and not may_invite:
        return None
    return Panel(current=current, may_invite=may_invite,
                 respondents=respondents_of(case, parties) if may_invite else [],
                 note=answer_note(current) if current is not None and current.answered_at else "")
