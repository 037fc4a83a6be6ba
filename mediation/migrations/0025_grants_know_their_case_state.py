"""Each per-case grant knows its case's state (``CaseUserObjectPermission.case_state``), kept by the
database like ``case_closed`` (mediation/tallies.py): a list of cases in some states only (the home
page's overdue cases, those waiting for a follow-up visit…) then reads only the grants on cases in
those states, through an index of its own (built in ``0026``), instead of every grant on a case not
closed.

On PostgreSQL: the column comes with a database default (no rewrite of the table); the trigger
functions are replaced (the triggers themselves stay) and every grant's state filled in by one update
of the grants — no count of the cases, no lock on them beyond the moment the column is added.
The old code keeps working meanwhile and after (it never names the column). On SQLite, which rebuilds
the grants' table to add a column (a trigger naming the table would refuse the rebuild's rename), the
triggers are dropped first and installed again after. Going back, the database stops keeping it
before the column goes.
"""

from django.db import migrations, models

from mediation.migration_operations import (
    counters_dropped_on_sqlite,
    counters_installed,
    grant_states_dropped,
    grant_states_kept,
)


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0024_case_employer_cases'),
    ]

    operations = [
        migrations.RunPython(counters_dropped_on_sqlite, counters_installed),
        migrations.AddField(
            model_name='caseuserobjectpermission',
            name='case_state',
            field=models.CharField(db_default='', default='', editable=False, max_length=30),
        ),
        migrations.RunPython(grant_states_kept, grant_states_dropped),
    ]
