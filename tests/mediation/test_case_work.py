"""Supervisors' tools on a case: assigning mediators and extending the mediation period."""
from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from mediation import services as ms
from tests.lifecycle import case_in_state
from workflows.models import DeadlineExtension
from workflows.states import CaseState


def test_supervisor_extends_the_mediation_period_with_recorded_consent(world):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    before = case.mediation_due
    ms.deadline_extend(case_id=case.pk, actor=world.supervisor_a, extra_days=10,
                       consent_note="双方当事人于11月20日书面同意延长10日，已签字附卷")
    case.refresh_from_db()
    assert case.mediation_extra_days == 10
    assert case.mediation_due >= before + datetime.timedelta(days=10)
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
