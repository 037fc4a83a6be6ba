"""Export the case files (卷宗, PDF/A) of a supervisor's scope into a zip with manifest.csv.

    python manage.py export_case_files --user zhangsan --out /tmp/case-files.zip
    python manage.py export_case_files --user zhangsan --out x.zip --state closed --from 2026-01-01 --workers 2

The user's scope decides which cases are exported (the same rule as the web
export): cases they may see, inside the subtrees they supervise. Each case file
is issued and registered (new version, verification code). ``--workers 1``
renders in this process; more start that many worker processes (default: the
number of CPU cores, at most 4).
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mediation.audit import log as audit
from mediation.documents import export as exporting
from mediation.selectors import CaseFilters
from workflows.states import CaseState


def _date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


class Command(BaseCommand):
    help = "导出负责人范围内案件的卷宗（PDF/A）为 zip，附 manifest.csv。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="以哪位负责人的权限范围导出（用户名）")
        parser.add_argument("--out", type=Path, required=True, help="输出的 zip 文件")
        parser.add_argument("--workers", type=int, default=None, help="渲染进程数（默认：CPU 核数，最多 4）")
        parser.add_argument("--state", choices=CaseState.values, help="只导出该状态的案件")
        parser.add_argument("--from", dest="received_from", type=_date, help="收案日期自（YYYY-MM-DD）")
        parser.add_argument("--to", dest="received_to", type=_date, help="收案日期至（YYYY-MM-DD）")
        parser.add_argument("--limit", type=int, default=None, help="最多导出多少件")
        parser.add_argument("--base-url", default=None, help="二维码中核验页面的网址前缀，如 https://tiaojie.example.cn")

    def handle(self, *args: Any, user: str, out: Path, workers: int | None, state: str | None,
               received_from: datetime.date | None, received_to: datetime.date | None, limit: int | None,
               base_url: str | None, verbosity: int = 1, **options: Any) -> None:
        account = get_user_model().objects.filter(username=user, is_active=True).first()
        if account is None:
            raise CommandError(f"没有启用的用户 {user}。")
        if not exporting.may_export(account):
            raise CommandError(f"{user} 不是负责人，不能导出卷宗。")
        cases = exporting.export_scope(account, CaseFilters(state=state, received_from=received_from,
                                                             received_to=received_to))
        if limit:
            cases = cases[:limit]
        total = cases.count()
        if total == 0:
            raise CommandError("范围内没有案件。")

        def progress(row: exporting.ExportRow) -> None:
            if verbosity >= 2 or (verbosity >= 1 and row.status != "ok"):
                self.stdout.write(f"{row.case}: {row.file or row.status}")

        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")
        try:
            summary = exporting.export_to_file(partial, user=account, cases=cases.iterator(chunk_size=100),
                                               workers=workers, verify_base_url=base_url, progress=progress)
        except PermissionDenied as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(str(exc)) from None
        except BaseException:
            partial.unlink(missing_ok=True)  # never leave a half-written archive behind
            raise
        partial.replace(out)
        audit.record(actor=account, action="export.case_files", new={
            "cases": summary.exported, "failed": summary.failed, "file": str(out),
            "filters": {"state": state, "received_from": received_from, "received_to": received_to}})
        rate = summary.exported / summary.seconds if summary.seconds else 0
        self.stdout.write(self.style.SUCCESS(
            f"已导出 {summary.exported} 份卷宗到 {out}（{summary.failed} 件未导出），"
            f"用时 {summary.seconds:.1f} 秒，{summary.workers} 个渲染进程，{rate:.2f} 份/秒。"))
