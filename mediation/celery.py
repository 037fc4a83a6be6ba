"""The Celery application (docs/operations.md, "Background work (Celery)").

Workers and beat start it with ``celery -A mediation worker`` / ``celery -A mediation beat``
(``make worker``, ``make beat``). Its configuration is Django's settings under the ``CELERY_``
prefix (mediation/settings.py); tasks are found in each installed app's ``tasks`` module.
"""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediation.settings")

app = Celery("mediation")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
