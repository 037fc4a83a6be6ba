"""On PostgreSQL, one function takes the chain's lock and reads its last hash: ``audit_chain_head()``.

A writer must read the last row's hash only once it holds the chain's lock (a transaction-scoped
advisory lock), or two transactions could chain onto the same row. That was two statements; in a
volatile PL/pgSQL function each statement takes a fresh snapshot under READ COMMITTED, so the
read after the lock sees every row committed by the transaction that held it before — the same
guarantee in one statement. The lock's key is 0x6175646974 ("audit" in ASCII), the one the chain's
writers took before; this function is now the one place that names it. SQLite serialises writing transactions and needs neither.
"""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_chain_head() RETURNS varchar LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(418581342580);
    RETURN (SELECT hash FROM audit_auditevent ORDER BY id DESC LIMIT 1);
END;
$$;
"""

BACKWARD = "DROP FUNCTION IF EXISTS audit_chain_head();"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_read_audit_permission"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
