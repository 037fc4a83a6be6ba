"""The ledger export: the case list's cases, one row each, to a temporary .xlsx with flat memory.

Cases are read in chunks as plain values with their related rows fetched per chunk;
openpyxl's write-only workbook keeps each row only until it is written. Identity
numbers, phones and credit codes are masked unless the reader may see them for that
case (the permissions module's rule).
"""
from __future__ import annotations

import datetime
import tempfile
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import IO, Any, Iterable, Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from mediation import identity
from mediation.audit import log as audit
from mediation.db_router import replica_reads
from mediation.models import (
    Agreement,
    ApplicationForm,
    Case,
    CaseParty,
    Category,
    Channel,
    ClaimItem,
    FollowUp,
    Instalment,
    MediationSession,
    PartyRole,
    Referral,
    RespondentCapacity,
    WorkForm,
)
from mediation.reports.ledger.access import ledger_queryset, personal_data_checker
from mediation.reports.ledger.cells import local_minute as _local
from mediation.reports.ledger.columns import COLUMNS, ITEM_SEP, LINE_SEP, SEP, Outcome, _headers, outcome_of
from mediation.reports.models import LedgerExport
from mediation.selectors import CaseFilters
from mediation.spreadsheets import text_row
from workflows.clocks import local_date
from workflows.states import CaseState as S


class _Labels:
    """Display labels resolved once per export: ``get_FOO_display`` and lazy strings cost a translation
    lookup each, which is a third of the time of a 100,000-row export."""

    def __init__(self) -> None:
        self.channel = {k: str(v) for k, v in Channel.choices}
        self.application_form = {k: str(v) for k, v in ApplicationForm.choices}
        self.work_form = {k: str(v) for k, v in WorkForm.choices}
        self.capacity = {k: str(v) for k, v in RespondentCapacity.choices}
        self.state = {k: str(v) for k, v in S.choices}
        self.outcome = {k: str(v) for k, v in Outcome.LABELS.items()}
        self.method = {k: str(v) for k, v in FollowUp.Method.choices}
        self.destination = {k: str(v) for k, v in Referral.Destination.choices}
        self.referral_outcome = {k: str(v) for k, v in Referral.Outcome.choices}
        self.yes, self.no = _("是"), _("否")
        self.satisfied, self.unsatisfied = _("满意"), _("不满意")
        self.categories = {pk: name for pk, name in Category.objects.values_list("pk", "name")}
        self.category_order = {pk: i for i, pk in enumerate(
            Category.objects.order_by("position", "pk").values_list("pk", flat=True))}

    def yes_no(self, value: bool) -> str:
        return self.yes if value else self.no


@dataclass
class _Related:
    """What hangs off one chunk of cases, by case id: nine queries per chunk, however many rows."""

    applicants: dict[int, list[tuple[str, str | None, str, bool]]]  # (name, ID number, phone, representative)
    #: (employer id, name, credit code, capacity, legal representative, address): the details given for the case.
    respondents: dict[int, list[tuple[int, str, str | None, str, str, str]]]
    categories: dict[int, list[int]]
    claims: dict[int, list[tuple[str, Decimal]]]
    mediators: dict[int, list[tuple[str, str]]]
    sessions: dict[int, list[datetime.datetime]]
    instalments: dict[int, list[tuple]]
    follow_ups: dict[int, list[tuple]]
    referrals: dict[int, tuple]


def _grouped(rows: Iterable[tuple]) -> dict[int, list]:
    out: dict[int, list] = {}
    for case_id, *rest in rows:
        out.setdefault(case_id, []).append(rest[0] if len(rest) == 1 else tuple(rest))
    return out


