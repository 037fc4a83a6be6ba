import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("must_change_password", models.BooleanField(default=False, help_text="管理员为他人设置密码后自动勾选；用户自行修改密码后清除。", verbose_name="下次登录须修改密码")),
                ("password_changed_at", models.DateTimeField(blank=True, null=True, verbose_name="上次自行修改密码")),
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="account_profile", to=settings.AUTH_USER_MODEL, verbose_name="用户")),
            ],
            options={
                "verbose_name": "账户设置",
                "verbose_name_plural": "账户设置",
            },
        ),
    ]
