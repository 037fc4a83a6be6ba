"""Importing historical ledgers: every row checked as a registration, then all rows written or none.

A dry run reports every problem as (row, column, message). Importing the same file
again adds nothing: each row has a key (its case number, or its content when it has
none) and rows whose key is already in the database are skipped. The rows are written
in batches of bulk INSERTs (a few dozen per batch instead of ~18 per case), numbered by
the one numbering function, their histories made by the one history-row builder.
"""
from __future__ import annotations

import datetime
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from mediation.audit import log as audit
from mediation.models import (
    Agreement,
    AgreementTerm,
    Case,
    CaseParty,
    ClaimItem,
    Employer,
    FollowUp,
    Instalment,
    MediationSession,
    Person,
    Referral,
)
from mediation.reports.ledger.cells import text
from mediation.reports.ledger.columns import COLUMN_BY_KEY, COLUMNS, IMPORT_REASON, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS
from mediation.reports.ledger.forms import TIMES, LedgerContext, LedgerRowForm
from mediation.reports.models import ImportBatch
from mediation.services import OnFile, case_numbers_take, format_case_number
from workflows.clocks import CHINA_TZ, WorkCalendar
from workflows.models import TransitionLog


@dataclass
class Problem:
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    to_create: int = 0
    created: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, case number) already in the database
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    dry_run: bool = True
    batch: ImportBatch | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, row: int, column: Any, message: Any) -> None:
        self.errors.append(Problem(row, str(column), str(message)))


def _header(key: str) -> str:
    return str(COLUMN_BY_KEY[key].header) if key in COLUMN_BY_KEY else ""


def _columns(header: tuple[Any, ...], report: ImportReport) -> dict[str, int]:
    """Where each known column is (headers in Chinese, or in the reader's language)."""
    known: dict[str, str] = {}
    for column in COLUMNS:
        with translation.override("zh-hans"):
            known[str(column.header)] = column.key
        known[str(column.header)] = column.key
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        key = known.get(text(name))
        if key and key not in index:
            index[key] = i
    for column in COLUMNS:
        if column.required and column.key not in index:
            report.error(1, column.header, _("缺少必填列“%(name)s”。") % {"name": column.header})
    return index