def _related(ids: list[int]) -> _Related:
    mediators: dict[int, list[tuple[str, str]]] = {}
    for case_id, username, first, last in (Case.mediators.through.objects.filter(case_id__in=ids).values_list(
            "case_id", "user__username", "user__first_name", "user__last_name")):
        # The same name as User.get_full_name(), or the username.
        mediators.setdefault(case_id, []).append((username, f"{first} {last}".strip() or username))
    agreements = dict(Agreement.objects.filter(case_id__in=ids, status=Agreement.Status.EFFECTIVE)
                      .values_list("pk", "case_id"))
    instalments: dict[int, list[tuple]] = {}
    for agreement_id, *rest in (Instalment.objects.filter(agreement_id__in=list(agreements)).order_by("number")
                                .values_list("agreement_id", "number", "amount", "due_on", "paid_on", "paid_amount")):
        instalments.setdefault(agreements[agreement_id], []).append(tuple(rest))
    referrals = {case_id: tuple(rest) for case_id, *rest in (
        Referral.objects.filter(case_id__in=ids).order_by("referred_on", "pk")
        .values_list("case_id", "destination", "body", "referred_on", "outcome", "outcome_on"))}
    applicants: dict[int, list[tuple[str, str | None, str, bool]]] = {}
    respondents: dict[int, list[tuple[int, str, str | None, str, str, str]]] = {}
    # Applicants and respondents in one query: the parties of a chunk, in their order. A respondent's
    # name, legal representative and address are the ones given for the case (CaseParty), as an
    # applicant's name and phone are: never another office's record of the firm.
    for case_id, role, name, person_id, id_number, phone, chosen, employer_id, code, capacity, legal, address in (
            CaseParty.objects.filter(case_id__in=ids, role__in=[PartyRole.APPLICANT, PartyRole.RESPONDENT])
            .order_by("case_id", "role", "position", "pk")
            .values_list("case_id", "role", "name", "person_id", "person__id_number", "phone", "is_representative",
                         "employer_id", "employer__credit_code", "capacity", "legal_representative", "address")):
        if role == PartyRole.APPLICANT and person_id is not None:
            applicants.setdefault(case_id, []).append((name, id_number, phone, chosen))
        elif role == PartyRole.RESPONDENT and employer_id is not None:
            respondents.setdefault(case_id, []).append((employer_id, name, code, capacity, legal, address))
    return _Related(
        applicants=applicants,
        respondents=respondents,
        categories=_grouped(Case.categories.through.objects.filter(case_id__in=ids)
                            .values_list("case_id", "category_id")),
        claims=_grouped(ClaimItem.objects.filter(case_id__in=ids).order_by("pk")
                        .values_list("case_id", "description", "amount")),
        mediators=mediators,
        sessions=_grouped(MediationSession.objects.filter(case_id__in=ids).order_by("held_at", "pk")
                          .values_list("case_id", "held_at")),
        instalments=instalments,
        follow_ups=_grouped(FollowUp.objects.filter(case_id__in=ids).order_by("visited_on", "pk")
                            .values_list("case_id", "visited_on", "method", "satisfied")),
        referrals=referrals,
    )


def ledger_records(queryset: QuerySet, *, chunk_size: int = 1000) -> Iterator[tuple[Any, _Related]]:
    """(case row, the related rows of its chunk) for every case, ``chunk_size`` cases in memory at a time."""
    from itertools import islice

    rows = queryset.iterator(chunk_size=chunk_size)
    while True:
        chunk = list(islice(rows, chunk_size))
        if not chunk:
            return
        related = _related([r.pk for r in chunk])
        for r in chunk:
            yield r, related


def _same(value: str) -> str:
    return value


def _instalment_text(number: int, amount: Decimal, due_on: datetime.date, paid_on: datetime.date | None,
                     paid_amount: Decimal | None) -> str:
    head = f"第{number}期 {amount:.2f}元 {due_on:%Y-%m-%d}前"
    if paid_on:
        return f"{head} 已于{paid_on:%Y-%m-%d}履行{(paid_amount or Decimal('0')):.2f}元"
    return f"{head} 未履行"


