"""The ledger: exported like the case list, masked by permission, imported all-or-nothing and idempotently."""
from __future__ import annotations

import dataclasses
import datetime
import io
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from mediation import permissions
from mediation.models import Case, CaseParty, PartyRole, Person
from mediation.reports import ledger
from mediation.reports.models import ImportBatch, LedgerExport
from mediation.services import EmployerInput, RespondentInput, case_register
from tests.factories import register, registration, valid_credit_code, valid_id_number
from tests.lifecycle import case_in_state, satisfy_conditions
from workflows import services as ws
from workflows.machine import graph
from workflows.models import TransitionLog
from workflows.states import CaseState as S

HEADERS = ledger._headers()
COL = {c.key: i for i, c in enumerate(ledger.COLUMNS)}

#: Every state a ledger can carry (a pending escalation must be decided before it is exported for import).
ROUND_TRIP_STATES = [S.REGISTERED, S.REJECTED, S.WITHDRAWN, S.SELF_RESOLUTION, S.JOINT_MEDIATION,
                     S.LINKED_MEDIATION, S.SETTLED, S.PERFORMED, S.MEDIATION_FAILED, S.REFERRED, S.CLOSED]


def export_rows(client, user, query: dict[str, Any] | None = None) -> list[tuple]:
    client.force_login(user)
    response = client.get(reverse("reports:ledger_export"), query or {})
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    data = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    return rows[1:]


def export_bytes(client, user) -> bytes:
    client.force_login(user)
    response = client.get(reverse("reports:ledger_export"))
    return b"".join(response.streaming_content)


