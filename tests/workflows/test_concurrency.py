"""Concurrent users cannot corrupt a case. Row locks need a real database: PostgreSQL."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
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
    assert "不能执行“批准提级”" in str(losses[0])
    assert TransitionLog.objects.filter(case=case, transition="approve_escalation").count() == 1
    case.refresh_from_db()
    assert case.state == CaseState.JOINT_MEDIATION and case.organisation == world.town_a
    assert case.escalations.get().decision == "approved"


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
