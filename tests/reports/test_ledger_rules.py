"""One owner per rule: a ledger row is refused by registration's own rules, numbered from the one
sequence registration uses, and its history written by the one history-row builder."""
from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from mediation.models import Case
from mediation.reports import ledger
from mediation.services import ClaimInput, EmployerInput, PersonInput, case_numbers_take, case_register
from tests.factories import register, registration, valid_credit_code, valid_id_number
from tests.reports.test_ledger import good_row, workbook_bytes
from tests.workflows.test_machine import ALLOWED
from workflows.clocks import CHINA_TZ
from workflows.models import TransitionLog
from workflows.states import CaseState as S

BAD_ID = "110101199003070000"  # a real ID number's shape with the wrong check digit


def _bad_credit_code() -> str:
    code = valid_credit_code()
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def _registration(world, **overrides):
    data = registration(world.town_a)
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def _import_problems(world, **row) -> dict[str, list[str]]:
    report = ledger.ledger_import(user=world.supervisor_a, data=workbook_bytes([good_row(world, **row)]),
                                  dry_run=True)
    problems: dict[str, list[str]] = {}
    for p in report.errors:
        assert p.row == 2, p
        problems.setdefault(p.column, []).append(p.message)
    return problems


# (what is wrong, ledger cells, the same as a registration, registration's field, ledger column, words of the rule)
SAME_REFUSALS = [
    ("ID check digit", dict(applicants="王伟", applicant_ids=BAD_ID, applicant_phones=""),
     dict(applicants=[PersonInput(name="王伟", id_number=BAD_ID)]), "applicants-0-id_number", "申请人身份证号",
     "校验位"),
    ("credit code check character", dict(credit_code="{bad_code}"),
     dict(employer=EmployerInput(name="宁波历史机械有限公司", credit_code="{bad_code}")), "employer_credit_code",
     "统一社会信用代码", "校验位"),
    ("amount with three decimals", dict(claims="拖欠工资：12.345元", amount_claimed=None),
     dict(claims=[ClaimInput("拖欠工资", "12.345")]), "claims-0-amount", "请求事项", "两位小数"),
    ("no applicant", dict(applicants="", applicant_ids="", applicant_phones=""), dict(applicants=[]),
     "applicants", "申请人", "申请人"),
    ("no respondent", dict(employer="", credit_code=""), dict(employer=EmployerInput(name="")), "employer_name",
     "被申请单位", "被申请单位"),
    ("no dispute", dict(dispute_summary=""), dict(dispute_summary=""), "dispute_summary", "争议事项", "争议事项"),
    ("received in the future", dict(received_at="2099-01-04 09:00"),
     dict(received_at=datetime.datetime(2099, 1, 4, 9, 0, tzinfo=CHINA_TZ)), "received_at", "收案时间",
     "晚于当前时间"),
]


@pytest.mark.parametrize("what,cells,registration_overrides,field,column,words", SAME_REFUSALS,
                         ids=[case[0] for case in SAME_REFUSALS])
def test_the_import_refuses_a_row_for_the_reasons_and_in_the_words_of_registration(
        world, what, cells, registration_overrides, field, column, words):
    bad_code = _bad_credit_code()

    def fill(value):
        if isinstance(value, str):
            return value.replace("{bad_code}", bad_code)
        if isinstance(value, EmployerInput):
            value.credit_code = fill(value.credit_code)
        return value

    with pytest.raises(ValidationError) as refused:
        case_register(actor=world.mediator_a, data=_registration(
            world, **{k: fill(v) for k, v in registration_overrides.items()}))
    said = refused.value.message_dict[field]
    assert words in said[0]
    problems = _import_problems(world, **{k: fill(v) for k, v in cells.items()})
    # An applicant's problem is prefixed with their name, so a collective row says whose number is wrong.
    prefix = "王伟：" if field.startswith("applicants-") else ""
    assert problems.get(column) == [prefix + m for m in said], problems
    assert not Case.objects.exists()


def test_an_id_number_on_file_under_another_name_is_refused_as_registration_refuses_it(world):
    known = register(world.mediator_a, world.town_a).applicants().first().person
    with pytest.raises(ValidationError) as refused:
        case_register(actor=world.mediator_a, data=_registration(
            world, applicants=[PersonInput(name="冒名者", id_number=known.id_number)]))
    said = refused.value.message_dict["applicants-0-id_number"]
    assert "另一姓名" in said[0]
    problems = _import_problems(world, applicants="冒名者", applicant_ids=known.id_number, applicant_phones="")
    assert problems == {"申请人身份证号": ["冒名者：" + said[0]]}


