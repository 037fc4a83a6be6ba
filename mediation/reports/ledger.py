"""The case ledger (台账, DOMAIN.md §8): export to .xlsx, and import of historical ledgers.

Export: the cases of the case list (``case_list_visible_to`` with the list's own
filters), one row each, written by openpyxl's write-only workbook to a temporary
file while the rows are read in chunks, so memory stays flat however many rows;
the view streams the file. Identity numbers, phones and credit codes are masked
unless the reader may see them for that case (the permissions module's rule).

Import: the same columns read back. A dry run reports every problem as (row,
column, message); a real run writes all rows in one transaction or none.
Importing the same file again adds nothing: each row has a key (its case number,
or its content when it has none) and rows whose key is already in the database are
skipped. Imported cases get the state and outcome the ledger records, reached by
``TransitionLog`` rows marked ``imported`` along a path the lifecycle graph allows.
"""
from __future__ import annotations

import datetime
import hashlib
import io
import re
import string
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mediation import identity, permissions
from mediation.models import (
    Agreement,
    AgreementTerm,
    ApplicationForm,
    Case,
    CaseGroupObjectPermission,
    CaseParty,
    CaseUserObjectPermission,
    Category,
    Channel,
    ClaimItem,
    Employer,
    FollowUp,
    Instalment,
    MediationSession,
    Membership,
    Organisation,
    PartyRole,
    Person,
    Referral,
    Role,
    WorkForm,
)
from mediation.reports.models import ImportBatch, LedgerExport
from mediation.selectors import CaseFilters, case_list_visible_to
from mediation.services import parse_amount
from workflows.clocks import CHINA_TZ, WorkCalendar, local_date, stored_deadline_fields
from workflows.machine import graph
from workflows.models import TransitionLog
from workflows.states import CLOSABLE_STATES, WORKING_STATE_OF_LINE, WORKING_STATES, CaseState as S

SEP = "、"  # between several values in one cell (applicants, categories …)
ITEM_SEP = "；"  # between structured items (claims, instalments, follow-ups)
MAX_IMPORT_ROWS = 20000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
IMPORT_REASON = gettext_lazy("历史台账导入")


class Outcome:
    """The ledger's 处理结果: what became of the case, beside the state it is in now."""

    PENDING = "pending"
    REJECTED = "rejected"
    IN_MEDIATION = "in_mediation"
    SETTLED = "settled"
    PERFORMED = "performed"
    NONPERFORMED = "nonperformed"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"

    LABELS = {
        PENDING: gettext_lazy("待受理"),
        REJECTED: gettext_lazy("不予受理"),
        IN_MEDIATION: gettext_lazy("调解中"),
        SETTLED: gettext_lazy("达成协议，履行中"),
        PERFORMED: gettext_lazy("达成协议，已履行"),
        NONPERFORMED: gettext_lazy("达成协议，未履行"),
        FAILED: gettext_lazy("调解不成"),
        WITHDRAWN: gettext_lazy("撤回申请"),
    }


def case_outcome(case: Any) -> str:
    """The outcome of a case (or of anything with ``state``, ``closed_from_state``, ``agreement_effective_on``)."""
    return outcome_of(case.state, case.closed_from_state, case.agreement_effective_on)


def outcome_of(state: str, closed_from_state: str, agreement_effective_on: datetime.date | None) -> str:
    if state == S.CLOSED and closed_from_state:
        state = closed_from_state
    if state == S.REGISTERED:
        return Outcome.PENDING
    if state == S.REJECTED:
        return Outcome.REJECTED
    if state in (*WORKING_STATES, S.ESCALATION_PENDING):
        return Outcome.IN_MEDIATION
    if state == S.SETTLED:
        return Outcome.SETTLED
    if state == S.PERFORMED:
        return Outcome.PERFORMED
    if state == S.WITHDRAWN:
        return Outcome.WITHDRAWN
    # mediation_failed or referred: was there an agreement that was not performed?
    return Outcome.NONPERFORMED if agreement_effective_on else Outcome.FAILED


# ------------------------------------------------------------------------------ columns

@dataclass(frozen=True)
class Column:
    key: str
    header: Any  # lazy: the file always carries the Chinese header (see ``_headers``)
    width: int = 14
    importable: bool = True
    required: bool = False
    help: Any = ""