def workbook_bytes(rows: list[dict[str, Any]]) -> bytes:
    """A ledger file with the template's headers and these rows (by column key)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "台账"
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(c.key) for c in ledger.COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def good_row(world, **overrides) -> dict[str, Any]:
    row = {
        "number": "", "received_at": "2025-03-03 09:30", "channel": "来访", "application_form": "口头申请",
        "applicants": "王伟、李娜", "applicant_ids": f"{valid_id_number()}、{valid_id_number()}",
        "applicant_phones": "13805741234、13905742345", "employer": "宁波历史机械有限公司",
        "credit_code": valid_credit_code(), "has_union": "否", "new_form": "否",
        "categories": "劳动报酬、经济补偿/赔偿金",
        "dispute_summary": "拖欠2025年1月至2月工资", "claims": "拖欠工资：8000.00元；经济补偿：2000.00元",
        "amount_claimed": 10000, "organisation": world.town_a.name, "state": "已结案", "outcome": "达成协议，已履行",
        "accepted_at": "2025-03-04 10:00", "concluded_at": "2025-03-10 15:00", "agreement_effective_on": "2025-03-10",
        "amount_agreed": 9000, "instalments": "第1期 9000.00元 2025-03-20前 已于2025-03-18履行9000.00元",
        "amount_recovered": 9000, "follow_ups": "2025-03-25 电话回访 满意", "closed_at": "2025-03-28 11:00",
        "archive_number": "锦档2025-001",
    }
    row.update(overrides)
    return row


# ------------------------------------------------------------------------------ export

def test_export_streams_the_case_lists_cases_with_the_case_lists_filters(world, client):
    for state in ROUND_TRIP_STATES:
        case_in_state(world, state)
    for query in ({}, {"state": "settled"}, {"line": "1"}, {"q": "张"}, {"organisation": world.town_a.pk}):
        rows = export_rows(client, world.district_supervisor, query)
        listed = client.get(reverse("case_list"), {**query, "per_page": 100}).context["page"].paginator.object_list
        assert sorted(r[COL["number"]] for r in rows) == sorted(c.number for c in listed), query
    assert LedgerExport.objects.filter(user=world.district_supervisor).count() == 5


def test_township_supervisor_export_excludes_other_townships(world, client):
    in_a = [case_in_state(world, S.JOINT_MEDIATION), case_in_state(world, S.SELF_RESOLUTION)]
    in_b = register(world.mediator_b, world.town_b)
    rows = export_rows(client, world.supervisor_a)
    numbers = {r[COL["number"]] for r in rows}
    assert numbers == {c.number for c in in_a}
    assert in_b.number not in numbers
    assert all(r[COL["organisation"]] != world.town_b.name for r in rows)
    # Asking for township B by id is refused like in the case list; searching its number finds nothing.
    client.force_login(world.supervisor_a)
    refused = client.get(reverse("reports:ledger_export"), {"organisation": world.town_b.pk})
    assert refused.status_code == 400 and not refused.streaming
    assert export_rows(client, world.supervisor_a, {"q": in_b.number}) == []


def test_identity_numbers_are_masked_for_readers_without_the_permission(world, client):
    case = case_in_state(world, S.SETTLED)
    person = case.applicants().first().person
    full = export_rows(client, world.supervisor_a)[0]
    masked = export_rows(client, world.auditor_a)[0]
    admin = export_rows(client, world.admin)[0]
    assert full[COL["applicant_ids"]] == person.id_number
    assert full[COL["credit_code"]] == case.employer.credit_code
    for row in (masked, admin):
        assert "*" in row[COL["applicant_ids"]] and person.id_number not in row[COL["applicant_ids"]]
        assert row[COL["applicant_ids"]] == person.masked_id_number
        assert row[COL["applicant_phones"]] == person.masked_phone
        assert row[COL["credit_code"]] == case.employer.masked_credit_code
    exports = LedgerExport.objects.order_by("pk")
    assert [e.full_identity for e in exports] == [True, False, False]


def test_the_bulk_masking_rule_is_the_permission_modules_rule(world):
    cases = [case_in_state(world, s) for s in (S.JOINT_MEDIATION, S.SELF_RESOLUTION, S.LINKED_MEDIATION)]
    cases.append(register(world.mediator_b, world.town_b))
    # A per-case grant, as a former mediator would get it.
    from guardian.shortcuts import assign_perm

    assign_perm("mediation.view_personal_data", world.auditor_a, cases[-1])
    for user in (world.admin, world.auditor_a, world.supervisor_a, world.supervisor_b, world.district_supervisor,
                 world.mediator_a, world.enterprise_supervisor):
        check = ledger.personal_data_checker(user)
        permissions.forget_grants(user)
        for case in Case.objects.select_related("organisation").filter(pk__in=[c.pk for c in cases]):
            assert check(case) == permissions.may_see_personal_data(user, case), (user, case)


def test_export_query_count_does_not_grow_with_rows(world, django_assert_max_num_queries):
    for _ in range(3):
        case_in_state(world, S.PERFORMED)
    with django_assert_max_num_queries(20) as few:
        ledger.ledger_export(user=world.district_supervisor, filters=None)
    for _ in range(6):
        case_in_state(world, S.REFERRED)
    with django_assert_max_num_queries(len(few.captured_queries)):
        result = ledger.ledger_export(user=world.district_supervisor, filters=None)
    assert result.rows == 9


def test_mediators_may_not_export_the_ledger(world, client):
    case_in_state(world, S.JOINT_MEDIATION)
    client.force_login(world.mediator_a)
    assert client.get(reverse("reports:ledger_export")).status_code == 403
    assert client.get(reverse("reports:ledger")).status_code == 403
    assert not LedgerExport.objects.exists()


def test_ledger_page_shows_the_case_lists_count_and_links_the_export(world, client):
    case_in_state(world, S.JOINT_MEDIATION)
    register(world.mediator_b, world.town_b)
    client.force_login(world.supervisor_a)
    response = client.get(reverse("reports:ledger"), {"state": "joint_mediation"})
    assert response.status_code == 200
    assert response.context["count"] == 1
    assert reverse("reports:ledger_export") + "?state=joint_mediation" in response.content.decode()


# ------------------------------------------------------------------------------ import

def test_template_lists_every_column_and_explains_them(world, client):
    client.force_login(world.supervisor_a)
    response = client.get(reverse("reports:ledger_template"))
    book = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in book["台账"][1]] == HEADERS
    notes = [row[0] for row in book["填写说明"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert notes == HEADERS
    client.force_login(world.auditor_a)
    assert client.get(reverse("reports:ledger_template")).status_code == 403


def test_a_good_historical_ledger_is_imported_with_its_outcome(world):
    data = workbook_bytes([
        good_row(world),
        good_row(world, number="锦调〔2025〕0007号", state="已转仲裁/诉讼", outcome="调解不成",
                 instalments="", amount_agreed=None, amount_recovered=None, agreement_effective_on=None,
                 follow_ups="", closed_at=None, referral_destination="劳动人事争议仲裁委员会",
                 referred_on="2025-03-12"),
        # An enterprise committee's own enterprise (DOMAIN.md §4).
        good_row(world, organisation=world.enterprise_a.name, state="企业自主化解", outcome="调解中",
                 employer="宁波甬达机械有限公司", credit_code=world.enterprise_a.served_employers.get().credit_code,
                 concluded_at=None, agreement_effective_on=None, amount_agreed=None, instalments="",
                 amount_recovered=None, follow_ups="", closed_at=None, sessions="2025-03-05、2025-03-07"),
    ])
    check = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=True)
    assert check.ok, check.errors
    assert check.to_create == 3 and not Case.objects.exists()
    report = ledger.ledger_import(user=world.supervisor_a, data=data, filename="2025年台账.xlsx", dry_run=False)
    assert report.ok and report.created == 3
    closed, referred, working = Case.objects.order_by("pk")
    assert (closed.state, closed.closed_from_state) == (S.CLOSED, S.PERFORMED)
    # A row without a number is numbered after the numbers the file gives (0007 here).
    assert closed.number == "锦调〔2025〕0008号" and closed.amount_agreed == 9000 and closed.amount_recovered == 9000
    assert closed.effective_agreement().instalments.get().paid_amount == 9000
    assert referred.state == S.REFERRED and referred.number == "锦调〔2025〕0007号"
    assert referred.referrals.get().referred_on == datetime.date(2025, 3, 12)
    assert working.state == S.SELF_RESOLUTION and working.sessions.count() == 2
    assert working.organisation == world.enterprise_a
    allowed = {(name, source, target) for name, source, targets in graph() for target in targets}
    for case in (closed, referred, working):
        assert case.imported and case.created_by == world.supervisor_a
        logs = list(TransitionLog.objects.filter(case=case).order_by("at", "pk"))
        assert logs and all(log.imported for log in logs)
        assert all((log.transition, log.from_state, log.to_state) in allowed for log in logs)
        assert logs[0].from_state == S.REGISTERED and logs[-1].to_state == case.state
        assert all(a.at <= b.at for a, b in zip(logs, logs[1:], strict=False))
        assert logs[0].at.year == 2025  # the history keeps the ledger's dates, not the import's
    assert [log.transition for log in closed.transitions.order_by("at", "pk")] == [
        "accept", "record_agreement", "confirm_performance", "close"]
    # The sequence continues after the imported numbers.
    new = register(world.mediator_a, world.town_a, received_at=closed.received_at + datetime.timedelta(days=30))
    assert new.number == "锦调〔2025〕0009号"
    batch = ImportBatch.objects.get()
    assert (batch.created, batch.rows, batch.filename) == (3, 3, "2025年台账.xlsx")


def test_importing_the_same_file_twice_adds_nothing(world):
    data = workbook_bytes([good_row(world), good_row(world, number="锦调〔2025〕0002号")])
    first = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False)
    assert first.created == 2
    counts = (Case.objects.count(), TransitionLog.objects.count(), Person.objects.count(), ImportBatch.objects.count())
    second = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False)
    assert second.ok and second.created == 0 and len(second.skipped) == 2
    assert (Case.objects.count(), TransitionLog.objects.count(), Person.objects.count(),
            ImportBatch.objects.count()) == counts


def test_a_bad_ledger_reports_every_problem_by_row_and_column_and_writes_nothing(world):
    rows = [
        good_row(world),  # row 2 is fine: it must not be written either
        good_row(world, applicant_ids=f"110101199003070000、{valid_id_number()}"),  # row 3: check digit
        good_row(world, channel="飞鸽传书", received_at="2025-13-40"),  # row 4: two problems
        good_row(world, employer="", organisation=world.town_b.name),  # row 5: missing employer, not in scope
        good_row(world, state="已达成协议", outcome="调解不成"),  # row 6: state and outcome disagree
        good_row(world, accepted_at="2025-03-01 08:00"),  # row 7: accepted before received
        good_row(world, applicant_ids="330***********1234、330***********5678"),  # row 8: masked export
        good_row(world, number="奉工调〔2025〕0001号"),  # row 9: another organisation's number
    ]
    before = (Case.objects.count(), Person.objects.count(), TransitionLog.objects.count())
    for dry_run in (True, False):
        report = ledger.ledger_import(user=world.supervisor_a, data=workbook_bytes(rows), dry_run=dry_run)
        assert not report.ok and report.created == 0 and report.batch is None
        found = {(p.row, p.column) for p in report.errors}
        assert {(3, "申请人身份证号"), (4, "来源渠道"), (4, "收案时间"), (5, "被申请单位"), (5, "承办组织"),
                (6, "处理结果"), (7, "受理时间"), (8, "申请人身份证号"), (9, "案号")} <= found, report.errors
        assert not any(p.row == 2 for p in report.errors)
        messages = {(p.row, p.column): p.message for p in report.errors}
        assert "校验位" in messages[(3, "申请人身份证号")]
        assert "飞鸽传书" in messages[(4, "来源渠道")]
        assert "不在您的管辖范围" in messages[(5, "承办组织")]
        assert "不能早于" in messages[(7, "受理时间")]
        assert "打码" in messages[(8, "申请人身份证号")]
    assert (Case.objects.count(), Person.objects.count(), TransitionLog.objects.count()) == before
    assert not ImportBatch.objects.exists()


def test_missing_columns_and_non_excel_files_are_refused(world):
    report = ledger.ledger_import(user=world.supervisor_a, data=b"not a spreadsheet", dry_run=True)
    assert not report.ok and "xlsx" in report.errors[0].message
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["案号", "申请人"])
    out = io.BytesIO()
    book.save(out)
    report = ledger.ledger_import(user=world.supervisor_a, data=out.getvalue(), dry_run=True)
    missing = {p.column for p in report.errors}
    assert {"收案时间", "来源渠道", "被申请单位", "承办组织", "状态", "争议事项"} <= missing
    assert all(p.row == 1 for p in report.errors)


def test_only_supervisors_and_administrators_import(world, client):
    data = workbook_bytes([good_row(world)])
    for user in (world.mediator_a, world.auditor_a):
        assert not ledger.may_import(user)
        client.force_login(user)
        response = client.post(reverse("reports:ledger_import"),
                               {"file": _upload(data), "action": "import"})
        assert response.status_code == 403
    assert not Case.objects.exists()
    report = ledger.ledger_import(user=world.admin, data=data, dry_run=True)
    assert report.ok


def _upload(data: bytes, name: str = "台账.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(
        name, data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_import_through_the_page_checks_then_imports(world, client):
    client.force_login(world.supervisor_a)
    data = workbook_bytes([good_row(world), good_row(world, employer="")])
    bad = client.post(reverse("reports:ledger_import"), {"file": _upload(data), "action": "import"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "未导入任何数据" in html and "被申请单位" in html and "请填写被申请单位" in html
    assert not Case.objects.exists()
    data = workbook_bytes([good_row(world)])
    checked = client.post(reverse("reports:ledger_import"), {"file": _upload(data), "action": "check"})
    assert checked.status_code == 200 and "可新增 1 件案件" in checked.content.decode()
    assert not Case.objects.exists()
    done = client.post(reverse("reports:ledger_import"), {"file": _upload(data), "action": "import"})
    assert done.status_code == 200 and Case.objects.count() == 1


class _Rollback(Exception):
    pass


def dispatch_case(world) -> Case:
    """A dispatched worker's claim against the dispatch agency and the host employer, 共同当事人
    under 劳动争议调解仲裁法 art. 22."""
    host = world.enterprise_a.served_employers.get()
    return register(world.mediator_a, world.town_a, employer=EmployerInput(
        name="宁波甬派人力资源有限公司", credit_code=valid_credit_code()), employer_capacity="dispatch_agency",
        other_respondents=[RespondentInput(EmployerInput(name=host.name, credit_code=host.credit_code),
                                           "host_employer")])


def represented_case(world) -> Case:
    """Thirty couriers with one claim, three of them listed and elected as representatives (art. 7)."""
    data = registration(world.town_a, applicants=3, workers_involved=30, is_new_employment_form=True,
                        work_form="courier", platform=EmployerInput(name="甬城即时配送平台", is_platform=True))
    names = ("代表甲", "代表乙", "代表丙")
    data = dataclasses.replace(data, applicants=[dataclasses.replace(p, name=n, is_representative=True)
                                                 for p, n in zip(data.applicants, names, strict=True)])
    return case_register(actor=world.mediator_a, data=data)


def test_export_import_export_gives_the_same_ledger(world, client):
    """Export everything, go back to an empty case base, import the file, export again: the same rows."""
    with pytest.raises(_Rollback):
        with transaction.atomic():
            for state in ROUND_TRIP_STATES:
                case_in_state(world, state)
            escalated = case_in_state(world, S.ESCALATION_PENDING)
            ws.escalation_approve(case_id=escalated.pk, actor=world.supervisor_a)
            settled = case_in_state(world, S.SETTLED)
            ws.case_report_nonperformance(case_id=settled.pk, actor=world.mediator_a, reason="未按期支付")
            performed = case_in_state(world, S.PERFORMED)
            satisfy_conditions(world, performed, "close")
            ws.case_close(case_id=performed.pk, actor=world.supervisor_a, archive_number="锦档2026-9")
            collective = register(world.mediator_b, world.town_b, applicants=11, channel="wechat",
                                  is_new_employment_form=True, work_form="courier")
            ws.case_accept(case_id=collective.pk, actor=world.mediator_b)
            ws.case_withdraw(case_id=collective.pk, actor=world.mediator_b, reason="已自行和解")
            dispatch = dispatch_case(world)
            ws.case_accept(case_id=dispatch.pk, actor=world.mediator_a)
            represented = represented_case(world)
            # A ride-hailing driver against the platform itself: the principal respondent, in the
            # platform capacity, is also the case's platform; the ledger says so once.
            own_platform = register(world.mediator_a, world.town_a, employer=EmployerInput(
                name="宁波途易出行科技有限公司", credit_code=valid_credit_code(), is_platform=True),
                employer_capacity="platform", work_form="ride_hailing")
            original = export_bytes(client, world.district_supervisor)
            before = export_rows(client, world.district_supervisor)
            raise _Rollback
    assert not Case.objects.exists()
    report = ledger.ledger_import(user=world.district_supervisor, data=original, dry_run=False)
    assert report.ok, report.errors
    assert report.created == len(before) == 18
    after = export_rows(client, world.district_supervisor)
    key = COL["number"]
    assert sorted(after, key=lambda r: r[key]) == sorted(before, key=lambda r: r[key])
    # The two new kinds of case came back as they were: both respondents in their capacities,
    # the representatives and the workers they speak for (art. 22, art. 7).
    dispatch = Case.objects.get(number=dispatch.number)
    assert [(p.employer.name, p.capacity) for p in dispatch.parties.filter(role=PartyRole.RESPONDENT)
            .order_by("position")] == [("宁波甬派人力资源有限公司", "dispatch_agency"),
                                       ("宁波甬达机械有限公司", "host_employer")]
    represented = Case.objects.get(number=represented.number)
    assert (represented.workers_involved, represented.applicant_count, represented.is_collective) == (30, 3, True)
    assert set(represented.parties.filter(is_representative=True).values_list("name", flat=True)) == {
        "代表甲", "代表乙", "代表丙"}
    assert all(log.imported for log in TransitionLog.objects.all())
    own_platform = Case.objects.get(number=own_platform.number)
    assert own_platform.platform_id == own_platform.employer_id
    assert list(own_platform.parties.filter(role=PartyRole.RESPONDENT).values_list("capacity", flat=True)) == [
        "platform"]
    again = ledger.ledger_import(user=world.district_supervisor, data=original, dry_run=False)
    assert again.created == 0 and len(again.skipped) == 18


def test_one_worker_on_two_rows_is_one_person_and_known_people_are_reused(world):
    worker = valid_id_number()
    known = register(world.mediator_a, world.town_a).applicants().first().person
    data = workbook_bytes([
        good_row(world, applicants="赵磊", applicant_ids=worker, applicant_phones="13805741111"),
        # The known person under their name on file (another name is refused, as registration refuses it).
        good_row(world, applicants=f"赵磊、{known.name}", applicant_ids=f"{worker}、{known.id_number}",
                 applicant_phones="13805741111、13805742222"),
    ])
    before = Person.objects.count()
    report = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False)
    assert report.ok and report.created == 2
    assert Person.objects.count() == before + 1
    assert Person.objects.get(id_number=worker).case_parts.count() == 2
    assert known.case_parts.count() == 2


def test_unknown_mediators_are_a_warning_not_an_error(world):
    named = world.mediator_a.get_full_name()
    data = workbook_bytes([good_row(world, mediators=f"{named}、查无此人")])
    report = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False)
    assert report.ok and report.created == 1
    assert [p.column for p in report.warnings] == ["承办调解员"] and "查无此人" in report.warnings[0].message
    assert list(Case.objects.get().mediators.all()) == [world.mediator_a]


# ----------------------------------------------- several respondents, representatives, workers involved

def test_joint_respondents_representatives_and_workers_involved_are_exported(world, client):
    """Art. 22: the dispatch agency is the principal respondent, the host employer a further one in its
    capacity; art. 7: 3 representatives listed for 30 workers. The platform keeps its own column."""
    dispatch, represented = dispatch_case(world), represented_case(world)
    host = world.enterprise_a.served_employers.get()
    full = {r[COL["number"]]: r for r in export_rows(client, world.supervisor_a)}
    masked = {r[COL["number"]]: r for r in export_rows(client, world.auditor_a)}
    row = full[dispatch.number]
    assert (row[COL["employer"]], row[COL["employer_capacity"]]) == ("宁波甬派人力资源有限公司", "劳务派遣单位")
    assert row[COL["other_respondents"]] == f"宁波甬达机械有限公司（用工单位，{host.credit_code}）"
    assert (masked[dispatch.number][COL["other_respondents"]]
            == f"宁波甬达机械有限公司（用工单位，{host.masked_credit_code}）")
    assert (row[COL["workers_involved"]], row[COL["collective"]], row[COL["representatives"]] or "") == (1, "否", "")
    row = full[represented.number]
    assert row[COL["representatives"]] == "代表甲、代表乙、代表丙"
    assert (row[COL["applicant_count"]], row[COL["workers_involved"]], row[COL["collective"]]) == (3, 30, "是")
    assert (row[COL["employer_capacity"]], row[COL["platform"]]) == ("用人单位", "甬城即时配送平台")
    assert not row[COL["other_respondents"]]  # the platform is not listed twice


def test_a_ledger_with_joint_respondents_and_representatives_is_imported(world):
    """Each further respondent on its own line, in its capacity; representatives among the applicants (art. 7)."""
    agency, host = valid_credit_code(), valid_credit_code()
    data = workbook_bytes([
        good_row(world, employer="宁波历史人力资源有限公司", credit_code=agency, employer_capacity="劳务派遣单位",
                 other_respondents=f"宁波历史机械（集团）有限公司（用工单位，{host}）\n宁波历史建设有限公司（发包或承包单位）"),
        good_row(world, applicants="王伟、李娜、赵磊", applicant_ids=f"{valid_id_number()}、{valid_id_number()}、"
                 f"{valid_id_number()}", applicant_phones="", representatives="王伟、李娜", workers_involved=12),
    ])
    report = ledger.ledger_import(user=world.supervisor_a, data=data, dry_run=False)
    assert report.ok, report.errors
    dispatch, collective = Case.objects.order_by("pk")
    respondents = dispatch.parties.filter(role=PartyRole.RESPONDENT).order_by("position")
    assert [(p.name, p.capacity, p.employer.credit_code or "") for p in respondents] == [
        ("宁波历史人力资源有限公司", "dispatch_agency", agency),
        ("宁波历史机械（集团）有限公司", "host_employer", host),
        ("宁波历史建设有限公司", "contractor", "")]
    assert dispatch.employer.credit_code == agency
    assert (collective.applicant_count, collective.workers_involved, collective.is_collective) == (3, 12, True)
    assert sorted(CaseParty.objects.filter(case=collective, is_representative=True)
                  .values_list("name", flat=True)) == sorted(["王伟", "李娜"])


def test_bad_respondents_and_worker_numbers_are_refused_by_row_and_nothing_is_written(world):
    rows = [
        good_row(world),  # row 2 is fine and is not written either
        good_row(world, other_respondents=f"宁波历史合伙有限公司（合伙人，{valid_credit_code()}）"),  # 3
        good_row(world, employer_capacity="老板"),  # 4
        good_row(world, workers_involved=1),  # 5: two applicants listed
        good_row(world, representatives="张三"),  # 6: not an applicant
        good_row(world, employer_capacity="劳务派遣单位"),  # 7: art. 22, the host employer is missing
        good_row(world, workers_involved="三十"),  # 8
        good_row(world, representatives="王伟", workers_involved=2),  # 9: art. 7 needs ten or more
        good_row(world, other_respondents="宁波历史用工有限公司（用工单位，9133************1X）"),  # 10: masked
        good_row(world, other_respondents="宁波历史用工有限公司"),  # 11: no capacity
    ]
    for dry_run in (True, False):
        report = ledger.ledger_import(user=world.supervisor_a, data=workbook_bytes(rows), dry_run=dry_run)
        assert not report.ok and report.created == 0
        messages = {(p.row, p.column): p.message for p in report.errors}
        assert not any(p.row == 2 for p in report.errors)
        assert "合伙人" in messages[(3, "其他被申请人")] and "无效" in messages[(3, "其他被申请人")]
        assert "老板" in messages[(4, "被申请单位身份")]
        assert "不能少于" in messages[(5, "涉及人数")]
        assert "张三" in messages[(6, "推举代表")]
        assert "第二十二条" in messages[(7, "其他被申请人")]
        assert "正整数" in messages[(8, "涉及人数")]
        assert "第七条" in messages[(9, "推举代表")]
        assert "打码" in messages[(10, "其他被申请人")]
        assert "格式不正确" in messages[(11, "其他被申请人")]
    assert not Case.objects.exists() and not ImportBatch.objects.exists()


def test_former_state_labels_of_old_ledgers_are_read(world):
    """Old ledgers call line 1 企业内部化解 and a pending request 待审批升级 (now 企业自主化解, 待审批提级)."""
    served = world.enterprise_a.served_employers.get()
    working = dict(organisation=world.enterprise_a.name, employer=served.name, credit_code=served.credit_code,
                   outcome="调解中", concluded_at=None, agreement_effective_on=None, amount_agreed=None,
                   instalments="", amount_recovered=None, follow_ups="", closed_at=None)
    report = ledger.ledger_import(user=world.supervisor_a, data=workbook_bytes([
        good_row(world, state="企业内部化解", **working)]), dry_run=False)
    assert report.ok, report.errors
    assert Case.objects.get().state == S.SELF_RESOLUTION
    report = ledger.ledger_import(user=world.supervisor_a, data=workbook_bytes([
        good_row(world, state="待审批升级", **working)]), dry_run=True)
    assert [(p.column, p.message) for p in report.errors] == [
        ("状态", "待审批提级的案件不能导入：请先审批，再按审批后的状态导入。")]
