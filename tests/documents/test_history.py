"""Documents speak of the moment they describe (DOMAIN.md §4, last paragraph).

A notice issued today about last month's acceptance names the organisation that received and
accepted the application then, and the mediator who accepted it, also after the case moved up a
line (劳动争议调解仲裁法 art. 14: the organisation that received the application counts its days).
"""
from __future__ import annotations

import pytest

from mediation.documents import services
from mediation.documents.context import subjects_for
from mediation.documents.models import DocumentKind
from mediation.models import Case
from tests.documents import pdfcheck
from tests.lifecycle import accepted
from workflows import services as ws

K = DocumentKind
ENTERPRISE = "宁波甬达机械有限公司劳动争议调解委员会"
TOWNSHIP = "锦屏街道劳动争议调解中心"


@pytest.fixture
def escalated(world):
    """Accepted by the enterprise committee's mediator, then moved to the township with its own mediator."""
    for user, name in ((world.enterprise_mediator, "甬达调解员甲"), (world.mediator_a, "街道调解员乙")):
        user.first_name, user.last_name = name, ""
        user.save(update_fields=["first_name", "last_name"])
    case = accepted(world, world.enterprise_a)
    ws.escalation_request(case_id=case.pk, actor=world.enterprise_mediator, to_organisation_id=world.town_a.pk,
                          reason="企业内部协商未果，涉及金额较大")
    return ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a, reason="同意提级",
                                 mediators=[world.mediator_a])


def issued_text(world, case, kind, subject_id=0) -> str:
    document = services.document_issue(case_id=case.pk, kind=kind, subject_id=subject_id, actor=world.supervisor_a)
    return pdfcheck.squeezed(pdfcheck.stored(document))


def test_acceptance_notice_after_escalation_names_the_committee_that_accepted_and_its_mediator(world, media,
                                                                                              escalated):
    assert escalated.organisation == world.town_a  # the case is at the township now
    text = issued_text(world, escalated, K.ACCEPTANCE_NOTICE)
    assert ENTERPRISE in text and "甬达调解员甲" in text
    assert TOWNSHIP not in text and "街道调解员乙" not in text


@pytest.mark.parametrize("form", ["oral", "written"])
def test_application_record_is_addressed_to_the_organisation_the_worker_applied_to(world, media, escalated, form):
    Case.objects.filter(pk=escalated.pk).update(application_form=form)
    text = issued_text(world, escalated, K.APPLICATION_RECORD)
    if form == "oral":  # recorded by whoever registered it, at the committee it was made to
        assert f"向{ENTERPRISE}申请调解" in text and "甬达调解员甲" in text
    else:
        assert f"此致{ENTERPRISE}" in text
    assert TOWNSHIP not in text and "街道调解员乙" not in text


def test_escalation_form_names_both_organisations(world, media, escalated):
    (subject,) = subjects_for(escalated, K.ESCALATION_FORM)
    text = issued_text(world, escalated, K.ESCALATION_FORM, subject.subject_id)
    assert ENTERPRISE in text and TOWNSHIP in text


def test_a_move_made_after_the_escalation_speaks_of_the_township(world, media, escalated):
    case = ws.case_terminate(case_id=escalated.pk, actor=world.mediator_a, reason="双方分歧较大，调解不成")
    (subject,) = subjects_for(case, K.TERMINATION_NOTICE)
    text = issued_text(world, case, K.TERMINATION_NOTICE, subject.subject_id)
    assert f"{TOWNSHIP}决定终止调解" in text
    assert ENTERPRISE not in text
