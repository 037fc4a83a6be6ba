"""A case's history is found through the (case, at) index: the index on the case alone goes.

Every lookup of a case's transition log rows (``case_id = …``, in time order or not) is served as
well by the composite index's leading column; the second index only cost every move and every bulk
load (docs/performance.md, "Twelfth pass"). Only the index is dropped: the foreign key stays as it
was (Django's own ``AlterField`` would drop and add the constraint again, checking every row anew).
"""
import django.db.models.deletion
from django.db import migrations, models

INDEX = "workflows_transitionlog_case_id_25c44630"


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0006_pending_escalations_with_origin'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='transitionlog',
                    name='case',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name='transitions', to='mediation.case', verbose_name='案件'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  f'CREATE INDEX "{INDEX}" ON "workflows_transitionlog" ("case_id")'),
            ],
        ),
    ]
