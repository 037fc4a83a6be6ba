"""Django's ``flush``, able to empty the audit table too.

On PostgreSQL a trigger refuses TRUNCATE on the audit table; flushing the whole
database is the one deliberate exception (tests flush between transactional tests),
so this command lifts the guard for its own session while it runs.
"""
from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('audit.allow_flush', 'on', false)")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('audit.allow_flush', 'off', false)")
