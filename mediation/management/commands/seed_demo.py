"""Load the demo district: organisations, one user per role and level, ~30 cases in every state.

    DEBUG=1 python manage.py seed_demo            # idempotent: a second run adds nothing
    DEBUG=1 python manage.py seed_demo --reset    # wipe the demo district first, then seed again

Both refuse a database that seed_demo did not create (see ``mediation.demo.seed.check_demo_database``).

See docs/demo.md for the logins and what the cases show.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, ProtectedError

from mediation.demo import seed as demo


class Command(BaseCommand):
    help = "创建演示数据：奉化区组织树、各角色演示账号（密码 demo-2026）和约30件覆盖全部状态的案件。"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset", action="store_true",
            help="先删除演示区的组织、其中的全部案件（含 generate_cases 生成的）和演示账号，再重新创建。")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="--reset 时不再询问确认。")

    def handle(self, *args, reset: bool = False, interactive: bool = True, verbosity: int = 1, **options) -> None:
        started = time.monotonic()
        if reset:
            try:
                demo.check_demo_database()  # before asking: a real database is refused, not offered for deletion
            except RuntimeError as exc:
                raise CommandError(str(exc)) from None
        if reset and demo.demo_exists():
            if interactive:
                answer = input("这将删除演示区（奉化区职工服务中心及其下级组织）的全部案件和演示账号。继续吗？[y/N] ")
                if answer.strip().lower() not in {"y", "yes"}:
                    raise CommandError("已取消。")
            try:
                counts = demo.wipe_demo()
            except ProtectedError as exc:
                raise CommandError(f"无法删除演示数据：仍有记录引用它们（{exc.args[0]}）。未做任何修改。") from None
            except RuntimeError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"已删除演示数据：{counts}")
        try:
            with _quiet_services(verbosity < 2):
                seeder = demo.seed(stdout=self.stdout if verbosity > 1 else None)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        if seeder.created_cases == 0 and seeder.skipped_cases:
            self.stdout.write(self.style.WARNING(
                f"演示数据已存在（{seeder.skipped_cases} 件演示案件），未重复创建；如需重建请使用 --reset。"))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"已创建 {seeder.created_cases} 件演示案件（跳过已存在的 {seeder.skipped_cases} 件），"
                f"用时 {time.monotonic() - started:.1f} 秒。"))
        if verbosity >= 1:
            self._summary(seeder)

    def _summary(self, seeder: demo.Seeder) -> None:
        from mediation.models import Case

        district = seeder.orgs["district"]
        states = (Case.objects.filter(intake_token__in=[demo.case_token(s.key) for s in demo.SCENARIOS])
                  .values_list("state").annotate(n=Count("pk")).order_by("state"))
        self.stdout.write("演示案件状态：" + "，".join(f"{s} {n}" for s, n in states))
        self.stdout.write(f"组织：{district.name} 及其下级 {len(seeder.orgs) - 1} 个组织")
        self.stdout.write("")
        rows = [("用户名", "姓名", "角色", "组织", "密码"), *demo.login_rows()]
        widths = [max(_width(r[i]) for r in rows) for i in range(5)]
        for n, row in enumerate(rows):
            self.stdout.write("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        self.stdout.write("")
        self.stdout.write("登录：http://127.0.0.1:8000/  管理后台：http://127.0.0.1:8000/admin/（admin / demo-2026）")


@contextmanager
def _quiet_services(quiet: bool):
    """The services log every move at INFO; a few hundred lines would bury the summary."""
    loggers = [logging.getLogger(name) for name in ("mediation.services", "workflows.services")]
    levels = [lg.level for lg in loggers]
    if quiet:
        for lg in loggers:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
