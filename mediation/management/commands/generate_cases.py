"""Bulk-generate realistic cases for benchmarks, without going through the per-case services.

    DEBUG=1 python manage.py seed_demo
    DEBUG=1 python manage.py generate_cases --count 100000 --seed 1

Cases are spread over the existing active organisations (run ``seed_demo`` first),
numbered gaplessly per registering organisation and year through
``CaseNumberSequence``, with parties, claims, categories, transition logs,
escalations, sessions, agreements, instalments, signatures, referrals and follow-ups
consistent with the state each case reached. Each batch is one transaction, written
with PostgreSQL ``COPY`` (``bulk_create`` on other databases). See docs/demo.md.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mediation.demo.bulk import GenerationError, Generator


class Command(BaseCommand):
    help = "批量生成逼真的测试案件（用于性能测试）：python manage.py generate_cases --count 100000"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, required=True, help="生成案件数量")
        parser.add_argument("--seed", type=int, default=None, help="随机数种子（可复现）")
        parser.add_argument("--batch", type=int, default=5000, help="每个事务写入的案件数（默认 5000）")
        parser.add_argument("--days", type=int, default=540,
                            help="收案日期分布在最近多少天内（默认 540 天，约 18 个月）")

    def handle(self, *args, count: int, seed: int | None, batch: int, days: int, verbosity: int = 1,
               **options) -> None:
        generator = Generator(count=count, seed=seed, batch_size=batch, days=days,
                              stdout=self.stdout if verbosity >= 1 else None)
        try:
            created = generator.run()
        except GenerationError as exc:
            raise CommandError(str(exc)) from None
        # Fresh planner statistics: right after a bulk load PostgreSQL still plans for empty tables.
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        rate = created / generator.elapsed if generator.elapsed else float("inf")
        self.stdout.write(self.style.SUCCESS(
            f"已生成 {created:,} 件案件，用时 {generator.elapsed:.1f} 秒（{rate:,.0f} 件/秒）。"))
