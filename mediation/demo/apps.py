from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Installed everywhere, so that ``seed_demo --reset`` can tell a demo database from a real one."""

    name = "mediation.demo"
    label = "demo"
    verbose_name = _("演示数据")
    default_auto_field = "django.db.models.BigAutoField"