COLUMNS: tuple[Column, ...] = (
    Column("number", gettext_lazy("案号"), 22, help=gettext_lazy("留空则按登记组织的案号规则新编；填写的须为“前缀〔年度〕序号号”格式")),
    Column("received_at", gettext_lazy("收案时间"), 17, required=True, help=gettext_lazy("如 2025-03-01 09:30")),
    Column("channel", gettext_lazy("来源渠道"), 14, required=True),
    Column("application_form", gettext_lazy("申请方式"), 10, help=gettext_lazy("书面申请或口头申请；留空为书面申请")),
    Column("applicants", gettext_lazy("申请人"), 18, required=True, help=gettext_lazy("多人用“、”分隔")),
    Column("applicant_ids", gettext_lazy("申请人身份证号"), 22, help=gettext_lazy("与申请人一一对应，用“、”分隔")),
    Column("applicant_phones", gettext_lazy("申请人电话"), 16, help=gettext_lazy("与申请人一一对应，用“、”分隔")),
    Column("applicant_count", gettext_lazy("申请人数"), 8, importable=False),
    Column("collective", gettext_lazy("集体争议"), 8, importable=False),
    Column("employer", gettext_lazy("被申请单位"), 24, required=True),
    Column("credit_code", gettext_lazy("统一社会信用代码"), 21),
    Column("legal_representative", gettext_lazy("法定代表人"), 10),
    Column("employer_address", gettext_lazy("单位地址"), 24),
    Column("industry", gettext_lazy("所属行业"), 14),
    Column("has_union", gettext_lazy("是否建立工会"), 8, help=gettext_lazy("是/否")),
    Column("new_form", gettext_lazy("新就业形态"), 8, help=gettext_lazy("是/否")),
    Column("work_form", gettext_lazy("新就业形态类型"), 12),
    Column("platform", gettext_lazy("平台或用工合作方"), 20),
    Column("categories", gettext_lazy("争议类别"), 18, help=gettext_lazy("多个用“、”分隔")),
    Column("dispute_summary", gettext_lazy("争议事项"), 30, required=True),
    Column("claims", gettext_lazy("请求事项"), 30, help=gettext_lazy("如“拖欠工资：12000.00元；经济补偿：3000.00元”")),
    Column("amount_claimed", gettext_lazy("请求金额（元）"), 13),
    Column("line", gettext_lazy("承办防线"), 10, importable=False),
    Column("organisation", gettext_lazy("承办组织"), 24, required=True, help=gettext_lazy("组织全称或简称")),
    Column("registered_organisation", gettext_lazy("登记组织"), 24, help=gettext_lazy("留空同承办组织")),
    Column("mediators", gettext_lazy("承办调解员"), 14, help=gettext_lazy("姓名，多人用“、”分隔")),
    Column("state", gettext_lazy("状态"), 12, required=True),
    Column("outcome", gettext_lazy("处理结果"), 16),
    Column("accepted_at", gettext_lazy("受理时间"), 17),
    Column("rejected_at", gettext_lazy("不予受理时间"), 17),
    Column("acceptance_due", gettext_lazy("受理期限"), 11, importable=False),
    Column("mediation_due", gettext_lazy("调解期限"), 11, importable=False),
    Column("extra_days", gettext_lazy("延长调解天数"), 8),
    Column("sessions", gettext_lazy("调解日期"), 22, help=gettext_lazy("每次调解的日期，用“、”分隔")),
    Column("concluded_at", gettext_lazy("调解终结时间"), 17, help=gettext_lazy("达成协议、调解不成或撤回的时间")),
    Column("agreement_effective_on", gettext_lazy("协议生效日期"), 11),
    Column("amount_agreed", gettext_lazy("协议金额（元）"), 13),
    Column("instalments", gettext_lazy("分期履行"), 40,
           help=gettext_lazy("如“第1期 6000.00元 2026-12-20前 已于2026-12-18履行6000.00元；第2期 6000.00元 2027-01-20前 未履行”")),
    Column("amount_recovered", gettext_lazy("已履行金额（元）"), 13),
    Column("follow_ups", gettext_lazy("回访"), 22, help=gettext_lazy("如“2026-12-25 电话回访 满意”")),
    Column("referral_destination", gettext_lazy("移交去向"), 18),
    Column("referral_body", gettext_lazy("接收机构"), 24),
    Column("referred_on", gettext_lazy("移交日期"), 11),
    Column("referral_outcome", gettext_lazy("仲裁/诉讼结果"), 12),
    Column("referral_outcome_on", gettext_lazy("结果日期"), 11),
    Column("closed_at", gettext_lazy("结案时间"), 17),
    Column("archive_number", gettext_lazy("档案号"), 14),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _headers() -> list[str]:
    # The file is a record kept across years and offices: its headers are always the Chinese ones.
    with translation.override("zh-hans"):
        return [str(c.header) for c in COLUMNS]


# ---------------------------------------------------------------------------- export

def may_use_ledger(user: Any) -> bool:
    """The ledger belongs to the offices that keep it: supervisors, administrators and auditors.

    Mediators work from the case list; the district exports and supervisors export
    their scope (DOMAIN.md §5). Same roles as the statistics.
    """
    from mediation.reports.statistics import may_read_statistics

    return may_read_statistics(user)


#: The case's own columns a ledger row shows, read as plain values: building 100,000
#: model instances (and their related ones) would cost more than writing the file.
CASE_FIELDS: tuple[str, ...] = (
    "pk", "number", "received_at", "channel", "application_form", "applicant_count", "is_collective",
    "is_new_employment_form", "work_form", "dispute_summary", "amount_claimed", "amount_agreed",
    "amount_recovered", "state", "closed_from_state", "accepted_at", "rejected_at", "acceptance_due",
    "mediation_due", "mediation_extra_days", "concluded_at", "agreement_effective_on", "closed_at",
    "archive_number", "organisation_id", "organisation__name", "organisation__path", "organisation__level__line",
    "registered_organisation__name", "employer__name", "employer__credit_code", "employer__legal_representative",
    "employer__address", "employer__industry", "employer__has_union", "platform__name",
)


def ledger_queryset(*, user: Any, filters: CaseFilters | None) -> QuerySet[Case]:
    """The case list's cases (its selector, its filters), oldest first, as ``CASE_FIELDS`` rows."""
    return (case_list_visible_to(user=user, filters=filters).order_by("received_at", "pk")
            .values_list(*CASE_FIELDS, named=True))


class PersonalDataChecker:
    """``permissions.may_see_personal_data`` for many cases at once: grants in memory, per-case grants in one query.

    A per-case check would ask django-guardian once per row for readers who hold no
    grant (auditors, administrators): 100,000 queries for one export.
    """

    def __init__(self, user: Any) -> None:
        self.grants = [g for g in permissions.grants_of(user) if "view_personal_data" in g.codenames]
        self.per_case: set[int] = set()
        if getattr(user, "is_authenticated", False) and user.is_active:
            self.per_case |= set(CaseUserObjectPermission.objects.filter(
                user=user, permission__codename="view_personal_data").values_list("content_object_id", flat=True))
            self.per_case |= set(CaseGroupObjectPermission.objects.filter(
                group__user=user, permission__codename="view_personal_data")
                .values_list("content_object_id", flat=True))

    def allows(self, case_id: int, organisation_id: int, organisation_path: str) -> bool:
        if case_id in self.per_case:
            return True
        # Grant.covers reads only the organisation's pk and path.
        place = _Place(organisation_id, organisation_path)
        return any(g.covers(place) for g in self.grants)

    def __call__(self, case: Case) -> bool:
        return self.allows(case.pk, case.organisation_id, case.organisation.path)


@dataclass(frozen=True)
class _Place:
    pk: int
    path: str


def personal_data_checker(user: Any) -> PersonalDataChecker:
    return PersonalDataChecker(user)


def _local(value: datetime.datetime | None) -> datetime.datetime | None:
    """Naive China time to the minute: Excel has no time zones, and the ledger no seconds."""
    if value is None:
        return None
    return timezone.localtime(value, CHINA_TZ).replace(tzinfo=None, second=0, microsecond=0)


def _user_name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class _Labels:
    """Display labels resolved once per export: ``get_FOO_display`` and lazy strings cost a translation
    lookup each, which is a third of the time of a 100,000-row export."""

    def __init__(self) -> None:
        self.channel = {k: str(v) for k, v in Channel.choices}
        self.application_form = {k: str(v) for k, v in ApplicationForm.choices}
        self.work_form = {k: str(v) for k, v in WorkForm.choices}
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

    applicants: dict[int, list[tuple[str, str, str]]]
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
    referrals = {case_id: rest for case_id, *rest in (
        Referral.objects.filter(case_id__in=ids).order_by("referred_on", "pk")
        .values_list("case_id", "destination", "body", "referred_on", "outcome", "outcome_on"))}
    return _Related(
        applicants=_grouped(CaseParty.objects.filter(case_id__in=ids, role=PartyRole.APPLICANT, person__isnull=False)
                            .order_by("case_id", "position", "pk")
                            .values_list("case_id", "person__name", "person__id_number", "person__phone")),
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
    values: dict[str, Any] = {
        "number": case.number,
        "received_at": _local(case.received_at),
        "channel": labels.channel.get(case.channel, case.channel),
        "application_form": labels.application_form.get(case.application_form, case.application_form),
        "applicants": SEP.join(name for name, _i, _p in applicants),
        "applicant_ids": SEP.join(mask_id(i or "") for _n, i, _p in applicants) if any(
            i for _n, i, _p in applicants) else "",
        "applicant_phones": SEP.join(mask_phone(p or "") for _n, _i, p in applicants) if any(
            p for _n, _i, p in applicants) else "",
        "applicant_count": case.applicant_count,
        "collective": labels.yes_no(case.is_collective),
        "employer": case.employer__name,
        "credit_code": mask_code(case.employer__credit_code or ""),
        "legal_representative": case.employer__legal_representative,
        "employer_address": case.employer__address,
        "industry": case.employer__industry,
        "has_union": labels.yes_no(case.employer__has_union),
        "new_form": labels.yes_no(case.is_new_employment_form),
        "work_form": labels.work_form.get(case.work_form, case.work_form) if case.work_form else "",
        "platform": case.platform__name or "",
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
        sheet.append(ledger_row(case, related, full_identity=full, labels=labels))
        rows += 1
    out = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(out)
    out.seek(0)
    LedgerExport.objects.create(user=user, query=query_string[:2000], rows=rows, full_identity=any_full)
    return ExportResult(file=out, rows=rows, full_identity=any_full)


def ledger_template() -> bytes:
    """An empty ledger with the headers, drop-down lists and a sheet explaining every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    with translation.override("zh-hans"):
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "台账"
        for i, (column, text) in enumerate(zip(COLUMNS, _headers()), start=1):
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
        for column, text in zip(COLUMNS, _headers()):
            if not column.importable:
                notes.append([text, "", "导出专用，导入时忽略（由系统计算）"])
                continue
            allowed = lists.get(column.key)
            note = str(column.help)
            if allowed:
                note = (note + "；" if note else "") + "可选：" + "、".join(allowed)
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


# ---------------------------------------------------------------------------- import

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


def import_organisations(user: Any) -> QuerySet[Organisation]:
    """Where ``user`` may import historical cases: supervisors their subtree, administrators the district."""
    q = Q(pk__in=[])
    found = False
    for g in permissions.grants_of(user):
        if (g.role == Role.SUPERVISOR and "register_case" in g.codenames) or g.role == Role.ADMINISTRATOR:
            q |= Q(path__startswith=g.organisation_path)
            found = True
    return Organisation.objects.filter(q).select_related("level") if found else Organisation.objects.none()


def may_import(user: Any) -> bool:
    return import_organisations(user).exists()


@dataclass
class _Person:
    name: str
    id_number: str
    phone: str


@dataclass
class _Row:
    """One parsed, checked row, ready to write."""

    line: int
    key: str
    number: str
    year: int | None
    seq: int | None
    received_at: datetime.datetime
    channel: str
    application_form: str
    applicants: list[_Person]
    employer: dict[str, Any]
    is_new_employment_form: bool
    work_form: str
    platform: str
    categories: list[Category]
    dispute_summary: str
    claims: list[tuple[str, Decimal]]
    amount_claimed: Decimal
    organisation: Organisation
    registered_organisation: Organisation
    mediators: list[Any]
    state: str
    closed_from: str
    steps: list[tuple[str, str, str, datetime.datetime]]
    accepted_at: datetime.datetime | None
    rejected_at: datetime.datetime | None
    concluded_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    extra_days: int
    sessions: list[datetime.date]
    agreement_effective_on: datetime.date | None
    amount_agreed: Decimal
    instalments: list[dict[str, Any]]
    amount_recovered: Decimal
    follow_ups: list[dict[str, Any]]
    referral: dict[str, Any] | None
    archive_number: str


class _RowErrors(Exception):
    pass


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")


def _to_datetime(value: Any) -> datetime.datetime | None:
    """A China-time moment from a cell: an Excel date (rounded to the minute) or text."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        # Excel stores times as fractions of a day: 09:30 may come back as 09:29:59.999.
        value = (value + datetime.timedelta(seconds=30)).replace(second=0, microsecond=0)
        return value.replace(tzinfo=CHINA_TZ) if timezone.is_naive(value) else value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time.min, tzinfo=CHINA_TZ)
    text = _text(value)
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=CHINA_TZ)
        except ValueError:
            pass
    day = _to_date(text)
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=CHINA_TZ)


