"""The empty ledger an office fills in for an import: headers, drop-down lists and notes on every column."""
from __future__ import annotations

import io

from django.utils import translation

from mediation.models import ApplicationForm, Category, Channel, Referral, RespondentCapacity, WorkForm
from mediation.reports.ledger.columns import COLUMNS, MAX_IMPORT_ROWS, Outcome, _headers
from workflows.states import CaseState as S


def ledger_template() -> bytes:
    """An empty ledger with the headers, drop-down lists and a sheet explaining every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    with translation.override("zh-hans"):
        workbook = Workbook()
        sheet = workbook.worksheets[0]
        sheet.title = "台账"
        for i, (column, text) in enumerate(zip(COLUMNS, _headers(), strict=True), start=1):
            cell = sheet.cell(row=1, column=i, value=text)
            cell.font = Font(bold=True, color="B3261E" if column.required else "000000")
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            sheet.column_dimensions[get_column_letter(i)].width = column.width
        sheet.freeze_panes = "B2"
        lists = {
            "channel": [str(label) for label in Channel.labels],
            "application_form": [str(label) for label in ApplicationForm.labels],
            "state": [str(label) for value, label in S.choices if value != S.ESCALATION_PENDING],
            "outcome": [str(label) for label in Outcome.LABELS.values()],
            "employer_capacity": [str(label) for label in RespondentCapacity.labels],
            "has_union": ["是", "否"], "new_form": ["是", "否"],
            "work_form": [str(label) for label in WorkForm.labels],
            "referral_destination": [str(label) for label in Referral.Destination.labels],
            "referral_outcome": [str(label) for label in Referral.Outcome.labels],
        }
        for i, column in enumerate(COLUMNS, start=1):
            if column.key in lists:
                letter = get_column_letter(i)
                validation = DataValidation(type="list", formula1='"' + ",".join(lists[column.key]) + '"',
                                            allow_blank=True)
                validation.add(f"{letter}2:{letter}{MAX_IMPORT_ROWS + 1}")
                sheet.add_data_validation(validation)
        notes = workbook.create_sheet("填写说明")
        notes.append(["列名", "是否必填", "说明"])
        for cell in notes[1]:
            cell.font = Font(bold=True)
        for column, text in zip(COLUMNS, _headers(), strict=True):
            if not column.importable:
                notes.append([text, "", "导出专用，导入时忽略（由系统计算）"])
                continue
            allowed = lists.get(column.key)
            note = str(column.help)
            if allowed:
                note = (note + "；" if note else "") + "可选：" + "、".join(allowed)
            if column.key == "other_respondents":
                note += "；身份可选：" + "、".join(str(label) for label in RespondentCapacity.labels)
            if column.key == "categories":
                note += "；可选：" + "、".join(Category.objects.order_by("position").values_list("name", flat=True))
            notes.append([text, "必填" if column.required else "", note])
        notes.append([])
        notes.append(["", "", "每行一件案件；日期写成 2025-03-01，时间写成 2025-03-01 09:30。"])
        notes.append(["", "", "同一文件重复导入不会重复建案：案号已存在的行将被跳过。"])
        notes.append(["", "", "身份证号码、统一社会信用代码须完整且校验正确，请以文本格式填写。"])
        notes.column_dimensions["A"].width = 18
        notes.column_dimensions["B"].width = 10
        notes.column_dimensions["C"].width = 100
        out = io.BytesIO()
        workbook.save(out)
    return out.getvalue()
