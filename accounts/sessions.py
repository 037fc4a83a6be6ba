"""The session engine: Django's database sessions, each request's read of its session planned once.

Every request of a signed-in user reads its session row first. Django builds and compiles that
statement anew each time (about a third of a millisecond of the server's CPU) and PostgreSQL plans it
anew; here it is one statement prepared once per connection (``prepared.fetch_with_parameters``),
the key and the moment its parameters, read as Django reads it where that is not possible (SQLite, a
transaction open). Which row it finds, and what becomes of a missing or expired one, is Django's
(``django.contrib.sessions.backends.db``): the same table, the same encoding, the same sessions.
"""
from __future__ import annotations

import functools
from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from mediation import prepared


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        key, using = self.session_key, router.db_for_read(self.model)
        found = None if key is None else prepared.fetch_with_parameters(
            using, _statement(self.model, using), ("varchar", "timestamptz"), (key, timezone.now()))
        if key is None or found is None:
            return super()._get_session_from_db()  # type: ignore[misc]  # Django's, not in its stubs
        if not found:
            self._session_key = None
            return None
        data, expires = found[0]
        return self.model(session_key=key, session_data=data, expire_date=expires)


@functools.cache
def _statement(model: Any, using: str) -> str:
    """The session's data and expiry for its key (``$1``) while it has not expired (``$2``)."""
    quote = connections[using].ops.quote_name
    meta = model._meta
    data, expires, key = (quote(meta.get_field(name).column) for name in ("session_data", "expire_date", "session_key"))
    return f"SELECT {data}, {expires} FROM {quote(meta.db_table)} WHERE {key} = $1 AND {expires} > $2"
