"""An employer's cases indexed with their ids (and the organisation), in place of the foreign key's index.

A search by an employer's name gathers the ids of that employer's cases from the index alone, as many
as it needs, instead of fetching every one of them from the table (``selectors._search_sources``;
docs/performance.md, "Sixteenth pass"). Every read the old index served is served by the new one's
leading column, so the old one goes.

On PostgreSQL the new index is built, and then the old one dropped, ``CONCURRENTLY``
(``mediation.migration_operations``).
"""
import django.db.models.deletion
from django.db import migrations, models

from mediation.migration_operations import AddIndexConcurrentlyOnPostgres, index_dropped

INDEX = "mediation_case_employer_id_8f314dd7"


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('mediation', '0023_case_list_in_its_orders'),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='case',
            index=models.Index(fields=['employer', 'id'], include=('organisation',), name='case_employer_cases'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='case',
                    name='employer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name='cases', to='mediation.employer',
                                            verbose_name='被申请单位'),
                ),
            ],
            database_operations=[migrations.RunPython(*index_dropped(INDEX, 'mediation_case', 'employer_id'))],
        ),
    ]
