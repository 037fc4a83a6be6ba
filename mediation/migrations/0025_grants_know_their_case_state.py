"""Each per-case grant knows its case's state (``CaseUserObjectPermission.case_state``), kept by the
database like ``case_closed`` (mediation/tallies.py): a list of cases in some states only (the home
page's overdue cases, those waiting for a follow-up visit…) then reads only the grants on cases in
those states, through an index of its own, instead of every grant on a case not closed.

As in ``0020``: SQLite rebuilds the grants' table to add a column, and a trigger naming the table
would refuse the rebuild's rename, so there the triggers are dropped first; on both, they are
installed again after (now keeping the state too), which also sets the state of every grant there is,
before the index on it is built. Going back, the triggers are installed again without it.
"""

from django.db import migrations, models

from mediation.migration_operations import counters_dropped_on_sqlite, counters_installed


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
        migrations.RunPython(counters_installed, counters_dropped_on_sqlite),
        migrations.AddIndex(
            model_name='caseuserobjectpermission',
            index=models.Index(fields=['user', 'permission', 'case_state', 'content_object'], name='grant_by_case_state'),
        ),
    ]
