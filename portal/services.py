"""The worker's own pages (docs/portal.md): apply online, follow the case, fetch one's documents.

Nobody here is a staff user and no access rule of ``mediation.permissions`` applies: the worker
proves a right to one case with what only they hold (the access code shown once after applying;
or the ID number and a one-time code sent to the phone on record). Every answer to a wrong guess
is the same as to a guess about a case that does not exist, and every access is on the audit
trail with identifiers masked.

Registration goes through the one owner of its rules (``registration_check``) and its one write
(``case_write``: the number counter, the parties, the ``case.register`` audit row), as the desk's
``case_register`` does.
"""
from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import identity
from mediation.audit import log as audit
from mediation.documents import registry
from mediation.documents.models import DocumentKind, DocumentStage, IssuedDocument
from mediation.documents.selectors import document_standing
from mediation.models import (
    ApplicationForm,
    Attachment,
    Case,
    CaseParty,
    Channel,
    Organisation,
    PartyRole,
    Person,
)
from mediation.services.registration import (
    CheckedRegistration,
    ClaimInput,
    EmployerInput,
    PersonInput,
    Registration,
    case_write,
    registration_check,
)
from mediation.services.work import ATTACHMENT_TYPES, attachment_inspect
from notifications.sms import SmsError, send_sms
from portal import routing
from portal.models import DocumentCode, OnlineApplication

logger = logging.getLogger(__name__)

#: Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
ACCESS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


# --- who acts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Visitor:
    """Who acts on the public pages, as the audit trail names them: never a staff user, no user id."""

    label: str
    pk: None = None

    def get_username(self) -> str:
        return self.label


PUBLIC = Visitor("portal:public")


def applicant_actor(id_number: str) -> Visitor:
    """The applicant, by their masked ID number (330***********1234)."""
    return Visitor(f"portal:applicant {identity.mask_id_number(id_number)}")


def _nobody_on_file(person: Person) -> bool:
    """The public sees no record on file: an ID number known under another name is neither refused
    nor confirmed (the case keeps the name given), so the form tells nobody whose number is known."""
    return False


# --- codes ---------------------------------------------------------------------------------------

def access_code_new() -> str:
    return "".join(secrets.choice(ACCESS_ALPHABET) for _i in range(settings.PORTAL_ACCESS_CODE_LENGTH))


def access_code_display(code: str) -> str:
    """ABCDEFGHJKMN → ABCD-EFGH-JKMN."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_code(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def normalize_number(text: str) -> str:
    return "".join((text or "").split())[:60]


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return make_password(secrets.token_hex(16))


def _matches(code: str, encoded: str | None) -> bool:
    """Constant-time comparison through Django's password hashers; without a stored hash a dummy one
    is checked, so a missing case costs the same time as a wrong code."""
    if encoded is None:
        check_password(code, _dummy_hash())
        return False
    matched = check_password(code, encoded)  # checked even for an empty code: a known number costs the same
    return bool(code) and matched


def one_time_code() -> str:
    """A 6-digit one-time code, for SMS."""
    return f"{secrets.randbelow(10 ** 6):06d}"


def one_time_code_send(phone: str, code: str) -> bool:
    """Send the code by SMS: a fixed text and the code, nothing about the person or the case.
    False when the gateway refused it."""
    try:
        send_sms(phone, _("【劳动争议调解】您的验证码为%(code)s，%(minutes)d分钟内有效。如非本人操作，请忽略。")
                 % {"code": code, "minutes": settings.PORTAL_CODE_MINUTES})
    except SmsError:
        return False
    return True


# --- apply ---------------------------------------------------------------------------------------

@dataclass
class Application:
    """What the worker fills in on the application page."""

    name: str
    id_number: str
    phone: str
    sex: str
    employer_name: str
    credit_code: str
    employer_address: str
    dispute_summary: str
    claims: Sequence[ClaimInput] = ()
    categories: Sequence[str] = ()
    township: Organisation | None = None
    evidence: Sequence[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Submitted:
    case: Case
    #: Shown once to the worker; only its hash is stored.
    access_code: str


def _merge(errors: dict[str, list[str]], exc: ValidationError) -> None:
    for key, messages in exc.message_dict.items():
        errors.setdefault(key, []).extend(messages)


def _inspect_evidence(evidence: list[Any], errors: dict[str, list[str]]) -> list[tuple[Any, str, str]]:
    """Each file through the attachments' own check (size, type by content): (upload, type, SHA-256)."""
    if len(evidence) > settings.PORTAL_EVIDENCE_MAX_FILES:
        errors["evidence"] = [_("最多上传%(n)d个文件。") % {"n": settings.PORTAL_EVIDENCE_MAX_FILES}]
        return []
    inspected: list[tuple[Any, str, str]] = []
    seen: set[str] = set()
    for upload in evidence:
        try:
            content_type, sha = attachment_inspect(upload)
        except ValidationError as exc:
            errors.setdefault("evidence", []).extend(f"{upload.name}：{message}" for message in exc.messages)
            continue
        if sha not in seen:  # the same file chosen twice is kept once
            seen.add(sha)
            inspected.append((upload, content_type, sha))
    return inspected


