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
from django.db import migrations, models

from mediation.migration_operations import AddIndexConcurrentlyOnPostgres, index_dropped

INDEX = "mediation_case_received_at_996c3eb1"


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
        # Only the index is dropped (as in 0022; see index_dropped).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='case',
                    name='received_at',
                    field=models.DateTimeField(verbose_name='收到申请时间'),
                ),
            ],
            database_operations=[migrations.RunPython(*index_dropped(INDEX, 'mediation_case', 'received_at'))],
        ),
    ]
