"""Writes that are not lifecycle moves: registration, parties, sessions, agreements ….

Each service validates everything before it writes anything, then writes inside one
transaction: bad input raises ``ValidationError`` (messages in the user's language)
and leaves no trace. Permission checks go through ``mediation.permissions``.
"""
from __future__ import annotations

import datetime
import logging
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import identity, permissions
from mediation.audit import log as audit
from mediation.models import (
    Agreement,
    AgreementTerm,
    Attachment,
    Case,
    CaseNumberSequence,
    CaseParty,
    Category,
    ClaimItem,
    ConsultationOutcome,
    ConsultationSide,
    Employer,
    FollowUp,
    Instalment,
    MediationSession,
    Organisation,
    PartyRole,
    Person,
    Referral,
    RespondentCapacity,
    Signature,
)
from workflows import clocks
from workflows.errors import ActionNotAllowed
from workflows.models import DeadlineExtension
from workflows.services import lock_case
from workflows.states import OPEN_STATES, WORKING_STATES, CaseState

logger = logging.getLogger(__name__)


# --- inputs ---------------------------------------------------------------------

@dataclass
class PersonInput:
    name: str
    id_number: str = ""
    phone: str = ""
    sex: str = ""
    address: str = ""
    #: An applicant elected by the workers to represent them (劳动争议调解仲裁法 art. 7).
    is_representative: bool = False


@dataclass
class EmployerInput:
    name: str
    credit_code: str = ""
    legal_representative: str = ""
    address: str = ""
    phone: str = ""
    industry: str = ""
    has_union: bool = False
    has_mediation_committee: bool = False
    is_platform: bool = False


@dataclass
class RespondentInput:
    """A further respondent beside the principal one (``Registration.employer``), in its capacity."""

    employer: EmployerInput | Employer
    capacity: str = "jointly_liable"


@dataclass
class ClaimInput:
    description: str
    amount: Any
    category_code: str = ""


@dataclass
class Registration:
    organisation: Organisation
    received_at: datetime.datetime
    channel: str
    application_form: str
    dispute_summary: str
    employer: EmployerInput | Employer
    applicants: Sequence[PersonInput]
    categories: Sequence[str] = ()
    claims: Sequence[ClaimInput] = ()
    reasons: str = ""
    platform: EmployerInput | Employer | None = None
    work_form: str = ""
    is_new_employment_form: bool = False
    dispute_known_on: datetime.date | None = None
    consultation_requested_on: datetime.date | None = None
    agents: Sequence[PersonInput] = field(default_factory=list)
    #: The principal respondent's capacity (``RespondentCapacity``): the employer, or in a
    #: dispatch case the dispatch agency or the host employer.
    employer_capacity: str = "employer"
    #: Joint respondents beside the principal one (劳动争议调解仲裁法 art. 22); ``platform``, when
    #: given, is a respondent too, in the platform capacity.
    other_respondents: Sequence[RespondentInput] = ()
    #: Workers with the common claim (art. 7); None means the listed applicants are all of them.
    workers_involved: int | None = None


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
    if amount != amount.quantize(Decimal("0.01")):
        raise refuse(_("金额最多保留两位小数。"))
    if amount > AMOUNT_MAX:
        raise refuse(_("金额不能超过 %(max)s 元（一亿元）：请核对是否多输了位数。") % {"max": f"{AMOUNT_MAX:,.2f}"})
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


@dataclass
class OnFile:
    """People, employers and categories already on file, looked up once for a batch of registrations.

    One registration looks up its own few records; a ledger import checks thousands of
    rows, where a query per applicant would dominate. A record prepared for one
    registration of the batch is remembered for the next, so the same worker on two
    rows becomes one person, checked by the same rules.
    """

    people: dict[str | None, Person]  # by ID number
    coded: dict[str | None, Employer]  # by credit code
    named: dict[str, Employer]  # employers without a credit code, by exact name
    categories: dict[str, Category]  # by code
    #: The employers each committee serves (by organisation), read once per organisation.
    served: dict[int, frozenset[int]] = field(default_factory=dict)

    def served_by(self, organisation: Organisation) -> frozenset[int]:
        if organisation.pk not in self.served:
            self.served[organisation.pk] = frozenset(
                organisation.served_employers.values_list("pk", flat=True)) if organisation.pk else frozenset()
        return self.served[organisation.pk]

    @classmethod
    def load(cls, registrations: Iterable[Registration]) -> OnFile:
        people: list[PersonInput] = []
        employers: list[EmployerInput] = []
        for data in registrations:
            people += [*data.applicants, *data.agents]
            employers += [e for e in (data.employer, data.platform, *(r.employer for r in data.other_respondents))
                          if isinstance(e, EmployerInput)]
        ids = {identity.normalize_id_number(p.id_number) for p in people if p.id_number}
        codes = {identity.normalize_credit_code(e.credit_code) for e in employers if e.credit_code}
        names = {(e.name or "").strip() for e in employers if not e.credit_code}
        named: dict[str, Employer] = {}
        for employer in Employer.objects.filter(name__in=names, credit_code__isnull=True).order_by("pk"):
            named.setdefault(employer.name, employer)  # the oldest record of a name
        return cls(people={p.id_number: p for p in Person.objects.filter(id_number__in=ids)},
                   coded={e.credit_code: e for e in Employer.objects.filter(credit_code__in=codes)},
                   named=named, categories={c.code: c for c in Category.objects.all()})

    def remember(self, checked: CheckedRegistration) -> None:
        for person in (*checked.people, *checked.agents):
            if person.id_number:
                self.people.setdefault(person.id_number, person)
        for employer in checked.employers:
            if employer.credit_code:
                self.coded.setdefault(employer.credit_code, employer)
            else:
                self.named.setdefault(employer.name, employer)


@dataclass(frozen=True)
class Entered:
    """A person as given for one case, with the record on file the ID number points to."""

    person: Person
    name: str
    sex: str
    phone: str
    address: str
    #: On file under another name (a typo, or another office's record the user cannot see).
    other_name_on_file: bool = False

    def party(self, **fields: Any) -> CaseParty:
        return CaseParty.of_person(self.person, name=self.name, sex=self.sex, phone=self.phone,
                                   address=self.address, **fields)


def _clean_person(data: PersonInput, *, prefix: str, on_file: OnFile) -> Entered:
    errors: dict[str, list[str]] = {}
    name = (data.name or "").strip()
    if not name:
        errors[f"{prefix}name"] = [_("请填写姓名。")]
    id_number = identity.normalize_id_number(data.id_number) if data.id_number else ""
    phone = identity.normalize_phone(data.phone) if data.phone else ""
    for key, value, check in ((f"{prefix}id_number", id_number, identity.validate_id_number),
                              (f"{prefix}phone", phone, identity.validate_phone)):
        if value:
            try:
                check(value)
            except ValidationError as exc:
                errors[key] = exc.messages
    if errors:
        raise ValidationError(errors)
    existing = on_file.people.get(id_number) if id_number else None
    sex, address = data.sex or "", (data.address or "").strip()
    # The record on file is only the identity the ID number names; what another office
    # recorded about the person is never copied into this case, nor changed by it.
    person = existing or Person(name=name, id_number=id_number or None, phone=phone, sex=sex, address=address)
    return Entered(person, name, sex, phone, address,
                   other_name_on_file=existing is not None and existing.name != name)


