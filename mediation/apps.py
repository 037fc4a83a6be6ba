from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "mediation"
    verbose_name = _("劳动争议调解")
    default_auto_field = "django.db.models.BigAutoField"