def application_submit(*, application: Application) -> Submitted:
    """Register an online application: channel 网上平台, marked 网上申请, received when submitted.

    The registration's rules are ``registration_check``'s; the evidence passes the attachments'
    own check (``attachment_inspect``) before anything is written. The case, its parties, claims,
    evidence, access code and audit rows are one transaction; stored files are removed again if it
    fails, so a refused or failed application leaves no case and no file.
    """
    errors: dict[str, list[str]] = {}
    inspected = _inspect_evidence(list(application.evidence), errors)
    for key, value, message in (("name", application.name, _("请填写姓名。")),
                                ("id_number", application.id_number, _("请填写公民身份号码。")),
                                ("phone", application.phone, _("请填写手机号码，查阅文书的验证码将发送到该号码。"))):
        if not (value or "").strip():
            errors.setdefault(key, []).append(message)
    found = routing.route(credit_code=application.credit_code, chosen=application.township,
                          address=application.employer_address)
    if found is None:
        errors.setdefault("township", []).append(_("无法根据单位信息确定受理的镇街，请选择。"))
    received_at = timezone.now()
    data = Registration(
        # Without a township the rules are still checked (every error shown at once); none is written.
        organisation=found.organisation if found else None,  # type: ignore[arg-type]
        received_at=received_at,
        channel=Channel.ONLINE, application_form=ApplicationForm.WRITTEN,
        dispute_summary=application.dispute_summary,
        employer=EmployerInput(name=application.employer_name, credit_code=application.credit_code,
                               address=application.employer_address),
        applicants=[PersonInput(name=application.name, id_number=application.id_number, phone=application.phone,
                                sex=application.sex)],
        categories=list(application.categories), claims=list(application.claims))
    try:
        checked = registration_check(data, may_see=_nobody_on_file)
    except ValidationError as exc:
        _merge(errors, exc)
        raise ValidationError(errors) from None
    if errors or found is None:
        raise ValidationError(errors)
    submitted = _write(checked, found, inspected, received_at)
    logger.info("online application registered as case %s", submitted.case.pk)
    return submitted


def _write(checked: CheckedRegistration, found: routing.Route, inspected: list[tuple[Any, str, str]],
           received_at: datetime.datetime) -> Submitted:
    """The case as ``case_register`` writes it (``case_write``), plus the access code and the evidence, in one
    transaction."""
    entered = checked.applicants[0]
    actor = applicant_actor(entered.person.id_number or "")
    code = access_code_new()
    stored: list[str] = []
    try:
        with transaction.atomic():
            case, parties = case_write(checked, actor=actor, applied_online=True)
            OnlineApplication.objects.create(case=case, applicant=parties[0], access_code_hash=make_password(code),
                                             routed_by=found.routed_by, submitted_at=received_at)
            for upload, content_type, sha in inspected:
                upload.seek(0)
                name = default_storage.save(f"attachments/{case.pk}/{sha}.{ATTACHMENT_TYPES[content_type]}",
                                            ContentFile(upload.read()))
                stored.append(name)
                attachment = Attachment.objects.create(
                    case=case, kind=Attachment.Kind.EVIDENCE, file=name, original_name=str(upload.name)[-200:],
                    content_type=content_type, size=upload.size, sha256=sha, uploaded_by=None)
                audit.record(actor=actor, action="attachment.add", obj=attachment, case=case, new=audit.snapshot(
                    attachment, ("kind", "original_name", "content_type", "size", "sha256")))
            audit.record(actor=actor, action="portal.apply", obj=case, new={
                "organisation": found.organisation.pk, "routed_by": found.routed_by, "evidence": len(inspected)})
    except Exception:
        for name in stored:
            default_storage.delete(name)
        raise
    return Submitted(case, code)


# --- follow --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeadlineLine:
    label: str
    due: datetime.date
    note: str


@dataclass(frozen=True)
class Progress:
    """What the worker sees of their case: no mediator's note, no other party's personal data."""

    number: str
    state: str
    status: str
    next_step: str
    organisation: str
    received_at: datetime.datetime
    accepted_at: datetime.datetime | None
    deadlines: list[DeadlineLine]


