from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "mediation"
    verbose_name = _("劳动争议调解")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models import BigAutoField
        from django.db.models.signals import post_migrate

        from mediation import labels
        from mediation.lookups import AnyOf

        BigAutoField.register_lookup(AnyOf)
        labels.install()

        post_migrate.connect(_keep_tallies, sender=self, dispatch_uid="mediation.tallies")


def _keep_tallies(sender, using: str = "default", plan=None, **kwargs) -> None:
    """After every ``migrate``: the counters' triggers are there (SQLite drops a table's triggers when
    a migration rebuilds the table); if any is missing, they are installed and counted afresh."""
    from django.db import connections

    from mediation import tallies

    if plan is not None and not plan:
        return  # nothing was migrated
    tallies.ensure_installed(connections[using])
