"""Validation and masking of personal identifiers (DOMAIN.md §8).

Resident ID numbers follow GB 11643 (18 digits, ISO 7064 check character) and
unified social credit codes GB 32100; python-stdnum knows both. Error messages are
the user's, in Chinese; the raw value never goes into an error or a log line.
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_SERVICE = re.compile(r"^(12351|12333|12345|95\d{3,6}|400\d{7})$")


def normalize_id_number(value: str) -> str:
    return ric.compact(value or "").upper()


def validate_id_number(value: str) -> None:
    """Refuse anything but a well-formed 18-digit resident ID with the right check digit."""
    number = normalize_id_number(value)
    if len(number) != 18:
        raise ValidationError(_("身份证号码应为18位。"), code="id_length")
    try:
        ric.validate(number)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(_("身份证号码校验位不正确，请核对。"), code="id_checksum") from None
    except stdnum_errors.InvalidComponent:
        raise ValidationError(_("身份证号码中的地区或出生日期无效。"), code="id_component") from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("身份证号码格式不正确。"), code="id_format") from None


def normalize_credit_code(value: str) -> str:
    return uscc.compact(value or "").upper()


def validate_credit_code(value: str) -> None:
    """Refuse anything but an 18-character unified social credit code with the right check character."""
    code = normalize_credit_code(value)
    if len(code) != 18:
        raise ValidationError(_("统一社会信用代码应为18位。"), code="uscc_length")
    try:
        uscc.validate(code)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(_("统一社会信用代码校验位不正确，请核对。"), code="uscc_checksum") from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("统一社会信用代码格式不正确。"), code="uscc_format") from None


def normalize_phone(value: str) -> str:
    return re.sub(r"[\s()（）]", "", value or "").replace("+86", "")


def validate_phone(value: str) -> None:
    phone = normalize_phone(value)
    if not (_MOBILE.match(phone) or _LANDLINE.match(phone) or _SERVICE.match(phone)):
        raise ValidationError(_("电话号码格式不正确：请填写11位手机号或带区号的固定电话。"), code="phone")


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_id_number(value: str) -> str:
    """330***********1234: enough to tell two people apart on a list, not enough to use."""
    return _mask(value, 3, 4)


def mask_phone(value: str) -> str:
    """138****5678."""
    return _mask(value, 3, 4)


def mask_credit_code(value: str) -> str:
    return _mask(value, 4, 4)


def is_mobile(value: str) -> bool:
    """An 11-digit mainland mobile number (the only kind an SMS reaches), after ``normalize_phone``."""
    return bool(_MOBILE.match(normalize_phone(value)))


def mask_name(value: str) -> str:
    """张三 → 张*, 欧阳小明 → 欧***: the family name's first character, the rest hidden."""
    value = (value or "").strip()
    return value[:1] + "*" * max(1, len(value) - 1) if value else ""
