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
    """After every ``migrate``, even one with nothing to apply: the counters' triggers are there, each as
    this code writes it (SQLite drops a table's triggers when a migration rebuilds the table; an older
    release's ``tallies --rebuild``, after a rollback, writes its own); if not, they are installed and
    counted afresh."""
    from django.db import connections

    from mediation import tallies

    tallies.ensure_installed(connections[using])
