"""A case's state as people read it (DOMAIN.md §2), in Chinese and in English."""
from __future__ import annotations

from django.utils import translation

from mediation.models import Case
from workflows.states import CaseState


def test_the_state_label_is_the_states_name_in_the_active_language():
    case = Case(state=CaseState.JOINT_MEDIATION)
    with translation.override("zh-hans"):
        assert case.get_state_display() == "联合调解"
    with translation.override("en"):
        assert case.get_state_display() == "Joint mediation"
    with translation.override("zh-hans"):
        assert Case(state=CaseState.REGISTERED).get_state_display() == "已登记"


def test_a_state_the_code_does_not_know_is_shown_as_stored():
    case = Case()
    case.__dict__["state"] = "archived_by_hand"  # a row written outside the lifecycle
    assert case.get_state_display() == "archived_by_hand"
