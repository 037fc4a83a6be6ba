"""Walk the audit trail's hash chain and name the first broken link (exit status 1 if there is one)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mediation.audit.log import verify

PROBLEMS = {
    "prev_hash": "its prev_hash is not the hash of the row before it (a row was removed, inserted or reordered)",
    "hash": "its content does not match its hash (the row was altered)",
}


class Command(BaseCommand):
    help = "Check the audit trail's chain of SHA-256 hashes from the first row to the last."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify()
        if not result.ok:
            raise CommandError(f"audit chain broken at row {result.broken_at}: {PROBLEMS[result.problem]}; "
                               f"{result.rows - 1} row(s) before it check out.", returncode=1)
        self.stdout.write(f"audit chain intact: {result.rows} row(s); head {result.head}")
