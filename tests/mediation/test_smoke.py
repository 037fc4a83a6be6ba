from mediation.models import Case
from tests.factories import register
from workflows import services
from workflows.states import CaseState


def test_mediator_registers_and_accepts_a_case_in_their_township(world):
    case = register(world.mediator_a, world.town_a, applicants=2)
    assert case.number == "锦调〔%d〕0001号" % case.sequence_year
    assert case.state == CaseState.REGISTERED
    case = services.case_accept(case_id=case.pk, actor=world.mediator_a)
    assert Case.objects.get(pk=case.pk).state == CaseState.JOINT_MEDIATION
    assert case.transitions.count() == 1
