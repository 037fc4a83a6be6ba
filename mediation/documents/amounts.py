"""Money as official documents write it: figures (¥12,000.00) and Chinese capitals (人民币壹万贰仟元整).

Capitals (大写) follow the rules of 《支付结算办法》 annex 1 as implemented by
``cn2an`` ("rmb" mode): 整 after a whole-yuan amount, none after 角 or 分, a
single 零 for a run of zeros inside the number (壹仟零壹拾元整, 壹佰元零壹分).
Either writing of a zero yuan digit before 角 is allowed there; cn2an omits it
(壹万元壹角), which is what is printed.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import cn2an

CENT = Decimal("0.01")
#: cn2an handles up to 千亿 (10^12 - 0.01); case amounts are capped below that by parse_amount.
LIMIT = Decimal("1e12")


def _quantized(amount: Decimal | int | str) -> Decimal:
    try:
        value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite() or value < 0 or value >= LIMIT:
        raise ValueError(f"amount out of range: {amount!r}")
    return value


def amount_in_capitals(amount: Decimal | int | str) -> str:
    """人民币壹万贰仟元整 for 12000; 人民币伍分 for 0.05; 人民币零元整 for 0."""
    value = _quantized(amount)
    return "人民币" + cn2an.an2cn(f"{value:f}", "rmb")


def amount_in_figures(amount: Decimal | int | str) -> str:
    """¥12,000.00: the figure written next to the capitals."""
    return f"¥{_quantized(amount):,.2f}"
