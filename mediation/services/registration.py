"""Registration of an application (劳动争议调解仲裁法 art. 12): its input, every rule it must pass,
the case numbers, and the write.

The one owner of a registration's rules: the intake page, the API and the ledger import all build a
``Registration`` and go through ``registration_check`` (and ``possible_duplicates`` for the warning
the intake asks to confirm). Longer than most modules: every rule of an application is kept here.
"""
from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import identity, permissions
from mediation.audit import log as audit
from mediation.models import (
    Case,
    CaseNumberSequence,
    CaseParty,
    Category,
    ClaimItem,
    Employer,
    Organisation,
    PartyRole,
    Person,
    RespondentCapacity,
)
from mediation.services.amounts import parse_amount
from mediation.services.common import collect_errors
from workflows import clocks
from workflows.states import OPEN_STATES

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
    #: The details given for this case (CaseParty), never another office's record of the firm.
    details: tuple[tuple[str, str], ...] = ()


def _details_given(data: EmployerInput | Employer, employer: Employer) -> tuple[tuple[str, str], ...]:
    """What the registering office said about the firm: name, legal representative, address, phone."""
    if isinstance(data, Employer):
        return ()  # a record passed in as such (an import or the demo) speaks for itself
    phone = identity.normalize_phone(data.phone) if data.phone else ""
    return (("name", (data.name or "").strip() or employer.name),
            ("legal_representative", (data.legal_representative or "").strip()),
            ("address", (data.address or "").strip()), ("phone", phone))


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
                                          capacity=r.capacity, **dict(r.details))
                    for i, r in enumerate(respondents)]
        return parties

    def agent_parties(self, principal: CaseParty) -> list[CaseParty]:
        return [e.party(case=principal.case, role=PartyRole.AGENT, represents=principal, position=i + 1)
                for i, e in enumerate(self.agents_entered)]



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
    elif data.received_at.year < EARLIEST_YEAR:
        errors["received_at"] = [_("收到申请的时间不能早于%(year)d年。") % {"year": EARLIEST_YEAR}]
    known = data.dispute_known_on
    if known is not None and data.received_at is not None and data.received_at.year >= EARLIEST_YEAR:
        # One knows of the infringement before applying about it; the limitation (art. 27) counts from then.
        if known > timezone.localtime(data.received_at).date():
            errors["dispute_known_on"] = [_("知道或应当知道权利被侵害之日不能晚于收到申请的日期。")]
        elif known.year < EARLIEST_YEAR - 50:
            errors["dispute_known_on"] = [_("知道或应当知道权利被侵害之日过早，请核对。")]


def _clean_claims(claims: Sequence[ClaimInput], categories: dict[str, Category],
                  errors: dict[str, list[str]]) -> list[ClaimItem]:
    items: list[ClaimItem] = []
    for i, claim in enumerate(claims):
        amount = collect_errors(errors, parse_amount, claim.amount, field_name=f"claims-{i}-amount")
        if not (claim.description or "").strip():
            errors[f"claims-{i}-description"] = [_("请填写请求事项。")]
        if claim.category_code and claim.category_code not in categories:
            errors[f"claims-{i}-category"] = [_("争议类别无效。")]
        if amount is not None:
            items.append(ClaimItem(description=claim.description.strip(), amount=amount,
                                   category=categories.get(claim.category_code)))
    return items


def _same_employer(employer: Employer, name: str) -> set[tuple[str, Any]]:
    """What makes two respondents the same firm: the record on file, the credit code or the name
    (given or on file) — any one in common, so a firm named once with its code and once without
    is still one firm."""
    keys: set[tuple[str, Any]] = {("name", employer.name), ("name", name)}
    if employer.pk is not None:
        keys.add(("pk", employer.pk))
    if employer.credit_code:
        keys.add(("code", employer.credit_code))
    return keys


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
        employer = collect_errors(errors, employer_resolve, employer_data, on_file=on_file, prefix=prefix)
        if capacity not in RespondentCapacity.values:
            errors.setdefault(f"{prefix}capacity", []).append(_("请选择被申请人的责任身份。"))
            continue
        if employer is None:
            continue
        details = _details_given(employer_data, employer)
        keys = _same_employer(employer, dict(details).get("name", employer.name))
        if keys & seen:
            errors.setdefault(f"{prefix}name", []).append(_("同一单位不能重复列为被申请人。"))
            continue
        seen |= keys
        respondents.append(Respondent(employer, capacity, details))
    capacities = {capacity for _e, capacity, _p in given}
    dispatch = {RespondentCapacity.DISPATCH_AGENCY, RespondentCapacity.HOST_EMPLOYER}
    if capacities & dispatch and not dispatch <= capacities:
        errors.setdefault("respondents", []).append(_(
            "劳务派遣单位和用工单位为共同当事人（劳动争议调解仲裁法第二十二条），请同时填写两者。"))
    return respondents


