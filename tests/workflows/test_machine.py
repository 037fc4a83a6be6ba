"""Every allowed and every disallowed transition from every state, against DOMAIN.md §3 written out by hand."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from mediation.transitions import MOVES
from tests.lifecycle import (
    act,
    case_in_state,
    print_for_signing,
    satisfy_conditions,
    signing_code,
    snapshot,
    supervisor_for,
)
from workflows.errors import ActionNotAllowed
from workflows.machine import TRANSITION_NAMES, graph
from workflows.models import TransitionLog
from workflows.states import CaseState as S

# DOMAIN.md §3, edge by edge, typed from the text and not from the code: a wrong edge in the
# machine (or a missing one) must fail here. (transition, source) -> every state it may lead to.
WORKING = (S.SELF_RESOLUTION, S.JOINT_MEDIATION, S.LINKED_MEDIATION)
# Closed from mediation_failed too: parties who go neither to arbitration nor to court (issue 10 §6).
CLOSED_FROM = (S.PERFORMED, S.REJECTED, S.WITHDRAWN, S.REFERRED, S.MEDIATION_FAILED)
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("accept", S.REGISTERED): set(WORKING),  # the handling organisation's line decides
    ("reject", S.REGISTERED): {S.REJECTED},
    **{("request_escalation", w): {S.ESCALATION_PENDING} for w in WORKING},
    ("approve_escalation", S.ESCALATION_PENDING): set(WORKING),  # the target organisation's line
    ("deny_escalation", S.ESCALATION_PENDING): set(WORKING),  # back to where the request was made
    ("cancel_escalation", S.ESCALATION_PENDING): set(WORKING),  # the requester takes it back: same
    **{("record_agreement", w): {S.SETTLED} for w in WORKING},
    **{("terminate", w): {S.MEDIATION_FAILED} for w in WORKING},
    ("confirm_performance", S.SETTLED): {S.PERFORMED},
    ("report_nonperformance", S.SETTLED): {S.MEDIATION_FAILED},
    # a performed case reopened because the terms were not kept after all (arts. 15–16)
    ("report_nonperformance", S.PERFORMED): {S.MEDIATION_FAILED},
    ("refer", S.MEDIATION_FAILED): {S.REFERRED},
    **{("withdraw", s): {S.WITHDRAWN} for s in (S.REGISTERED, *WORKING, S.ESCALATION_PENDING)},
    **{("close", s): {S.CLOSED} for s in CLOSED_FROM},
    ("reopen", S.CLOSED): set(CLOSED_FROM),  # back to the state it was closed from
}
DISALLOWED = [(name, state) for state in S.values for name in TRANSITION_NAMES if (name, state) not in ALLOWED]


def test_the_graph_has_exactly_the_edges_domain_md_names():
    edges = graph()
    assert len(edges) == len({(name, source) for name, source, _ in edges})
    assert {(name, source): set(targets) for name, source, targets in edges} == ALLOWED


def test_every_state_is_reachable_and_every_non_final_state_can_move():
    edges = graph()
    targets = {t for _, _, ts in edges for t in ts}
    sources = {s for _, s, _ in edges}
    assert targets | {S.REGISTERED} == set(S.values)
    assert sources == set(S.values)  # closed can be reopened: nothing is a dead end


@pytest.mark.parametrize(("name", "source"), sorted(ALLOWED), ids=lambda v: str(v))
def test_allowed_transition_moves_the_case_and_logs_it(world, name, source):
    case = case_in_state(world, source)
    assert case.state == source
    satisfy_conditions(world, case, name)
    logs_before = case.transitions.count()
    after = act(world, case, name)
    assert after.state in ALLOWED[(name, source)]
    assert after.state != source or name == "reopen"
    log = TransitionLog.objects.filter(case=case).order_by("-pk").first()
    assert after.transitions.count() == logs_before + 1
    assert log is not None
    assert (log.transition, log.from_state, log.to_state) == (name, source, after.state)
    assert log.actor_id is not None


@pytest.mark.parametrize(("name", "state"), DISALLOWED, ids=lambda v: str(v))
def test_disallowed_transition_is_refused_and_changes_nothing(world, name, state):
    case = case_in_state(world, state)
    before = snapshot(case)
    with pytest.raises(ActionNotAllowed) as excinfo:
        act(world, case, name)
    assert "不能执行" in str(excinfo.value)
    assert snapshot(case) == before


def test_accept_goes_to_the_working_state_of_the_handling_organisations_line(world):
    assert act(world, case_in_state(world, S.REGISTERED), "accept").state == S.JOINT_MEDIATION
    from tests.factories import register

    enterprise_case = register(world.enterprise_mediator, world.enterprise_a)
    assert act(world, enterprise_case, "accept").state == S.SELF_RESOLUTION
    district_case = register(world.district_mediator, world.district)
    assert act(world, district_case, "accept").state == S.LINKED_MEDIATION


def test_approved_escalation_moves_case_to_target_organisation_and_its_line(world):
    case = case_in_state(world, S.ESCALATION_PENDING)
    assert case.organisation == world.enterprise_a
    after = act(world, case, "approve_escalation")
    assert after.organisation == world.town_a
    assert after.state == S.JOINT_MEDIATION
    escalation = after.escalations.get()
    assert escalation.decision == "approved" and escalation.decided_by == world.supervisor_a


def test_denied_escalation_returns_to_the_state_recorded_at_the_request(world):
    case = case_in_state(world, S.ESCALATION_PENDING)
    after = act(world, case, "deny_escalation")
    assert after.state == S.SELF_RESOLUTION
    assert after.organisation == world.enterprise_a
    assert after.escalations.get().decision == "denied"


def test_reopen_returns_to_the_state_the_case_was_closed_from(world):
    case = case_in_state(world, S.CLOSED)
    assert case.closed_from_state == S.REJECTED
    assert act(world, case, "reopen").state == S.REJECTED


NEEDS_REASON = ["reject", "request_escalation", "deny_escalation", "cancel_escalation", "terminate",
                "report_nonperformance", "withdraw", "reopen"]


def test_every_transition_has_one_move_whose_form_asks_for_a_reason_exactly_when_one_is_needed():
    assert set(MOVES) == set(TRANSITION_NAMES)
    reason_fields = {name: move.form.base_fields.get("reason") for name, move in MOVES.items() if move.form}
    assert {name for name, field in reason_fields.items() if field and field.required} == set(NEEDS_REASON)


@pytest.mark.parametrize("name", NEEDS_REASON)
def test_transition_that_needs_a_reason_refuses_a_blank_one(world, name):
    source = next(s for (n, s) in ALLOWED if n == name)
    case = case_in_state(world, source)
    before = snapshot(case)
    actor = {"deny_escalation": world.supervisor_a,
             "cancel_escalation": world.enterprise_mediator}.get(name) or supervisor_for(world, case)
    with pytest.raises(ValidationError) as excinfo:
        MOVES[name].perform(case_id=case.pk, actor=actor, data={"reason": "  " if name == "reject" else "",
                                                                 "to_organisation": case.organisation.parent})
    assert excinfo.value.message_dict["reason"] == ["请填写理由。"]
    assert snapshot(case) == before


def test_record_agreement_is_refused_until_the_agreement_is_effective(world):
    from mediation import services as ms
    from mediation.models import Signature

    case = case_in_state(world, S.JOINT_MEDIATION)
    agreement = ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资",
                                   terms=["支付工资"], instalments=[])
    print_for_signing(world.mediator_a, agreement)
    ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                        actor=world.mediator_a, kind=Signature.Kind.MEDIATOR,
                        signed_on=case.received_at.date())
    before = snapshot(case)
    with pytest.raises(ActionNotAllowed, match="调解协议尚未生效"):
        act(world, case, "record_agreement")
    assert snapshot(case) == before
    missing = ms.agreement_missing_signatures(agreement)
    assert "调解组织盖章" in missing and any("申请人" in m for m in missing)


def test_performed_case_cannot_close_without_a_follow_up_visit(world):
    case = case_in_state(world, S.PERFORMED)
    before = snapshot(case)
    with pytest.raises(ActionNotAllowed, match="回访"):
        act(world, case, "close")
    assert snapshot(case) == before


def test_referred_case_cannot_close_until_the_outcome_is_recorded(world):
    case = case_in_state(world, S.REFERRED)
    with pytest.raises(ActionNotAllowed, match="闭环"):
        act(world, case, "close")
    case.refresh_from_db()
    assert case.state == S.REFERRED


def test_confirm_performance_needs_every_instalment_paid(world):
    case = case_in_state(world, S.SETTLED)
    with pytest.raises(ActionNotAllowed, match="尚未全部履行"):
        act(world, case, "confirm_performance")


def test_an_unmet_condition_is_explained_in_the_language_of_the_page(world):
    case = case_in_state(world, S.SETTLED)
    with translation.override("en"), pytest.raises(ActionNotAllowed, match="not been paid in full"):
        act(world, case, "confirm_performance")


def test_withdrawing_a_case_waiting_for_escalation_cancels_the_request(world):
    case = case_in_state(world, S.ESCALATION_PENDING)
    act(world, case, "withdraw", actor=world.enterprise_mediator)
    assert case.escalations.get().decision == "cancelled"


def test_the_requester_cancels_a_pending_escalation_back_to_where_it_was(world):
    """Issue 10 §4: the requester takes the request back; the case returns to the state it was
    requested from, at its organisation, and the request is recorded as cancelled by them, with the reason."""
    case = case_in_state(world, S.ESCALATION_PENDING)  # requested by the enterprise mediator, to town_a
    after = MOVES["cancel_escalation"].perform(case_id=case.pk, actor=world.enterprise_mediator,
                                               data={"reason": "企业已同意继续协商"},
                                               expected_state=S.ESCALATION_PENDING)
    assert (after.state, after.organisation) == (S.SELF_RESOLUTION, world.enterprise_a)
    request = case.escalations.get()
    assert (request.decision, request.decided_by, request.decision_reason) == (
        "cancelled", world.enterprise_mediator, "企业已同意继续协商")
    assert request.decided_at is not None
    log = after.transitions.order_by("-pk").first()
    assert (log.transition, log.from_state, log.to_state, log.reason) == (
        "cancel_escalation", S.ESCALATION_PENDING, S.SELF_RESOLUTION, "企业已同意继续协商")
    assert act(world, after, "request_escalation").state == S.ESCALATION_PENDING  # it may be asked again


@pytest.mark.parametrize("who", ["supervisor_a", "enterprise_supervisor", "district_supervisor"])
def test_nobody_but_the_requester_cancels_an_escalation_request(world, who):
    """Issue 10 §4: cancelling is the requester's; a supervisor denies instead (and gives reasons)."""
    from django.core.exceptions import PermissionDenied

    case = case_in_state(world, S.ESCALATION_PENDING)
    before = snapshot(case)
    with pytest.raises(PermissionDenied, match="撤回提级申请"):
        act(world, case, "cancel_escalation", actor=getattr(world, who))
    assert snapshot(case) == before


