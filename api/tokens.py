"""Creating, finding and revoking personal access tokens. Only the secret's SHA-256 is stored;
the full token is ``<prefix>.<secret>`` and shown once, when it is created."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api.models import AccessToken
from mediation.audit import log as audit

#: Every token starts with this, so a leaked one is easy to recognise (secret scanners, logs).
TOKEN_MARK = "lm360"
#: The prefix as :func:`token_create` makes it: the mark and 4 random bytes in hex.
_PREFIX = re.compile(rf"{TOKEN_MARK}_[0-9a-f]{{8}}")


def max_days() -> int:
    return int(getattr(settings, "API_TOKEN_MAX_DAYS", 365))


def default_days() -> int:
    return int(getattr(settings, "API_TOKEN_DEFAULT_DAYS", 90))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: AccessToken
    #: The whole value the client sends; never stored, shown once.
    plaintext: str


def token_create(*, actor: Any, name: str, scope: str, days: int) -> NewToken:
    """A new token for ``actor`` valid ``days`` days (1 to ``API_TOKEN_MAX_DAYS``), on the audit trail
    without its secret. The caller has checked the second factor (``api.pages``)."""
    if not 1 <= days <= max_days():
        raise ValueError(days)
    prefix = f"{TOKEN_MARK}_{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = AccessToken.objects.create(
            user=actor, name=name, prefix=prefix, secret_hash=_hash(secret), scope=scope,
            expires_at=timezone.now() + datetime.timedelta(days=days))
        audit.record(actor=actor, action="api.token_create", obj=token,
                     new={"name": name, "prefix": prefix, "scope": scope, "expires_at": token.expires_at.isoformat()})
    return NewToken(token=token, plaintext=f"{prefix}.{secret}")


def token_revoke(*, actor: Any, token_id: int) -> AccessToken:
    """Revoke one of ``actor``'s own tokens (another's does not exist: ``DoesNotExist``)."""
    with transaction.atomic():
        token = AccessToken.objects.select_for_update().get(pk=token_id, user=actor)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor=actor, action="api.token_revoke", obj=token,
                         new={"name": token.name, "prefix": token.prefix})
    return token


def token_find(plaintext: str) -> AccessToken | None:
    """The token this value proves, if it is one of ours and its secret matches; active or not."""
    prefix, _, secret = plaintext.partition(".")
    if not _PREFIX.fullmatch(prefix) or not secret:
        # Not a value we ever made (a NUL byte, another length): refused before the database reads it.
        return None
    token = AccessToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    return token


def token_touch(token: AccessToken) -> None:
    """Note when the token was last used, at most once a minute (no write on every request)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def tokens_of(user: Any) -> Any:
    """The user's own tokens, newest first: active, expired and revoked (the page shows which)."""
    return AccessToken.objects.filter(user=user)
