"""Put cases into any state through the real services, for tests that start mid-lifecycle."""
from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError

from mediation import services as ms
from mediation.models import Agreement, Case, Organisation, PartyRole, Referral, Signature
from mediation.transitions import MOVES
from tests.factories import register
from workflows import services as ws
from workflows.clocks import local_date
from workflows.states import CaseState as S

TODAY = datetime.date(2026, 11, 20)


def supervisor_for(world, case: Case):
    """A supervisor whose subtree covers the case's organisation."""
    org = case.organisation
    if org.pk in (world.district.pk, world.court_desk.pk):
        return world.district_supervisor
    if org.pk == world.town_b.pk:
        return world.supervisor_b
    return world.supervisor_a


def mediator_for(world, case: Case):
    return _mediator_at(world, case.organisation)


def _mediator_at(world, org):
    return {world.district.pk: world.district_mediator, world.town_a.pk: world.mediator_a,
            world.town_b.pk: world.mediator_b, world.enterprise_a.pk: world.enterprise_mediator,
            world.court_desk.pk: world.court_desk_mediator}[org.pk]


def accepted(world, org) -> Case:
    mediator = _mediator_at(world, org)
    case = register(mediator, org)
    return ws.case_accept(case_id=case.pk, actor=mediator)


def signing_code(agreement: Agreement) -> str:
    """The verification code printed on the agreement's signing version: signatures are recorded against it."""
    document = Agreement.objects.select_related("signing_document").get(pk=agreement.pk).signing_document
    return document.verification_code if document is not None else ""


def print_for_signing(actor, agreement: Agreement):
    """Issue the agreement's signing version (签署版), the paper the parties sign: signatures need it."""
    from mediation.documents import services as documents

    return documents.document_issue(case_id=agreement.case_id, kind="agreement", actor=actor,
                                    subject_id=agreement.pk, stage="signing")


def effective_agreement(world, case: Case, *, instalments=2) -> Agreement:
    actor = mediator_for(world, case)
    agreement = ms.agreement_draft(
        case_id=case.pk, actor=actor, dispute_summary="拖欠工资",
        terms=["被申请人于2026年12月31日前支付申请人工资人民币壹万贰仟元整。", "双方就本争议再无其他纠纷。"],
        instalments=[ms.InstalmentInput(amount=Decimal("6000.00"), due_on=TODAY + datetime.timedelta(days=30 * i))
                     for i in range(1, instalments + 1)])
    print_for_signing(actor, agreement)
    for party in case.parties.exclude(role=PartyRole.AGENT):
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=actor, kind=Signature.Kind.PARTY, party_id=party.pk,
                            signed_on=TODAY)
    ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                        actor=actor, kind=Signature.Kind.MEDIATOR, signed_on=TODAY)
    ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                        actor=actor, kind=Signature.Kind.SEAL, signed_on=TODAY)
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.EFFECTIVE
    return agreement


def pay_all(world, case: Case) -> None:
    agreement = case.effective_agreement()
    for inst in agreement.instalments.all():
        ms.instalment_record_payment(instalment_id=inst.pk, actor=mediator_for(world, case), paid_on=TODAY,
                                     paid_amount=inst.amount)


