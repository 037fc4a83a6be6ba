"""Project-wide periodic tasks (the beat schedule is CELERY_BEAT_SCHEDULE in mediation/settings.py)."""
from __future__ import annotations

from celery import shared_task

from mediation.reports.statistics import statistics_refresh


@shared_task(name="mediation.tasks.refresh_statistics", acks_late=True)
def refresh_statistics() -> dict[str, float | int]:
    """Rebuild the statistics summary, as ``manage.py refresh_statistics`` does (docs/statistics.md).

    Safe to run twice at once: ``statistics_refresh`` takes a row lock, so a second run waits
    and then rebuilds from the same data.
    """
    state = statistics_refresh()
    return {"rows": state.rows, "case_watermark": state.case_watermark,
            "log_watermark": state.log_watermark, "seconds": state.seconds}
