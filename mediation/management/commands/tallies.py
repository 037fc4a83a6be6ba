"""Check the case counters against a fresh count, or count them afresh (mediation/tallies.py).

    python manage.py tallies            # check: lists any difference, exit status 1 if there is one
    python manage.py tallies --rebuild  # re-create the triggers and count afresh (e.g. after a data-only
                                        # restore made with triggers off)
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mediation import tallies


class Command(BaseCommand):
    help = "核对（或重建）案件计数表：python manage.py tallies [--rebuild]"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="按现有案件重新计数")

    def handle(self, *args, rebuild: bool, **options) -> None:
        if rebuild:
            tallies.install()
            self.stdout.write(self.style.SUCCESS("案件计数表已重建。"))
            return
        found = tallies.differences()
        if found:
            for line in found[:50]:
                self.stdout.write(line)
            raise CommandError(f"案件计数表与实际案件不符：{len(found)} 处。运行 manage.py tallies --rebuild 重建。")
        self.stdout.write(self.style.SUCCESS("案件计数表与实际案件一致。"))