def case_in_state(world, state: str) -> Case:
    """A case in ``state`` reached only through services, with a consistent history."""
    if state == S.REGISTERED:
        return register(world.mediator_a, world.town_a)
    # Keyed by str: ``state`` may be a plain value (CaseState members hash and compare as their values).
    working_at: dict[str, Organisation] = {S.SELF_RESOLUTION: world.enterprise_a, S.JOINT_MEDIATION: world.town_a,
                  S.LINKED_MEDIATION: world.court_desk}  # one organisation of each line
    if state in working_at:
        return accepted(world, working_at[state])
    if state == S.ESCALATION_PENDING:
        case = accepted(world, world.enterprise_a)
        ws.escalation_request(case_id=case.pk, actor=world.enterprise_mediator,
                              to_organisation_id=world.town_a.pk, reason="企业内部协商未果，涉及金额较大")
        return Case.objects.get(pk=case.pk)
    if state == S.REJECTED:
        case = register(world.mediator_a, world.town_a)
        return ws.case_reject(case_id=case.pk, actor=world.mediator_a, reason="不属于劳动争议受理范围")
    if state == S.WITHDRAWN:
        case = register(world.mediator_a, world.town_a)
        return ws.case_withdraw(case_id=case.pk, actor=world.mediator_a, reason="申请人撤回")
    if state == S.SETTLED:
        case = accepted(world, world.town_a)
        effective_agreement(world, case)
        return ws.case_record_agreement(case_id=case.pk, actor=world.mediator_a)
    if state == S.PERFORMED:
        case = case_in_state(world, S.SETTLED)
        pay_all(world, case)
        return ws.case_confirm_performance(case_id=case.pk, actor=world.mediator_a)
    if state == S.MEDIATION_FAILED:
        case = accepted(world, world.town_a)
        return ws.case_terminate(case_id=case.pk, actor=world.mediator_a, reason="双方分歧较大，调解不成")
    if state == S.REFERRED:
        case = case_in_state(world, S.MEDIATION_FAILED)
        return ws.case_refer(case_id=case.pk, actor=world.mediator_a, destination=Referral.Destination.ARBITRATION,
                             body="宁波市奉化区劳动人事争议仲裁委员会", referred_on=TODAY)
    if state == S.CLOSED:
        case = case_in_state(world, S.REJECTED)
        return ws.case_close(case_id=case.pk, actor=world.supervisor_a, reason="不予受理，归档")
    raise AssertionError(f"no recipe for {state}")


def satisfy_conditions(world, case: Case, name: str) -> None:
    """Make the conditions of ``name`` true (the facts a real user would record first)."""
    if name == "record_agreement":
        effective_agreement(world, case)
    elif name == "confirm_performance":
        pay_all(world, case)
    elif name == "close" and case.state == S.PERFORMED:
        ms.followup_record(case_id=case.pk, actor=mediator_for(world, case), visited_on=TODAY, method="phone",
                           contact="申请人", content="款项已全部到账，申请人表示满意")
    elif name == "close" and case.state == S.MEDIATION_FAILED:
        issue_termination_notice(world, case)
    elif name == "close" and case.state == S.REFERRED:
        referral = case.referrals.get()
        ms.referral_record_outcome(referral_id=referral.pk, actor=mediator_for(world, case),
                                   outcome=Referral.Outcome.AWARD, outcome_on=TODAY, summary="仲裁裁决支付工资")


def issue_termination_notice(world, case: Case) -> None:
    """Issue the 调解终止书 of the case's latest move into mediation_failed."""
    from mediation.documents import services as documents
    from mediation.documents.context import subjects_for

    subject = subjects_for(case, "termination_notice")[-1]
    documents.document_issue(case_id=case.pk, kind=subject.kind, subject_id=subject.subject_id,
                             actor=mediator_for(world, case))


#: What a user fills in: each move's form takes the fields it has (DOMAIN.md §3).
USER_INPUT = {"reason": "依法处理", "destination": "court", "body": "奉化区人民法院", "referred_on": TODAY,
              "applicant_withdrew": "on",  # the applicant's withdrawal, confirmed
              # Acceptance: the respondents agreed to mediation (人社部令第17号); a rejection for another reason.
              "consent_confirmed": "on", "consent_note": "电话征询被申请人，同意调解", "reason_kind": "other"}


def act(world, case: Case, name: str, actor=None) -> Case:
    """Make move ``name`` as the case page does: its form validates the input, its service acts."""
    if actor is None and name == "cancel_escalation" and case.pending_escalation():
        actor = case.pending_escalation().requested_by  # the requester alone takes it back
    if actor is None and name == "request_escalation":
        actor = mediator_for(world, case)  # who works the case asks; a supervisor above decides
    actor = actor or (world.supervisor_a if name in {"approve_escalation", "deny_escalation"}
                      else supervisor_for(world, case))
    move = MOVES[name]
    form = move.bind(case, {**USER_INPUT, "to_organisation": case.organisation.parent_id,
                            "consent_recorded_on": local_date(case.received_at)})
    if form is not None and not form.is_valid():
        raise ValidationError(form.errors.as_data())
    move.perform(case_id=case.pk, actor=actor, data=form.cleaned_data if form is not None else {})
    return Case.objects.get(pk=case.pk)


def snapshot(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (case.state, case.organisation_id, case.transitions.count(), case.escalations.count(),
            case.updated_at)
