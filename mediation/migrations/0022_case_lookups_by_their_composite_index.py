"""A party's case is found through the (case, role) index: the index on the case alone goes.

Every lookup of a case's parties (``case_id = …``) is served as well by the composite index's
leading column; the second index only cost every write and every bulk load (docs/performance.md,
"Twelfth pass"). Only the index is dropped: the foreign key stays as it was (Django's own
``AlterField`` would drop and add the constraint again, checking every row of the table anew).
"""
import django.db.models.deletion
from django.db import migrations, models

INDEX = "mediation_caseparty_case_id_b76d2de8"


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0021_reads_on_the_audit_trail_only'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='caseparty',
                    name='case',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='parties', to='mediation.case', verbose_name='案件'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  f'CREATE INDEX "{INDEX}" ON "mediation_caseparty" ("case_id")'),
            ],
        ),
    ]
