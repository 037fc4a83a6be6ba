"""Writing, reading back and checking the audit trail.

Every row holds the SHA-256 of the row before it and its own SHA-256 over its
content, so an edit, a deletion or an insertion in the middle breaks the chain at
a row :func:`verify` can name. Writers take one lock for the chain, held until the
caller's transaction ends, so two transactions never chain onto the same row: on
PostgreSQL a transaction-scoped advisory lock, taken with the last hash in one statement
(``audit_chain_head()``, audit migration 0004, which names the lock's key); SQLite
serialises writing transactions anyway.
"""
from __future__ import annotations

import contextvars
import datetime
import decimal
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from mediation import identity
from mediation.audit.models import GENESIS, AuditEvent
from mediation.http_security import client_address

#: Fields never logged: they change on their own (timestamps) or hold a secret.
SKIPPED_FIELDS = frozenset({"updated_at", "last_login"})
SECRET_FIELDS = frozenset({"password"})
#: Fields kept exactly as they are: digests and codes, whose digit runs are no phone numbers.
VERBATIM_FIELDS = frozenset({"sha256", "hash", "prev_hash", "verification_code"})

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# Long digit runs in free text: mobile numbers, resident ID numbers (15 or 18 characters),
# bank card numbers; and landline numbers with their area code.
_LONG_NUMBER = re.compile(r"(?<!\d)\d{11,19}[Xx]?(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")


# --- the request a row was written in ----------------------------------------------------------

@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    ip: str


_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("audit_request", default=None)


def request_info(request: Any) -> RequestInfo:
    """The request's id (the proxy's ``X-Request-ID`` when it is a plain token, else a new one) and address."""
    cached = getattr(request, "_audit_info", None)
    if cached is not None:
        return cached
    meta = getattr(request, "META", {}) or {}
    given = str(meta.get("HTTP_X_REQUEST_ID", ""))
    request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    address = client_address(request)
    info = RequestInfo(request_id, address.compressed if address is not None else "")
    try:
        request._audit_info = info
    except AttributeError:  # pragma: no cover - a request object that takes no attributes
        pass
    return info


def bind_request(request: Any) -> contextvars.Token:
    return _current.set(request_info(request))


def unbind_request(token: contextvars.Token) -> None:
    _current.reset(token)


# --- what goes into a row ------------------------------------------------------------------------

def mask_address(value: str) -> str:
    """The first six characters (district, street), the rest starred: where, not the door."""
    value = value or ""
    return value[:6] + "*" * max(len(value) - 6, 0)


def scrub(text: str) -> str:
    """Free text with every long number (phone, ID, card) and landline number masked."""
    text = (text or "").replace("\x00", "")
    text = _LONG_NUMBER.sub(lambda m: identity.mask_id_number(m.group(0)), text)
    return _LANDLINE.sub(lambda m: identity.mask_phone(m.group(0)), text)


def mask_search(text: str) -> tuple[str, bool]:
    """A search text as the log keeps it, and whether it was a resident ID number.

    An ID number is logged in its masked form only (330***********1234); other long
    numbers in the text are masked as in :func:`scrub`.
    """
    text = (text or "").strip()
    compact = identity.normalize_id_number(text)
    if len(compact) in (15, 18) and compact[:-1].isdigit():
        return identity.mask_id_number(compact), True
    return scrub(text), False


_FIELD_MASKS = {
    "id_number": identity.mask_id_number,
    "phone": identity.mask_phone,
    "address": mask_address,
}


def plain(value: Any) -> Any:
    """``value`` as JSON that reads back the same from any database (so its hash stays checkable)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, decimal.Decimal | float):
        return str(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): v if k in VERBATIM_FIELDS and isinstance(v, str) else plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return scrub(str(value))


def masked(name: str, value: Any) -> Any:
    """One field's value as logged: secrets never, identifiers masked, the rest plain."""
    if name in SECRET_FIELDS:
        return "******" if value else ""
    if name in VERBATIM_FIELDS and isinstance(value, str):
        return value
    mask = _FIELD_MASKS.get(name)
    if mask is not None and isinstance(value, str):
        return mask(value)
    return plain(value)


