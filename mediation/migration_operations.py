"""Operations the migrations share: indexes built and dropped without keeping writers out, the
database's counters installed again.

On PostgreSQL an index is built, and an old one dropped, ``CONCURRENTLY`` (outside a transaction: the
migration says ``atomic = False``), so the cases stay open to writes meanwhile (docs/operations.md,
"Upgrades"); elsewhere (SQLite) plainly.

Applied migrations (mediation 0023–0027) run this code whenever a database is migrated: what each
function does must not change. A new need is a new function.
"""
from __future__ import annotations

from functools import partial
from typing import Any

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


def drop_index(index: str, apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f'DROP INDEX{_concurrently(schema_editor)} IF EXISTS "{index}"')


def create_index(index: str, table: str, column: str, apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f'CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS "{index}" '
                          f'ON "{table}" ("{column}")')


def index_dropped(index: str, table: str, column: str) -> tuple[partial[None], partial[None]]:
    """(forwards, backwards) for ``RunPython``: drop the one-column index ``index`` of ``table``; make it
    again when the migration is reversed. Only the index: Django's own ``AlterField`` (say, to
    ``db_index=False``) would rebuild the table on SQLite, and with it break the triggers of other
    tables that name it. Partial applications of module-level functions, which Django can write into a
    migration (``squashmigrations``)."""
    return partial(drop_index, index), partial(create_index, index, table, column)


def counters_installed(apps: Any, schema_editor: Any) -> None:
    """``RunPython``: (re)install the database's counters and kept columns (``mediation.tallies``) as
    the schema now stands, then count everything once; for a migration that changes what they keep."""
    from mediation import tallies

    tallies.install(schema_editor)


def counters_dropped_on_sqlite(apps: Any, schema_editor: Any) -> None:
    """``RunPython``: drop those triggers on SQLite, whose rebuild of a table (to add or drop a column)
    a trigger naming the table would refuse; elsewhere nothing."""
    if schema_editor.connection.vendor == "sqlite":
        from mediation import tallies

        tallies.uninstall(schema_editor)


def grant_states_kept(apps: Any, schema_editor: Any) -> None:
    """``RunPython`` of ``mediation 0025``: the database keeps each per-case grant's ``case_state``."""
    from mediation import tallies

    tallies.keep_grant_states(schema_editor)


def grant_states_dropped(apps: Any, schema_editor: Any) -> None:
    """Its reverse: the database stops keeping it (before the column goes)."""
    from mediation import tallies

    tallies.keep_grant_states(schema_editor, state=False)
