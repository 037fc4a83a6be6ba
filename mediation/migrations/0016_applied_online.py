"""Online applications (portal/, docs/portal.md): the 网上申请 mark on the case, and evidence with no
staff uploader.

SQLite rebuilds the case table to add a column, and a trigger on another table that names the case
table would refuse the rebuild's rename: there the tallies' triggers are dropped first and installed
again after (mediation/tallies.py). PostgreSQL adds the column in place and keeps its triggers.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _drop_triggers_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        from mediation import tallies

        tallies.uninstall(schema_editor)


def _install_triggers_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        from mediation import tallies

        tallies.install(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0015_follow_through_indexes_by_state'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_drop_triggers_on_sqlite, _install_triggers_on_sqlite),
        migrations.AddField(
            model_name='case',
            name='applied_online',
            field=models.BooleanField(db_default=False, default=False, verbose_name='网上申请'),
        ),
        migrations.AlterField(
            model_name='attachment',
            name='uploaded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='上传人'),
        ),
        migrations.RunPython(_install_triggers_on_sqlite, _drop_triggers_on_sqlite),
    ]
