"""Bad input is refused with a clear Chinese message and nothing is saved."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from mediation import identity
from mediation.models import Case, CaseNumberSequence, ClaimItem, Employer, Person
from mediation.services import ClaimInput, EmployerInput, PersonInput, case_register, parse_amount
from tests.factories import registration, valid_credit_code, valid_id_number


def _nothing_saved() -> None:
    assert not Case.objects.exists()
    assert not Person.objects.exists()
    assert not Employer.objects.filter(committees=None).exists()  # only the firms committees serve
    assert not ClaimItem.objects.exists()
    assert CaseNumberSequence.objects.filter(last_value__gt=0).count() == 0


@pytest.mark.parametrize(("value", "message"), [
    ("33028319900101123", "身份证号码应为18位。"),
    ("330283199001011230", "身份证号码校验位不正确，请核对。"),
    ("month-13", "身份证号码中的地区或出生日期无效。"),
    ("ABCDEFGHIJKLMNOPQR", "身份证号码格式不正确。"),
])
def test_bad_resident_id_is_refused_in_chinese(world, value, message):
    if value == "330283199001011230":
        good = valid_id_number()
        value = good[:-1] + ("1" if good[-1] != "1" else "2")
    if value == "month-13":  # right check digit, impossible birth date
        from stdnum.cn import ric

        value = "33028319901301123" + ric.calc_check_digit("33028319901301123" + "0")
    data = registration(world.town_a, applicants=0)
    data.applicants = [PersonInput(name="王小明", id_number=value)]
    with pytest.raises(ValidationError) as excinfo:
        case_register(actor=world.mediator_a, data=data)
    assert excinfo.value.message_dict["applicants-0-id_number"] == [message]
    _nothing_saved()


@pytest.mark.parametrize(("value", "key"), [
    ("91330283MA2XXXXXX", "统一社会信用代码应为18位。"),
    ("wrong-checksum", "统一社会信用代码校验位不正确，请核对。"),
])
def test_bad_credit_code_is_refused_in_chinese(world, value, key):
    if value == "wrong-checksum":
        good = valid_credit_code()
        value = good[:-1] + ("1" if good[-1] != "1" else "2")
    data = registration(world.town_a, employer=EmployerInput(name="宁波某某有限公司", credit_code=value))
    with pytest.raises(ValidationError) as excinfo:
        case_register(actor=world.mediator_a, data=data)
    assert excinfo.value.message_dict["employer_credit_code"] == [key]
    _nothing_saved()


@pytest.mark.parametrize(("amount", "message"), [
    ("-100", "金额不能为负数。"),
    ("一万元", "金额必须是数字（单位：元）。"),
    ("abc", "金额必须是数字（单位：元）。"),
    ("NaN", "金额必须是数字（单位：元）。"),
    ("12.345", "金额最多保留两位小数。"),
])
def test_negative_or_non_numeric_amounts_are_refused(world, amount, message):
    data = registration(world.town_a, claims=[ClaimInput("拖欠工资", "5000"), ClaimInput("加班费", amount)])
    with pytest.raises(ValidationError) as excinfo:
        case_register(actor=world.mediator_a, data=data)
    assert excinfo.value.message_dict["claims-1-amount"] == [message]
    _nothing_saved()


def test_every_problem_is_reported_at_once(world):
    data = registration(world.town_a, claims=[ClaimInput("", "-1")], dispute_summary="")
    data.applicants = [PersonInput(name="", id_number="123", phone="12")]
    with pytest.raises(ValidationError) as excinfo:
        case_register(actor=world.mediator_a, data=data)
    assert set(excinfo.value.message_dict) >= {
        "dispute_summary", "applicants-0-name", "applicants-0-id_number", "applicants-0-phone",
        "claims-0-amount", "claims-0-description"}
    _nothing_saved()


def test_amounts_are_decimal_yuan_and_summed_exactly(world):
    data = registration(world.town_a, claims=[ClaimInput("工资", "0.10"), ClaimInput("加班费", "0.20"),
                                              ClaimInput("补偿金", "12,000")])
    case = case_register(actor=world.mediator_a, data=data)
    assert case.amount_claimed == Decimal("12000.30")
    assert parse_amount(" 1,234.5 ") == Decimal("1234.50")


def test_ten_or_more_workers_make_a_collective_dispute(world):
    assert not case_register(actor=world.mediator_a, data=registration(world.town_a, applicants=9)).is_collective
    case = case_register(actor=world.mediator_a, data=registration(world.town_a, applicants=10))
    assert case.is_collective and case.applicant_count == 10


def test_same_intake_token_twice_creates_one_case(world):
    import uuid

    token = uuid.uuid4()
    first = case_register(actor=world.mediator_a, data=registration(world.town_a), intake_token=token)
    second = case_register(actor=world.mediator_a, data=registration(world.town_a), intake_token=token)
    assert first.pk == second.pk and Case.objects.count() == 1


def test_same_person_is_reused_across_cases_by_id_number(world):
    id_number = valid_id_number()
    for _ in range(2):
        data = registration(world.town_a)
        data.applicants = [PersonInput(name="李四", id_number=id_number, phone="13900000000")]
        case_register(actor=world.mediator_a, data=data)
    assert Person.objects.filter(id_number=id_number).count() == 1


class TestMasking:
    def test_id_number_and_phone_are_masked(self):
        assert identity.mask_id_number("330283199001011234") == "330***********1234"
        assert identity.mask_phone("13805741234") == "138****1234"
        assert identity.mask_credit_code("91330283MA2AAAAA1X") == "9133**********AA1X"

    def test_validation_errors_do_not_echo_the_number(self):
        with pytest.raises(ValidationError) as excinfo:
            identity.validate_id_number("330283199001011230")
        assert "330283" not in str(excinfo.value)

    @pytest.mark.parametrize("phone", ["13805741234", "0574-88881234", "057488881234", "12351", "+86 138 0574 1234"])
    def test_real_phone_numbers_pass(self, phone):
        identity.validate_phone(identity.normalize_phone(phone.replace(" ", "")))

    @pytest.mark.parametrize("phone", ["12", "23805741234", "abc", "1380574123"])
    def test_bad_phone_numbers_are_refused(self, phone):
        with pytest.raises(ValidationError, match="电话号码格式不正确"):
            identity.validate_phone(phone)


def test_an_id_number_already_registered_under_another_name_is_refused(world):
    id_number = valid_id_number()
    data = registration(world.town_a)
    data.applicants = [PersonInput(name="李四", id_number=id_number)]
    case_register(actor=world.mediator_a, data=data)
    data = registration(world.town_a)
    data.applicants = [PersonInput(name="张三", id_number=id_number)]
    with pytest.raises(ValidationError) as excinfo:
        case_register(actor=world.mediator_a, data=data)
    assert "另一姓名" in excinfo.value.message_dict["applicants-0-id_number"][0]
    assert Case.objects.count() == 1


@pytest.mark.parametrize(("fields", "key", "message"), [
    ({"workers_involved": 100_001}, "workers_involved", "涉及劳动者人数不能超过100000人，请核对。"),
    ({"dispute_known_on": "tomorrow"}, "dispute_known_on", "知道或应当知道权利被侵害之日不能晚于收到申请的日期。"),
    ({"dispute_known_on": datetime.date(1, 1, 1)}, "dispute_known_on", "知道或应当知道权利被侵害之日过早，请核对。"),
    ({"received_at": "year one"}, "received_at", "收到申请的时间不能早于2000年。"),
])
def test_out_of_range_facts_are_refused_before_anything_is_written(world, fields, key, message):
    """Bounds a typing slip would cross: a date one cannot have known the dispute on (after the
    application), a year no application comes from, more workers than any dispute involves."""
    from django.utils import timezone

    received = timezone.now() - datetime.timedelta(hours=1)
    if fields.get("dispute_known_on") == "tomorrow":
        fields = {"dispute_known_on": timezone.localdate() + datetime.timedelta(days=1)}
    if fields.get("received_at") == "year one":
        fields = {"received_at": received.replace(year=1)}
    data = registration(world.town_a, **{"received_at": received, **fields})
    with pytest.raises(ValidationError) as excinfo:
        case_register(actor=world.mediator_a, data=data)
    assert excinfo.value.message_dict[key] == [message]
    _nothing_saved()
