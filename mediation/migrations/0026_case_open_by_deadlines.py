"""Two indexes, built ``CONCURRENTLY`` on PostgreSQL (``mediation.migration_operations``): the grants by
their case's state (``grant_by_case_state``: what ``0025`` keeps, read by the lists of cases in some
states), and open cases by their deadlines (``case_open_by_deadlines``: the home page's "my cases" is
read in the index's order and stops at its fifteenth row, instead of sorting every case due on the
same day; docs/performance.md, "Eighteenth pass").
"""
from django.db import migrations, models

from mediation.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('mediation', '0025_grants_know_their_case_state'),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='caseuserobjectpermission',
            index=models.Index(fields=['user', 'permission', 'case_state', 'content_object'], name='grant_by_case_state'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='case',
            index=models.Index(condition=models.Q(('state__in', ['registered', 'self_resolution', 'joint_mediation', 'linked_mediation', 'escalation_pending', 'settled', 'mediation_failed', 'referred'])), fields=['acceptance_due', 'mediation_due', 'id'], include=('organisation',), name='case_open_by_deadlines'),
        ),
    ]