#: No application, current or historical (the ledger import), is older than this year.
EARLIEST_YEAR = 2000

#: More workers than any one dispute involves: a typing slip (the intake form and the ledger say so).
WORKERS_MAX = 100_000


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
    if workers > WORKERS_MAX:
        errors.setdefault("workers_involved", []).append(
            _("涉及劳动者人数不能超过%(n)d人，请核对。") % {"n": WORKERS_MAX})
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
    people = [collect_errors(errors, _clean_person, p, prefix=f"applicants-{i}-", on_file=on_file)
              for i, p in enumerate(data.applicants)]
    agents = [collect_errors(errors, _clean_person, p, prefix=f"agents-{i}-", on_file=on_file)
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
    try:
        case, _parties = case_write(checked, actor=actor, intake_token=intake_token, imported=imported,
                                    import_key=import_key)
    except IntegrityError:
        if intake_token:
            existing = _registered_with(intake_token, actor)
            if existing:
                return existing
        raise
    logger.info("case %s registered by user %s", case.pk, getattr(actor, "pk", None))
    return case


def case_write(checked: CheckedRegistration, *, actor: Any, **fields: Any) -> tuple[Case, list[CaseParty]]:
    """Write a checked registration in one transaction: its people and firms, the next number, the case,
    its categories, claims and parties, and the ``case.register`` audit row. The one write of a
    registration (``case_register`` and the worker's online application, portal/); ``fields`` add to
    what registration sets (``Case.applied_online``, an intake token). Returns the case and its parties."""
    year = timezone.localtime(checked.data.received_at).year
    with transaction.atomic():
        for p in checked.people + checked.agents:
            p.save()
        for employer in checked.employers:
            if employer.pk is None:
                employer.save()
        seq = case_numbers_take(organisation=checked.data.organisation, year=year)[0]
        case = checked.new_case(year=year, seq=seq, actor=actor, **fields)
        case.save()
        case.categories.set(checked.categories)
        for c in checked.claims:
            c.case = case
        ClaimItem.objects.bulk_create(checked.claims)
        parties = CaseParty.objects.bulk_create(checked.parties(case))
        parties += CaseParty.objects.bulk_create(checked.agent_parties(parties[0]))
        audit.record(actor=actor, action="case.register", obj=case, new={
            **audit.snapshot(case), "applicants": [e.name for e in checked.applicants],
            "agents": [e.name for e in checked.agents_entered], "employer": checked.employer.name,
            "respondents": [{"name": r.employer.name, "capacity": r.capacity} for r in checked.respondents],
            "workers_involved": checked.workers_involved,
            "representatives": [e.name for e in checked.representatives]})
    return case, parties


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


def possible_duplicates(*, user: Any, data: Registration) -> list[Case]:
    """Open cases the user may read between one of the applicants (by ID number) and the employer
    (by credit code, else by name): the intake asks to confirm before registering another."""
    ids = [p.id_number for p in data.applicants if p.id_number]
    person_ids = list(Person.objects.filter(id_number__in=ids).values_list("pk", flat=True))
    if not person_ids:
        return []
    if isinstance(data.employer, Employer):
        employer: Employer | None = data.employer
    else:
        code = data.employer.credit_code
        employer = (Employer.objects.filter(credit_code=code).first() if code
                    else Employer.objects.filter(name=data.employer.name.strip()).first())
    if employer is None:
        return []
    return open_cases_between(user=user, person_ids=person_ids, employer=employer)


def case_already_registered(*, user: Any, intake_token: uuid.UUID) -> Case | None:
    """The case an intake form already made, if the user may read it: the same form sent twice (a double
    click, a retry) shows that case instead of asking about a duplicate or registering another."""
    case = Case.objects.filter(intake_token=intake_token).first()
    return case if case is not None and permissions.may_view_case(user, case) else None