def test_one_person_on_two_rows_under_two_names_is_refused_on_the_second_row(world):
    worker = valid_id_number()
    data = workbook_bytes([good_row(world, applicants="赵磊", applicant_ids=worker, applicant_phones=""),
                           good_row(world, applicants="赵雷", applicant_ids=worker, applicant_phones="")])
    report = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False)
    assert [(p.row, p.column) for p in report.errors] == [(3, "申请人身份证号")]
    assert "另一姓名" in report.errors[0].message and report.created == 0


# ------------------------------------------------------------------------------ numbers

class _Rollback(Exception):
    pass


def test_numbers_are_taken_count_at_a_time_gaplessly_and_after_historical_numbers(world):
    take = case_numbers_take
    assert take(organisation=world.town_b, year=2024, count=3) == range(1, 4)
    assert take(organisation=world.town_b, year=2024) == range(4, 5)
    with pytest.raises(_Rollback), transaction.atomic():
        assert take(organisation=world.town_b, year=2024, count=50) == range(5, 55)
        raise _Rollback  # the caller's transaction fails: its numbers are given back
    assert take(organisation=world.town_b, year=2024) == range(5, 6)
    assert take(organisation=world.town_b, year=2024, count=2, above=10) == range(11, 13)
    assert take(organisation=world.town_b, year=2024, count=0, above=20) == range(21, 21)  # only moves on
    assert take(organisation=world.town_b, year=2024) == range(21, 22)
    assert take(organisation=world.town_b, year=2025) == range(1, 2)  # each year its own sequence
    assert take(organisation=world.town_a, year=2024) == range(1, 2)  # each organisation its own


def test_registration_and_import_number_from_one_gapless_sequence(world):
    march = datetime.datetime(2025, 3, 1, 9, 0, tzinfo=CHINA_TZ)
    assert register(world.mediator_a, world.town_a, received_at=march).number == "锦调〔2025〕0001号"
    data = workbook_bytes([good_row(world), good_row(world, applicants="赵磊", applicant_ids=valid_id_number(),
                                                     applicant_phones="")])
    report = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False)
    assert report.ok and report.created == 2, report.errors
    assert sorted(Case.objects.filter(imported=True).values_list("number", flat=True)) == [
        "锦调〔2025〕0002号", "锦调〔2025〕0003号"]
    later = register(world.mediator_a, world.town_a, received_at=march + datetime.timedelta(days=40))
    assert later.number == "锦调〔2025〕0004号"


# ------------------------------------------------------------------------------ history

def test_every_imported_history_row_has_the_fields_the_builder_guarantees(world):
    data = workbook_bytes([
        good_row(world),
        good_row(world, organisation=world.enterprise_a.name, registered_organisation=world.town_a.name,
                 state="企业自主化解", outcome="调解中", concluded_at=None, agreement_effective_on=None,
                 amount_agreed=None, instalments="", amount_recovered=None, follow_ups="", closed_at=None),
    ])
    assert ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False).created == 2
    logs = list(TransitionLog.objects.select_related("case"))
    assert len(logs) == 4 + 1  # accept, agreement, performance, close; and one acceptance
    for log in logs:
        assert log.to_state in ALLOWED[(log.transition, log.from_state)], log
        assert log.imported and log.actor == world.supervisor_a and log.reason == "历史台账导入"
        assert log.to_organisation_id == log.case.organisation_id
        assert log.at.year == 2025
    accepted = next(log for log in logs if log.case.organisation == world.enterprise_a)
    # Acceptance is where the case arrived at its handling organisation from the registering one.
    assert (accepted.transition, accepted.from_organisation, accepted.to_organisation) == (
        "accept", world.town_a, world.enterprise_a)


def test_the_history_builder_refuses_a_move_the_lifecycle_does_not_have(world):
    case = register(world.mediator_a, world.town_a)
    where = dict(case=case, from_organisation_id=world.town_a.pk, to_organisation_id=world.town_a.pk,
                 actor_id=world.mediator_a.pk)
    with pytest.raises(ValueError):
        TransitionLog.build(transition="refer", from_state=S.SETTLED, to_state=S.REFERRED, **where)
    with pytest.raises(ValueError):
        TransitionLog.build(transition="accept", from_state=S.REGISTERED, to_state=S.SETTLED, **where)
    log = TransitionLog.build(transition="accept", from_state=S.REGISTERED, to_state=S.JOINT_MEDIATION,
                              reason="  ", **where)
    assert log.pk is None and log.at is not None and log.reason == "" and not log.imported