def _check_names_on_file(entered: Sequence[Entered | None], prefix: str, may_see: Callable[[Person], bool],
                         errors: dict[str, list[str]]) -> None:
    """An ID number on file under another name is refused where the user can see that record
    (or it came from the same batch): a mistyped ID number must not quietly attach the case to
    someone else. Where the user cannot see it, saying so would confirm that the number is on
    file in another office (and the case keeps the name given here)."""
    for i, e in enumerate(entered):
        if e is not None and e.other_name_on_file and (e.person.pk is None or may_see(e.person)):
            errors.setdefault(f"{prefix}{i}-id_number", []).append(
                _("该身份证号码已登记在另一姓名下，请核对姓名和号码。"))


def employer_resolve(data: EmployerInput | Employer, *, on_file: OnFile, prefix: str = "employer_") -> Employer:
    """Find the employer by credit code (or exact name when no code is given), or prepare a new one."""
    if isinstance(data, Employer):
        return data
    errors: dict[str, list[str]] = {}
    name = (data.name or "").strip()
    if not name:
        errors[f"{prefix}name"] = [_("请填写被申请单位。")]
    code = identity.normalize_credit_code(data.credit_code) if data.credit_code else ""
    if code:
        try:
            identity.validate_credit_code(code)
        except ValidationError as exc:
            errors[f"{prefix}credit_code"] = exc.messages
    phone = identity.normalize_phone(data.phone) if data.phone else ""
    if phone:
        try:
            identity.validate_phone(phone)
        except ValidationError as exc:
            errors[f"{prefix}phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    existing = on_file.coded.get(code) if code else on_file.named.get(name)
    if existing:
        return existing
    return Employer(name=name, credit_code=code or None, legal_representative=data.legal_representative.strip(),
                    address=data.address.strip(), phone=phone, industry=data.industry.strip(),
                    has_union=data.has_union, has_mediation_committee=data.has_mediation_committee,
                    is_platform=data.is_platform)


def case_numbers_take(*, organisation: Organisation, year: int, count: int = 1, above: int = 0) -> range:
    """The next ``count`` numbers of the organisation's sequence for ``year``: the one owner of case numbers.

    Taken under the sequence row's lock in the caller's transaction, so a rolled-back
    caller gives its numbers back and numbers stay gapless; concurrent callers wait for
    the lock. ``above`` is the highest number a historical record already uses (a
    ledger import): the numbers taken follow it, and ``count=0`` only moves the
    sequence past it, so later registrations continue after the imported cases.
    """
    CaseNumberSequence.objects.bulk_create(
        [CaseNumberSequence(organisation=organisation, year=year)], ignore_conflicts=True)
    seq = CaseNumberSequence.objects.select_for_update().get(organisation=organisation, year=year)
    first = max(seq.last_value, above) + 1
    if first + count - 1 != seq.last_value:
        seq.last_value = first + count - 1
        seq.save(update_fields=["last_value"])
    return range(first, first + count)


def format_case_number(organisation: Organisation, year: int, seq: int) -> str:
    return settings.CASE_NUMBER_FORMAT.format(prefix=organisation.case_number_prefix, year=year, seq=seq)


@dataclass(frozen=True)
class Respondent:
    """A respondent of a registration in its capacity (``RespondentCapacity``)."""

    employer: Employer
    capacity: str


@dataclass
class CheckedRegistration:
    """A registration that passed every rule, with its records found on file or prepared (unsaved)."""

    data: Registration
    applicants: list[Entered]
    agents_entered: list[Entered]
    employer: Employer  # the principal respondent (Case.employer)
    platform: Employer | None  # the respondent in the platform capacity, if any (Case.platform)
    categories: list[Category]
    claims: list[ClaimItem]  # without their case yet
    #: Every respondent in order: the principal one first, then the others, then the platform.
    respondents: list[Respondent] = field(default_factory=list)
    #: Workers with the common claim (劳动争议调解仲裁法 art. 7): at least the listed applicants.
    workers_involved: int = 0

    @property
    def people(self) -> list[Person]:
        return [e.person for e in self.applicants]

    @property
    def employers(self) -> list[Employer]:
        """The respondents' records (found on file or prepared), each once."""
        return [r.employer for r in self.respondents] or [self.employer]

    @property
    def representatives(self) -> list[Entered]:
        """The applicants the workers elected to represent them (art. 7)."""
        return [e for e, given in zip(self.applicants, self.data.applicants, strict=True) if given.is_representative]

    @property
    def agents(self) -> list[Person]:
        return [e.person for e in self.agents_entered]

    def new_case(self, *, year: int, seq: int, actor: Any, calendar: clocks.WorkCalendar | None = None,
                 **fields: Any) -> Case:
        """The unsaved case, numbered ``seq`` of ``year``; ``fields`` add to or replace what registration sets
        (a historical import gives the state, the handling organisation and the dates the ledger records)."""
        data, applicants = self.data, len(self.people)
        workers = self.workers_involved or applicants
        values: dict[str, Any] = dict(
            number=format_case_number(data.organisation, year, seq), registered_organisation=data.organisation,
            sequence_year=year, sequence_number=seq, organisation=data.organisation, received_at=data.received_at,
            channel=data.channel, application_form=data.application_form,
            dispute_summary=data.dispute_summary.strip(), reasons=(data.reasons or "").strip(),
            employer=self.employer, applicant_count=applicants, workers_involved=workers,
            is_collective=workers >= settings.COLLECTIVE_DISPUTE_MIN_WORKERS,
            is_new_employment_form=bool(data.is_new_employment_form or data.work_form or self.platform),
            work_form=data.work_form, platform=self.platform,
            amount_claimed=sum((c.amount for c in self.claims), Decimal("0")),
            dispute_known_on=data.dispute_known_on, consultation_requested_on=data.consultation_requested_on,
            created_by=actor if getattr(actor, "pk", None) else None)
        case = Case(**{**values, **fields})  # the protected state field is accepted by the constructor only
        for key, value in clocks.stored_deadline_fields(case, calendar=calendar).items():
            setattr(case, key, value)
        return case

    def parties(self, case: Case) -> list[CaseParty]:
        """The applicants, in the order given (representatives marked), then every respondent in its
        capacity (agents need their principal's row first)."""
        parties = [e.party(case=case, role=PartyRole.APPLICANT, position=i + 1,
                           is_representative=given.is_representative)
                   for i, (e, given) in enumerate(zip(self.applicants, self.data.applicants, strict=True))]
        respondents = self.respondents or [Respondent(self.employer, RespondentCapacity.EMPLOYER)]
        parties += [CaseParty.of_employer(r.employer, case=case, role=PartyRole.RESPONDENT, position=i + 1,
                                          capacity=r.capacity) for i, r in enumerate(respondents)]
        return parties

    def agent_parties(self, principal: CaseParty) -> list[CaseParty]:
        return [e.party(case=principal.case, role=PartyRole.AGENT, represents=principal, position=i + 1)
                for i, e in enumerate(self.agents_entered)]


def _collect(errors: dict[str, list[str]], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
        return None


def _check_case_facts(data: Registration, errors: dict[str, list[str]]) -> None:
    from mediation.models import ApplicationForm, Channel, WorkForm

    if not (data.dispute_summary or "").strip():
        errors["dispute_summary"] = [_("请填写争议事项。")]
    if data.channel not in Channel.values:
        errors["channel"] = [_("请选择来源渠道。")]
    if data.application_form not in ApplicationForm.values:
        errors["application_form"] = [_("请选择申请方式。")]
    if data.work_form and data.work_form not in WorkForm.values:
        errors["work_form"] = [_("新就业形态类型无效。")]
    if not data.applicants:
        errors["applicants"] = [_("至少需要一名申请人。")]
    if data.received_at is None:
        errors["received_at"] = [_("请填写收到申请的时间。")]
    elif data.received_at > timezone.now() + datetime.timedelta(minutes=5):
        errors["received_at"] = [_("收到申请的时间不能晚于当前时间。")]


def _clean_claims(claims: Sequence[ClaimInput], categories: dict[str, Category],
                  errors: dict[str, list[str]]) -> list[ClaimItem]:
    items: list[ClaimItem] = []
    for i, claim in enumerate(claims):
        amount = _collect(errors, parse_amount, claim.amount, field_name=f"claims-{i}-amount")
        if not (claim.description or "").strip():
            errors[f"claims-{i}-description"] = [_("请填写请求事项。")]
        if claim.category_code and claim.category_code not in categories:
            errors[f"claims-{i}-category"] = [_("争议类别无效。")]
        if amount is not None:
            items.append(ClaimItem(description=claim.description.strip(), amount=amount,
                                   category=categories.get(claim.category_code)))
    return items


def _same_employer(employer: Employer) -> tuple[str, Any]:
    """What makes two respondents the same firm: the record on file, else the credit code, else the name."""
    if employer.pk is not None:
        return ("pk", employer.pk)
    return ("code", employer.credit_code) if employer.credit_code else ("name", employer.name)


def _clean_respondents(data: Registration, on_file: OnFile, errors: dict[str, list[str]]) -> list[Respondent]:
    """The principal respondent, the others and the platform, each in a known capacity and each once.

    Labour dispatch: the dispatch agency (劳务派遣单位) and the host employer (用工单位) are joint
    parties (共同当事人, 劳动争议调解仲裁法 art. 22), so one is never registered without the other.
    """
    given: list[tuple[EmployerInput | Employer, str, str]] = [(data.employer, data.employer_capacity, "employer_")]
    given += [(r.employer, r.capacity, f"respondents-{i}-") for i, r in enumerate(data.other_respondents)]
    if data.platform:
        given.append((data.platform, RespondentCapacity.PLATFORM, "platform_"))
    respondents: list[Respondent] = []
    seen: set[tuple[str, Any]] = set()
    for employer_data, capacity, prefix in given:
        employer = _collect(errors, employer_resolve, employer_data, on_file=on_file, prefix=prefix)
        if capacity not in RespondentCapacity.values:
            errors.setdefault(f"{prefix}capacity", []).append(_("请选择被申请人的责任身份。"))
            continue
        if employer is None:
            continue
        key = _same_employer(employer)
        if key in seen:
            errors.setdefault(f"{prefix}name", []).append(_("同一单位不能重复列为被申请人。"))
            continue
        seen.add(key)
        respondents.append(Respondent(employer, capacity))
    capacities = {capacity for _e, capacity, _p in given}
    dispatch = {RespondentCapacity.DISPATCH_AGENCY, RespondentCapacity.HOST_EMPLOYER}
    if capacities & dispatch and not dispatch <= capacities:
        errors.setdefault("respondents", []).append(_(
            "劳务派遣单位和用工单位为共同当事人（劳动争议调解仲裁法第二十二条），请同时填写两者。"))
    return respondents


def _check_workers(data: Registration, errors: dict[str, list[str]]) -> int:
    """The workers involved (at least the listed applicants) and the representatives they elected.

    Ten or more workers with a common claim may elect representatives (劳动争议调解仲裁法 art. 7);
    below that number every applicant takes part in person, so representatives are refused.
    """
    listed = len(data.applicants)
    workers = listed if data.workers_involved is None else data.workers_involved
    if not isinstance(workers, int) or workers < max(listed, 1):
        errors.setdefault("workers_involved", []).append(
            _("涉及劳动者人数不能少于所列申请人数（%(n)d人）。") % {"n": listed})
        return listed
    threshold = settings.COLLECTIVE_DISPUTE_MIN_WORKERS
    if workers < threshold:
        for i, person in enumerate(data.applicants):
            if person.is_representative:
                errors.setdefault(f"applicants-{i}-is_representative", []).append(_(
                    "劳动者一方在%(n)d人以上并有共同请求的，才可以推举代表参加调解（劳动争议调解仲裁法第七条）；"
                    "本案涉及%(m)d人。") % {"n": threshold, "m": workers})
    return workers


def _check_committee(data: Registration, respondents: Sequence[Respondent], on_file: OnFile,
                     errors: dict[str, list[str]]) -> None:
    """An enterprise committee (line 1) takes the disputes of its own enterprise, or of the firms a
    regional or industry committee serves, only (DOMAIN.md §4)."""
    organisation = data.organisation
    if organisation is None or organisation.line != 1:
        return
    served = on_file.served_by(organisation)
    if not served:
        errors.setdefault("organisation", []).append(_(
            "本调解委员会尚未登记所服务的企业，不能登记案件；请联系管理员在组织设置中填写本委员会所服务的企业。"))
    elif respondents and not any(r.employer.pk in served for r in respondents):
        errors.setdefault("employer_name", []).append(_(
            "本调解委员会只受理本企业（或所服务企业）的劳动争议；被申请单位不在本委员会所服务的企业之列"
            "（请核对单位名称和统一社会信用代码），请告知申请人向镇街劳动争议调解中心申请。"))


def registration_check(data: Registration, *, on_file: OnFile | None = None,
                       may_see: Callable[[Person], bool] | None = None) -> CheckedRegistration:
    """Every rule of a registration (劳动争议调解仲裁法 art. 12), checked before anything is written.

    The one place these rules live: ``case_register`` and the ledger import both check
    here. Raises one ``ValidationError`` naming every field that fails (``applicants-0-id_number``
    …); returns the records to write. ``may_see`` tells whether the registering user may
    see a person on file (their cases); without it every such record counts as seen.
    """
    on_file = on_file or OnFile.load([data])
    errors: dict[str, list[str]] = {}
    _check_case_facts(data, errors)
    people = [_collect(errors, _clean_person, p, prefix=f"applicants-{i}-", on_file=on_file)
              for i, p in enumerate(data.applicants)]
    agents = [_collect(errors, _clean_person, p, prefix=f"agents-{i}-", on_file=on_file)
              for i, p in enumerate(data.agents)]
    seen = may_see or (lambda person: True)
    _check_names_on_file(people, "applicants-", seen, errors)
    _check_names_on_file(agents, "agents-", seen, errors)
    ids = [p.person.id_number for p in people if p is not None and p.person.id_number]
    if len(ids) != len(set(ids)):
        errors.setdefault("applicants", []).append(_("同一申请人不能重复填写。"))
    respondents = _clean_respondents(data, on_file, errors)
    workers = _check_workers(data, errors)
    _check_committee(data, respondents, on_file, errors)
    categories = [on_file.categories[c] for c in dict.fromkeys(data.categories) if c in on_file.categories]
    if len(categories) != len(set(data.categories)):
        errors["categories"] = [_("争议类别无效。")]
    claims = _clean_claims(data.claims, on_file.categories, errors)
    if errors:
        raise ValidationError(errors)
    platform = next((r.employer for r in respondents if r.capacity == RespondentCapacity.PLATFORM), None)
    return CheckedRegistration(data=data, applicants=people, agents_entered=agents, employer=respondents[0].employer,
                               platform=platform, categories=categories, claims=claims, respondents=respondents,
                               workers_involved=workers)


def case_register(*, actor: Any, data: Registration, intake_token: uuid.UUID | None = None,
                  imported: bool = False, import_key: str | None = None) -> Case:
    """Record an application, written or oral (劳动争议调解仲裁法 art. 12), with its parties and claims.

    All input is checked before the first write; the case number is taken in the
    same transaction, so a failed registration consumes no number. The same
    ``intake_token`` twice returns the first case instead of creating a second.
    """
    if not imported and not permissions.user_may_register_in(actor, data.organisation):
        raise PermissionDenied(_("您不能在该组织登记案件。"))
    if intake_token:
        existing = _registered_with(intake_token, actor)
        if existing:
            return existing
    checked = registration_check(data, may_see=people_seen_by(actor))
    year = timezone.localtime(data.received_at).year
    try:
        with transaction.atomic():
            for p in checked.people + checked.agents:
                p.save()
            for employer in checked.employers:
                if employer.pk is None:
                    employer.save()
            seq = case_numbers_take(organisation=data.organisation, year=year)[0]
            case = checked.new_case(year=year, seq=seq, actor=actor, intake_token=intake_token, imported=imported,
                                    import_key=import_key)
            case.save()
            case.categories.set(checked.categories)
            for c in checked.claims:
                c.case = case
            ClaimItem.objects.bulk_create(checked.claims)
            parties = CaseParty.objects.bulk_create(checked.parties(case))
            CaseParty.objects.bulk_create(checked.agent_parties(parties[0]))
            audit.record(actor=actor, action="case.register", obj=case, new={
                **audit.snapshot(case), "applicants": [e.name for e in checked.applicants],
                "agents": [e.name for e in checked.agents_entered], "employer": checked.employer.name,
                "respondents": [{"name": r.employer.name, "capacity": r.capacity} for r in checked.respondents],
                "workers_involved": checked.workers_involved,
                "representatives": [e.name for e in checked.representatives]})
    except IntegrityError:
        if intake_token:
            existing = _registered_with(intake_token, actor)
            if existing:
                return existing
        raise
    logger.info("case %s registered by user %s", case.pk, getattr(actor, "pk", None))
    return case


def _registered_with(intake_token: uuid.UUID, actor: Any) -> Case | None:
    """The case an intake form already made, if this user sent it: the same form twice is one case.

    Someone else's token (replayed, or guessed) is refused without a word about that case.
    """
    existing = Case.objects.filter(intake_token=intake_token).first()
    if existing is None:
        return None
    if existing.created_by_id != getattr(actor, "pk", None):
        raise ValidationError({"intake_token": _("该登记表已经提交过，请重新打开登记页面。")})
    return existing


def people_seen_by(user: Any) -> Callable[[Person], bool]:
    """Whether ``user`` may see a person on file: a party to a case the user may read."""
    visible = permissions.visible_cases_q(user)

    def seen(person: Person) -> bool:
        return visible is not None and Case.objects.filter(visible, parties__person=person).exists()

    return seen


def open_cases_between(*, user: Any, person_ids: Iterable[int], employer: Employer) -> list[Case]:
    """Open cases the user may read where one of these people is an applicant against this employer
    (the duplicate warning: cases outside the user's scope are never named)."""
    visible = permissions.visible_cases_q(user)
    if visible is None:
        return []
    return list(Case.objects.filter(
        visible, state__in=OPEN_STATES, employer=employer, parties__role=PartyRole.APPLICANT,
        parties__person_id__in=list(person_ids)).distinct())


# --- corrections of the records on file -------------------------------------------


IDENTITY_FIELDS: dict[type, tuple[str, ...]] = {
    Person: ("name", "sex", "ethnicity", "id_number"),
    Employer: ("name", "credit_code", "legal_representative", "address", "phone", "industry", "has_union",
               "has_mediation_committee", "is_platform"),
}


def record_correct(*, record: Person | Employer, actor: Any, reason: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Correct a person's or an employer's record on file, for a stated reason; returns {field: (old, new)}.

    The fields a correction may touch are ``IDENTITY_FIELDS``; identity numbers are
    checked as at registration. Nothing changes without a reason; nothing is written
    when nothing differs. What a case recorded about its parties (CaseParty) is the
    case's own and is not touched.
    """
    if not permissions.may_correct_records(actor, type(record)):
        raise PermissionDenied(_("您没有更正登记信息的权限。"))
    unknown = set(changes) - set(IDENTITY_FIELDS[type(record)])
    if unknown:
        raise ValueError(sorted(unknown))
    changes = {**changes}
    if changes.get("id_number"):
        changes["id_number"] = identity.normalize_id_number(changes["id_number"])
        identity.validate_id_number(changes["id_number"])
    if changes.get("credit_code"):
        changes["credit_code"] = identity.normalize_credit_code(changes["credit_code"])
        identity.validate_credit_code(changes["credit_code"])
    diff = {k: (getattr(record, k), v) for k, v in changes.items() if getattr(record, k) != v}
    if diff and not (reason or "").strip():
        raise ValidationError({"reason": _("更正登记信息须写明理由。")})
    if not diff:
        return {}
    with transaction.atomic():
        locked = type(record).objects.select_for_update().get(pk=record.pk)
        for field, (_old, new) in diff.items():
            setattr(locked, field, new)
        try:
            locked.full_clean()
        except ValidationError as exc:
            raise ValidationError({k: v for k, v in exc.message_dict.items() if k in diff} or exc.messages) from None
        locked.save(update_fields=list(diff))
        audit.record(actor=actor, action="record.correct", obj=locked, reason=reason,
                     old={k: audit.masked(k, old) for k, (old, _new) in diff.items()},
                     new={k: audit.masked(k, new) for k, (_old, new) in diff.items()})
    logger.info("%s %s corrected by user %s: %s", type(record).__name__, record.pk, getattr(actor, "pk", None),
                ", ".join(sorted(diff)))
    return diff


# --- working the case --------------------------------------------------------------

def _require(actor: Any, action: str, case: Case) -> None:
    if not permissions.user_may(actor, action, case):
        raise PermissionDenied(_("您没有办理本案件的权限。"))


def _require_state(case: Case, states: Iterable[str], what: str) -> None:
    if case.state not in states:
        raise ActionNotAllowed(_("案件当前状态为“%(state)s”，不能%(what)s。")
                               % {"state": case.get_state_display(), "what": what})


def session_record(*, case_id: int, actor: Any, held_at: datetime.datetime, place: str, attendees: str,
                   record: str, result: str = "", mediators: Sequence[Any] = ()) -> MediationSession:
    """A mediation session's record (调解笔录); only while the case is being worked."""
    errors = {}
    if not (place or "").strip():
        errors["place"] = [_("请填写调解地点。")]
    if not (attendees or "").strip():
        errors["attendees"] = [_("请填写参加人员。")]
    if not (record or "").strip():
        errors["record"] = [_("请填写调解笔录内容。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = lock_case(case_id)
        _require(actor, "work", case)
        _require_state(case, WORKING_STATES, _("记录调解"))
        session = MediationSession.objects.create(
            case=case, organisation=case.organisation, held_at=held_at, place=place.strip(),
            attendees=attendees.strip(), record=record.strip(), result=(result or "").strip(),
            recorded_by=actor)
        session.mediators.set(list(mediators) or [actor])
        audit.record(actor=actor, action="session.record", obj=session, case=case, new={
            **audit.snapshot(session), "mediators": sorted(u.get_username() for u in session.mediators.all())})
    return session


@dataclass
class InstalmentInput:
    amount: Any
    due_on: datetime.date
    method: str = Instalment.Method.BANK


def agreement_draft(*, case_id: int, actor: Any, dispute_summary: str, terms: Sequence[str],
                    instalments: Sequence[InstalmentInput] = (), claims_summary: str = "", waived: str = "",
                    copies: int | None = None) -> Agreement:
    """Write (or rewrite) the draft. An effective agreement is never edited: see ``agreement_correct``."""
    terms = [t.strip() for t in terms if t and t.strip()]
    errors: dict[str, list[str]] = {}
    if not (dispute_summary or "").strip():
        errors["dispute_summary"] = [_("请填写争议事项。")]
    if not terms:
        errors["terms"] = [_("协议至少需要一条条款。")]
    parsed: list[Instalment] = []
    for i, inst in enumerate(instalments):
        try:
            amount = parse_amount(inst.amount, field_name=f"instalments-{i}-amount")
            if amount == 0:
                raise ValidationError({f"instalments-{i}-amount": _("每期金额必须大于零。")})
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        if inst.due_on is None:
            errors[f"instalments-{i}-due_on"] = [_("请填写履行期限。")]
            continue
        parsed.append(Instalment(number=i + 1, amount=amount, due_on=inst.due_on, method=inst.method))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = lock_case(case_id)
        _require(actor, "work", case)
        agreement = case.agreements.filter(status=Agreement.Status.DRAFT).first()
        correcting = agreement is not None and agreement.supersedes_id is not None
        if correcting:
            # A correction of an effective agreement: while its case is settled or being worked.
            _require_state(case, (*WORKING_STATES, CaseState.SETTLED, CaseState.PERFORMED), _("更正调解协议"))
        else:
            _require_state(case, WORKING_STATES, _("起草调解协议"))
            if case.has_effective_agreement():
                raise ActionNotAllowed(_("本案已有生效的调解协议，不能再起草；如需更正，请建立更正版本。"))
        n_parties = case.parties.exclude(role=PartyRole.AGENT).count()
        was = _agreement_values(agreement) if agreement is not None else None
        if agreement is None:
            last = case.agreements.order_by("-version").first()
            agreement = Agreement(case=case, version=(last.version + 1) if last else 1, drafted_by=actor)
        else:
            agreement.terms.all().delete()
            agreement.instalments.all().delete()
            agreement.signatures.all().delete()  # signatures were for the old text
        agreement.dispute_summary = dispute_summary.strip()
        agreement.claims_summary = claims_summary.strip()
        agreement.waived = waived.strip()
        agreement.copies = copies or n_parties + 1
        agreement.save()
        AgreementTerm.objects.bulk_create(
            [AgreementTerm(agreement=agreement, number=i + 1, text=t) for i, t in enumerate(terms)])
        for instalment in parsed:
            instalment.agreement = agreement
        Instalment.objects.bulk_create(parsed)
        now = _agreement_values(agreement)
        old, new = audit.changes(was, now) if was is not None else (None, now)
        audit.record(actor=actor, action="agreement.draft", obj=agreement, case=case, old=old, new=new)
    return agreement


def _agreement_values(agreement: Agreement) -> dict[str, Any]:
    """An agreement with its terms and instalments, as the audit trail records it."""
    return {
        **audit.field_values(agreement, ("version", "status", "dispute_summary", "claims_summary", "waived",
                                         "copies", "supersedes", "effective_on")),
        "terms": list(agreement.terms.order_by("number").values_list("text", flat=True)),
        "instalments": [audit.snapshot(i, ("number", "amount", "due_on", "method", "paid_on", "paid_amount"))
                        for i in agreement.instalments.order_by("number")],
    }


def agreement_signers(parties: Iterable[CaseParty]) -> list[CaseParty]:
    """The parties whose signature or seal the agreement needs (劳动争议调解仲裁法 art. 14): every respondent,
    and every applicant — or, where the workers elected representatives (art. 7), the representatives,
    who sign on behalf of all applicants."""
    parties = [p for p in parties if p.role != PartyRole.AGENT]
    if any(p.is_representative for p in parties):
        return [p for p in parties if p.role != PartyRole.APPLICANT or p.is_representative]
    return parties


def agreement_missing_signatures(agreement: Agreement) -> list[str]:
    """What the agreement still lacks to take effect (劳动争议调解仲裁法 art. 14), in words.

    Every respondent signs or seals; the applicants' representatives sign for all applicants
    where there are any (art. 7); an agent may sign for the party they represent."""
    sigs = list(agreement.signatures.all())
    signed_parties = {s.party_id for s in sigs if s.kind == Signature.Kind.PARTY}
    missing = []
    parties = agreement.case.parties.all()
    agents: dict[int | None, set[int]] = {}
    for agent in parties:
        if agent.role == PartyRole.AGENT:
            agents.setdefault(agent.represents_id, set()).add(agent.pk)
    for party in agreement_signers(parties):
        if party.pk not in signed_parties and not agents.get(party.pk, set()) & signed_parties:
            missing.append(_("%(role)s %(name)s 签字或盖章") % {"role": party.title, "name": party.name})
    if not any(s.kind == Signature.Kind.MEDIATOR for s in sigs):
        missing.append(_("调解员签字"))
    if not any(s.kind == Signature.Kind.SEAL for s in sigs):
        missing.append(_("调解组织盖章"))
    return missing


def signature_record(*, agreement_id: int, actor: Any, kind: str, signed_on: datetime.date,
                     signer_name: str = "", party_id: int | None = None) -> Agreement:
    """Record a signature or seal from the paper original; the last one makes the agreement effective."""
    if kind not in Signature.Kind.values:
        raise ValidationError({"kind": _("请选择签章类型。")})
    with transaction.atomic():
        agreement = Agreement.objects.select_related("case").get(pk=agreement_id)
        case = lock_case(agreement.case_id)
        agreement.refresh_from_db()
        _require(actor, "work", case)
        if agreement.status != Agreement.Status.DRAFT:
            raise ActionNotAllowed(_("协议已生效，不能再修改签章。"))
        party = None
        if kind == Signature.Kind.PARTY:
            party = (case.parties.filter(pk=party_id).select_related("person", "employer").first()
                     if party_id is not None else None)
            if party is None:
                raise ValidationError({"party": _("请选择签字或盖章的当事人。")})
            if agreement.signatures.filter(kind=kind, party=party).exists():
                raise ValidationError({"party": _("该当事人已签字或盖章。")})
            signer_name = signer_name.strip() or party.name
        elif kind == Signature.Kind.SEAL:
            signer_name = signer_name.strip() or case.organisation.name
        else:
            signer_name = signer_name.strip() or actor.get_full_name() or actor.get_username()
        signature = Signature.objects.create(agreement=agreement, kind=kind, party=party, signer_name=signer_name,
                                             signed_on=signed_on, recorded_by=actor)
        status = agreement.status
        if not agreement_missing_signatures(agreement):
            if agreement.supersedes_id:
                # First retire the version it corrects: only one version is ever effective.
                Agreement.objects.filter(pk=agreement.supersedes_id).update(status=Agreement.Status.SUPERSEDED)
            agreement.status = Agreement.Status.EFFECTIVE
            agreement.effective_on = max(s.signed_on for s in agreement.signatures.all())
            agreement.save(update_fields=["status", "effective_on"])
            if case.state in (CaseState.SETTLED, CaseState.PERFORMED):
                case.amount_agreed = agreement.total_amount
                case.agreement_effective_on = agreement.effective_on
                case.save(update_fields=["amount_agreed", "agreement_effective_on", "updated_at"])
        audit.record(actor=actor, action="signature.record", obj=signature, case=case, old={"status": status},
                     new={**audit.snapshot(signature, ("agreement", "kind", "party", "signer_name", "signed_on")),
                          "status": agreement.status, "effective_on": agreement.effective_on})
    return agreement


def agreement_correct(*, case_id: int, actor: Any) -> Agreement:
    """Start a correction: a new draft version copying the effective one, which stays as it is."""
    with transaction.atomic():
        case = lock_case(case_id)
        _require(actor, "work", case)
        _require_state(case, (*WORKING_STATES, CaseState.SETTLED, CaseState.PERFORMED), _("更正调解协议"))
        current = case.effective_agreement()
        if current is None:
            raise ActionNotAllowed(_("本案没有生效的调解协议。"))
        if case.agreements.filter(status=Agreement.Status.DRAFT).exists():
            raise ActionNotAllowed(_("已有一份更正草稿。"))
        new = Agreement.objects.create(
            case=case, version=current.version + 1, supersedes=current, dispute_summary=current.dispute_summary,
            claims_summary=current.claims_summary, waived=current.waived, copies=current.copies,
            drafted_by=actor)
        AgreementTerm.objects.bulk_create([AgreementTerm(agreement=new, number=t.number, text=t.text)
                                           for t in current.terms.all()])
        Instalment.objects.bulk_create([Instalment(agreement=new, number=i.number, amount=i.amount,
                                                   due_on=i.due_on, method=i.method)
                                        for i in current.instalments.all()])
        audit.record(actor=actor, action="agreement.correct", obj=new, case=case,
                     old={"effective_version": current.version}, new=_agreement_values(new))
    return new


#: A payment as the instalment records it (and the audit trail shows it, with the case's recovered amount).
_PAYMENT_FIELDS = ("paid_on", "paid_amount", "payment_note")


def _check_payment(inst: Instalment, *, paid_on: datetime.date | None, amount: Decimal, note: str,
                   errors: dict[str, list[str]]) -> None:
    """A payment under an effective agreement (劳动争议调解仲裁法 art. 14: it binds once signed and
    sealed; art. 15: performed within the agreed time). Not in the future, not before the agreement
    took effect (no obligation existed to perform), and not above the instalment unless a note says
    why (interest for late payment, the remaining instalments paid at once …)."""
    effective_on = inst.agreement.effective_on
    today = clocks.local_today()
    if paid_on is None:
        errors["paid_on"] = [_("请填写实际履行日期。")]
    elif paid_on > today:
        errors["paid_on"] = [_("实际履行日期不能晚于今天（%(today)s）。") % {"today": f"{today:%Y-%m-%d}"}]
    elif effective_on is not None and paid_on < effective_on:
        errors["paid_on"] = [_("实际履行日期不能早于调解协议生效日期（%(date)s）：协议生效后才有履行义务。")
                             % {"date": f"{effective_on:%Y-%m-%d}"}]
    if amount <= 0:
        errors["paid_amount"] = [_("实际履行金额必须大于零；尚未付款的不必登记。")]
    elif amount > inst.amount and not note:
        errors["paid_amount"] = [
            _("实际履行金额 %(paid)s 元高于第 %(n)s 期应付的 %(due)s 元：如含迟延履行的利息或一次性付清其余各期，"
              "请在“履行说明”中写明。") % {"paid": f"{amount:,.2f}", "n": inst.number, "due": f"{inst.amount:,.2f}"}]
    if len(note) > 200:  # Instalment.payment_note
        errors["payment_note"] = [_("履行说明不能超过200个字。")]


def _payment_values(inst: Instalment, case: Case) -> dict[str, Any]:
    return {**audit.field_values(inst, _PAYMENT_FIELDS), **audit.field_values(case, ("amount_recovered",))}


def _recount_recovered(inst: Instalment, case: Case) -> None:
    """The case's recovered amount: what the effective agreement's instalments record as paid."""
    case.amount_recovered = inst.agreement.instalments.aggregate(s=Sum("paid_amount"))["s"] or Decimal("0")
    case.save(update_fields=["amount_recovered", "updated_at"])


def _locked_instalment(instalment_id: int) -> tuple[Instalment, Case]:
    """The instalment as it is once its case is locked (a payment recorded meanwhile is seen)."""
    case_id = Instalment.objects.values_list("agreement__case_id", flat=True).get(pk=instalment_id)
    case = lock_case(case_id)
    return Instalment.objects.select_related("agreement").get(pk=instalment_id), case


def instalment_record_payment(*, instalment_id: int, actor: Any, paid_on: datetime.date,
                              paid_amount: Any, note: str = "") -> Instalment:
    """Record what was paid on an instalment of the effective agreement (see ``_check_payment``);
    an amount above the instalment needs ``note``, which is kept. Recorded once: a slip is
    put right with ``instalment_correct_payment``, which asks for the reason."""
    amount = parse_amount(paid_amount, field_name="paid_amount")
    note = (note or "").strip()
    with transaction.atomic():
        inst, case = _locked_instalment(instalment_id)
        _require(actor, "work", case)
        if inst.agreement.status != Agreement.Status.EFFECTIVE:
            raise ActionNotAllowed(_("协议尚未生效，不能登记履行。"))
        _require_state(case, [CaseState.SETTLED], _("登记履行情况"))
        if inst.paid_on is not None:
            raise ActionNotAllowed(_("第 %(n)s 期已登记履行；如有误，请使用“更正”并说明理由。") % {"n": inst.number})
        errors: dict[str, list[str]] = {}
        _check_payment(inst, paid_on=paid_on, amount=amount, note=note, errors=errors)
        if errors:
            raise ValidationError(errors)
        was = _payment_values(inst, case)
        inst.paid_on, inst.paid_amount, inst.payment_note = paid_on, amount, note
        inst.save(update_fields=list(_PAYMENT_FIELDS))
        _recount_recovered(inst, case)
        old, new = audit.changes(was, _payment_values(inst, case))
        audit.record(actor=actor, action="instalment.payment", obj=inst, case=case, old=old,
                     new={**new, "number": inst.number})
    return inst


def instalment_correct_payment(*, instalment_id: int, actor: Any, paid_on: datetime.date | None,
                               paid_amount: Any, reason: str, note: str = "") -> Instalment:
    """Correct a recorded payment, with the reason, on the audit trail with the values before and after.

    The new values are checked as a payment is (``_check_payment``). Neither a date nor an amount
    clears the record: a payment entered on the wrong instalment, or one that bounced. While the
    case is settled anything may be corrected. Once performance is confirmed (performed) the
    record stays a full payment: a wrong date or note may be put right, but nothing that would
    leave an instalment short, which would contradict the confirmed performance.
    """
    reason = (reason or "").strip()
    note = (note or "").strip()
    clearing = paid_on is None and paid_amount in (None, "")
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("请说明更正的理由。")]
    amount = None
    if not clearing:
        amount = _collect(errors, parse_amount, paid_amount, field_name="paid_amount")
    with transaction.atomic():
        inst, case = _locked_instalment(instalment_id)
        _require(actor, "work", case)
        if inst.agreement.status != Agreement.Status.EFFECTIVE:
            raise ActionNotAllowed(_("只能更正现行有效协议的履行记录。"))
        _require_state(case, [CaseState.SETTLED, CaseState.PERFORMED], _("更正履行记录"))
        if inst.paid_on is None:
            raise ActionNotAllowed(_("第 %(n)s 期尚未登记履行，无需更正。") % {"n": inst.number})
        if amount is not None:
            _check_payment(inst, paid_on=paid_on, amount=amount, note=note, errors=errors)
        if case.state == CaseState.PERFORMED and "paid_amount" not in errors and (clearing or (
                amount is not None and amount < inst.amount)):
            errors["paid_amount"] = [_("案件已确认履行完毕：更正后本期不能少于应付的 %(due)s 元，也不能撤销登记。")
                                     % {"due": f"{inst.amount:,.2f}"}]
        was = _payment_values(inst, case)
        if not errors and (paid_on, amount, note if not clearing else "") == (
                inst.paid_on, inst.paid_amount, inst.payment_note):
            errors["__all__"] = [_("更正后的内容与原登记相同。")]
        if errors:
            raise ValidationError(errors)
        inst.paid_on, inst.paid_amount, inst.payment_note = (None, None, "") if clearing else (paid_on, amount, note)
        inst.save(update_fields=list(_PAYMENT_FIELDS))
        _recount_recovered(inst, case)
        old, new = audit.changes(was, _payment_values(inst, case))
        audit.record(actor=actor, action="instalment.payment_correct", obj=inst, case=case,
                     old={**old, "number": inst.number}, new={**new, "number": inst.number, "cleared": clearing},
                     reason=reason)
    return inst


def followup_record(*, case_id: int, actor: Any, visited_on: datetime.date, method: str, contact: str,
                    content: str, satisfied: bool = True) -> FollowUp:
    """A follow-up visit (回访) after settlement; a performed case needs one before it closes."""
    errors = {}
    if method not in FollowUp.Method.values:
        errors["method"] = [_("请选择回访方式。")]
    if not (contact or "").strip():
        errors["contact"] = [_("请填写回访对象。")]
    if not (content or "").strip():
        errors["content"] = [_("请填写回访情况。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = lock_case(case_id)
        _require(actor, "work", case)
        _require_state(case, [CaseState.SETTLED, CaseState.PERFORMED], _("登记回访"))
        follow_up = FollowUp.objects.create(case=case, visited_on=visited_on, method=method,
                                            contact=contact.strip(), content=content.strip(), satisfied=satisfied,
                                            recorded_by=actor)
        audit.record(actor=actor, action="followup.record", obj=follow_up, case=case, new=audit.snapshot(follow_up))
        return follow_up


def referral_record_outcome(*, referral_id: int, actor: Any, outcome: str, outcome_on: datetime.date,
                            summary: str, amount: Any = None) -> Referral:
    """Close the loop: the arbitration or court outcome, recorded against the case."""
    if outcome not in Referral.Outcome.values or outcome == Referral.Outcome.PENDING:
        raise ValidationError({"outcome": _("请选择处理结果。")})
    if not (summary or "").strip():
        raise ValidationError({"summary": _("请填写结果摘要。")})
    parsed = parse_amount(amount, field_name="amount") if amount not in (None, "") else None
    with transaction.atomic():
        referral = Referral.objects.get(pk=referral_id)
        case = lock_case(referral.case_id)
        _require(actor, "work", case)
        _require_state(case, [CaseState.REFERRED], _("登记仲裁或诉讼结果"))
        was = audit.field_values(referral)
        referral.outcome, referral.outcome_on = outcome, outcome_on
        referral.outcome_summary, referral.outcome_amount = summary.strip(), parsed
        referral.outcome_recorded_by = actor
        referral.save()
        old, new = audit.changes(was, audit.field_values(referral))
        audit.record(actor=actor, action="referral.outcome", obj=referral, case=case, old=old, new=new)
    return referral


def mediators_assign(*, case_id: int, actor: Any, mediators: Sequence[Any]) -> Case:
    """A supervisor assigns the case's mediators: people who may act in the handling organisation."""
    with transaction.atomic():
        case = lock_case(case_id)
        if not permissions.user_may(actor, "assign_mediator", case):
            raise PermissionDenied(_("只有负责人可以指派调解员。"))
        for user in mediators:
            if not permissions.user_may(user, "work", case):
                raise ValidationError({"mediators": _("%(name)s 不是承办组织的调解员。")
                                       % {"name": user.get_full_name() or user.get_username()}})
        was = sorted(u.get_username() for u in case.mediators.all())
        case.mediators.set(mediators)
        audit.record(actor=actor, action="case.mediators", obj=case, old={"mediators": was},
                     new={"mediators": sorted(u.get_username() for u in mediators)})
    return case


def deadline_extend(*, case_id: int, actor: Any, extra_days: int, consent_note: str) -> DeadlineExtension:
    """Extend the mediation period with both parties' recorded consent (人社部令第17号)."""
    if not (consent_note or "").strip():
        raise ValidationError({"consent_note": _("延长调解期限须经双方当事人同意，请记录同意情况。")})
    if not isinstance(extra_days, int) or not 1 <= extra_days <= 90:
        raise ValidationError({"extra_days": _("延长天数应在1至90天之间。")})
    with transaction.atomic():
        case = lock_case(case_id)
        if not permissions.user_may(actor, "extend_deadline", case):
            raise PermissionDenied(_("只有负责人可以延长调解期限。"))
        _require_state(case, (*WORKING_STATES, CaseState.ESCALATION_PENDING), _("延长调解期限"))
        extension = DeadlineExtension.objects.create(case=case, extra_days=extra_days,
                                                     consent_note=consent_note.strip(), granted_by=actor)
        deadline_fields = ("mediation_extra_days", "acceptance_due", "mediation_due", "deadlines_confirmed")
        was = audit.field_values(case, deadline_fields)
        case.mediation_extra_days += extra_days
        for key, value in clocks.stored_deadline_fields(case).items():
            setattr(case, key, value)
        case.save(update_fields=["mediation_extra_days", "acceptance_due", "mediation_due",
                                 "deadlines_confirmed", "updated_at"])
        old, new = audit.changes(was, audit.field_values(case, deadline_fields))
        audit.record(actor=actor, action="case.extend_deadline", obj=extension, case=case, old=old,
                     new={**new, "extra_days": extra_days}, reason=extension.consent_note)
    return extension


#: States in which a consultation (协商) may be recorded: at intake, and while line 1 (the
#: enterprise's own resolution, where 人社部令第17号 places consultation) works the case.
CONSULTATION_STATES: tuple[str, ...] = (CaseState.REGISTERED, CaseState.SELF_RESOLUTION)
CONSULTATION_FIELDS = ("consultation_requested_on", "consultation_requested_by", "consultation_replied_on",
                       "consultation_outcome", "consultation_note")
#: Outcomes that say the other side answered (or consultation went on and ended): they need a reply date.
_REPLIED_OUTCOMES = frozenset({ConsultationOutcome.AGREED, ConsultationOutcome.REFUSED, ConsultationOutcome.SETTLED,
                               ConsultationOutcome.FAILED})


def _check_consultation(requested_on: Any, requested_by: str, replied_on: Any, outcome: str,
                        today: datetime.date) -> dict[str, list[str]]:
    """The checks that need no database: dates in order and not ahead of today, outcome and reply agree."""
    errors: dict[str, list[str]] = {}
    if not isinstance(requested_on, datetime.date):
        errors["requested_on"] = [_("请填写提出协商的日期。")]
    elif requested_on > today:
        errors["requested_on"] = [_("提出协商的日期不能晚于今天。")]
    if requested_by not in ConsultationSide.values:
        errors["requested_by"] = [_("请选择提出协商的一方。")]
    if outcome not in ConsultationOutcome.values:
        errors["outcome"] = [_("请选择协商结果。")]
    if replied_on is not None:
        if replied_on > today:
            errors["replied_on"] = [_("对方答复日期不能晚于今天。")]
        elif isinstance(requested_on, datetime.date) and replied_on < requested_on:
            errors["replied_on"] = [_("对方答复日期不能早于提出协商的日期。")]
        elif outcome in (ConsultationOutcome.PENDING, ConsultationOutcome.NO_REPLY):
            errors["replied_on"] = [_("已填写答复日期的，协商结果不能是“等待答复”或“逾期未答复”。")]
    elif outcome in _REPLIED_OUTCOMES:
        errors["replied_on"] = [_("请填写对方答复的日期。")]
    return errors


def consultation_record(*, case_id: int, actor: Any, requested_on: datetime.date, requested_by: str,
                        outcome: str, replied_on: datetime.date | None = None, note: str = "") -> Case:
    """Record a consultation (协商) under 企业劳动争议协商调解规定 (人社部令第17号).

    A party may ask the other side to consult; the other side answers within 5 days, and
    no answer in that time is taken as refusing to consult. Consultation ends in a
    settlement (和解协议) or fails, after which mediation may be requested. The reply
    clock is ``clocks.consultation_reply_due`` (民法典 arts. 201, 203; holidays from the
    working calendar); "no reply" may be recorded only once that period is over.

    Recorded at intake (``registered``) and while line 1 works the case (``self_resolution``),
    by whoever may work the case; the values before and after go on the audit trail.
    """
    note = (note or "").strip()
    today = clocks.local_today()
    errors = _check_consultation(requested_on, requested_by, replied_on, outcome, today)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = lock_case(case_id)
        _require(actor, "work", case)
        _require_state(case, CONSULTATION_STATES, _("登记协商情况"))
        if outcome == ConsultationOutcome.NO_REPLY:
            due = clocks.consultation_reply_due(clocks.WorkCalendar.from_db(), requested_on)
            if today <= due.date:
                raise ValidationError({"outcome": [
                    _("答复期限至%(due)s届满，届满后对方仍未答复的，才视为不愿协商（人社部令第17号）。")
                    % {"due": due.date.isoformat()}]})
        was = audit.field_values(case, CONSULTATION_FIELDS)
        case.consultation_requested_on, case.consultation_requested_by = requested_on, requested_by
        case.consultation_replied_on, case.consultation_outcome = replied_on, outcome
        case.consultation_note = note
        now = audit.field_values(case, CONSULTATION_FIELDS)
        if now != was:
            case.save(update_fields=[*CONSULTATION_FIELDS, "updated_at"])
            old, new = audit.changes(was, now)
            audit.record(actor=actor, action="case.consultation", obj=case, old=old, new=new)
    return case


def deadlines_recompute(*, queryset=None, batch_size: int = 2000) -> int:
    """Recompute stored due dates after the holiday calendar changed; returns how many rows changed."""
    calendar = clocks.WorkCalendar.from_db()
    qs = (queryset if queryset is not None else Case.objects.filter(state__in=OPEN_STATES))
    changed = []
    fields = ["acceptance_due", "mediation_due", "deadlines_confirmed"]
    for case in qs.select_related("organisation").only(
            "id", "state", "received_at", "accepted_at", "mediation_extra_days", "agreement_effective_on",
            "dispute_known_on", "consultation_requested_on", "organisation__is_peoples_mediation_committee",
            *fields).iterator(chunk_size=batch_size):
        values = clocks.stored_deadline_fields(case, calendar=calendar)
        if any(getattr(case, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(case, k, v)
            changed.append(case)
    # Plain UPDATEs of date columns: the state is not touched, so no lifecycle is bypassed.
    for i in range(0, len(changed), batch_size):
        Case.objects.bulk_update(changed[i:i + batch_size], fields)
    return len(changed)


# --- attachments ------------------------------------------------------------------------

#: Types accepted as evidence, by what the content is (never by the file's name).
ATTACHMENT_TYPES: dict[str, str] = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "image/tiff": "tif",
    "image/heic": "heic",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/msword": "doc", "application/vnd.ms-excel": "xls", "application/vnd.ms-powerpoint": "ppt",
    "application/x-ole-storage": "doc",
    "application/vnd.oasis.opendocument.text": "odt", "application/vnd.oasis.opendocument.spreadsheet": "ods",
}


def sniff_content_type(head: bytes) -> str | None:
    """The MIME type the bytes say they are, or None when they are none of the accepted kinds."""
    import filetype

    kind = filetype.guess(head)
    if kind is None:
        return None
    if kind.mime in ATTACHMENT_TYPES:
        return kind.mime
    return None


def attachment_add(*, case_id: int, actor: Any, upload: Any, kind: str, description: str = "") -> Attachment:
    """Store an uploaded file on the case with its SHA-256; refuse unknown types and oversize files.

    The bytes go to storage first and the row second; if the row cannot be written
    the stored bytes are removed again, so storage never keeps an orphan.
    """
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    if kind not in Attachment.Kind.values:
        raise ValidationError({"kind": _("请选择附件类别。")})
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError({"file": _("文件过大：单个附件不能超过 %(mb)d MB。") % {"mb": limit // (1024 * 1024)}})
    if upload.size == 0:
        raise ValidationError({"file": _("文件是空的。")})
    upload.seek(0)
    head = upload.read(8192)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError({"file": _(
            "只能上传 PDF、图片（JPG/PNG等）或 Office 文档；该文件的内容不属于这些类型。")})
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    sha = digest.hexdigest()
    case = Case.objects.get(pk=case_id)
    _require(actor, "work", case)
    if Attachment.objects.filter(case=case, sha256=sha).exists():
        raise ValidationError({"file": _("该文件已上传过。")})
    attachment = Attachment(case=case, kind=kind, description=(description or "").strip(),
                            original_name=str(upload.name)[-200:], content_type=content_type, size=upload.size,
                            sha256=sha, uploaded_by=actor)
    upload.seek(0)
    stored_name = default_storage.save(
        f"attachments/{case.pk}/{sha}.{ATTACHMENT_TYPES[content_type]}", ContentFile(upload.read()))
    try:
        with transaction.atomic():
            attachment.file.name = stored_name
            attachment.save()
            audit.record(actor=actor, action="attachment.add", obj=attachment, case=case, new=audit.snapshot(
                attachment, ("kind", "description", "original_name", "content_type", "size", "sha256")))
    except Exception:
        default_storage.delete(stored_name)
        raise
    return attachment
