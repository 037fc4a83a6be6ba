"""Celery tasks of the API (names agreed in the beat schedule, mediation/settings.py)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="api.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    """Forget idempotency keys' answers once they are past keeping (24 hours)."""
    from api.idempotency import purge_expired

    return purge_expired()
