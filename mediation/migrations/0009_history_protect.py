"""A case's history keeps the case: sessions, follow-ups, referrals and the access log
refuse the deletion of their case instead of vanishing with it (cases are never
hard-deleted; ARCHITECTURE.md habit 16)."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("mediation", "0008_scope_permissions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="mediationsession",
            name="case",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="sessions",
                                    to="mediation.case", verbose_name="案件"),
        ),
        migrations.AlterField(
            model_name="followup",
            name="case",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="follow_ups",
                                    to="mediation.case", verbose_name="案件"),
        ),
        migrations.AlterField(
            model_name="referral",
            name="case",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="referrals",
                                    to="mediation.case", verbose_name="案件"),
        ),
        migrations.AlterField(
            model_name="caseaccesslog",
            name="case",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="access_log",
                                    to="mediation.case"),
        ),
    ]
