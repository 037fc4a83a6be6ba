"""The agreement: effective only when fully signed and sealed; immutable after; corrections are new versions."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from mediation import services as ms
from mediation.models import Agreement, Signature
from tests.lifecycle import TODAY, case_in_state, effective_agreement, print_for_signing, signing_code
from workflows.errors import ActionNotAllowed
from workflows.states import CaseState


def test_agreement_takes_effect_only_with_every_signature_and_the_seal(world):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    agreement = ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="工资",
                                   terms=["支付工资"], instalments=[ms.InstalmentInput("1000", TODAY)])
    print_for_signing(world.mediator_a, agreement)
    parties = list(case.parties.all())
    steps: list[dict[str, Any]] = [dict(kind=Signature.Kind.PARTY, party_id=p.pk) for p in parties]
    steps += [dict(kind=Signature.Kind.MEDIATOR), dict(kind=Signature.Kind.SEAL)]
    for i, step in enumerate(steps):
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=world.mediator_a, signed_on=TODAY, **step)
        agreement.refresh_from_db()
        last = i == len(steps) - 1
        assert (agreement.status == Agreement.Status.EFFECTIVE) is last
    assert agreement.effective_on == TODAY


def test_no_signature_is_recorded_before_the_signing_version_is_printed(world):
    """The parties sign the registered signing version (签署版), so that its code answers for the signed
    paper: a signature recorded with no such paper would attach to nothing anyone can verify."""
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    agreement = ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="工资",
                                   terms=["支付工资"])
    with pytest.raises(ActionNotAllowed, match="签署版"):
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=world.mediator_a, kind=Signature.Kind.MEDIATOR,
                            signed_on=TODAY)
    assert not agreement.signatures.exists()


def test_an_effective_agreement_cannot_be_edited_or_re_signed(world):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    agreement = effective_agreement(world, case)
    with pytest.raises(ActionNotAllowed):
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="改", terms=["改"])
    with pytest.raises(ActionNotAllowed):
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=world.mediator_a, kind=Signature.Kind.SEAL,
                            signed_on=TODAY)
    assert list(agreement.terms.values_list("text", flat=True))[0].startswith("被申请人")


def test_a_correction_is_a_new_version_and_the_old_one_is_kept(world):
    case = case_in_state(world, CaseState.SETTLED)
    v1 = case.effective_agreement()
    v2 = ms.agreement_correct(case_id=case.pk, actor=world.mediator_a)
    assert v2.version == 2 and v2.status == Agreement.Status.DRAFT and v2.supersedes == v1
    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary=v1.dispute_summary,
                       terms=["被申请人于2027年1月31日前一次性支付申请人人民币壹万伍仟元整。"],
                       instalments=[ms.InstalmentInput("15000", datetime.date(2027, 1, 31))])
    print_for_signing(world.mediator_a, v2)
    for party in case.parties.all():
        ms.signature_record(agreement_id=v2.pk, document_code=signing_code(v2),
                            actor=world.mediator_a, kind=Signature.Kind.PARTY,
                            party_id=party.pk, signed_on=TODAY)
    ms.signature_record(agreement_id=v2.pk, document_code=signing_code(v2),
                        actor=world.mediator_a, kind=Signature.Kind.MEDIATOR, signed_on=TODAY)
    ms.signature_record(agreement_id=v2.pk, document_code=signing_code(v2),
                        actor=world.mediator_a, kind=Signature.Kind.SEAL, signed_on=TODAY)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == Agreement.Status.SUPERSEDED and v2.status == Agreement.Status.EFFECTIVE
    assert v1.terms.count() == 2  # the old text is kept as it was
    case.refresh_from_db()
    assert case.amount_agreed == Decimal("15000.00")


def test_drafting_is_refused_outside_the_working_states(world):
    case = case_in_state(world, CaseState.REGISTERED)
    with pytest.raises(ActionNotAllowed):
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="工资", terms=["支付"])


def test_instalment_amounts_must_be_positive_numbers(world):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    with pytest.raises(ValidationError) as excinfo:
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="工资", terms=["支付"],
                           instalments=[ms.InstalmentInput("0", TODAY), ms.InstalmentInput("-3", TODAY)])
    assert excinfo.value.message_dict["instalments-0-amount"] == ["每期金额必须大于零。"]
    assert excinfo.value.message_dict["instalments-1-amount"] == ["金额不能为负数。"]
    assert not case.agreements.exists()


def test_fewer_originals_than_signing_parties_and_the_organisation_are_refused(world):
    """One original for each party who signs, one for the mediation organisation (DOMAIN.md §6)."""
    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    signers = case.parties.exclude(role="agent").count()
    with pytest.raises(ValidationError) as refused:
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="工资", terms=["支付工资"],
                           copies=signers)
    assert "copies" in refused.value.message_dict
    assert not case.agreements.exists()
    agreement = ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="工资",
                                   terms=["支付工资"], copies=signers + 1)
    assert agreement.copies == signers + 1
