"""An index built ``CONCURRENTLY`` on PostgreSQL (``mediation.migration_operations``): the cases whose
statutory clock runs, newest first, holding their organisation, state and both deadlines
(``case_running_newest``): the overdue list's first page reads its ids from it alone
(docs/performance.md, "Twentieth pass").
"""
from django.db import migrations, models

from mediation.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('mediation', '0026_case_open_by_deadlines'),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='case',
            index=models.Index(
                condition=models.Q(('state__in', ['registered', 'self_resolution', 'joint_mediation',
                                                  'linked_mediation', 'escalation_pending'])),
                fields=['received_at', 'id'], include=('organisation', 'state', 'acceptance_due', 'mediation_due'),
                name='case_running_newest'),
        ),
    ]
