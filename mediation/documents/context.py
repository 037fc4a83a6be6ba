"""What each document shows: read from the database into plain values that ``render_pdf`` fills in.

Contexts hold only strings, numbers, dates and lists/dicts of them: templates
cannot reach back into the database (rendering stays pure), every value is
escaped by Django's autoescaping, and a context can be pickled to a worker
process of the case-file export. Labels are read in the document language
(Chinese), whatever the user's screen language is.

The module is a little over 600 lines because it holds one builder per kind of document and
the history they all read as it stood at the document's moment (who, where, when, from
``TransitionLog``); split by kind, the builders would each need that reading of history again.
"""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mediation.documents.amounts import amount_in_capitals, amount_in_figures
from mediation.documents.codes import format_code
from mediation.documents.models import DocumentKind, DocumentStage, IssuedDocument
from mediation.documents.render import ARCHIVAL_VARIANT, DOCUMENT_LANGUAGE, EMBEDDED_FILES, qr_data_uri
from mediation.documents.signatures import agreement_signature_lines
from mediation.models import Agreement, Case, CaseParty, Consent, Organisation, PartyRole, RespondentCapacity, Signature
from mediation.services import agreement_signers
from mediation.services.agreements import draft_states
from mediation.typing import User
from workflows.models import TransitionLog
from workflows.states import CaseState

#: Per-kind document templates; each extends documents/base.html and includes documents/parts/<kind>.html.
TEMPLATES: dict[str, str] = {kind: f"documents/{kind}.html" for kind in DocumentKind.values}
PARTS: dict[str, str] = {kind: f"documents/parts/{kind}.html" for kind in DocumentKind.values}
#: Only the case file is archival (PDF/A); the others are working documents served on the parties.
VARIANTS: dict[str, str | None] = {DocumentKind.CASE_FILE: ARCHIVAL_VARIANT}


@dataclass(frozen=True)
class Subject:
    """One document that can be issued for a case: a kind and what inside the case it renders."""

    kind: str
    subject_id: int = 0
    label: str = ""
    #: Issuing it freezes the PDF (the effective agreement, DOMAIN.md §6).
    freezes: bool = False
    #: For an agreement: what the print is for (``DocumentStage``: a draft's reading copy or the signing version).
    stage: str = ""

    @property
    def kind_label(self) -> str:
        return str(DocumentKind(self.kind).label)


@dataclass(frozen=True)
class Stamp:
    """The registration facts printed on the document, fixed before it is rendered."""

    code: str
    issued_at: datetime.datetime
    verify_url: str


# --- small conversions -------------------------------------------------------------------

