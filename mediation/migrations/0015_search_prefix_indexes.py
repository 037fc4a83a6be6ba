"""B-tree prefix indexes for short searches on PostgreSQL (case number, party and employer names).

A query of one or two characters matches from the beginning (``selectors.SEARCH_SUBSTRING_MIN``):
``istartswith`` becomes ``UPPER(col::text) LIKE UPPER('…%')``, which a B-tree with the
``text_pattern_ops`` operator class serves whatever the database's collation.
"""
from django.db import migrations

INDEXES = [
    ("mediation_case_number_prefix", "mediation_case", "number"),
    ("mediation_caseparty_name_prefix", "mediation_caseparty", "name"),
    ("mediation_employer_name_prefix", "mediation_employer", "name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, table, column in INDEXES:
            cursor.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ((UPPER("{column}"::text)) text_pattern_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _, _ in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("mediation", "0014_tallies")]
    operations = [migrations.RunPython(create, drop)]