def _worker_words(state: str) -> tuple[str, str]:
    """The state in the worker's words, and what happens next."""
    acceptance = _("调解组织自收到申请之日起3个工作日内决定是否受理，请保持电话畅通。")
    documents = _("可凭案号、身份证号码和短信验证码在“我的文书”中查看和下载。")
    words = {
        "registered": (_("已提交，等待受理"), acceptance),
        "rejected": (_("不予受理"), _("不予受理通知书说明了理由；") + documents
                     + _("您也可以依法申请劳动争议仲裁。")),
        "self_resolution": (_("已受理，调解中"), _("调解员将与您联系，安排调解。")),
        "joint_mediation": (_("已受理，调解中"), _("调解员将与您联系，安排调解。")),
        "linked_mediation": (_("已受理，调解中"), _("调解员将与您联系，安排调解。")),
        "escalation_pending": (_("已受理，调解中"), _("本案正在报请上一级调解组织调解，调解员将与您联系。")),
        "settled": (_("已达成调解协议"), _("请按协议履行。") + documents),
        "performed": (_("调解协议已履行"), _("调解组织将回访了解履行情况。")),
        "mediation_failed": (_("调解未成"), _("您可以依法申请劳动争议仲裁。") + documents),
        "referred": (_("已转仲裁或诉讼"), _("请关注仲裁委员会或人民法院的通知。")),
        "withdrawn": (_("已撤回申请"), ""),
        "closed": (_("已结案"), ""),
    }
    return words.get(state, (state, ""))


#: The clocks that concern the worker, with what each means for them.
def _deadline_notes() -> dict[str, str]:
    return {
        "acceptance": _("在此日期前决定是否受理"),
        "statutory_window": _("自收到申请之日起15日内未达成调解协议的，您可以申请劳动争议仲裁"),
        "mediation": _("调解应在此日期前结束（双方同意的可以延长）"),
        "arbitration_review": _("双方可以在此日期前共同申请仲裁审查"),
        "judicial_confirmation": _("双方可以在此日期前共同申请司法确认"),
        "limitation": _("申请劳动争议仲裁的时效"),
    }


def progress_of(case: Case) -> Progress:
    status, next_step = _worker_words(str(case.state))
    notes = _deadline_notes()
    deadlines = [DeadlineLine(d.label, d.due, notes[d.key]) for d in case.deadlines()
                 if d.active and d.key in notes]
    return Progress(number=case.number, state=str(case.state), status=status, next_step=next_step,
                    organisation=case.organisation.name, received_at=case.received_at,
                    accepted_at=case.accepted_at, deadlines=deadlines)


def follow(*, number: str, access_code: str) -> Progress | None:
    """The case's progress when the access code is the one issued for that case number, else None
    (the same None whether the number exists or not). Audited either way."""
    number = normalize_number(number)
    online = (OnlineApplication.objects.select_related("case__organisation__level")
              .filter(case__number=number).first()) if number else None
    ok = _matches(normalize_code(access_code), online.access_code_hash if online else None)
    audit.record(actor=PUBLIC, action="portal.follow", obj=online.case if online else None, new={
        "case_number": number, "result": "shown" if ok else "refused"})
    return progress_of(online.case) if ok and online else None


def audit_throttled(*, action: str, number: str = "", id_number: str = "") -> None:
    new = {"result": "throttled"}
    if number:
        new["case_number"] = normalize_number(number)
    if id_number:
        new["id_number"] = identity.mask_id_number(identity.normalize_id_number(id_number))
    audit.record(actor=PUBLIC, action=action, new=new)


# --- my documents --------------------------------------------------------------------------------

def _applicant(case: Case | None, id_number: str) -> CaseParty | None:
    if case is None or not id_number:
        return None
    return (CaseParty.objects.filter(case=case, role=PartyRole.APPLICANT, person__id_number=id_number)
            .select_related("person").first())


