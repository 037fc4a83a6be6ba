"""Each per-case grant knows whether its case is closed (``CaseUserObjectPermission.case_closed``),
kept by the database like the tallies (mediation/tallies.py): the home page's lists then read only
the grants on cases not closed, through a partial index.

SQLite rebuilds the grants' table to add a column, and a trigger naming it would refuse the
rebuild's rename: there the triggers are dropped first. On both, they are installed again after
(the new ones keep the flag), which also sets the flag of every grant there is, before the index on
it is built (so that the index holds no row's first version). Going back, the triggers are
installed again without the flag's.
"""

from django.conf import settings
from django.db import migrations, models


def _drop_triggers_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        from mediation import tallies

        tallies.uninstall(schema_editor)


def _install_triggers(apps, schema_editor):
    from mediation import tallies

    tallies.install(schema_editor)


def _drop_triggers(apps, schema_editor):
    from mediation import tallies

    tallies.uninstall(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('mediation', '0019_case_reach_by_id'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_drop_triggers_on_sqlite, _install_triggers),
        migrations.AddField(
            model_name='caseuserobjectpermission',
            name='case_closed',
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.RunPython(_install_triggers, _drop_triggers),
        migrations.AddIndex(
            model_name='caseuserobjectpermission',
            index=models.Index(condition=models.Q(('case_closed', False)), fields=['user', 'permission', 'content_object'], name='grant_on_case_not_closed'),
        ),
    ]
