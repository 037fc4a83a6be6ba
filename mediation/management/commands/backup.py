"""Back up the database and the stored files into one archive.

    python manage.py backup                                  # var/backups/mediation-YYYYmmdd-HHMMSS.tar.gz
    python manage.py backup --output /srv/backup/mediation.tar.gz
    python manage.py backup --output /srv/backup/            # a directory: the default name inside it

See docs/operations.md (备份与恢复) for what the archive holds, restoring, and schedules.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mediation import backup


class Command(BaseCommand):
    help = "备份：把数据库（PostgreSQL 用 pg_dump，SQLite 用在线备份）、存储的文件和校验清单写入一个归档文件。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", type=Path,
                            help="归档文件（.tar.gz、.tgz 或 .tar）或目录；默认 var/backups/mediation-<时间>.tar.gz")
        parser.add_argument("--pg-bindir", type=Path, help="PostgreSQL 客户端程序（pg_dump）所在目录")
        parser.add_argument("--database", default="default", help="数据库别名（默认 default）")

    def handle(self, *args: Any, output: Path | None, pg_bindir: Path | None, database: str,
               verbosity: int = 1, **options: Any) -> None:
        log = self.stdout.write if verbosity >= 2 else None
        try:
            result = backup.create_backup(output, using=database, pg_bindir=pg_bindir,
                                          **({"log": log} if log else {}))
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = result.manifest
        media = manifest["media"]
        if media["location"] is None:
            self.stdout.write(self.style.WARNING(f"文件取自配置的存储 {media['storage']}（不是本地目录）。"))
        for name in result.skipped:
            self.stdout.write(self.style.WARNING(f"未备份：{name}（没有记录引用它，且写于备份期间，应是正在上传的文件）"))
        for name in result.missing:
            self.stdout.write(self.style.WARNING(f"缺失：{name}（数据库记录引用了它，但存储中没有）"))
        size = result.path.stat().st_size
        self.stdout.write(self.style.SUCCESS(
            f"已备份到 {result.path}（{size / 1024 / 1024:.1f} MB）：数据库 {manifest['database']['vendor']}，"
            f"{media['files']} 个文件（{media['bytes'] / 1024 / 1024:.1f} MB）。"))