def _respondent_text(name: str, capacity: str, credit_code: str) -> str:
    """“名称（身份，统一社会信用代码）”, or “名称（身份）” without a code (``cells.RESPONDENT`` reads it back)."""
    return f"{name}（{capacity}，{credit_code}）" if credit_code else f"{name}（{capacity}）"


def ledger_row(case: Any, related: _Related, *, full_identity: bool, labels: _Labels) -> list[Any]:
    """One ledger row in ``COLUMNS`` order, from a ``ledger_queryset`` row and its chunk's related rows."""
    pk = case.pk
    applicants = related.applicants.get(pk, [])
    mask_id = _same if full_identity else identity.mask_id_number
    mask_phone = _same if full_identity else identity.mask_phone
    mask_code = _same if full_identity else identity.mask_credit_code
    referral = related.referrals.get(pk)
    settled = bool(case.agreement_effective_on)
    categories = sorted(related.categories.get(pk, []), key=lambda c: labels.category_order.get(c, 0))
    # The principal respondent (Case.employer) has the employer columns, the platform its own column;
    # every other respondent is one line of 其他被申请人 (joint parties, 劳动争议调解仲裁法 art. 22).
    respondents = related.respondents.get(pk, [])
    first = next((r for r in respondents if r[0] == case.employer_id),
                 (case.employer_id, case.employer__name, None, RespondentCapacity.EMPLOYER, "", ""))
    _id, principal_name, _code, principal, principal_legal, principal_address = first
    others = [(name, capacity, code) for employer_id, name, code, capacity, _l, _a in respondents
              if employer_id not in (case.employer_id, case.platform_id)]
    values: dict[str, Any] = {
        "number": case.number,
        "received_at": _local(case.received_at),
        "channel": labels.channel.get(case.channel, case.channel),
        "application_form": labels.application_form.get(case.application_form, case.application_form),
        "applicants": SEP.join(name for name, _i, _p, _r in applicants),
        "applicant_ids": SEP.join(mask_id(i or "") for _n, i, _p, _r in applicants) if any(
            i for _n, i, _p, _r in applicants) else "",
        "applicant_phones": SEP.join(mask_phone(p or "") for _n, _i, p, _r in applicants) if any(
            p for _n, _i, p, _r in applicants) else "",
        "representatives": SEP.join(name for name, _i, _p, chosen in applicants if chosen),
        "applicant_count": case.applicant_count,
        "workers_involved": case.workers_involved,
        "collective": labels.yes_no(case.is_collective),
        "employer": principal_name,
        "employer_capacity": labels.capacity.get(principal, principal),
        "credit_code": mask_code(case.employer__credit_code or ""),
        "legal_representative": principal_legal,
        "employer_address": principal_address,
        "industry": case.employer__industry,
        "has_union": labels.yes_no(case.employer__has_union),
        "other_respondents": LINE_SEP.join(
            _respondent_text(name, labels.capacity.get(capacity, capacity), mask_code(code or ""))
            for name, capacity, code in others),
        "new_form": labels.yes_no(case.is_new_employment_form),
        "work_form": labels.work_form.get(case.work_form, case.work_form) if case.work_form else "",
        # A platform that is itself the principal respondent is said by 被申请单位身份 (平台企业…), once.
        "platform": "" if case.platform_id == case.employer_id else (case.platform__name or ""),
        "categories": SEP.join(labels.categories.get(c, "") for c in categories),
        "dispute_summary": case.dispute_summary,
        "claims": ITEM_SEP.join(f"{d}：{a:.2f}元" for d, a in related.claims.get(pk, [])),
        "amount_claimed": case.amount_claimed,
        "line": case.organisation__level__line,
        "organisation": case.organisation__name,
        "registered_organisation": case.registered_organisation__name,
        "mediators": SEP.join(name for _u, name in sorted(related.mediators.get(pk, []))),
        "state": labels.state.get(case.state, case.state),
        "outcome": labels.outcome[outcome_of(case.state, case.closed_from_state, case.agreement_effective_on)],
        "accepted_at": _local(case.accepted_at),
        "rejected_at": _local(case.rejected_at),
        "acceptance_due": case.acceptance_due,
        "mediation_due": case.mediation_due,
        "extra_days": case.mediation_extra_days or None,
        "sessions": SEP.join(f"{local_date(at):%Y-%m-%d}" for at in related.sessions.get(pk, [])),
        "concluded_at": _local(case.concluded_at),
        "agreement_effective_on": case.agreement_effective_on,
        "amount_agreed": case.amount_agreed if settled or case.amount_agreed else None,
        "instalments": ITEM_SEP.join(_instalment_text(*i) for i in related.instalments.get(pk, [])),
        "amount_recovered": case.amount_recovered if settled or case.amount_recovered else None,
        "follow_ups": ITEM_SEP.join(
            f"{on:%Y-%m-%d} {labels.method.get(method, method)} "
            f"{labels.satisfied if satisfied else labels.unsatisfied}"
            for on, method, satisfied in related.follow_ups.get(pk, [])),
        "referral_destination": labels.destination.get(referral[0], "") if referral else "",
        "referral_body": referral[1] if referral else "",
        "referred_on": referral[2] if referral else None,
        "referral_outcome": labels.referral_outcome.get(referral[3], "") if referral else "",
        "referral_outcome_on": referral[4] if referral else None,
        "closed_at": _local(case.closed_at),
        "archive_number": case.archive_number,
    }
    return [values[c.key] for c in COLUMNS]