def test_a_reopened_performed_case_can_report_non_performance(world):
    """劳动争议调解仲裁法 arts. 15–16: if a party does not perform the agreement, the other may
    apply for arbitration; a performed case reopened for that reason must be able to say so."""
    case = case_in_state(world, S.PERFORMED)
    satisfy_conditions(world, case, "close")
    act(world, case, "close")
    reopened = act(world, case, "reopen")
    assert reopened.state == S.PERFORMED
    failed = act(world, reopened, "report_nonperformance", actor=world.mediator_a)
    assert failed.state == S.MEDIATION_FAILED
    assert failed.transitions.filter(transition="report_nonperformance").get().from_state == S.PERFORMED


def test_a_failed_mediation_closes_only_after_the_termination_notice(world):
    """Closing a failed mediation nobody takes further: the 调解终止书 (DOMAIN.md §7) tells the parties
    they may apply for arbitration (劳动争议调解仲裁法 arts. 14 ¶3, 15–16), so it must have been issued."""
    case = case_in_state(world, S.MEDIATION_FAILED)
    before = snapshot(case)
    with pytest.raises(ActionNotAllowed, match="调解终止书"):
        act(world, case, "close")
    assert snapshot(case) == before


def test_a_failed_mediation_is_not_closed_without_a_reason(world):
    """Why the parties go no further (the arbitration time limit of art. 27 ran out, the applicant
    said so …) is on the record: a blank reason is refused."""
    from tests.lifecycle import issue_termination_notice

    case = case_in_state(world, S.MEDIATION_FAILED)
    issue_termination_notice(world, case)
    before = snapshot(case)
    with pytest.raises(ValidationError) as excinfo:
        MOVES["close"].perform(case_id=case.pk, actor=world.supervisor_a, data={"reason": " "})
    assert "理由" in excinfo.value.message_dict["reason"][0]
    assert snapshot(case) == before
    closed = MOVES["close"].perform(case_id=case.pk, actor=world.supervisor_a,
                                    data={"reason": "申请人表示不再申请仲裁"})
    assert (closed.state, closed.closed_from_state) == (S.CLOSED, S.MEDIATION_FAILED)
