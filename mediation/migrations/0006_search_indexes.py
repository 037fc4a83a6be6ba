"""Trigram indexes for "contains" search on PostgreSQL (case number, employer and person names).

Django's ``icontains`` becomes ``UPPER(col::text) LIKE UPPER('%…%')``, which a B-tree
cannot serve; a GIN trigram index on the same expression can. pg_trgm ships with
PostgreSQL, but creating an extension may need privileges a deployment does not
grant: then search still works, only without the index, and the migration says so.
"""
from django.db import migrations

INDEXES = [
    ("mediation_case_number_trgm", "mediation_case", "number"),
    ("mediation_employer_name_trgm", "mediation_employer", "name"),
    ("mediation_person_name_trgm", "mediation_person", "name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            cursor.execute("SAVEPOINT trgm")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute("RELEASE SAVEPOINT trgm")
        except Exception as exc:  # noqa: BLE001 - a missing privilege must not block the upgrade
            cursor.execute("ROLLBACK TO SAVEPOINT trgm")
            print(f"\n  pg_trgm unavailable ({exc.__class__.__name__}); search works without trigram indexes.")
            return
        for name, table, column in INDEXES:
            cursor.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} '
                           f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _, _ in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("mediation", "0005_alter_case_closed_from_state")]
    operations = [migrations.RunPython(create, drop)]