def _new_sheet(workbook: Any, title: str) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title=title)
    for i, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    sheet.freeze_panes = "B2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E6EEF8")
    header = []
    for text in _headers():
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(vertical="center", wrap_text=True)
        header.append(cell)
    sheet.append(header)
    return sheet


@dataclass
class ExportResult:
    file: IO[bytes]
    rows: int
    full_identity: bool


def _masked_filters(filters: CaseFilters | None) -> dict[str, Any]:
    """The filters of an export as the audit trail keeps them: an ID number searched for, masked."""
    values = asdict(filters) if filters is not None else {}
    if values.get("query"):
        values["query"], values["id_number"] = audit.mask_search(values["query"])
    return {k: v for k, v in values.items() if v not in (None, "", False)}


@replica_reads  # a ledger a few seconds behind is fine (docs/operations.md)
def ledger_export(*, user: Any, filters: CaseFilters | None, query_string: str = "",
                  chunk_size: int = 1000) -> ExportResult:
    """Write the ledger of the cases ``user`` sees (as the case list shows them) to a temporary .xlsx.

    openpyxl's write-only mode keeps each row only until it is written to the
    sheet's temporary XML file, and the cases are read ``chunk_size`` at a time as
    plain values with their related rows fetched per chunk, so memory does not grow
    with the rows.
    One ``LedgerExport`` row records who exported what (it stands in for a per-case
    access log, which would be 100,000 rows for one export).
    """
    from openpyxl import Workbook

    may_see = personal_data_checker(user)
    labels = _Labels()
    workbook = Workbook(write_only=True)
    sheet = _new_sheet(workbook, "台账")
    rows, any_full = 0, False
    for case, related in ledger_records(ledger_queryset(user=user, filters=filters), chunk_size=chunk_size):
        full = may_see.allows(case.pk, case.organisation_id, case.organisation__path)
        any_full |= full
        sheet.append(text_row(sheet, ledger_row(case, related, full_identity=full, labels=labels)))
        rows += 1
    out = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(out)
    out.seek(0)
    # An ID number searched for is kept masked here too, as on the audit trail.
    LedgerExport.objects.create(user=user, query=audit.scrub(query_string)[:2000], rows=rows,
                                full_identity=any_full)
    audit.record(actor=user, action="export.ledger", new={
        "rows": rows, "full_identity": any_full, "filters": _masked_filters(filters)})
    return ExportResult(file=out, rows=rows, full_identity=any_full)

