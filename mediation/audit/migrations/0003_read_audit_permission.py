"""Auditors and administrators read the audit trail (``audit.read_audit``)."""
from django.db import migrations

# Frozen here (not imported) so this migration means the same thing forever.
GIVE = ("auditor", "administrator")


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    config = apps.get_app_config("audit")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    permission = Permission.objects.get(content_type__app_label="audit", codename="read_audit")
    for role in GIVE:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("mediation", "0008_scope_permissions"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
