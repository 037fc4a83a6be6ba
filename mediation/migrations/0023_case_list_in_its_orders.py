"""The case list's orders, newest first and by amount, as indexes with the case's id and organisation.

A later page of the list in its usual order is found by reading the first index alone: the ids of the
page's rows, then those rows (``views.common.BoundedPaginator.ids_first``; docs/performance.md,
"Fourteenth pass"). The index on ``received_at`` alone goes: every read it served is served by the new
index's leading column. The list by amount claimed gets an index of its own: its first page was a sort
of every case the user may read.

On PostgreSQL the indexes are built, and the old one dropped, ``CONCURRENTLY`` (outside a transaction):
the cases stay open to writes while they are built (docs/operations.md, "Upgrades"). The new indexes are
built before the old one is dropped.
"""
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.migrations.operations import AddIndex

INDEX = "mediation_case_received_at_996c3eb1"


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """``AddIndexConcurrently`` on PostgreSQL, a plain ``AddIndex`` elsewhere (SQLite)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop_old_index(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX{_concurrently(schema_editor)} IF EXISTS "{INDEX}"')


def create_old_index(apps, schema_editor):
    schema_editor.execute(f'CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS "{INDEX}" '
                          'ON "mediation_case" ("received_at")')


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('mediation', '0022_case_lookups_by_their_composite_index'),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='case',
            index=models.Index(fields=['received_at', 'id'], include=('organisation',), name='case_list_newest'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='case',
            index=models.Index(fields=['amount_claimed', 'id'], include=('organisation',),
                               name='case_list_by_amount'),
        ),
        # Only the index is dropped (as in 0022): Django's own AlterField would rebuild the table on
        # SQLite, and with it break the triggers of other tables that name it.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='case',
                    name='received_at',
                    field=models.DateTimeField(verbose_name='收到申请时间'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_old_index, create_old_index)],
        ),
    ]
