"""Restore an archive written by ``manage.py backup`` into an empty database and media root.

    python manage.py restore /srv/backup/mediation-20261205-020000.tar.gz
    python manage.py restore --check /srv/backup/mediation-20261205-020000.tar.gz   # only verify the archive

Refuses, changing nothing, when the database has any table or the media root any file,
or when any file in the archive differs from the manifest. Afterwards it runs
``verify_document --all`` (and ``verify_audit`` where that command exists).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from mediation import backup


class Command(BaseCommand):
    help = "恢复：把 backup 生成的归档恢复到空数据库和空媒体目录；先逐个核对 SHA-256，再写入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="backup 生成的归档文件")
        parser.add_argument("--check", action="store_true", help="只核对归档文件，不恢复")
        parser.add_argument("--no-verify", action="store_false", dest="verify",
                            help="恢复后不运行 verify_document --all / verify_audit")
        parser.add_argument("--pg-bindir", type=Path, help="PostgreSQL 客户端程序（pg_restore）所在目录")
        parser.add_argument("--database", default="default", help="数据库别名（默认 default）")

    def handle(self, *args: Any, archive: Path, check: bool, verify: bool, pg_bindir: Path | None, database: str,
               verbosity: int = 1, **options: Any) -> None:
        try:
            if check:
                return self._check(archive)
            log = self.stdout.write if verbosity >= 2 else None
            result = backup.restore_backup(archive, using=database, pg_bindir=pg_bindir,
                                           **({"log": log} if log else {}))
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = result.manifest
        self.stdout.write(self.style.SUCCESS(
            f"已恢复 {archive}（备份于 {manifest['created_at']}，项目版本 {manifest['project']['version']}）："
            f"数据库 {result.database}，{result.files} 个文件。"))
        pending = self._pending_migrations(database)
        if pending:
            self.stdout.write(self.style.WARNING(
                f"备份的数据库结构比当前代码旧（{len(pending)} 个迁移未应用）：请运行 manage.py migrate，"
                "然后运行 verify_document --all。"))
            return None
        if verify:
            self._verify(verbosity)
        return None

    def _check(self, archive: Path) -> None:
        manifest = backup.read_manifest(archive)
        with tempfile.TemporaryDirectory(prefix=".restore-check-") as work:
            backup.extract_verified(archive, manifest, Path(work))
        media = manifest["media"]
        self.stdout.write(self.style.SUCCESS(
            f"归档完好：{len(manifest['files'])} 个文件的大小和 SHA-256 与清单一致。"
            f"备份于 {manifest['created_at']}，数据库 {manifest['database']['vendor']}，"
            f"{media['files']} 个存储文件，项目版本 {manifest['project']['version']}，Django {manifest['django']}。"))

    @staticmethod
    def _pending_migrations(database: str) -> list[Any]:
        connection = connections[database]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        connection.close()
        return plan

    def _verify(self, verbosity: int) -> None:
        checks = [("verify_document", ["--all"])]
        if "verify_audit" in get_commands():
            checks.append(("verify_audit", []))
        else:
            self.stdout.write(self.style.WARNING("本版本没有 verify_audit 命令，跳过审计日志核验。"))
        for name, arguments in checks:
            self.stdout.write(f"运行 {' '.join([name, *arguments])} ……")
            try:
                call_command(name, *arguments, stdout=self.stdout, stderr=self.stderr, verbosity=verbosity)
            except CommandError as exc:
                raise CommandError(f"恢复已完成，但 {name} 未通过：{exc}") from None
