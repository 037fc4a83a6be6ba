"""The one rule for amounts of money as people type them (claims, instalments, payments, ledger cells).
"""
from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


#: The largest amount one claim item, instalment or payment may state: ¥100,000,000.00 (一亿元).
#: One worker's labour claims (wages, overtime, compensation, work-injury benefits) run to
#: thousands or hundreds of thousands of yuan, and a collective dispute's single items stay
#: far below a hundred million; a larger figure is a typing slip (an extra digit, ``1e9``)
#: that would otherwise go straight into the statistics. Sums of several items may exceed it.
AMOUNT_MAX = Decimal("100000000.00")

#: Full-width digits, point and comma as a Chinese input method types them: read as their
#: ASCII forms (a clerk who forgot to switch the input mode means the same number).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
#: Plain decimal notation: an optional ¥/￥, digits (grouped by three with commas, or not at
#: all), at most two decimals, an optional 元. Only ASCII digits (``\d`` would take any script's).
_AMOUNT = re.compile(r"^[¥￥]?\s*(?P<whole>[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.(?P<cents>[0-9]+))?\s*元?$")


def parse_amount(value: Any, *, field_name: str = "amount") -> Decimal:
    """Yuan in plain decimal notation, as people write them: "12,345.60", "¥12345.6", "3500元".

    The one reading of an amount for every input (the web forms' ``AmountField``, the ledger
    import): not negative, at most two decimals, at most ``AMOUNT_MAX``; thousands separators
    only in groups of three ("1,00" is refused: a slip, not one hundred). Exponents ("1e9"),
    signs, NaN/Infinity, hexadecimal, underscores and other scripts' digits are refused in
    words. A number already read (Decimal, int, a spreadsheet's float) is checked the same way.
    """
    def refuse(message: str) -> ValidationError:
        return ValidationError({field_name: message})

    if isinstance(value, bool):
        raise refuse(_("金额必须是数字（单位：元）。"))
    if isinstance(value, (Decimal, int, float)):
        try:
            amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except (InvalidOperation, ValueError):
            raise refuse(_("金额必须是数字（单位：元）。")) from None
        if not amount.is_finite():
            raise refuse(_("金额必须是数字（单位：元）。"))
    else:
        text = ("" if value is None else str(value)).translate(_FULL_WIDTH).replace("\u3000", " ").strip()
        if not text:
            raise refuse(_("请填写金额。"))
        match = _AMOUNT.match(text)
        if match is None:
            raise refuse(_amount_problem(text))
        if len(match.group("cents") or "") > 2:
            raise refuse(_("金额最多保留两位小数。"))
        amount = Decimal(match.group("whole").replace(",", "") + "." + (match.group("cents") or "0"))
    if amount < 0:
        raise refuse(_("金额不能为负数。"))
    # The bound before the decimals: quantizing a number of more than 28 digits is itself an error.
    if amount > AMOUNT_MAX:
        raise refuse(_("金额不能超过 %(max)s 元（一亿元）：请核对是否多输了位数。") % {"max": f"{AMOUNT_MAX:,.2f}"})
    if amount != amount.quantize(Decimal("0.01")):
        raise refuse(_("金额最多保留两位小数。"))
    return amount.quantize(Decimal("0.01"))


def _amount_problem(text: str) -> str:
    """Why ``text`` is not an amount in plain decimal notation, in words."""
    body = text.lstrip("¥￥ ").rstrip("元 ")
    if body[:1] == "-":
        return _("金额不能为负数。")
    if body[:1] == "+":
        return _("金额前不要加正负号，直接填写数字，如 12,345.60。")
    lowered = body.lower()
    if lowered.startswith("0x"):
        return _("金额请用十进制数字填写，如 12,345.60。")
    if re.fullmatch(r"[0-9.,]+e[+-]?[0-9]+", lowered):
        return _("金额请直接写出全部数字，不能用科学计数法（如 1e9）：例如 1000000000 或 1,000,000,000。")
    if re.fullmatch(r"[0-9,]+(\.[0-9]*)?", body) and "," in body:
        return _("千位分隔符的位置不对：逗号应从个位向左每三位一组，如 12,345.60。")
    return _("金额必须是数字（单位：元）。")