def code_request(*, number: str, id_number: str) -> int | None:
    """Send a one-time code to the phone on record of the applicant with this ID number in this case.

    Returns the code's id, or None when nothing matched (the page says the same either way). The
    SMS holds the code and a fixed text only. A new code ends the applicant's earlier ones.
    """
    number = normalize_number(number)
    id_number = identity.normalize_id_number(id_number or "")
    case = Case.objects.filter(number=number).first() if number else None
    party = _applicant(case, id_number)
    # Only the phone recorded in this case: the person's record on file may carry a number whoever first
    # registered that ID number gave (online, anyone), and it never speaks for this case (registration_check).
    phone = party.phone if party else ""
    result, code_id = "no_match", None
    if party is not None and case is not None and phone:
        now = timezone.now()
        code = one_time_code()
        with transaction.atomic():
            DocumentCode.objects.filter(party=party, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
            row = DocumentCode.objects.create(
                case=case, party=party, code_hash=make_password(code), created_at=now,
                expires_at=now + datetime.timedelta(minutes=settings.PORTAL_CODE_MINUTES))
        code_id, result = row.pk, "sent"
        if not one_time_code_send(phone, code):
            logger.warning("one-time code %s could not be sent", row.pk)
            result = "sms_failed"
    else:
        # A miss costs the same password hashing as a match, so the time taken tells nothing.
        make_password(one_time_code())
        if party is not None:
            result = "no_phone"
    audit.record(actor=PUBLIC, action="portal.code_request", obj=case, new={
        "case_number": number, "id_number": identity.mask_id_number(id_number), "result": result})
    return code_id


@dataclass(frozen=True)
class Grant:
    """What a checked code opens: the documents of one case addressed to one applicant."""

    case_id: int
    party_id: int


def code_check(*, code_id: int | None, number: str, code: str) -> Grant | None:
    """The grant when ``code`` is the live code ``code_id`` (unused, unexpired, fewer than
    ``PORTAL_CODE_ATTEMPTS`` wrong tries), else None; a wrong code counts as a try. Audited."""
    code = normalize_code(code)
    now = timezone.now()
    with transaction.atomic():
        row = (DocumentCode.objects.select_for_update().select_related("case").filter(pk=code_id).first()
               if code_id else None)
        live = row is not None and row.used_at is None and row.expires_at > now \
            and row.attempts < settings.PORTAL_CODE_ATTEMPTS
        ok = _matches(code, row.code_hash if row is not None and live else None)
        if row is not None and live:
            if ok:
                row.used_at = now
            else:
                row.attempts += 1
            row.save(update_fields=["used_at", "attempts"])
        result = "accepted" if ok else ("refused" if live else "expired_or_used" if row is not None else "refused")
        audit.record(actor=PUBLIC, action="portal.code_check", obj=row.case if row is not None else None, new={
            "case_number": normalize_number(number), "result": result})
    return Grant(row.case_id, row.party_id) if ok and row is not None else None


#: The notices served on the applicant (DOMAIN.md §7); the effective agreement is added to them.
NOTICE_KINDS = (DocumentKind.ACCEPTANCE_NOTICE, DocumentKind.REJECTION_NOTICE, DocumentKind.TERMINATION_NOTICE)


#: Papers that list every party with their identifiers (ID number, address: documents/_parties.html).
PARTY_LIST_KINDS = (DocumentKind.AGREEMENT, DocumentKind.TERMINATION_NOTICE)


def names_other_people(grant: Grant) -> bool:
    """Whether the case has natural persons besides the worker and those acting for them (co-applicants,
    other parties' agents): papers listing every party's identifiers are then not handed out here,
    only at the mediation organisation — this page shows no one else's personal data."""
    return (CaseParty.objects.filter(case_id=grant.case_id, employer__isnull=True)
            .exclude(pk=grant.party_id).exclude(represents_id=grant.party_id).exists())


def documents_for(grant: Grant) -> list[IssuedDocument]:
    """The latest issued version of each notice of the case, and the effective agreement's document:
    never drafts, signing versions still being signed, void or superseded papers, or internal records;
    and no paper listing other people's identifiers (:func:`names_other_people`)."""
    issued = list(IssuedDocument.objects.filter(case_id=grant.case_id).order_by("-created_at", "-pk"))
    if issued and names_other_people(grant):
        issued = [d for d in issued if d.kind not in PARTY_LIST_KINDS]
    latest: dict[tuple[str, int], IssuedDocument] = {}
    for document in issued:
        if document.kind in NOTICE_KINDS and document.stage == DocumentStage.ISSUED:
            latest.setdefault((document.kind, document.subject_id), document)
        elif document.kind == DocumentKind.AGREEMENT and document_standing(document).key == "effective":
            latest.setdefault((document.kind, document.subject_id), document)
    return sorted(latest.values(), key=lambda d: (d.created_at, d.pk))


def document_bytes(*, grant: Grant, document_id: int) -> tuple[IssuedDocument, bytes] | None:
    """A document the grant opens, with its registered bytes (checked against their SHA-256); None
    for any other document or when storage no longer holds what was registered. Audited."""
    import hashlib

    document = next((d for d in documents_for(grant) if d.pk == document_id), None)
    data = registry.stored_bytes(document) if document is not None else None
    if document is None or data is None or hashlib.sha256(data).hexdigest() != document.sha256:
        if document is not None:
            logger.error("issued document %s is missing or failed its SHA-256 check in storage", document.pk)
        return None
    audit.record(actor=PUBLIC, action="portal.document_download", obj=document, case=document.case_id,
                 new={"party": grant.party_id, "kind": document.kind, "version": document.version})
    return document, data