def _to_date(value: Any) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return (value + datetime.timedelta(seconds=30)).date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(text)


def _to_amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        # Excel keeps numbers as binary floats: 1234.56 may read back as 1234.5600000000002.
        exact = Decimal(str(value))
        cents = exact.quantize(Decimal("0.01"))
        return parse_amount(cents if abs(exact - cents) < Decimal("0.000001") else exact)
    text = _text(value).replace("元", "").replace("¥", "").replace("￥", "")
    return parse_amount(text)


def _to_bool(value: Any) -> bool:
    text = _text(value).lower()
    if text in ("", "否", "无", "n", "no", "false", "0", "未建"):
        return False
    if text in ("是", "有", "y", "yes", "true", "1", "已建"):
        return True
    raise ValueError(text)


def _choice(value: str, choices: Iterable[tuple[Any, Any]]) -> str | None:
    """The machine value whose label (in Chinese or the current language) or code is ``value``."""
    for code, label in choices:
        with translation.override("zh-hans"):
            zh = str(label)
        if value in (str(code), zh, str(label)):
            return code
    return None


def _split(value: str, pattern: str = r"[、,，;；\n]+") -> list[str]:
    return [v.strip() for v in re.split(pattern, value) if v.strip()]


def _number_pattern(prefix: str) -> re.Pattern[str]:
    """A regular expression for ``settings.CASE_NUMBER_FORMAT`` with this prefix."""
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(settings.CASE_NUMBER_FORMAT):
        parts.append(re.escape(literal))
        if name == "prefix":
            parts.append(re.escape(prefix))
        elif name == "year":
            parts.append(r"(?P<year>\d{4})")
        elif name == "seq":
            parts.append(r"(?P<seq>\d+)")
    return re.compile("^" + "".join(parts) + "$")


_CLAIM = re.compile(r"^(?P<desc>.+?)\s*[：:]\s*(?P<amount>[\d,，.]+)\s*元?$")
_INSTALMENT = re.compile(
    r"^第\s*(?P<n>\d+)\s*期\s*(?P<amount>[\d,.]+)\s*元\s*(?P<due>\d{4}-\d{1,2}-\d{1,2})\s*前\s*"
    r"(?:(?P<unpaid>未履行)|已于\s*(?P<paid_on>\d{4}-\d{1,2}-\d{1,2})\s*履行\s*(?P<paid>[\d,.]+)\s*元)$")
_FOLLOW_UP = re.compile(r"^(?P<on>\d{4}-\d{1,2}-\d{1,2})\s*(?P<method>\S+?)\s*(?P<satisfied>满意|不满意)?$")

#: (transition, source, target) triples the lifecycle allows: every imported step must be one.
def _allowed_steps() -> set[tuple[str, str, str]]:
    return {(name, source, target) for name, source, targets in graph() for target in targets}


