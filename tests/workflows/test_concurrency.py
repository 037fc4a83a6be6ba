"""Concurrent users cannot corrupt a case. Row locks need a real database: PostgreSQL."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition

from mediation.models import Case
from mediation.services import case_register
from tests.factories import member, registration
from tests.lifecycle import case_in_state
from workflows import services as ws
from workflows.errors import ActionNotAllowed
from workflows.models import TransitionLog
from workflows.states import CaseState

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="row locks and parallel connections need PostgreSQL")


def run_in_threads(target, args_list):
    """Run target(*args) in one thread each, starting together; return results or exceptions."""
    results: list[object] = [None] * len(args_list)
    barrier = threading.Barrier(len(args_list))

    def worker(i, args):
        try:
            barrier.wait()
            results[i] = target(*args)
        except Exception as exc:  # any exception: the test inspects what each thread got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_supervisors_approving_the_same_escalation_one_wins(world):
    case = case_in_state(world, CaseState.ESCALATION_PENDING)  # enterprise_a → town_a
    second_supervisor = member(world.town_a, "supervisor")
    holding = threading.Event()
    release = threading.Event()

    def hold_the_row():
        # Hold the case row so both approvals are queued on the lock at the same time.
        with transaction.atomic():
            list(Case.objects.select_for_update().filter(pk=case.pk))
            holding.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert holding.wait(10)

    def approve(user):
        return ws.escalation_approve(case_id=case.pk, actor=user, reason="同意提级")

    results: list[object] = []
    approver = threading.Thread(target=lambda: results.extend(
        run_in_threads(approve, [(world.supervisor_a,), (second_supervisor,)])))
    approver.start()
    time.sleep(0.5)  # both approvals are now waiting for the row
    release.set()
    holder.join(10)
    approver.join(60)

    wins = [r for r in results if isinstance(r, Case)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert isinstance(losses[0], ActionNotAllowed)
    assert TransitionLog.objects.filter(case=case, transition="approve_escalation").count() == 1
    case.refresh_from_db()
    assert case.state == CaseState.JOINT_MEDIATION and case.organisation == world.town_a
    request = case.escalations.get()
    assert request.decision == "approved"
    # Issue 10 §4: the loser is told who decided and when, not only that the state moved on.
    winner = request.decided_by
    assert winner is not None and winner in (world.supervisor_a, second_supervisor)
    when = timezone.localtime(request.decided_at).strftime("%Y-%m-%d %H:%M")
    assert str(losses[0]) == f"该提级申请已由 {winner.get_full_name()} 于 {when} 批准，无需再审批。"


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_parallel_registrations_get_twenty_distinct_gapless_numbers(world):
    def register_one(_):
        return case_register(actor=world.mediator_a, data=registration(world.town_a))

    results = run_in_threads(register_one, [(i,) for i in range(20)])
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    numbers = sorted(Case.objects.filter(registered_organisation=world.town_a)
                     .values_list("sequence_number", flat=True))
    assert numbers == list(range(1, 21))
    assert Case.objects.filter(registered_organisation=world.town_a).values("number").distinct().count() == 20


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_different_moves_on_one_case_leave_one_consistent_result(world):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)

    def terminate():
        return ws.case_terminate(case_id=case.pk, actor=world.mediator_a, reason="调解不成")

    def withdraw():
        return ws.case_withdraw(case_id=case.pk, actor=world.mediator_a2, reason="申请人撤回")

    results = run_in_threads(lambda f: f(), [(terminate,), (withdraw,)])
    assert sum(isinstance(r, Case) for r in results) == 1
    assert sum(isinstance(r, ActionNotAllowed) for r in results) == 1
    case.refresh_from_db()
    assert case.state in {CaseState.MEDIATION_FAILED, CaseState.WITHDRAWN}
    assert case.transitions.count() == 2  # accept + the one that won


def test_a_stale_case_object_cannot_overwrite_a_newer_state(world):
    case = case_in_state(world, CaseState.REGISTERED)
    stale = Case.objects.get(pk=case.pk)
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    stale.reject()  # in memory: registered → rejected
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    case.refresh_from_db()
    assert case.state == CaseState.JOINT_MEDIATION


def test_the_state_field_cannot_be_assigned_directly(world):
    case = case_in_state(world, CaseState.REGISTERED)
    with pytest.raises(AttributeError):
        case.state = CaseState.CLOSED


def test_expected_state_guards_against_acting_on_a_stale_page(world):
    from workflows.errors import ConcurrentChange

    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    ws.case_terminate(case_id=case.pk, actor=world.mediator_a2, reason="调解不成")
    with pytest.raises(ConcurrentChange, match="请刷新页面"):
        ws.case_withdraw(case_id=case.pk, actor=world.mediator_a, reason="撤回",
                         expected_state=CaseState.JOINT_MEDIATION)


def _said(user, at) -> tuple[str, str]:
    return user.get_full_name(), timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(("first", "decision"), [("approve", "批准"), ("deny", "决定不予提级")])
def test_a_second_decision_on_a_decided_request_says_who_decided_and_when(world, first, decision):
    """Issue 10 §4, the two decisions one after the other: the second supervisor's approval (or denial)
    finds the request settled and is told by whom and at what time; nothing changes."""
    from tests.lifecycle import snapshot

    case = case_in_state(world, CaseState.ESCALATION_PENDING)  # enterprise_a → town_a
    if first == "approve":
        ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a, reason="同意")
    else:
        ws.escalation_deny(case_id=case.pk, actor=world.supervisor_a, reason="企业仍可自行协商")
    request = case.escalations.get()
    who, when = _said(world.supervisor_a, request.decided_at)
    before = snapshot(case)
    for second in (ws.escalation_approve, ws.escalation_deny):
        with pytest.raises(ActionNotAllowed) as excinfo:
            second(case_id=case.pk, actor=world.district_supervisor, reason="同意")
        assert str(excinfo.value) == f"该提级申请已由 {who} 于 {when} {decision}，无需再审批。"
    assert snapshot(case) == before


def test_a_decision_after_the_requester_cancelled_says_so(world):
    case = case_in_state(world, CaseState.ESCALATION_PENDING)
    ws.escalation_cancel(case_id=case.pk, actor=world.enterprise_mediator, reason="继续协商")
    who, when = _said(world.enterprise_mediator, case.escalations.get().decided_at)
    with pytest.raises(ActionNotAllowed) as excinfo:
        ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a)
    assert str(excinfo.value) == f"该提级申请已由 {who} 于 {when} 撤销，无需再审批。"


def test_the_requester_cancelling_a_request_already_approved_is_told_it_cannot(world):
    case = case_in_state(world, CaseState.ESCALATION_PENDING)
    ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a)
    who, when = _said(world.supervisor_a, case.escalations.get().decided_at)
    with pytest.raises(ActionNotAllowed) as excinfo:
        ws.escalation_cancel(case_id=case.pk, actor=world.enterprise_mediator, reason="撤回",
                             expected_state=CaseState.ESCALATION_PENDING)
    assert str(excinfo.value) == f"该提级申请已由 {who} 于 {when} 批准，不能再撤回。"


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_approval_and_denial_at_the_same_time_the_loser_is_told_the_winner(world):
    """The two decisions truly concurrent (row lock): one wins, the other names the winner."""
    case = case_in_state(world, CaseState.ESCALATION_PENDING)

    def approve():
        return ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a, reason="同意")

    def deny():
        return ws.escalation_deny(case_id=case.pk, actor=world.district_supervisor, reason="不同意")

    results = run_in_threads(lambda f: f(), [(approve,), (deny,)])
    losses = [r for r in results if isinstance(r, Exception)]
    assert sum(isinstance(r, Case) for r in results) == 1 and len(losses) == 1, results
    request = case.escalations.get()
    who, when = _said(request.decided_by, request.decided_at)
    verb = {"approved": "批准", "denied": "决定不予提级"}[request.decision]
    assert isinstance(losses[0], ActionNotAllowed)
    assert str(losses[0]) == f"该提级申请已由 {who} 于 {when} {verb}，无需再审批。"
    assert case.transitions.filter(transition__in=["approve_escalation", "deny_escalation"]).count() == 1
