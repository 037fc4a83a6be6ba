"""Supervisors' tools on a case: assigning mediators and extending the mediation period."""
from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from mediation import services as ms
from tests.lifecycle import case_in_state
from workflows.models import DeadlineExtension
from workflows.states import CaseState


def test_supervisor_extends_the_mediation_period_with_recorded_consent(world):
    # Accepted on Wednesday 2026-11-04: 15 days end on Thursday 11-19 (a working day);
    # 15 + 10 days end on Sunday 11-29, a day off, so the period runs to Monday 11-30
    # (民法典 arts. 201, 203).
    with time_machine.travel(datetime.datetime(2026, 11, 4, 2, 0, tzinfo=datetime.timezone.utc), tick=False):
        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        assert case.mediation_due == datetime.date(2026, 11, 19)
        ms.deadline_extend(case_id=case.pk, actor=world.supervisor_a, extra_days=10,
                           consent_note="双方当事人于11月4日书面同意延长10日，已签字附卷")
    case.refresh_from_db()
    assert case.mediation_extra_days == 10
    assert case.mediation_due == datetime.date(2026, 11, 30)
    assert DeadlineExtension.objects.get(case=case).granted_by == world.supervisor_a


def test_extension_needs_consent_a_supervisor_and_a_running_mediation(world):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    with pytest.raises(ValidationError, match="双方当事人同意"):
        ms.deadline_extend(case_id=case.pk, actor=world.supervisor_a, extra_days=10, consent_note=" ")
    with pytest.raises(PermissionDenied):
        ms.deadline_extend(case_id=case.pk, actor=world.mediator_a, extra_days=10, consent_note="同意")
    with pytest.raises(PermissionDenied):
        ms.deadline_extend(case_id=case.pk, actor=world.supervisor_b, extra_days=10, consent_note="同意")
    settled = case_in_state(world, CaseState.SETTLED)
    from workflows.errors import ActionNotAllowed

    with pytest.raises(ActionNotAllowed):
        ms.deadline_extend(case_id=settled.pk, actor=world.supervisor_a, extra_days=10, consent_note="同意")
    assert not DeadlineExtension.objects.exists()


def test_only_supervisors_assign_and_only_people_of_the_handling_organisation(world):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    with pytest.raises(PermissionDenied):
        ms.mediators_assign(case_id=case.pk, actor=world.mediator_a, mediators=[world.mediator_a2])
    with pytest.raises(ValidationError):
        ms.mediators_assign(case_id=case.pk, actor=world.supervisor_a, mediators=[world.mediator_b])
    ms.mediators_assign(case_id=case.pk, actor=world.supervisor_a, mediators=[world.mediator_a2])
    assert list(case.mediators.all()) == [world.mediator_a2]


def test_sessions_are_recorded_only_while_the_case_is_worked(world):
    from workflows.errors import ActionNotAllowed

    registered = case_in_state(world, CaseState.REGISTERED)
    with pytest.raises(ActionNotAllowed):
        ms.session_record(case_id=registered.pk, actor=world.mediator_a, held_at=registered.received_at,
                          place="调解室", attendees="双方", record="笔录")
    with pytest.raises(ValidationError) as excinfo:
        ms.session_record(case_id=registered.pk, actor=world.mediator_a, held_at=registered.received_at,
                          place="", attendees="", record="")
    assert set(excinfo.value.message_dict) == {"place", "attendees", "record"}
    assert not registered.sessions.exists()
