from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "mediation.reports"
    label = "reports"
    verbose_name = _("统计与台账")
    default_auto_field = "django.db.models.BigAutoField"
