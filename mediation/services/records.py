"""Corrections of the people and employers on file, for a stated reason and on the audit trail.
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mediation import identity, permissions
from mediation.audit import log as audit
from mediation.models import (
    Employer,
    Person,
)

logger = logging.getLogger(__name__)


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
