"""Celery tasks (names agreed in the beat schedule): the deadline sweep and the daily digest."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="notifications.tasks.deadline_sweep", ignore_result=True)
def deadline_sweep() -> dict[str, int]:
    from notifications import services

    result = services.deadline_sweep()
    return {"reached": result.reached, "sent": result.sent, "failed": result.failed}


@shared_task(name="notifications.tasks.daily_digest", ignore_result=True)
def daily_digest() -> dict[str, int]:
    from notifications import services

    result = services.daily_digest()
    return {"reached": result.reached, "sent": result.sent, "failed": result.failed}
