"""The case list's orders, newest first and by amount, as indexes with the case's id and organisation.

A later page of the list in its usual order is found by reading the first index alone: the ids of the page's rows, then those
rows (``views.common.BoundedPaginator.ids_first``; docs/performance.md, "Fourteenth pass"). The index on
``received_at`` alone goes: every read it served is served by the new index's leading column. The new
index is built before the old one is dropped. The list by amount claimed gets an index of its own: its
first page was a sort of every case the user may read.
"""
from django.conf import settings
from django.db import migrations, models

INDEX = "mediation_case_received_at_996c3eb1"


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0022_case_lookups_by_their_composite_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['received_at', 'id'], include=('organisation',), name='case_list_newest'),
        ),
        migrations.AddIndex(
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
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  f'CREATE INDEX "{INDEX}" ON "mediation_case" ("received_at")'),
            ],
        ),
    ]