def read(data: bytes, report: ImportReport) -> list[tuple[int, dict[str, Any]]]:
    """(spreadsheet row, {column key: cell}) for every non-empty row of the ledger sheet."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        report.error(0, "", _("文件不是有效的 Excel（.xlsx）文件。"))
        return []
    sheet = workbook["台账"] if "台账" in workbook.sheetnames else workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        report.error(1, "", _("第1行应为列名。"))
        return []
    index = _columns(header, report)
    if report.errors:
        return []
    out = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v in (None, "") for v in values):
            continue
        out.append((number, {k: (values[i] if i < len(values) else None) for k, i in index.items()}))
        if len(out) > MAX_IMPORT_ROWS:
            report.error(number, "", _("一次最多导入 %(n)d 行，请分批导入。") % {"n": MAX_IMPORT_ROWS})
            return []
    report.rows = len(out)
    if not out:
        report.error(2, "", _("文件中没有案件数据。"))
    return out


def check(raw: list[tuple[int, dict[str, Any]]], *, context: LedgerContext,
          report: ImportReport) -> list[LedgerRowForm]:
    """Every row through its form: cells first, then (with the records on file looked up once) the rules."""
    forms = [LedgerRowForm(values, line=line, context=context) for line, values in raw]
    for form in forms:
        form.is_valid()
    on_file = OnFile.load(form.registration for form in forms)
    valid = [form for form in forms if form.check(on_file)]
    for form in forms:
        for key, messages in form.errors.items():
            for message in messages:
                report.error(form.line, _header(key), message)
        report.warnings += [Problem(form.line, _header(key), str(message)) for key, message in form.warnings]
    return valid


def _fresh(rows: list[LedgerRowForm], report: ImportReport) -> list[LedgerRowForm]:
    """The rows not imported before (by key or number), each once, whose numbers are free."""
    data = [row.cleaned_data for row in rows]
    existing_keys = set(Case.objects.filter(import_key__in=[d["key"] for d in data])
                        .values_list("import_key", flat=True))
    existing_numbers = set(Case.objects.filter(number__in=[d["number"] for d in data if d["number"]])
                           .values_list("number", flat=True))
    seen: dict[str, int] = {}
    fresh = []
    for row, d in zip(rows, data, strict=True):
        if d["key"] in existing_keys or (d["number"] and d["number"] in existing_numbers):
            report.skipped.append((row.line, d["number"]))
        elif d["key"] in seen:
            report.error(row.line, _header("number") if d["number"] else "",
                         _("与第%(n)d行重复。") % {"n": seen[d["key"]]})
        else:
            seen[d["key"]] = row.line
            if d["number"] and Case.objects.filter(registered_organisation=row.checked.data.organisation,
                                                   sequence_year=d["year"], sequence_number=d["seq"]).exists():
                report.error(row.line, _header("number"), _("登记组织%(year)d年的第%(seq)d号已被其他案件使用。")
                             % {"year": d["year"], "seq": d["seq"]})
            else:
                fresh.append(row)
    return fresh


# ----------------------------------------------------------------------------- writing

def ledger_write(rows: list[LedgerRowForm], *, user: Any, calendar: WorkCalendar, batch_size: int = 500) -> int:
    _number(rows)
    for i in range(0, len(rows), batch_size):
        _write_batch(rows[i:i + batch_size], user=user, calendar=calendar)
    return len(rows)


def _number(rows: list[LedgerRowForm]) -> None:
    """Numbers the file gives are kept; a row without one is numbered after them all, and the
    sequence moves past the highest, so the next registration continues after them."""
    given: dict[tuple[int, int], int] = {}
    waiting: dict[tuple[int, int], list[dict[str, Any]]] = {}
    registered = {row.checked.data.organisation.pk: row.checked.data.organisation for row in rows}
    for row in rows:
        cd, org_id = row.cleaned_data, row.checked.data.organisation.pk
        if not cd["number"]:
            cd["year"] = row.checked.data.received_at.astimezone(CHINA_TZ).year
            waiting.setdefault((org_id, cd["year"]), []).append(cd)
        else:
            given[(org_id, cd["year"])] = max(given.get((org_id, cd["year"]), 0), cd["seq"])
    for org_id, year in sorted(given.keys() | waiting.keys()):  # one lock order for every writer
        unnumbered = waiting.get((org_id, year), [])
        numbers = case_numbers_take(organisation=registered[org_id], year=year, count=len(unnumbered),
                                    above=given.get((org_id, year), 0))
        for cd, seq in zip(unnumbered, numbers, strict=True):
            cd["seq"], cd["number"] = seq, format_case_number(registered[org_id], year, seq)


def _new_records(rows: list[LedgerRowForm]) -> None:
    """People and employers not yet on file, each once however many rows name them."""
    new: dict[int, Any] = {}
    for row in rows:
        r = row.checked
        for record in (*r.people, *r.employers, r.platform):
            if record is not None and record.pk is None:
                new[id(record)] = record
    Person.objects.bulk_create([r for r in new.values() if isinstance(r, Person)])
    Employer.objects.bulk_create([r for r in new.values() if isinstance(r, Employer)])


def _case(row: LedgerRowForm, *, user: Any, calendar: WorkCalendar) -> Case:
    cd = row.cleaned_data
    return row.checked.new_case(
        year=cd["year"], seq=cd["seq"], actor=user, calendar=calendar, number=cd["number"],
        organisation=cd["organisation"], state=cd["state"], amount_agreed=cd["amount_agreed"],
        amount_recovered=cd["amount_recovered"], agreement_effective_on=cd["agreement_effective_on"],
        mediation_extra_days=cd["extra_days"], closed_from_state=cd["closed_from"], archive_number=cd["archive_number"],
        imported=True, import_key=cd["key"], **{key: cd[key] for key in TIMES})


def _write_batch(rows: list[LedgerRowForm], *, user: Any, calendar: WorkCalendar) -> None:
    _new_records(rows)
    cases = Case.objects.bulk_create([_case(row, user=user, calendar=calendar) for row in rows])
    out: defaultdict[Any, list] = defaultdict(list)  # what hangs off the cases, by model
    for row, case in zip(rows, cases, strict=True):
        cd, registration, organisation = row.cleaned_data, row.checked, row.cleaned_data["organisation"]
        out[Case.categories.through] += [Case.categories.through(case_id=case.pk, category_id=c.pk)
                                         for c in registration.categories]
        out[Case.mediators.through] += [Case.mediators.through(case_id=case.pk, user_id=u.pk) for u in cd["mediators"]]
        for claim in registration.claims:
            claim.case = case
        out[ClaimItem] += registration.claims
        out[CaseParty] += registration.parties(case)
        sessions = [MediationSession(
            case=case, organisation=organisation,
            held_at=datetime.datetime.combine(day, datetime.time(9, 0), tzinfo=CHINA_TZ),
            place=organisation.address or organisation.name, attendees=_("见纸质卷宗"),
            record=_("历史台账导入：调解笔录见纸质卷宗。"), recorded_by=user) for day in cd["sessions"]]
        out[MediationSession] += sessions
        out["session_mediators"] += [(session, u) for session in sessions for u in cd["mediators"]]
        if cd["agreement_effective_on"]:
            # An effective version without signatures: the paper original in the file holds them.
            out[Agreement].append(Agreement(case=case, status=Agreement.Status.EFFECTIVE, drafted_by=user,
                                            dispute_summary=case.dispute_summary,
                                            effective_on=cd["agreement_effective_on"]))
            out["instalments"] += [(out[Agreement][-1], i) for i in cd["instalments"]]
        out[FollowUp] += [FollowUp(case=case, contact=_("见纸质卷宗"), content=str(IMPORT_REASON), recorded_by=user,
                                   **f) for f in cd["follow_ups"]]
        if cd["referral"]:
            out[Referral].append(_referral(cd["referral"], case, user))
        # Acceptance is where a case arrives at its handling organisation (the ledger
        # does not record the escalations between), so only it crosses organisations.
        out[TransitionLog] += [TransitionLog.build(
            case=case, transition=step.name, from_state=step.source, to_state=step.target,
            from_organisation_id=(registration.data.organisation if step.name == "accept" else organisation).pk,
            to_organisation_id=organisation.pk, actor_id=user.pk, reason=IMPORT_REASON, at=step.at,
            imported=True) for step in cd["steps"]]
    for model in (Case.categories.through, Case.mediators.through, ClaimItem, CaseParty, MediationSession,
                  Agreement, FollowUp, Referral):
        model.objects.bulk_create(out[model])
    SessionMediator = MediationSession.mediators.through
    SessionMediator.objects.bulk_create([SessionMediator(mediationsession_id=s.pk, user_id=u.pk)
                                         for s, u in out["session_mediators"]])
    text = _("历史台账导入：协议文本见纸质卷宗。")
    AgreementTerm.objects.bulk_create([AgreementTerm(agreement=a, number=1, text=text) for a in out[Agreement]])
    Instalment.objects.bulk_create([Instalment(agreement=a, **i) for a, i in out["instalments"]])
    _write_history(out[TransitionLog])


def _referral(r: dict[str, Any], case: Case, user: Any) -> Referral:
    done = r["outcome"] != Referral.Outcome.PENDING
    return Referral(
        case=case, destination=r["destination"], body=r["body"], referred_on=r["referred_on"], referred_by=user,
        note=str(IMPORT_REASON), outcome=r["outcome"], outcome_on=r["outcome_on"],
        outcome_summary=str(IMPORT_REASON) if done else "", outcome_recorded_by=user if done else None)


def _write_history(logs: list[TransitionLog]) -> None:
    moments = [log.at for log in logs]
    # ``at`` is auto_now_add: set the historical moments again in a second statement.
    created = TransitionLog.objects.bulk_create(logs)
    for log, moment in zip(created, moments, strict=True):
        log.at = moment
    TransitionLog.objects.bulk_update(created, ["at"], batch_size=1000)


def ledger_import(*, user: Any, data: bytes, filename: str = "", dry_run: bool = True) -> ImportReport:
    """Check, and unless ``dry_run`` write, a historical ledger: all rows or none.

    Rows whose case is already in the database (same case number, or for rows
    without a number the same content) are skipped, so importing a file twice adds
    nothing. Each problem is reported with the spreadsheet row, the column header
    and a message in the user's language.
    """
    report = ImportReport(dry_run=dry_run)
    context = LedgerContext(user)
    if not context.orgs:
        report.error(0, "", _("您没有导入历史台账的权限。"))
        return report
    if len(data) > MAX_IMPORT_BYTES:
        report.error(0, "", _("文件过大：台账文件不能超过 %(mb)d MB。") % {"mb": MAX_IMPORT_BYTES // (1024 * 1024)})
        return report
    rows = check(read(data, report), context=context, report=report)
    if report.errors:
        return report
    fresh = _fresh(rows, report)
    report.to_create = len(fresh)
    if report.errors or dry_run or not fresh:
        return report
    try:
        with transaction.atomic():
            report.created = ledger_write(fresh, user=user, calendar=context.calendar)
            report.batch = ImportBatch.objects.create(
                user=user, filename=filename[:200], sha256=hashlib.sha256(data).hexdigest(), rows=report.rows,
                created=report.created, skipped=len(report.skipped))
            audit.record(actor=user, action="import.ledger", obj=report.batch, new=audit.snapshot(
                report.batch, ("filename", "sha256", "rows", "created", "skipped")))
    except IntegrityError:
        # Another import of the same rows committed first: nothing of ours was written.
        report.created = 0
        report.batch = None
        report.error(0, "", _("导入时发现数据冲突（可能有人同时导入了相同的案件），本次未写入任何数据，请重试。"))
    return report
