from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from mediation import services as ms
from mediation.models import PartyRole, Signature
from mediation.services import ClaimInput, EmployerInput, PersonInput
from tests.factories import registration, valid_credit_code, valid_id_number
from workflows import services as ws

TODAY = datetime.date(2026, 11, 20)
RARE_APPLICANTS = ("𠮷㛃", "王堃")


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def media(settings, tmp_path):
    """A fresh MEDIA_ROOT per test, so "no file left behind" can be checked exactly."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def rare_case(world, *, applicants=RARE_APPLICANTS, employer="宁波喆珺精密机械有限公司", terms=None,
              amounts=("12000.00",)):
    """A case at town A with rare-character names, accepted, with an effective agreement; returns (case, agreement)."""
    data = registration(
        world.town_a,
        employer=EmployerInput(name=employer, credit_code=valid_credit_code(), legal_representative="陈喆",
                               address="奉化区锦屏街道南山路1号"),
        claims=[ClaimInput("拖欠工资", Decimal("12000.00"), "wages")])
    data = dataclasses.replace(data, applicants=[
        PersonInput(name=n, id_number=valid_id_number(), phone="13805740000", sex="F", address="奉化区岳林街道")
        for n in applicants])
    case = ms.case_register(actor=world.mediator_a, data=data)
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    agreement = ms.agreement_draft(
        case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠2026年8月至10月工资",
        terms=terms or ["被申请人于2026年12月31日前支付申请人工资。", "双方就本争议再无其他纠纷。"],
        instalments=[ms.InstalmentInput(amount=Decimal(a), due_on=TODAY + datetime.timedelta(days=30 * (i + 1)))
                     for i, a in enumerate(amounts)])
    return case, agreement


def make_effective(world, case, agreement) -> None:
    from tests.lifecycle import print_for_signing, signing_code

    print_for_signing(world.mediator_a, agreement)
    for party in case.parties.exclude(role=PartyRole.AGENT):
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=world.mediator_a, kind=Signature.Kind.PARTY,
                            party_id=party.pk, signed_on=TODAY)
    ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                        actor=world.mediator_a, kind=Signature.Kind.MEDIATOR,
                        signed_on=TODAY)
    ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                        actor=world.mediator_a, kind=Signature.Kind.SEAL, signed_on=TODAY)
    agreement.refresh_from_db()


def full_case(world):
    """A case that went the whole way: session, effective agreement, payment, follow-up, closure."""
    from tests.lifecycle import pay_all

    case, agreement = rare_case(world)
    ms.session_record(case_id=case.pk, actor=world.mediator_a, held_at=timezone.now(), place="锦屏街道调解室",
                      attendees="申请人𠮷㛃、被申请人代理人林珺",
                      record="申请人陈述：公司拖欠三个月工资。\n被申请人：同意分期支付。",
                      result="达成一致意见", mediators=[world.mediator_a])
    make_effective(world, case, agreement)
    ws.case_record_agreement(case_id=case.pk, actor=world.mediator_a)
    pay_all(world, case)
    ws.case_confirm_performance(case_id=case.pk, actor=world.mediator_a)
    ms.followup_record(case_id=case.pk, actor=world.mediator_a, visited_on=TODAY, method="phone",
                       contact="申请人𠮷㛃", content="款项已全部到账，申请人表示满意")
    ws.case_close(case_id=case.pk, actor=world.supervisor_a, reason="协议履行完毕", archive_number="奉档2026-017")
    case.refresh_from_db()
    return case
