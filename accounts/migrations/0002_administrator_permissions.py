"""Administrators unlock accounts (django-axes' attempts), clear a lost phone's second factor and
force a password change: the administrator group gets those admin permissions."""
from django.db import migrations

# Frozen here (not imported) so this migration means the same thing forever.
WANTED = [
    ("axes", "view_accessattempt"), ("axes", "delete_accessattempt"),
    ("otp_totp", "view_totpdevice"), ("otp_totp", "delete_totpdevice"),
    ("otp_static", "view_staticdevice"), ("otp_static", "delete_staticdevice"),
    ("accounts", "view_accountprofile"), ("accounts", "change_accountprofile"),
]


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for label in {app for app, _ in WANTED}:
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
    group, _ = Group.objects.get_or_create(name="administrator")
    for app, codename in WANTED:
        perm = Permission.objects.filter(content_type__app_label=app, codename=codename).first()
        if perm is not None:
            group.permissions.add(perm)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0001_initial"),
        ("otp_totp", "0001_initial"),
        ("otp_static", "0001_initial"),
        ("mediation", "0004_administrator_permissions"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