def field_values(obj: Any, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The instance's concrete field values (foreign keys by id), as they are: compare these, log
    their :func:`masked` forms (two ID numbers can share a mask)."""
    wanted = set(fields) if fields is not None else None
    return {field.name: _as_stored(field, field.value_from_object(obj)) for field in obj._meta.concrete_fields
            if field.name not in SKIPPED_FIELDS and (wanted is None or field.name in wanted)}


def _as_stored(field: Any, value: Any) -> Any:
    # An amount computed in memory (Decimal("6000")) is logged as the column keeps it ("6000.00").
    if isinstance(field, models.DecimalField) and isinstance(value, decimal.Decimal) and value.is_finite():
        return value.quantize(decimal.Decimal(1).scaleb(-field.decimal_places))
    return value


def snapshot(obj: Any, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The instance's field values, masked as the log keeps them."""
    return {name: masked(name, value) for name, value in field_values(obj, fields).items()}


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys whose values differ, masked, as (old, new); a key only one side has counts as changed."""
    keys = [k for k in {**before, **after} if k not in before or k not in after or before[k] != after[k]]
    return ({k: masked(k, before[k]) for k in keys if k in before},
            {k: masked(k, after[k]) for k in keys if k in after})


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None:
        return None, ""
    if isinstance(actor, str):  # a username tried at the login form
        return None, scrub(actor)[:150]
    pk = getattr(actor, "pk", None)
    name = actor.get_username() if hasattr(actor, "get_username") else str(actor)
    return pk, str(name)[:150]


def _case(obj: Any, case: Any) -> tuple[int | None, str]:
    from mediation.models import Case

    if case is None and isinstance(obj, Case):
        case = obj
    if case is None and obj is not None:
        case = getattr(obj, "case_id", None)
    if case is None:
        return None, ""
    if isinstance(case, Case):
        return case.pk, case.number or ""
    number = Case.objects.filter(pk=case).values_list("number", flat=True).first()
    return int(case), number or ""


# --- the chain -------------------------------------------------------------------------------------

HASHED = ("at", "actor_id", "actor_name", "action", "object_type", "object_id", "case_id", "case_number",
          "old", "new", "reason", "request_id", "ip", "prev_hash")


def row_hash(event: AuditEvent) -> str:
    """SHA-256 over the row's content and the hash of the row before it (canonical JSON)."""
    content = {name: getattr(event, name) for name in HASHED}
    content["at"] = event.at.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _chain_head() -> str:
    """The last row's hash, read once this transaction holds the chain's lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the lock, then the hash, in one statement
            cursor.execute("SELECT audit_chain_head()")
            head = cursor.fetchone()[0]
    else:  # SQLite: transactions begin IMMEDIATE (settings), holding the write lock already
        head = AuditEvent.objects.order_by("-pk").values_list("hash", flat=True).first()
    return head or GENESIS


def record(*, actor: Any, action: str, obj: Any = None, case: Any = None, old: Any = None, new: Any = None,
           reason: Any = "", request: Any = None) -> AuditEvent:
    """Append one row: who (``actor``: a user, a username tried, or None for the system), what
    (``action``), to what (``obj``; ``case`` when it belongs to one), old and new values, why.

    Call it inside the transaction of the change: the row commits or rolls back with it.
    The request (id, address) comes from ``request`` or the one being served.
    """
    info = request_info(request) if request is not None else _current.get()
    actor_id, actor_name = _actor(actor)
    case_id, case_number = _case(obj, case)
    event = AuditEvent(
        at=timezone.now(), actor_id=actor_id, actor_name=actor_name, action=action[:60],
        object_type=obj._meta.label_lower if isinstance(obj, models.Model) else "",
        object_id=str(obj.pk) if isinstance(obj, models.Model) and obj.pk is not None else "",
        case_id=case_id, case_number=case_number[:80], old=plain(old), new=plain(new),
        reason=scrub(str(reason or "")).strip(), request_id=info.request_id if info else "",
        ip=info.ip if info else "")
    if transaction.get_connection().in_atomic_block:
        _append(event)  # the caller's transaction holds the chain's lock until it ends
    else:
        with transaction.atomic():
            _append(event)
    return event


def _append(event: AuditEvent) -> None:
    event.prev_hash = _chain_head()
    event.hash = row_hash(event)
    event.save(force_insert=True)


@dataclass(frozen=True)
class Verification:
    rows: int
    head: str
    #: The first row that breaks the chain, and how; None when the chain holds.
    broken_at: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def walk(events: Iterator[AuditEvent]) -> Verification:
    expected, rows = GENESIS, 0
    for event in events:
        rows += 1
        if event.prev_hash != expected:
            return Verification(rows, expected, event.pk, "prev_hash")
        if row_hash(event) != event.hash:
            return Verification(rows, expected, event.pk, "hash")
        expected = event.hash
    return Verification(rows, expected)


def verify(chunk_size: int = 2000) -> Verification:
    """Walk the whole chain in order; the first row whose link or content does not check out."""
    return walk(AuditEvent.objects.order_by("pk").iterator(chunk_size=chunk_size))
