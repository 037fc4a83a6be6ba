"""Reads that may come from a streaming read replica (docs/operations.md, "Past one machine").

With ``DATABASE_REPLICA_URL`` set, the settings add a second database alias, ``replica``, and
this router. Only code that asks for it reads there: the statistics page, the monthly table
and the ledger export run inside :func:`use_replica`. Everything else reads ``default``, and so
does, even inside :func:`use_replica`:

- every write (``db_for_write`` is always ``default``);
- every read while a transaction is open on ``default`` (a read that feeds a write must see
  the primary, and a replica cannot see the transaction's own rows);
- every read of the tables that decide who may see what (accounts, groups and permissions,
  per-object permissions, memberships, the organisation tree, sessions, second-factor devices,
  lockouts): a membership just revoked must not still open a page on a replica that lags.

Without the setting the router is not installed and nothing changes.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections
from django.db.models import Model

REPLICA = "replica"

#: Applications whose every table decides access: read from the primary only.
PRIMARY_ONLY_APPS = frozenset({
    "auth", "accounts", "guardian", "sessions", "contenttypes", "admin", "axes",
    "django_otp", "otp_totp", "otp_static"})
#: Tables of this project that decide access (the organisation tree and who belongs where).
PRIMARY_ONLY_MODELS = frozenset({
    ("mediation", "membership"), ("mediation", "organisation"), ("mediation", "organisationlevel"),
    ("mediation", "caseuserobjectpermission"), ("mediation", "casegroupobjectpermission")})

_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextlib.contextmanager
def use_replica() -> Iterator[None]:
    """Within this block, reads that may lag a few seconds go to the replica when there is one."""
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def replica_reads(function: F) -> F:
    """Decorator form of :func:`use_replica` for a view or a task."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with use_replica():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def primary_only(model: type[Model]) -> bool:
    meta = model._meta
    return meta.app_label in PRIMARY_ONLY_APPS or (meta.app_label, meta.model_name) in PRIMARY_ONLY_MODELS


class ReplicaRouter:
    """Sends the reads of :func:`use_replica` blocks to ``replica``; everything else to ``default``."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if (_reading_replica.get() and replica_configured() and not primary_only(model)
                and not connections["default"].in_atomic_block):
            return REPLICA
        return "default"

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        # The replica holds the same rows as the primary: objects from either may be related.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        # The replica follows the primary's schema by streaming replication; never migrated itself.
        return db != REPLICA
