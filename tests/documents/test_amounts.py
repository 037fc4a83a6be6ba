from __future__ import annotations

from decimal import Decimal

import pytest

from mediation.documents.amounts import amount_in_capitals, amount_in_figures


@pytest.mark.parametrize(("amount", "figures", "capitals"), [
    ("12000", "¥12,000.00", "人民币壹万贰仟元整"),
    ("0.05", "¥0.05", "人民币伍分"),
    ("10000.10", "¥10,000.10", "人民币壹万元壹角"),
    ("1000000.00", "¥1,000,000.00", "人民币壹佰万元整"),
    ("1010.00", "¥1,010.00", "人民币壹仟零壹拾元整"),
    ("100.01", "¥100.01", "人民币壹佰元零壹分"),
    ("15.30", "¥15.30", "人民币壹拾伍元叁角"),
    ("0", "¥0.00", "人民币零元整"),
    ("999999999999.99", "¥999,999,999,999.99", "人民币玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_amounts_are_written_in_figures_and_in_chinese_capitals(amount, figures, capitals):
    assert amount_in_figures(Decimal(amount)) == figures
    assert amount_in_capitals(Decimal(amount)) == capitals


@pytest.mark.parametrize("bad", ["-1", "1e12", "abc", "NaN", "Infinity"])
def test_amounts_out_of_range_or_not_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        amount_in_capitals(bad)
