"""Administrators maintain organisations, users, the calendar and reference lists in the admin."""
from django.db import migrations

# Frozen here (not imported) so this migration means the same thing forever.
MODELS = {
    "mediation": ("organisation", "membership", "linename", "organisationlevel", "category", "person", "employer"),
    "workflows": ("holidayoverride", "calendaryear"),
    "auth": ("user",),
}
NO_DELETE = {"person", "employer", "user", "linename"}
EXTRA = [("workflows", "view_transitionlog"), ("workflows", "view_escalationrequest"),
         ("mediation", "view_case"), ("mediation", "view_caseaccesslog")]


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for label in ("mediation", "workflows", "auth"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
    wanted = [(app, f"{verb}_{model}") for app, models in MODELS.items() for model in models
              for verb in ("add", "change", "view", "delete") if not (verb == "delete" and model in NO_DELETE)]
    wanted += EXTRA
    group, _ = Group.objects.get_or_create(name="administrator")
    for app, codename in wanted:
        perm = Permission.objects.filter(content_type__app_label=app, codename=codename).first()
        if perm is not None:
            group.permissions.add(perm)


class Migration(migrations.Migration):
    dependencies = [
        ("mediation", "0003_attachments"),
        ("workflows", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
