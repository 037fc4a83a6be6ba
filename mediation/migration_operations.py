"""Operations the migrations share: indexes built and dropped without keeping writers out.

On PostgreSQL an index is built, and an old one dropped, ``CONCURRENTLY`` (outside a transaction: the
migration says ``atomic = False``), so the cases stay open to writes meanwhile (docs/operations.md,
"Upgrades"); elsewhere (SQLite) plainly.
"""
from __future__ import annotations

from typing import Any, Callable

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """``AddIndexConcurrently`` on PostgreSQL, a plain ``AddIndex`` elsewhere (SQLite)."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


def _concurrently(schema_editor: Any) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def index_dropped(index: str, table: str, column: str) -> tuple[Callable[..., None], Callable[..., None]]:
    """(forwards, backwards) for ``RunPython``: drop the one-column index ``index`` of ``table``; make it
    again when the migration is reversed. Only the index: Django's own ``AlterField`` (say, to
    ``db_index=False``) would rebuild the table on SQLite, and with it break the triggers of other
    tables that name it."""

    def drop(apps: Any, schema_editor: Any) -> None:
        schema_editor.execute(f'DROP INDEX{_concurrently(schema_editor)} IF EXISTS "{index}"')

    def create(apps: Any, schema_editor: Any) -> None:
        schema_editor.execute(f'CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS "{index}" '
                              f'ON "{table}" ("{column}")')

    return drop, create
