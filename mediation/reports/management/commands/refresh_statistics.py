"""Rebuild the statistics summary (reports.MonthlyFact).

    python manage.py refresh_statistics

Celery beat runs the same refresh hourly (``mediation.tasks.refresh_statistics``); this command
does it by hand. The pages add everything newer
than the summary live, so a stale summary is never wrong about new cases, only
slower; see docs/statistics.md for what waits for the next run.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand

from mediation.reports.statistics import statistics_refresh


class Command(BaseCommand):
    help = "重建统计汇总表（按月、组织、渠道、类别汇总），供统计页面快速读取。"

    def handle(self, *args, verbosity: int = 1, **options) -> None:
        state = statistics_refresh()
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(
                f"统计汇总已更新：{state.rows} 行，截至案件 #{state.case_watermark}、"
                f"状态变更 #{state.log_watermark}，用时 {state.seconds:.1f} 秒。"))
