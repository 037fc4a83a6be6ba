"""A party's name, sex, phone and address as given for the case they take part in.

They were read from the person on file, which every office's cases share through the
ID number: a case registered in one township showed the phone and home address another
township had recorded. Existing parties keep what they showed until now.
"""
from django.db import migrations, models

import mediation.identity


def copy_details(apps, schema_editor):
    CaseParty = apps.get_model("mediation", "CaseParty")
    batch = []
    for party in CaseParty.objects.select_related("person", "employer").iterator(chunk_size=2000):
        if party.person_id:
            p = party.person
            party.name, party.sex, party.phone, party.address = p.name, p.sex, p.phone, p.address
        else:
            party.name = party.employer.name
        batch.append(party)
        if len(batch) >= 2000:
            CaseParty.objects.bulk_update(batch, ["name", "sex", "phone", "address"])
            batch = []
    CaseParty.objects.bulk_update(batch, ["name", "sex", "phone", "address"])


def name_index(apps, schema_editor):
    # Search by a party's name now reads the case's own record (see 0006 for the trigram indexes).
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            cursor.execute('CREATE INDEX IF NOT EXISTS mediation_caseparty_name_trgm ON mediation_caseparty '
                           'USING gin ((UPPER("name"::text)) gin_trgm_ops)')


def drop_name_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS mediation_caseparty_name_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("mediation", "0009_history_protect"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseparty", name="name",
            field=models.CharField(default="", max_length=200, verbose_name="姓名或名称"), preserve_default=False),
        migrations.AddField(
            model_name="caseparty", name="sex",
            field=models.CharField(blank=True, choices=[("M", "男"), ("F", "女")], max_length=1, verbose_name="性别")),
        migrations.AddField(
            model_name="caseparty", name="phone",
            field=models.CharField(blank=True, max_length=30, validators=[mediation.identity.validate_phone],
                                   verbose_name="联系电话")),
        migrations.AddField(
            model_name="caseparty", name="address",
            field=models.CharField(blank=True, max_length=200, verbose_name="住址")),
        migrations.RunPython(copy_details, migrations.RunPython.noop),
        migrations.RunPython(name_index, drop_name_index),
    ]
