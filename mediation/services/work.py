"""Working a case between the lifecycle's moves: sessions, follow-ups, referral outcomes,
assignment, extensions, consultation, stored deadlines and attachments.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mediation import permissions
from mediation.audit import log as audit
from mediation.models import (
    Attachment,
    Case,
    ConsultationOutcome,
    ConsultationSide,
    FollowUp,
    MediationSession,
    Referral,
)
from mediation.services.amounts import parse_amount
from mediation.services.common import require_may, require_state
from workflows import clocks
from workflows.models import DeadlineExtension
from workflows.services import lock_case
from workflows.states import OPEN_STATES, WORKING_STATES, CaseState

logger = logging.getLogger(__name__)


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
        require_may(actor, "work", case)
        require_state(case, WORKING_STATES, _("记录调解"))
        session = MediationSession.objects.create(
            case=case, organisation=case.organisation, held_at=held_at, place=place.strip(),
            attendees=attendees.strip(), record=record.strip(), result=(result or "").strip(),
            recorded_by=actor)
        session.mediators.set(list(mediators) or [actor])
        audit.record(actor=actor, action="session.record", obj=session, case=case, new={
            **audit.snapshot(session), "mediators": sorted(u.get_username() for u in session.mediators.all())})
    return session



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
        require_may(actor, "work", case)
        require_state(case, [CaseState.SETTLED, CaseState.PERFORMED], _("登记回访"))
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
        require_may(actor, "work", case)
        require_state(case, [CaseState.REFERRED], _("登记仲裁或诉讼结果"))
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
        require_state(case, (*WORKING_STATES, CaseState.ESCALATION_PENDING), _("延长调解期限"))
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
        require_may(actor, "work", case)
        require_state(case, CONSULTATION_STATES, _("登记协商情况"))
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


def attachment_inspect(upload: Any) -> tuple[str, str]:
    """The one check of an uploaded file: its size and the type its content says it is. Returns the
    MIME type and the SHA-256; raises ``ValidationError`` on the ``file`` key. Reads, never stores."""
    import hashlib

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
    return content_type, digest.hexdigest()


def attachment_add(*, case_id: int, actor: Any, upload: Any, kind: str, description: str = "") -> Attachment:
    """Store an uploaded file on the case with its SHA-256; refuse unknown types and oversize files.

    The bytes go to storage first and the row second; if the row cannot be written
    the stored bytes are removed again, so storage never keeps an orphan.
    """
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    if kind not in Attachment.Kind.values:
        raise ValidationError({"kind": _("请选择附件类别。")})
    content_type, sha = attachment_inspect(upload)
    case = Case.objects.get(pk=case_id)
    require_may(actor, "work", case)
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