class _Importer:
    def __init__(self, user: Any) -> None:
        self.user = user
        self.report = ImportReport()
        self.orgs = list(import_organisations(user))
        self.org_by_name: dict[str, list[Organisation]] = {}
        for o in self.orgs:
            for name in {o.name, o.short_name} - {""}:
                self.org_by_name.setdefault(name, []).append(o)
        self.categories = list(Category.objects.all())
        self.allowed = _allowed_steps()
        self.calendar = WorkCalendar.from_db()
        self.people: dict[int, dict[str, Any]] = {}
        for m in (Membership.objects.filter(organisation__in=self.orgs, role__in=[Role.MEDIATOR, Role.SUPERVISOR])
                  .select_related("user")):
            names = self.people.setdefault(m.organisation_id, {})
            names[_user_name(m.user)] = m.user
            names[m.user.get_username()] = m.user
        self.anyone = {name: user for names in self.people.values() for name, user in names.items()}

    # --- reading ---------------------------------------------------------------------
    def read(self, data: bytes) -> list[tuple[int, dict[str, Any]]]:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            self.error(0, "", _("文件不是有效的 Excel（.xlsx）文件。"))
            return []
        sheet = workbook["台账"] if "台账" in workbook.sheetnames else workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            self.error(1, "", _("第1行应为列名。"))
            return []
        known: dict[str, str] = {}
        for column in COLUMNS:
            with translation.override("zh-hans"):
                known[str(column.header)] = column.key
            known[str(column.header)] = column.key
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            key = known.get(_text(name))
            if key and key not in index:
                index[key] = i
        for column in COLUMNS:
            if column.required and column.key not in index:
                self.error(1, str(column.header), _("缺少必填列“%(name)s”。") % {"name": column.header})
        if self.report.errors:
            return []
        out = []
        for number, values in enumerate(rows, start=2):
            if values is None or all(v in (None, "") for v in values):
                continue
            out.append((number, {k: (values[i] if i < len(values) else None) for k, i in index.items()}))
            if len(out) > MAX_IMPORT_ROWS:
                self.error(number, "", _("一次最多导入 %(n)d 行，请分批导入。") % {"n": MAX_IMPORT_ROWS})
                return []
        self.report.rows = len(out)
        if not out:
            self.error(2, "", _("文件中没有案件数据。"))
        return out

    def error(self, row: int, column: str, message: str) -> None:
        self.report.errors.append(Problem(row, str(column), str(message)))

    def warn(self, row: int, column: str, message: str) -> None:
        self.report.warnings.append(Problem(row, str(column), str(message)))

    # --- checking --------------------------------------------------------------------
    def parse(self, line: int, raw: dict[str, Any]) -> _Row | None:
        errors_before = len(self.report.errors)

        def col(key: str) -> str:
            return str(COLUMN_BY_KEY[key].header)

        def fail(key: str, message: str) -> None:
            self.error(line, col(key) if key else "", message)

        def get(key: str) -> str:
            return _text(raw.get(key))

        def moment(key: str) -> datetime.datetime | None:
            try:
                return _to_datetime(raw.get(key))
            except ValueError:
                fail(key, _("时间格式不正确，应为“2025-03-01 09:30”。"))
                return None

        def day(key: str) -> datetime.date | None:
            try:
                return _to_date(raw.get(key))
            except ValueError:
                fail(key, _("日期格式不正确，应为“2025-03-01”。"))
                return None

        def money(key: str) -> Decimal | None:
            try:
                return _to_amount(raw.get(key))
            except ValidationError as exc:
                fail(key, exc.messages[0])
                return None

        def flag(key: str) -> bool:
            try:
                return _to_bool(raw.get(key))
            except ValueError:
                fail(key, _("请填写“是”或“否”。"))
                return False

        # Organisations first: the case number and the state depend on them.
        organisation = self.organisation(line, get("organisation"), "organisation")
        reg_name = get("registered_organisation")
        registered = self.organisation(line, reg_name, "registered_organisation") if reg_name else organisation

        received_at = moment("received_at")
        if not get("received_at"):
            fail("received_at", _("请填写收案时间。"))
        elif received_at and received_at > timezone.now():
            fail("received_at", _("收案时间不能晚于当前时间。"))

        channel = _choice(get("channel"), Channel.choices)
        if channel is None:
            fail("channel", _("来源渠道“%(v)s”无效；可选：%(all)s。")
                 % {"v": get("channel"), "all": "、".join(str(x) for x in Channel.labels)})
        application_form = ApplicationForm.WRITTEN
        if get("application_form"):
            application_form = _choice(get("application_form"), ApplicationForm.choices)
            if application_form is None:
                fail("application_form", _("申请方式应为“书面申请”或“口头申请”。"))

        applicants = self.applicants(line, get("applicants"), raw.get("applicant_ids"), raw.get("applicant_phones"))

        employer: dict[str, Any] = {"name": get("employer")}
        if not employer["name"]:
            fail("employer", _("请填写被申请单位。"))
        code = get("credit_code")
        if "*" in code:
            fail("credit_code", _("统一社会信用代码已打码，无法导入；请使用有权查看完整号码的账号导出的台账。"))
        elif code:
            try:
                identity.validate_credit_code(code)
                employer["credit_code"] = identity.normalize_credit_code(code)
            except ValidationError as exc:
                fail("credit_code", exc.messages[0])
        employer.update(legal_representative=get("legal_representative"), address=get("employer_address"),
                        industry=get("industry"), has_union=flag("has_union"))

        work_form = ""
        if get("work_form"):
            work_form = _choice(get("work_form"), WorkForm.choices) or ""
            if not work_form:
                fail("work_form", _("新就业形态类型无效；可选：%(all)s。")
                     % {"all": "、".join(str(x) for x in WorkForm.labels)})
        platform = get("platform")
        new_form = flag("new_form") or bool(work_form or platform)

        categories = []
        for name in _split(get("categories")):
            match = next((c for c in self.categories if name in (c.name, c.code)), None)
            if match is None:
                fail("categories", _("争议类别“%(v)s”无效；可选：%(all)s。")
                     % {"v": name, "all": "、".join(c.name for c in self.categories)})
            elif match not in categories:
                categories.append(match)

        summary = get("dispute_summary")
        if not summary:
            fail("dispute_summary", _("请填写争议事项。"))

        claims: list[tuple[str, Decimal]] = []
        for item in _split(get("claims"), r"[;；\n]+"):
            m = _CLAIM.match(item)
            if not m:
                fail("claims", _("请求事项“%(v)s”格式不正确，应为“事项：金额元”。") % {"v": item})
                continue
            try:
                claims.append((m.group("desc").strip(), parse_amount(m.group("amount"))))
            except ValidationError as exc:
                fail("claims", exc.messages[0])
        total = money("amount_claimed")
        claims_total = sum((a for _d, a in claims), Decimal("0"))
        if claims and total is not None and total != claims_total:
            fail("amount_claimed", _("请求金额 %(total)s 元与请求事项合计 %(sum)s 元不符。")
                 % {"total": f"{total:.2f}", "sum": f"{claims_total:.2f}"})
        if not claims and total:
            claims = [(_("请求金额（历史台账）"), total)]
            claims_total = total

        mediators = []
        for name in _split(get("mediators")):
            user = None
            if organisation is not None:
                user = self.people.get(organisation.pk, {}).get(name) or self.anyone.get(name)
            if user is None:
                self.warn(line, col("mediators"), _("找不到承办组织的调解员“%(v)s”，导入后未指派。") % {"v": name})
            elif user not in mediators:
                mediators.append(user)

        try:
            extra_days = int(get("extra_days") or 0)
            if not 0 <= extra_days <= 365:
                raise ValueError
        except ValueError:
            fail("extra_days", _("延长调解天数应为0至365之间的整数。"))
            extra_days = 0

        sessions = []
        for text in _split(get("sessions")):
            try:
                sessions.append(_to_date(text))
            except ValueError:
                fail("sessions", _("调解日期“%(v)s”格式不正确，应为“2025-03-01”。") % {"v": text})

        agreed = money("amount_agreed")
        recovered = money("amount_recovered")
        instalments = []
        for item in _split(get("instalments"), r"[;；\n]+"):
            m = _INSTALMENT.match(item)
            if not m:
                fail("instalments", _("分期履行“%(v)s”格式不正确。") % {"v": item})
                continue
            try:
                instalments.append({
                    "number": int(m.group("n")), "amount": parse_amount(m.group("amount")),
                    "due_on": _to_date(m.group("due")),
                    "paid_on": _to_date(m.group("paid_on")) if m.group("paid_on") else None,
                    "paid_amount": parse_amount(m.group("paid")) if m.group("paid") else None})
            except (ValueError, ValidationError):
                fail("instalments", _("分期履行“%(v)s”中的日期或金额无效。") % {"v": item})

        follow_ups = []
        for item in _split(get("follow_ups"), r"[;；\n]+"):
            m = _FOLLOW_UP.match(item)
            method = _choice(m.group("method"), FollowUp.Method.choices) if m else None
            if not m or method is None:
                fail("follow_ups", _("回访“%(v)s”格式不正确，应为“2025-03-20 电话回访 满意”。") % {"v": item})
                continue
            follow_ups.append({"visited_on": _to_date(m.group("on")), "method": method,
                               "satisfied": m.group("satisfied") != "不满意"})

        referral = None
        destination_text = get("referral_destination")
        if destination_text or get("referred_on"):
            destination = _choice(destination_text, Referral.Destination.choices)
            if destination is None:
                fail("referral_destination", _("移交去向应为“%(all)s”之一。")
                     % {"all": "”“".join(str(x) for x in Referral.Destination.labels)})
            outcome_text = get("referral_outcome")
            ref_outcome = _choice(outcome_text, Referral.Outcome.choices) if outcome_text else Referral.Outcome.PENDING
            if ref_outcome is None:
                fail("referral_outcome", _("仲裁/诉讼结果无效；可选：%(all)s。")
                     % {"all": "、".join(str(x) for x in Referral.Outcome.labels)})
            referred_on = day("referred_on")
            if not get("referred_on"):
                fail("referred_on", _("请填写移交日期。"))
            referral = {"destination": destination, "body": get("referral_body") or (
                _("劳动人事争议仲裁委员会") if destination == Referral.Destination.ARBITRATION else _("人民法院")),
                "referred_on": referred_on, "outcome": ref_outcome, "outcome_on": day("referral_outcome_on")}

        state = _choice(get("state"), S.choices)
        if state is None:
            fail("state", _("状态“%(v)s”无效；可选：%(all)s。")
                 % {"v": get("state"), "all": "、".join(str(x) for x in S.labels)})
        outcome = None
        if get("outcome"):
            outcome = _choice(get("outcome"), Outcome.LABELS.items())
            if outcome is None:
                fail("outcome", _("处理结果“%(v)s”无效；可选：%(all)s。")
                     % {"v": get("outcome"), "all": "、".join(str(x) for x in Outcome.LABELS.values())})

        times = {"accepted_at": moment("accepted_at"), "rejected_at": moment("rejected_at"),
                 "concluded_at": moment("concluded_at"), "closed_at": moment("closed_at")}
        effective_on = day("agreement_effective_on")

        number, year, seq = get("number"), None, None
        if number and registered:
            m = _number_pattern(registered.case_number_prefix).match(number)
            if not m:
                fail("number", _("案号“%(v)s”与登记组织的案号格式“%(f)s”不符。") % {
                    "v": number, "f": settings.CASE_NUMBER_FORMAT.format(
                        prefix=registered.case_number_prefix, year=2025, seq=1)})
            else:
                year, seq = int(m.group("year")), int(m.group("seq"))
                if received_at and year != received_at.astimezone(CHINA_TZ).year:
                    self.warn(line, col("number"), _("案号年度与收案年度不同。"))

        if len(self.report.errors) > errors_before or None in (organisation, registered, state, received_at):
            return None

        closed_from, steps = self.path(line, state=state, outcome=outcome, organisation=organisation,
                                       registered_organisation=registered, received_at=received_at, times=times, referral=referral,
                                       instalments=instalments, effective_on=effective_on)
        if len(self.report.errors) > errors_before:
            return None
        settled = any(name == "record_agreement" for name, *_rest in steps)
        if settled:
            effective_on = effective_on or local_date(times["concluded_at"])
            if agreed is None:
                agreed = sum((i["amount"] for i in instalments), Decimal("0"))
        if closed_from == S.PERFORMED or state == S.PERFORMED:
            if any(not i["paid_on"] or (i["paid_amount"] or 0) < i["amount"] for i in instalments):
                fail("instalments", _("已履行的案件，各期款项均应已履行。"))
        if state == S.CLOSED and closed_from == S.PERFORMED and not follow_ups:
            fail("follow_ups", _("已履行的案件须有回访记录才能结案。"))
        if state == S.CLOSED and closed_from == S.REFERRED and referral and \
                referral["outcome"] == Referral.Outcome.PENDING:
            fail("referral_outcome", _("已转仲裁/诉讼的案件须有仲裁或诉讼结果才能结案。"))
        if len(self.report.errors) > errors_before:
            return None

        key_source = ("ledger:" + number) if number else "ledger-row:" + "|".join(
            f"{k}={_text(raw.get(k))}" for k in sorted(raw))
        return _Row(
            line=line, key=hashlib.sha256(key_source.encode()).hexdigest(), number=number, year=year, seq=seq,
            received_at=received_at, channel=channel, application_form=application_form, applicants=applicants,
            employer=employer, is_new_employment_form=new_form, work_form=work_form, platform=platform,
            categories=categories, dispute_summary=summary, claims=claims, amount_claimed=claims_total,
            organisation=organisation, registered_organisation=registered, mediators=mediators, state=state,
            closed_from=closed_from, steps=steps, accepted_at=times["accepted_at"],
            rejected_at=times["rejected_at"], concluded_at=times["concluded_at"], closed_at=times["closed_at"],
            extra_days=extra_days, sessions=sessions, agreement_effective_on=effective_on if settled else None,
            amount_agreed=(agreed or Decimal("0")) if settled else Decimal("0"), instalments=instalments,
            amount_recovered=(recovered or Decimal("0")) if settled else Decimal("0"), follow_ups=follow_ups,
            referral=referral, archive_number=get("archive_number"))

    def organisation(self, line: int, name: str, key: str) -> Organisation | None:
        header = str(COLUMN_BY_KEY[key].header)
        if not name:
            self.error(line, header, _("请填写承办组织。"))
            return None
        found = self.org_by_name.get(name, [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            self.error(line, header, _("组织名称“%(v)s”不唯一，请填写全称。") % {"v": name})
        elif Organisation.objects.filter(Q(name=name) | Q(short_name=name)).exists():
            self.error(line, header, _("您不能向“%(v)s”导入案件：该组织不在您的管辖范围内。") % {"v": name})
        else:
            self.error(line, header, _("找不到组织“%(v)s”。") % {"v": name})
        return None

    def applicants(self, line: int, names_text: str, ids_value: Any, phones_value: Any) -> list[_Person]:
        names = _split(names_text, r"[、,，;；\n]+")
        header = str(COLUMN_BY_KEY["applicants"].header)
        if not names:
            self.error(line, header, _("请填写申请人。"))
            return []
        out = []
        for key, value in (("applicant_ids", ids_value), ("applicant_phones", phones_value)):
            if isinstance(value, (int, float)) and key == "applicant_ids":
                self.error(line, str(COLUMN_BY_KEY[key].header),
                           _("身份证号码被 Excel 存成了数字（会丢失末几位），请把该列设为文本格式后重新填写。"))
                return []
        ids = [v.strip() for v in _text(ids_value).split(SEP)] if _text(ids_value) else [""] * len(names)
        phones = [v.strip() for v in _text(phones_value).split(SEP)] if _text(phones_value) else [""] * len(names)
        for key, values in (("applicant_ids", ids), ("applicant_phones", phones)):
            if len(values) != len(names):
                self.error(line, str(COLUMN_BY_KEY[key].header),
                           _("%(col)s的个数（%(n)d）与申请人人数（%(m)d）不一致，请用“、”一一对应分隔。")
                           % {"col": COLUMN_BY_KEY[key].header, "n": len(values), "m": len(names)})
                return []
        seen = set()
        for name, id_number, phone in zip(names, ids, phones):
            if "*" in id_number or "*" in phone:
                column = "applicant_ids" if "*" in id_number else "applicant_phones"
                self.error(line, str(COLUMN_BY_KEY[column].header),
                           _("%(name)s 的身份证号码或电话已打码，无法导入；请使用有权查看完整信息的账号导出的台账。")
                           % {"name": name})
                continue
            if id_number:
                try:
                    identity.validate_id_number(id_number)
                    id_number = identity.normalize_id_number(id_number)
                except ValidationError as exc:
                    self.error(line, str(COLUMN_BY_KEY["applicant_ids"].header), f"{name}：{exc.messages[0]}")
                    continue
                if id_number in seen:
                    self.error(line, str(COLUMN_BY_KEY["applicant_ids"].header),
                               _("同一申请人不能重复填写（%(name)s）。") % {"name": name})
                seen.add(id_number)
            if phone:
                phone = identity.normalize_phone(phone)
                try:
                    identity.validate_phone(phone)
                except ValidationError as exc:
                    self.error(line, str(COLUMN_BY_KEY["applicant_phones"].header), f"{name}：{exc.messages[0]}")
                    continue
            out.append(_Person(name=name, id_number=id_number, phone=phone))
        return out

    def path(self, line: int, *, state: str, outcome: str | None, organisation: Organisation,
             registered_organisation: Organisation, received_at: datetime.datetime, times: dict[str, datetime.datetime | None],
             referral: dict[str, Any] | None, instalments: list[dict[str, Any]],
             effective_on: datetime.date | None) -> tuple[str, list[tuple[str, str, str, datetime.datetime]]]:
        """The moves from registration to ``state``, each timed, each an edge of the lifecycle graph.

        Returns (closed_from_state, steps). Moves the ledger has no time for take the
        nearest time it has (confirming performance: the last payment; reporting
        non-performance: the referral or the closure).
        """
        col = {k: str(c.header) for k, c in COLUMN_BY_KEY.items()}
        if state == S.ESCALATION_PENDING:
            self.error(line, col["state"], _("待审批升级的案件不能导入：请先审批，再按审批后的状态导入。"))
            return "", []
        referred = state == S.REFERRED or (state == S.CLOSED and referral is not None
                                            and outcome in (None, Outcome.FAILED, Outcome.NONPERFORMED))
        if outcome is None:
            outcome = {S.REGISTERED: Outcome.PENDING, S.REJECTED: Outcome.REJECTED, S.SETTLED: Outcome.SETTLED,
                       S.PERFORMED: Outcome.PERFORMED, S.WITHDRAWN: Outcome.WITHDRAWN,
                       S.MEDIATION_FAILED: Outcome.FAILED, S.REFERRED: Outcome.FAILED}.get(
                state, Outcome.IN_MEDIATION if state in WORKING_STATES else None)
            if state == S.CLOSED:
                outcome = Outcome.FAILED if referral else None
            if outcome is None:
                self.error(line, col["outcome"], _("已结案的案件请填写处理结果。"))
                return "", []
        steps: list[tuple[str, str, str, datetime.datetime]] = []
        current = [S.REGISTERED, received_at]

        def at(key: str, what: str) -> datetime.datetime | None:
            value = times.get(key)
            if value is None:
                self.error(line, col[key], _("状态为“%(state)s”、处理结果为“%(outcome)s”的案件须填写%(what)s。")
                           % {"state": S(state).label, "outcome": Outcome.LABELS[outcome], "what": what})
            return value

        def go(name: str, target: str, moment: datetime.datetime | None, key: str) -> bool:
            if moment is None:
                return False
            if moment < current[1]:
                self.error(line, col[key], _("%(col)s不能早于前一环节的时间（%(prev)s）。")
                           % {"col": col[key], "prev": f"{_local(current[1]):%Y-%m-%d %H:%M}"})
                return False
            steps.append((name, current[0], target, moment))
            current[0], current[1] = target, moment
            return True

        def on_day(day: datetime.date | None) -> datetime.datetime | None:
            """A move the ledger dates but does not time (referral, performance): noon that day.

            Never before the previous move: the dates are typed in by people (a referral
            may be dated the day before the termination was recorded), while the moves
            must stay in order; the date itself is kept on its own record.
            """
            if day is None:
                return None
            return max(datetime.datetime.combine(day, datetime.time(12, 0), tzinfo=CHINA_TZ), current[1])

        working = WORKING_STATE_OF_LINE[organisation.level.line]
        if state in WORKING_STATES and state != working:
            self.error(line, col["state"], _("承办组织“%(org)s”属于第%(n)d道防线，在办案件的状态应为“%(state)s”。")
                       % {"org": organisation.name, "n": organisation.level.line, "state": S(working).label})
            return "", []
        ok = True
        if outcome == Outcome.REJECTED:
            ok = go("reject", S.REJECTED, at("rejected_at", _("不予受理时间")), "rejected_at")
        elif outcome == Outcome.WITHDRAWN:
            if times.get("accepted_at"):
                ok = go("accept", working, times["accepted_at"], "accepted_at")
            ok = ok and go("withdraw", S.WITHDRAWN, at("concluded_at", _("调解终结时间（撤回时间）")), "concluded_at")
        elif outcome != Outcome.PENDING:
            ok = go("accept", working, at("accepted_at", _("受理时间")), "accepted_at")
            if ok and outcome in (Outcome.SETTLED, Outcome.PERFORMED, Outcome.NONPERFORMED):
                ok = go("record_agreement", S.SETTLED, at("concluded_at", _("调解终结时间")), "concluded_at")
                if ok and outcome == Outcome.PERFORMED:
                    paid = [i["paid_on"] for i in instalments if i["paid_on"]]
                    last_paid = on_day(max(paid)) if paid else None
                    ok = go("confirm_performance", S.PERFORMED, max(current[1], last_paid or current[1]),
                            "concluded_at")
                if ok and outcome == Outcome.NONPERFORMED:
                    later = (on_day(referral["referred_on"]) if referral and referral["referred_on"] else None) \
                        or times.get("closed_at")
                    ok = go("report_nonperformance", S.MEDIATION_FAILED, max(current[1], later or current[1]),
                            "concluded_at")
            elif ok and outcome == Outcome.FAILED:
                ok = go("terminate", S.MEDIATION_FAILED, at("concluded_at", _("调解终结时间")), "concluded_at")
            if ok and referred:
                if referral is None:
                    self.error(line, col["referral_destination"], _("已转仲裁/诉讼的案件须填写移交去向和移交日期。"))
                    ok = False
                else:
                    ok = go("refer", S.REFERRED, on_day(referral["referred_on"]), "referred_on")
        if ok and referral is not None and not referred:
            self.error(line, col["referral_destination"],
                       _("填写了移交去向，但状态既不是“已转仲裁/诉讼”，也不是由其结案。"))
            ok = False
        if ok and not any(name == "accept" for name, *_x in steps) and \
                organisation.pk != registered_organisation.pk:
            self.error(line, col["registered_organisation"], _("未受理的案件，登记组织应与承办组织相同。"))
            ok = False
        closed_from = ""
        if ok and state == S.CLOSED:
            closed_from = current[0]
            if closed_from not in CLOSABLE_STATES:
                self.error(line, col["outcome"], _("处理结果为“%(outcome)s”的案件不能结案。")
                           % {"outcome": Outcome.LABELS[outcome]})
                return "", []
            ok = go("close", S.CLOSED, at("closed_at", _("结案时间")), "closed_at")
        if not ok:
            return "", []
        if current[0] != state:
            self.error(line, col["outcome"], _("状态“%(state)s”与处理结果“%(outcome)s”不一致。")
                       % {"state": S(state).label, "outcome": Outcome.LABELS[outcome]})
            return "", []
        for name, source, target, _moment in steps:
            if (name, source, target) not in self.allowed:  # never: the recipes follow the graph
                self.error(line, col["state"], _("无法按案件流程导入该状态。"))
                return "", []
        return closed_from, steps

    # --- writing ---------------------------------------------------------------------
    def write(self, rows: list[_Row], batch_size: int = 500) -> int:
        """Write the checked rows in batches: a few dozen INSERTs per batch instead of ~18 per case."""
        from mediation.services import case_numbers_take, format_case_number

        # Numbers the file gives are kept; a row without one is numbered after them all, and
        # the sequence moves past the highest, so the next registration continues after them.
        given: dict[tuple[int, int], int] = {}
        waiting: dict[tuple[int, int], list[_Row]] = {}
        registered = {row.registered_organisation.pk: row.registered_organisation for row in rows}
        for row in rows:
            if not row.number:
                row.year = row.received_at.astimezone(CHINA_TZ).year
                waiting.setdefault((row.registered_organisation.pk, row.year), []).append(row)
            else:
                key = (row.registered_organisation.pk, row.year)
                given[key] = max(given.get(key, 0), row.seq)
        for org_id, year in sorted(given.keys() | waiting.keys()):  # one lock order for every writer
            unnumbered = waiting.get((org_id, year), [])
            numbers = case_numbers_take(organisation=registered[org_id], year=year, count=len(unnumbered),
                                        above=given.get((org_id, year), 0))
            for row, seq in zip(unnumbered, numbers):
                row.seq, row.number = seq, format_case_number(registered[org_id], year, seq)
        for i in range(0, len(rows), batch_size):
            self.write_batch(rows[i:i + batch_size])
        return len(rows)

    def write_batch(self, rows: list[_Row]) -> None:
        people = self.people_for(rows)
        employers = self.employers_for(rows)
        cases = []
        for row in rows:
            applicants = people[row.line]
            employer = employers[("code", row.employer["credit_code"]) if row.employer.get("credit_code")
                                 else ("name", row.employer["name"])]
            # The state goes to the constructor: the protected state field accepts it only on a new row.
            case = Case(
                number=row.number, registered_organisation=row.registered_organisation, sequence_year=row.year,
                sequence_number=row.seq, organisation=row.organisation, state=row.state,
                received_at=row.received_at, channel=row.channel, application_form=row.application_form,
                dispute_summary=row.dispute_summary, employer=employer, applicant_count=len(applicants),
                is_collective=len(applicants) >= settings.COLLECTIVE_DISPUTE_MIN_WORKERS,
                is_new_employment_form=row.is_new_employment_form, work_form=row.work_form,
                platform=employers[("platform", row.platform)] if row.platform else None,
                amount_claimed=row.amount_claimed, amount_agreed=row.amount_agreed,
                amount_recovered=row.amount_recovered, accepted_at=row.accepted_at, rejected_at=row.rejected_at,
                concluded_at=row.concluded_at, closed_at=row.closed_at,
                agreement_effective_on=row.agreement_effective_on, mediation_extra_days=row.extra_days,
                closed_from_state=row.closed_from, archive_number=row.archive_number, imported=True,
                import_key=row.key, created_by=self.user)
            for key, value in stored_deadline_fields(case, calendar=self.calendar).items():
                setattr(case, key, value)
            cases.append(case)
        Case.objects.bulk_create(cases)

        category_links, mediator_links, claims, parties, sessions, agreements = [], [], [], [], [], []
        follow_ups, referrals, logs = [], [], []
        for row, case in zip(rows, cases):
            category_links += [Case.categories.through(case_id=case.pk, category_id=c.pk) for c in row.categories]
            mediator_links += [Case.mediators.through(case_id=case.pk, user_id=u.pk) for u in row.mediators]
            claims += [ClaimItem(case=case, description=d, amount=a) for d, a in row.claims]
            parties += [CaseParty(case=case, role=PartyRole.APPLICANT, person=p, position=i + 1)
                        for i, p in enumerate(people[row.line])]
            parties.append(CaseParty(case=case, role=PartyRole.RESPONDENT, employer=case.employer, position=1))
            sessions += [(row, MediationSession(
                case=case, organisation=row.organisation,
                held_at=datetime.datetime.combine(day, datetime.time(9, 0), tzinfo=CHINA_TZ),
                place=row.organisation.address or row.organisation.name, attendees=_("见纸质卷宗"),
                record=_("历史台账导入：调解笔录见纸质卷宗。"), recorded_by=self.user)) for day in row.sessions]
            if row.agreement_effective_on:
                # An effective version without signatures: the paper original in the file holds them.
                agreements.append((row, Agreement(
                    case=case, status=Agreement.Status.EFFECTIVE, dispute_summary=row.dispute_summary,
                    effective_on=row.agreement_effective_on, drafted_by=self.user)))
            follow_ups += [FollowUp(case=case, contact=_("见纸质卷宗"), content=str(IMPORT_REASON),
                                    recorded_by=self.user, **f) for f in row.follow_ups]
            if row.referral:
                r = row.referral
                done = r["outcome"] != Referral.Outcome.PENDING
                referrals.append(Referral(
                    case=case, destination=r["destination"], body=r["body"], referred_on=r["referred_on"],
                    referred_by=self.user, note=str(IMPORT_REASON), outcome=r["outcome"], outcome_on=r["outcome_on"],
                    outcome_summary=str(IMPORT_REASON) if done else "", outcome_recorded_by=self.user if done else None))
            # Acceptance is where a case arrives at its handling organisation (the ledger
            # does not record the escalations between), so only it crosses organisations.
            logs += [TransitionLog.build(
                case=case, transition=name, from_state=source, to_state=target,
                from_organisation_id=(row.registered_organisation if name == "accept" else row.organisation).pk,
                to_organisation_id=row.organisation.pk, actor_id=self.user.pk, reason=IMPORT_REASON, at=moment,
                imported=True) for name, source, target, moment in row.steps]
        Case.categories.through.objects.bulk_create(category_links)
        Case.mediators.through.objects.bulk_create(mediator_links)
        ClaimItem.objects.bulk_create(claims)
        CaseParty.objects.bulk_create(parties)
        MediationSession.objects.bulk_create([s for _r, s in sessions])
        MediationSession.mediators.through.objects.bulk_create([
            MediationSession.mediators.through(mediationsession_id=s.pk, user_id=u.pk)
            for row, s in sessions for u in row.mediators])
        Agreement.objects.bulk_create([a for _r, a in agreements])
        AgreementTerm.objects.bulk_create([AgreementTerm(agreement=a, number=1, text=_("历史台账导入：协议文本见纸质卷宗。"))
                                           for _r, a in agreements])
        Instalment.objects.bulk_create([Instalment(agreement=a, **i) for row, a in agreements for i in row.instalments])
        FollowUp.objects.bulk_create(follow_ups)
        Referral.objects.bulk_create(referrals)
        moments = [log.at for log in logs]
        # ``at`` is auto_now_add: set the historical moments again in a second statement.
        created = TransitionLog.objects.bulk_create(logs)
        for log, moment in zip(created, moments):
            log.at = moment
        TransitionLog.objects.bulk_update(created, ["at"], batch_size=1000)

    def people_for(self, rows: list[_Row]) -> dict[int, list[Person]]:
        """Each row's applicants: the person already on file with that ID number, else a new one."""
        ids = {p.id_number for row in rows for p in row.applicants if p.id_number}
        known = {p.id_number: p for p in Person.objects.filter(id_number__in=ids)}
        new: list[Person] = []
        out: dict[int, list[Person]] = {}
        for row in rows:
            out[row.line] = []
            for p in row.applicants:
                person = known.get(p.id_number) if p.id_number else None
                if person is None:
                    person = Person(name=p.name, id_number=p.id_number or None, phone=p.phone)
                    new.append(person)
                    if p.id_number:
                        known[p.id_number] = person  # the same worker on two rows is one person
                out[row.line].append(person)
        Person.objects.bulk_create(new)
        return out

    def employers_for(self, rows: list[_Row]) -> dict[tuple[str, str], Employer]:
        """Respondents by credit code (else exact name) and platforms by name: found, or created once."""
        codes = {r.employer["credit_code"] for r in rows if r.employer.get("credit_code")}
        names = {r.employer["name"] for r in rows if not r.employer.get("credit_code")}
        platforms = {r.platform for r in rows if r.platform}
        out: dict[tuple[str, str], Employer] = {}
        for e in Employer.objects.filter(credit_code__in=codes):
            out[("code", e.credit_code)] = e
        for e in Employer.objects.filter(name__in=names | platforms).order_by("-pk"):
            # The oldest record of a name wins (iterating newest first, the last write is the oldest).
            if e.name in names:
                out[("name", e.name)] = e
            if e.name in platforms:
                out[("platform", e.name)] = e
        new: list[Employer] = []
        for row in rows:
            data = row.employer
            key = ("code", data["credit_code"]) if data.get("credit_code") else ("name", data["name"])
            if key not in out:
                out[key] = Employer(name=data["name"], credit_code=data.get("credit_code") or None,
                                    legal_representative=data["legal_representative"], address=data["address"],
                                    industry=data["industry"], has_union=data["has_union"])
                new.append(out[key])
            if row.platform and ("platform", row.platform) not in out:
                out[("platform", row.platform)] = Employer(name=row.platform, is_platform=True)
                new.append(out[("platform", row.platform)])
        Employer.objects.bulk_create(new)
        return out


def ledger_import(*, user: Any, data: bytes, filename: str = "", dry_run: bool = True) -> ImportReport:
    """Check, and unless ``dry_run`` write, a historical ledger: all rows or none.

    Rows whose case is already in the database (same case number, or for rows
    without a number the same content) are skipped, so importing a file twice adds
    nothing. Each problem is reported with the spreadsheet row, the column header
    and a message in the user's language.
    """
    importer = _Importer(user)
    report = importer.report
    report.dry_run = dry_run
    if not importer.orgs:
        importer.error(0, "", _("您没有导入历史台账的权限。"))
        return report
    if len(data) > MAX_IMPORT_BYTES:
        importer.error(0, "", _("文件过大：台账文件不能超过 %(mb)d MB。") % {"mb": MAX_IMPORT_BYTES // (1024 * 1024)})
        return report
    parsed = [(line, importer.parse(line, raw)) for line, raw in importer.read(data)]
    rows = [row for _line, row in parsed if row is not None]
    if report.errors:
        return report
    existing_keys = set(Case.objects.filter(import_key__in=[r.key for r in rows]).values_list("import_key", flat=True))
    existing_numbers = set(Case.objects.filter(number__in=[r.number for r in rows if r.number])
                           .values_list("number", flat=True))
    seen: dict[str, int] = {}
    fresh = []
    for row in rows:
        if row.key in existing_keys or (row.number and row.number in existing_numbers):
            report.skipped.append((row.line, row.number))
            continue
        if row.key in seen:
            importer.error(row.line, COLUMN_BY_KEY["number"].header if row.number else "",
                           _("与第%(n)d行重复。") % {"n": seen[row.key]})
            continue
        seen[row.key] = row.line
        if row.number and Case.objects.filter(registered_organisation=row.registered_organisation,
                                              sequence_year=row.year, sequence_number=row.seq).exists():
            importer.error(row.line, COLUMN_BY_KEY["number"].header,
                           _("登记组织%(year)d年的第%(seq)d号已被其他案件使用。") % {"year": row.year, "seq": row.seq})
            continue
        fresh.append(row)
    report.to_create = len(fresh)
    if report.errors or dry_run or not fresh:
        return report
    try:
        with transaction.atomic():
            report.created = importer.write(fresh)
            report.batch = ImportBatch.objects.create(
                user=user, filename=filename[:200], sha256=hashlib.sha256(data).hexdigest(), rows=report.rows,
                created=report.created, skipped=len(report.skipped))
    except IntegrityError:
        # Another import of the same rows committed first: nothing of ours was written.
        report.created = 0
        report.batch = None
        importer.error(0, "", _("导入时发现数据冲突（可能有人同时导入了相同的案件），本次未写入任何数据，请重试。"))
    return report