def _who(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _local(value: datetime.datetime | None) -> datetime.datetime | None:
    return timezone.localtime(value) if value else None


def _organisation(org: Organisation) -> dict[str, Any]:
    return {"name": org.name, "address": org.address, "phone": org.phone, "level": org.level.name,
            "line": org.level.get_line_display(), "is_peoples_committee": org.is_peoples_mediation_committee}


def money(amount: Decimal | None) -> dict[str, str]:
    amount = amount or Decimal("0")
    return {"figures": amount_in_figures(amount), "capitals": amount_in_capitals(amount)}


# --- which documents a case has ------------------------------------------------------------

def _logs(case: Case) -> list[TransitionLog]:
    return list(TransitionLog.objects.filter(case=case).select_related("actor", "from_organisation",
                                                                       "to_organisation"))


@dataclass(frozen=True)
class Preloaded:
    """Rows of a case its caller has already read (the case page): ``subjects_for`` does not read them
    again; each left ``None`` is read here. Escalations come with their target organisation."""

    logs: list[TransitionLog] | None = None
    escalations: list[Any] | None = None
    sessions: list[Any] | None = None
    follow_ups: list[Any] | None = None
    agreements: list[Agreement] | None = None
    issued: list[IssuedDocument] | None = None


def _or_read(rows: list[Any] | None, read: Callable[[], Any]) -> Any:
    return rows if rows is not None else read()


def subjects_for(case: Case, kind: str | None = None, *, logs: list[TransitionLog] | None = None,
                 preloaded: Preloaded | None = None) -> list[Subject]:
    """The documents that can be issued for ``case`` now (all kinds, or one), in the case file's order.

    Labels are in the active language (the case page's); ``prepare`` calls this in the document's.
    """
    known = preloaded or Preloaded()
    return _subjects_for(case, kind, logs if logs is not None else known.logs, known)


#: Documents issued once per transition log row the predicate picks.
_FROM_LOGS: dict[str, Callable[[TransitionLog], bool]] = {
    DocumentKind.REJECTION_NOTICE: lambda log: log.transition == "reject",
    DocumentKind.TERMINATION_NOTICE: lambda log: log.to_state == CaseState.MEDIATION_FAILED,
    DocumentKind.CLOSURE_APPROVAL: lambda log: log.transition == "close",
}


def _subjects_for(case: Case, kind: str | None, logs: list[TransitionLog] | None,
                  known: Preloaded) -> list[Subject]:
    kinds = [kind] if kind else list(DocumentKind.values)
    if logs is None and any(k in _FROM_LOGS for k in kinds):
        logs = _logs(case)
    result: list[Subject] = []
    for k in kinds:
        if k in _FROM_LOGS:
            picks = _FROM_LOGS[k]
            result += [Subject(k, log.pk, f"{_local(log.at):%Y-%m-%d}") for log in logs or () if picks(log)]
        elif k in (DocumentKind.APPLICATION_RECORD, DocumentKind.CASE_FILE):
            result.append(Subject(k, 0, ""))
        elif k == DocumentKind.ACCEPTANCE_NOTICE and case.accepted_at:
            result.append(Subject(k, 0, f"{_local(case.accepted_at):%Y-%m-%d}"))
        elif k == DocumentKind.ESCALATION_FORM:
            escalations = _or_read(known.escalations, case.escalations.select_related("to_organisation").all)
            result += [Subject(k, e.pk, f"{_local(e.requested_at):%Y-%m-%d} → {e.to_organisation.display_name} · "
                                        f"{e.get_decision_display()}")
                       for e in sorted(escalations, key=lambda e: (e.requested_at, e.pk))]
        elif k == DocumentKind.SESSION_RECORD:
            result += [Subject(k, s.pk, f"{_local(s.held_at):%Y-%m-%d %H:%M}")
                       for s in _or_read(known.sessions, case.sessions.all)]
        elif k == DocumentKind.AGREEMENT:
            result += _agreement_subjects(case, known)
        elif k == DocumentKind.FOLLOW_UP_RECORD:
            result += [Subject(k, f.pk, f"{f.visited_on:%Y-%m-%d}")
                       for f in _or_read(known.follow_ups, case.follow_ups.all)]
    return result


def _agreement_subjects(case: Case, known: Preloaded) -> list[Subject]:
    """A draft has two prints: the reading copy (草稿 on every page) and the signing version (签署版),
    which the parties sign and which becomes the effective agreement. An effective agreement is its
    signing version (or, for one signed before signing versions were printed, a frozen rendering)."""
    kind = DocumentKind.AGREEMENT
    issued = _or_read(known.issued, IssuedDocument.objects.filter(case=case, kind=kind, frozen=True).all)
    frozen = {d.subject_id for d in issued if d.kind == kind and d.frozen}
    result = []
    for a in sorted(_or_read(known.agreements, case.agreements.all), key=lambda a: a.version):
        if a.status == Agreement.Status.SUPERSEDED and a.pk not in frozen and a.signing_document_id is None:
            continue  # never printed while it was in force; it cannot be issued now
        label = _("第%(version)d版（%(status)s）") % {"version": a.version, "status": a.get_status_display()}
        if a.status == Agreement.Status.DRAFT:
            if case.state not in draft_states(a):
                continue  # a case that ended without agreement (terminated, withdrawn) has nothing to sign
            result.append(Subject(kind, a.pk, label, stage=DocumentStage.DRAFT))
            result.append(Subject(kind, a.pk, _("第%(version)d版（签署版）") % {"version": a.version},
                                  stage=DocumentStage.SIGNING))
        else:
            result.append(Subject(kind, a.pk, label, freezes=True))
    return result


def find_subject(case: Case, kind: str, subject_id: int, stage: str = "") -> Subject | None:
    """The issuable subject; for a draft agreement ``stage`` picks the print (the reading copy by default)."""
    candidates = [s for s in subjects_for(case, kind) if s.subject_id == subject_id]
    if len(candidates) > 1:
        return next((s for s in candidates if s.stage == (stage or DocumentStage.DRAFT)), None)
    return candidates[0] if candidates else None


# --- the facts every document shares -------------------------------------------------------

def case_facts(case: Case, parties: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    org = case.organisation
    parties = parties_of(case) if parties is None else parties
    names = defaultdict(list)
    for p in parties:
        # A respondent in another capacity than the plain employer is named with it (劳动争议调解仲裁法
        # art. 22: 众诚公司（劳务派遣单位）、锦屏公司（用工单位）).
        names[p["role_code"]].append(f"{p['name']}（{p['capacity']}）" if p["capacity"] else p["name"])
    return {
        "applicants": "、".join(names[PartyRole.APPLICANT]),
        "respondents": "、".join(names[PartyRole.RESPONDENT]),
        "workers_involved": case.workers_involved or case.applicant_count,
        "representatives": "、".join(p["name"] for p in parties if p["is_representative"]),
        "number": case.number,
        "state": case.get_state_display(),
        "received_at": _local(case.received_at),
        "channel": case.get_channel_display(),
        "application_form": case.application_form,
        "application_form_label": case.get_application_form_display(),
        "dispute_summary": case.dispute_summary,
        "reasons": case.reasons,
        "categories": [c.name for c in case.categories.all()],
        "is_collective": case.is_collective,
        "applicant_count": case.applicant_count,
        "work_form": case.get_work_form_display() if case.work_form else "",
        "platform": case.platform.name if case.platform else "",
        "claims": [{"description": c.description, "category": c.category.name if c.category else "",
                    "amount": money(c.amount)} for c in case.claims.select_related("category")],
        "amount_claimed": money(case.amount_claimed),
        "amount_agreed": money(case.amount_agreed),
        "amount_recovered": money(case.amount_recovered),
        "accepted_at": _local(case.accepted_at),
        "rejected_at": _local(case.rejected_at),
        "concluded_at": _local(case.concluded_at),
        "closed_at": _local(case.closed_at),
        "acceptance_due": case.acceptance_due,
        "mediation_due": case.mediation_due,
        "archive_number": case.archive_number,
        "mediators": [_who(u) for u in case.mediators.all()],
        "created_by": _who(case.created_by),
        "organisation": _organisation(org),
        "registered_organisation": case.registered_organisation.name,
    }


_ROLE_ORDER: dict[str, int] = {PartyRole.APPLICANT: 0, PartyRole.RESPONDENT: 1, PartyRole.THIRD_PARTY: 2,
                               PartyRole.AGENT: 3}


def _party(p: CaseParty) -> dict[str, Any]:
    # Full identity numbers: these documents are served on the parties themselves (see docs/documents.md).
    # "role" names the part played: 被申请人（劳务派遣单位）, 申请人（代表） (CaseParty.title).
    person, employer = p.person, p.employer
    shared = {"capacity": p.get_capacity_display() if p.capacity not in ("", RespondentCapacity.EMPLOYER) else "",
              "is_representative": p.is_representative}
    if person:
        # The details given for this case (CaseParty), never what another case recorded about the person.
        return {"id": p.pk, "role": p.title, "role_code": p.role, "name": p.name, **shared,
                "is_person": True, "sex": p.get_sex_display() if p.sex else "",
                "ethnicity": person.ethnicity, "id_label": _("公民身份号码"), "id_number": person.id_number or "",
                "address": p.address, "phone": p.phone, "legal_representative": "", "agents": []}
    assert employer is not None  # the party_is_person_or_employer constraint
    # As for a person: the details given for this case, not another office's record of the firm.
    return {"id": p.pk, "role": p.title, "role_code": p.role, "name": p.name, **shared,
            "is_person": False, "sex": "", "ethnicity": "", "id_label": _("统一社会信用代码"),
            "id_number": employer.credit_code or "", "address": p.address, "phone": p.phone,
            "legal_representative": p.legal_representative, "agents": []}


def parties_of(case: Case) -> list[dict[str, Any]]:
    """Principal parties in statutory order (applicants, respondents, third parties), each with its agents."""
    parties = sorted(case.parties.select_related("person", "employer"),
                     key=lambda p: (_ROLE_ORDER.get(p.role, 9), p.position, p.pk))
    rows = {p.pk: _party(p) for p in parties if p.role != PartyRole.AGENT}
    loose: list[dict[str, Any]] = []
    for p in parties:
        if p.role == PartyRole.AGENT:
            target = rows.get(p.represents_id) if p.represents_id else None
            (target["agents"] if target else loose).append(_party(p))
    return list(rows.values()) + loose


# --- the moment a document speaks of ---------------------------------------------------------
#
# A document tells what was true when the thing it records happened, not what is true when it is
# printed (DOMAIN.md §4, last paragraph): ``held_by`` is the organisation of that moment (it also
# seals and issues the document), ``mediators`` who handled then. See docs/documents.md.

def _moment(org: Organisation, mediators: list[str]) -> dict[str, Any]:
    return {"held_by": _organisation(org), "mediators": mediators}


def _organisation_at(case: Case, when: datetime.datetime | None) -> Organisation:
    """The organisation handling ``case`` at ``when``: where the last move before it left the case."""
    if when is None:
        return case.organisation
    log = (TransitionLog.objects.filter(case=case, at__lte=when).select_related("to_organisation__level")
           .exclude(to_organisation=None).order_by("-at", "-pk").first())
    return log.to_organisation if log and log.to_organisation else case.registered_organisation


def _log_organisation(case: Case, log: TransitionLog) -> Organisation:
    """The organisation that made the move ``log`` records (where the case was when it was made)."""
    return log.from_organisation or log.to_organisation or _organisation_at(case, log.at)


# --- each kind's own facts ------------------------------------------------------------------

def _application(case: Case, subject: Subject) -> dict[str, Any]:
    """Made to the organisation that registered it, recorded by whoever registered it."""
    return {"title": _application_title(case), "oral": case.application_form == "oral",
            "recorder": _who(case.created_by), **_moment(case.registered_organisation, [])}


def _application_title(case: Case) -> str:
    return _("口头申请笔录") if case.application_form == "oral" else _("调解申请书")


def _acceptance(case: Case, subject: Subject) -> dict[str, Any]:
    """Received and accepted by the organisation of the last 'accept' move, handled by who accepted."""
    log = (TransitionLog.objects.filter(case=case, transition="accept")
           .select_related("actor", "from_organisation__level", "to_organisation__level")
           .order_by("-at", "-pk").first())
    if log is None:  # an imported case without its history: the facts recorded on the case
        return {"title": _("受理通知书"), **_moment(case.registered_organisation,
                                                     [_who(u) for u in case.mediators.all()])}
    return {"title": _("受理通知书"), **_moment(_log_organisation(case, log), [_who(log.actor)] if log.actor else [])}


def _log_doc(case: Case, subject: Subject, title: str) -> dict[str, Any]:
    log = TransitionLog.objects.select_related("actor", "from_organisation", "to_organisation").get(
        pk=subject.subject_id, case=case)
    org = _log_organisation(case, log)
    return {"title": title, "at": _local(log.at), "reason": log.reason, "actor": _who(log.actor),
            "transition": log.transition, "from_state": log.get_from_state_display(),
            "from_state_code": log.from_state, "organisation": org.name, **_moment(org, _mediators_at(case, log))}


def _mediators_at(case: Case, log: TransitionLog) -> list[str]:
    """Who handled the case when the move was made: today's mediators if the case has not moved since."""
    moved_since = TransitionLog.objects.filter(case=case, at__gt=log.at).exclude(
        to_organisation=None).exclude(to_organisation_id=log.to_organisation_id).exists()
    if moved_since or case.organisation_id != _log_organisation(case, log).pk:
        return [_who(log.actor)] if log.actor else []
    return [_who(u) for u in case.mediators.all()]


def _rejection(case: Case, subject: Subject) -> dict[str, Any]:
    """The notice says why: a refusal of the respondents to mediate (人社部令第17号) reads as such."""
    doc = _log_doc(case, subject, _("不予受理通知书"))
    doc["respondent_refused"] = case.respondent_consent == Consent.REFUSED
    doc["refused_on"] = case.consent_recorded_on if doc["respondent_refused"] else None
    return doc


def _termination(case: Case, subject: Subject) -> dict[str, Any]:
    doc = _log_doc(case, subject, _("调解终止书"))
    doc["nonperformance"] = doc["transition"] == "report_nonperformance"
    agreement = case.effective_agreement() if doc["nonperformance"] else None
    if agreement is not None:
        doc["agreement"] = {"version": agreement.version, "effective_on": agreement.effective_on,
                            "total": money(agreement.total_amount), "paid": money(agreement.paid_amount)}
    return doc


def _closure(case: Case, subject: Subject) -> dict[str, Any]:
    doc = _log_doc(case, subject, _("结案审批表"))
    referral = case.referrals.order_by("-referred_on", "-pk").first()
    doc["referral"] = None if referral is None else {
        "destination": referral.get_destination_display(), "body": referral.body,
        "referred_on": referral.referred_on, "outcome": referral.get_outcome_display(),
        "outcome_on": referral.outcome_on, "summary": referral.outcome_summary,
        "amount": money(referral.outcome_amount) if referral.outcome_amount is not None else None}
    doc["follow_ups"] = [{"visited_on": f.visited_on, "method": f.get_method_display(), "content": f.content,
                          "satisfied": f.satisfied} for f in case.follow_ups.all()]
    doc["sessions"] = case.sessions.count()
    doc["archive_number"] = case.archive_number
    return doc


def _escalation(case: Case, subject: Subject) -> dict[str, Any]:
    e = case.escalations.select_related("from_organisation", "to_organisation", "requested_by",
                                        "decided_by").get(pk=subject.subject_id)
    return {"title": _("提级呈报表"), **_moment(e.from_organisation, [_who(e.requested_by)]),
            "from_organisation": e.from_organisation.name,
            "from_line": e.from_organisation.level.get_line_display(),
            "to_organisation": e.to_organisation.name, "to_line": e.to_organisation.level.get_line_display(),
            "from_state": e.get_from_state_display(), "reason": e.reason, "requested_by": _who(e.requested_by),
            "requested_at": _local(e.requested_at), "decision": e.get_decision_display(),
            "decided": e.decision != "pending", "decided_by": _who(e.decided_by),
            "decided_at": _local(e.decided_at), "decision_reason": e.decision_reason}


def _session(case: Case, subject: Subject) -> dict[str, Any]:
    s = case.sessions.select_related("organisation", "recorded_by").prefetch_related("mediators").get(
        pk=subject.subject_id)
    return {"title": _("调解笔录"), "held_at": _local(s.held_at), "place": s.place,
            "held_by": _organisation(s.organisation),
            "organisation": s.organisation.name, "mediators": [_who(u) for u in s.mediators.all()],
            "attendees": s.attendees, "record": s.record, "result": s.result, "recorded_by": _who(s.recorded_by)}


def _follow_up(case: Case, subject: Subject) -> dict[str, Any]:
    f = case.follow_ups.select_related("recorded_by").get(pk=subject.subject_id)
    agreement = case.effective_agreement()
    return {"title": _("回访记录"), **_moment(_organisation_at(case, f.recorded_at), [_who(f.recorded_by)]),
            "visited_on": f.visited_on, "method": f.get_method_display(),
            "contact": f.contact, "content": f.content, "satisfied": f.satisfied,
            "recorded_by": _who(f.recorded_by),
            "agreement": None if agreement is None else {
                "version": agreement.version, "effective_on": agreement.effective_on,
                "total": money(agreement.total_amount), "paid": money(agreement.paid_amount),
                "fully_paid": agreement.is_fully_paid()}}


def _agreement(case: Case, subject: Subject) -> dict[str, Any]:
    a = (case.agreements.select_related("supersedes", "drafted_by")
         .prefetch_related("terms", "instalments", "signatures").get(pk=subject.subject_id))
    signatures = list(a.signatures.all())
    signed: dict[int, dict[str, Any]] = {}
    parties = list(case.parties.select_related("person", "employer"))
    represents = {p.pk: p.represents_id for p in parties if p.role == PartyRole.AGENT}
    for s in signatures:
        if s.kind == Signature.Kind.PARTY and s.party_id:
            # An agent's signature counts for the party they represent (as agreement_missing_signatures does).
            signed.setdefault(represents.get(s.party_id) or s.party_id, {"name": s.signer_name, "on": s.signed_on})
    # A line for each party whose signature or seal the agreement needs: every respondent, and the
    # applicants' representatives for all applicants where there are any (arts. 7, 14).
    agents: dict[int, list[dict[str, str]]] = defaultdict(list)
    for p in parties:
        if p.role == PartyRole.AGENT and p.represents_id:
            agents[p.represents_id].append({"name": p.name})
    rows = [{"role": p.title, "name": p.name, "is_person": bool(p.person_id), "signed": signed.get(p.pk),
             "for_all": p.is_representative, "agents": agents.get(p.pk, [])}
            for p in agreement_signers(sorted(parties, key=lambda p: (_ROLE_ORDER.get(p.role, 9), p.position, p.pk)))]
    mediator = next(({"name": s.signer_name, "on": s.signed_on} for s in signatures
                     if s.kind == Signature.Kind.MEDIATOR), None)
    seal = next(({"name": s.signer_name, "on": s.signed_on} for s in signatures if s.kind == Signature.Kind.SEAL),
                None)
    total = a.total_amount
    return {
        **_moment(_organisation_at(case, a.drafted_at), [_who(a.drafted_by)]),
        "title": _("调解协议书"), "version": a.version, "status": a.status, "status_label": a.get_status_display(),
        # A draft prints either as a reading copy (草稿 on every page) or as the signing version, whose
        # signature lines are blank: it is the paper the parties sign and, once signed, the effective agreement.
        "is_draft": a.status == Agreement.Status.DRAFT and subject.stage != DocumentStage.SIGNING,
        "for_signing": subject.stage == DocumentStage.SIGNING,
        # Only an agreement signed before signing versions were printed is ever rendered after signing:
        # its lines are filled from the recorded signatures (see document_prepare).
        "signed_rendering": a.status != Agreement.Status.DRAFT and a.signing_document_id is None,
        # What was recorded from the signed paper, shown under the blank lines when the case file
        # reproduces a signed signing version (the signed original itself is embedded there).
        "recorded_signatures": [] if a.status == Agreement.Status.DRAFT else [
            {"label": s.get_kind_display(), "name": s.signer_name, "on": s.signed_on} for s in signatures],
        "revision": a.updated_at.isoformat(),
        "is_superseded": a.status == Agreement.Status.SUPERSEDED,
        "supersedes_version": a.supersedes.version if a.supersedes else None,
        "dispute_summary": a.dispute_summary, "claims_summary": a.claims_summary, "waived": a.waived,
        "copies": a.copies, "effective_on": a.effective_on,
        "terms": [{"number": t.number, "text": t.text} for t in a.terms.all()],
        "instalments": [{"number": i.number, "amount": money(i.amount), "due_on": i.due_on,
                         "method": i.get_method_display()} for i in a.instalments.all()],
        "total": money(total), "has_payment": total > 0,
        "signature_rows": rows, "signature_lines": agreement_signature_lines(rows),
        "mediator_signature": mediator, "seal": seal,
        "drafted_by": _who(a.drafted_by),
    }


_BUILDERS: dict[str, Callable[[Case, Subject], dict[str, Any]]] = {
    DocumentKind.APPLICATION_RECORD: _application,
    DocumentKind.ACCEPTANCE_NOTICE: _acceptance,
    DocumentKind.REJECTION_NOTICE: _rejection,
    DocumentKind.ESCALATION_FORM: _escalation,
    DocumentKind.SESSION_RECORD: _session,
    DocumentKind.AGREEMENT: _agreement,
    DocumentKind.TERMINATION_NOTICE: _termination,
    DocumentKind.FOLLOW_UP_RECORD: _follow_up,
    DocumentKind.CLOSURE_APPROVAL: _closure,
}


def _title(case: Case, subject: Subject, doc: dict[str, Any]) -> str:
    """The registry's title for the document (also the PDF's metadata title)."""
    if subject.kind == DocumentKind.APPLICATION_RECORD:
        return _application_title(case)
    if subject.kind == DocumentKind.AGREEMENT:
        # "协议第N版" is the agreement's own version (a correction), not the registry's version of the PDF.
        title = subject.kind_label if doc["version"] == 1 else _("调解协议书（协议第%(version)d版）") % {
            "version": doc["version"]}
        return title + (_("（草稿）") if doc.get("is_draft") else _("（签署版）") if doc.get("for_signing") else "")
    if subject.kind in (DocumentKind.SESSION_RECORD, DocumentKind.FOLLOW_UP_RECORD,
                        DocumentKind.ESCALATION_FORM) and subject.label:
        return f"{subject.kind_label}（{subject.label[:10]}）"
    return subject.kind_label


def issue_facts(case: Case, stamp: Stamp, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The issuer is the organisation of the moment the document speaks of (``doc["held_by"]``)."""
    held_by = (doc or {}).get("held_by")
    return {"code": format_code(stamp.code), "raw_code": stamp.code, "verify_url": stamp.verify_url,
            "qr": qr_data_uri(stamp.verify_url), "issued_at": _local(stamp.issued_at),
            "issuer": held_by["name"] if held_by else case.organisation.name}


@dataclass(frozen=True)
class Prepared:
    """Everything needed to render and register one document; picklable (plain values only)."""

    case_id: int
    kind: str
    subject_id: int
    title: str
    template_name: str
    context: dict[str, Any]
    pdf_variant: str | None
    freezes: bool
    code: str
    issued_at: datetime.datetime
    issuer: str
    #: ``DocumentStage`` of an agreement print ("" for every other document).
    stage: str = ""
    #: For the signing version: the draft's ``updated_at`` as read, so that registering refuses a print of a
    #: draft that was rewritten in the meantime.
    revision: str = ""


def prepare(case: Case, subject: Subject, stamp: Stamp) -> Prepared:
    """Read what ``subject``'s document shows; the result renders without touching the database."""
    with translation.override(DOCUMENT_LANGUAGE):
        parties = parties_of(case)
        case_data = case_facts(case, parties)
        if subject.kind == DocumentKind.CASE_FILE:
            doc = case_file_facts(case)
        else:
            doc = _BUILDERS[subject.kind](case, subject)
        title = _title(case, subject, doc)
        doc["title"] = doc.get("title") or title
        context: dict[str, Any] = {"case": case_data, "parties": parties, "doc": doc, "title": title,
                   "issue": issue_facts(case, stamp, doc)}
        if EMBEDDED_FILES in doc:  # the case file's originals: for render_pdf, not the template
            context[EMBEDDED_FILES] = doc.pop(EMBEDDED_FILES)
    return Prepared(case_id=case.pk, kind=subject.kind, subject_id=subject.subject_id, title=title,
                    template_name=TEMPLATES[subject.kind], context=context,
                    pdf_variant=VARIANTS.get(subject.kind), freezes=subject.freezes, code=stamp.code,
                    issued_at=stamp.issued_at, issuer=context["issue"]["issuer"], stage=subject.stage,
                    revision=doc.get("revision", "") if subject.stage == DocumentStage.SIGNING else "")


# --- the case file ----------------------------------------------------------------------------

def _timeline(case: Case, logs: list[TransitionLog]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for t in logs:
        move = f"{t.get_from_state_display()} → {t.get_to_state_display()}"
        source, target = t.from_organisation, t.to_organisation
        if source and target and source != target:
            move += f"（{source.display_name} → {target.display_name}）"
        items.append({"at": _local(t.at), "who": _who(t.actor), "what": move, "note": t.reason})
    for s in case.sessions.select_related("recorded_by"):
        items.append({"at": _local(s.held_at), "who": _who(s.recorded_by), "what": _("调解"),
                      "note": f"{s.place}{' · ' + s.result if s.result else ''}"})
    for e in case.escalations.select_related("to_organisation", "requested_by"):
        items.append({"at": _local(e.requested_at), "who": _who(e.requested_by),
                      "what": _("申请提级到 %(org)s") % {"org": e.to_organisation.display_name},
                      "note": f"{e.reason}（{e.get_decision_display()}）"})
    for f in case.follow_ups.select_related("recorded_by"):
        items.append({"at": _local(f.recorded_at), "who": _who(f.recorded_by), "what": _("回访"),
                      "note": f.content})
    for a in case.attachments.select_related("uploaded_by"):
        items.append({"at": _local(a.uploaded_at), "who": _who(a.uploaded_by), "what": _("上传附件"),
                      "note": a.original_name})
    for d in case.issued_documents.select_related("author").order_by("created_at", "pk"):
        items.append({"at": _local(d.created_at), "who": _who(d.author), "what": _("生成文书"),
                      "note": f"{d.title} 第{d.version}版（{d.code_display}）"})
    from mediation.documents.case_file_agreements import agreement_events  # it reads this module's helpers

    return sorted(items + agreement_events(case), key=lambda item: item["at"])


def case_file_facts(case: Case) -> dict[str, Any]:
    """Cover, index, every document of the case (rendered in full), the timeline, and the files it carries.

    The documents the register lists are carried as stored (``originals``), so the
    register and the embedded files are one and the same list.
    """
    from mediation.documents.case_file_agreements import agreement_registration
    from mediation.documents.originals import case_file_originals, standing_words, void_scans  # read the registry

    logs = _logs(case)
    registered = list(case.issued_documents.order_by("created_at", "pk"))
    listed = [d for d in registered if d.kind != DocumentKind.CASE_FILE]
    standings = standing_words(case, listed)
    latest: dict[tuple[str, int], IssuedDocument] = {}
    for d in registered:
        latest[(d.kind, d.subject_id)] = d
    agreements = {a.pk: a for a in case.agreements.all()}
    sections: list[dict[str, Any]] = []
    for subject in subjects_for(case, logs=logs):
        if subject.kind == DocumentKind.CASE_FILE:
            continue
        doc = _BUILDERS[subject.kind](case, subject)
        title = _title(case, subject, doc)
        doc["title"] = doc.get("title") or title
        if subject.kind == DocumentKind.AGREEMENT:
            issued = agreement_registration(agreements[subject.subject_id], subject, registered)
        else:
            issued = latest.get((subject.kind, subject.subject_id))
        sections.append({"anchor": f"doc-{len(sections) + 1}", "title": title, "label": subject.label,
                         "part": PARTS[subject.kind], "doc": doc,
                         "registered": None if issued is None else {
                             "code": issued.code_display, "version": issued.version, "sha256": issued.sha256,
                             "standing": standings.get(issued.pk, "")}})
    void = void_scans(case)
    return {
        "title": _("卷宗"),
        "sections": sections,
        "timeline": _timeline(case, logs),
        "attachments": [{"name": a.original_name, "sha256": a.sha256, "uploaded_at": _local(a.uploaded_at),
                         "size": a.size, "kind": _("已作废签署版的扫描件") if a.pk in void else a.get_kind_display()}
                        for a in case.attachments.all()],
        "registered": [{"title": d.title, "version": d.version, "created_at": _local(d.created_at),
                        "code": d.code_display, "sha256": d.sha256, "standing": standings[d.pk]}
                       for d in listed],
        EMBEDDED_FILES: case_file_originals(case, listed),
    }
