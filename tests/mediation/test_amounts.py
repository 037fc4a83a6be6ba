"""Amounts in plain decimal notation (issue 10, point 5): one reading for every input.

The table is written by hand from what a union office types and what it must not let
through: ¥ and thousands separators in groups of three are accepted; exponents, signs,
NaN/Infinity, hexadecimal, underscores, more than two decimals (角 and 分 are the smallest
units of 人民币) and anything above the stated bound of one hundred million yuan are refused.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from mediation import forms
from mediation.reports.ledger import cells
from mediation.services import AMOUNT_MAX, parse_amount

ACCEPTED = [
    ("12345.60", "12345.60"),
    ("¥12,345.60", "12345.60"),
    ("￥12,345.60", "12345.60"),
    ("12,345.6元", "12345.60"),
    ("¥ 3500 元", "3500.00"),
    ("  8000  ", "8000.00"),
    ("1,234,567", "1234567.00"),
    ("12，345.60", "12345.60"),  # the full-width comma of a Chinese input method
    ("１２，３４５．６０", "12345.60"),  # full-width digits and point: read as what they say
    ("0.05", "0.05"),
    ("0", "0.00"),
    ("100,000,000.00", "100000000.00"),  # the bound itself
]

REFUSED = [
    ("1e9", "科学计数法"),
    ("1E3", "科学计数法"),
    ("2.5e4", "科学计数法"),
    ("1,00", "千位分隔符"),
    ("12,34,567", "千位分隔符"),
    ("0,123", "千位分隔符"),
    ("12.345", "两位小数"),
    ("-1", "负数"),
    ("¥-50", "负数"),
    ("+5", "正负号"),
    ("NaN", "数字"),
    ("Infinity", "数字"),
    ("0x1F", "十进制"),
    ("1_000", "数字"),
    ("十二元", "数字"),
    ("١٢", "数字"),  # Arabic-Indic digits: not what a Chinese office means
    ("", "请填写金额"),
    ("   ", "请填写金额"),
    ("100000000.01", "100,000,000.00"),  # the bound + 0.01, and the message says the bound
    ("1,000,000,000", "一亿元"),
    ("1" * 30, "一亿元"),  # more digits than a decimal holds: still the bound, never a crash
    ("9" * 5000, "一亿元"),
]


@pytest.mark.parametrize(("typed", "expected"), ACCEPTED)
def test_plain_decimal_amounts_are_read_as_yuan(typed, expected):
    assert parse_amount(typed) == Decimal(expected)


@pytest.mark.parametrize(("typed", "words"), REFUSED)
def test_other_notations_are_refused_in_words(typed, words):
    with pytest.raises(ValidationError) as excinfo:
        parse_amount(typed, field_name="paid_amount")
    (message,) = excinfo.value.message_dict["paid_amount"]
    assert words in message, message


def test_the_bound_is_one_hundred_million_yuan():
    assert AMOUNT_MAX == Decimal("100000000.00")


@pytest.mark.parametrize("number", [Decimal("1E+9"), 1_000_000_000, Decimal("-0.01"), Decimal("1.005"),
                                    Decimal("NaN"), float("inf")])
def test_numbers_already_read_are_held_to_the_same_rules(number):
    with pytest.raises(ValidationError):
        parse_amount(number)


def test_a_spreadsheet_number_is_accepted_as_the_amount_it_shows():
    assert parse_amount(Decimal("1E+3")) == Decimal("1000.00")
    assert cells.to_amount(1234.56) == Decimal("1234.56")


@pytest.mark.parametrize("typed", ["1e9", "1,00", "12.345", "-1", "100000000.01"])
def test_the_web_form_and_the_ledger_import_refuse_what_parse_amount_refuses(typed):
    form = forms.PaymentForm({"paid_on": "2026-11-20", "paid_amount": typed})
    assert not form.is_valid()
    assert form.errors["paid_amount"]
    with pytest.raises(ValidationError):
        cells.to_amount(typed)


def test_the_web_form_and_the_ledger_import_accept_separators_and_the_yuan_sign():
    form = forms.PaymentForm({"paid_on": "2026-11-20", "paid_amount": "¥12,345.60"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["paid_amount"] == Decimal("12345.60")
    assert cells.to_amount("¥12,345.60元") == Decimal("12345.60")
