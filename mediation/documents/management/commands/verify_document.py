"""Check issued documents against the registry.

    python manage.py verify_document 7KQ2-M9XD-4HRT-0BWC              # what was registered; stored file intact?
    python manage.py verify_document --file copy.pdf                  # is this file a registered document?
    python manage.py verify_document 7KQ2-M9XD-4HRT-0BWC --file copy.pdf
    python manage.py verify_document --all                            # re-hash every stored document, find orphans

Exits with status 1 when a file does not match, a code is unknown, or (--all) any
stored file is missing, altered, or not in the registry.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mediation.documents import registry
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.documents.selectors import document_standing
from mediation.documents.times import local_time
from mediation.storage import walk


class Command(BaseCommand):
    help = "核验文书：按验证码或 PDF 文件查找登记的文书，核对 SHA-256；--all 检查全部已存储文书。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", nargs="?", help="验证码（16位，可含连字符）")
        parser.add_argument("--file", type=Path, help="待核验的 PDF 文件")
        parser.add_argument("--all", action="store_true", help="重新计算全部已存储文书的 SHA-256，并查找未登记的文件")

    def handle(self, *args: Any, code: str | None, file: Path | None, all: bool, **options: Any) -> None:
        if all:
            return self._check_all()
        if file is not None:
            return self._check_file(file, code)
        if not code:
            raise CommandError("请给出验证码或 --file 文件（或 --all）。")
        document = registry.find_by_code(code)
        if document is None:
            raise CommandError(f"未找到验证码 {code} 对应的登记文书。")
        self._describe(document)
        if not registry.stored_intact(document):
            raise CommandError("存储中的文件缺失或已被改动：其 SHA-256 与登记不符。")
        self.stdout.write(self.style.SUCCESS("存储中的文件完好（SHA-256 与登记一致）。"))
        return None

    def _check_file(self, file: Path, code: str | None) -> None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}：{exc.strerror}") from None
        check = registry.check_bytes(data, code=code)
        if code and check.document is None:
            raise CommandError(f"未找到验证码 {code} 对应的登记文书。")
        if check.document is not None:
            self._describe(check.document)
        self.stdout.write(f"文件 SHA-256：{check.sha256}")
        if check.matches:
            self.stdout.write(self.style.SUCCESS("一致：文件与登记的文书完全相同。"))
            return
        if check.document is None:
            raise CommandError("不一致：没有任何登记文书的 SHA-256 与该文件相同，文件中也读不出验证码。")
        raise CommandError("不一致：文件与登记的文书不同（可能被修改过）。")

    def _describe(self, document: IssuedDocument) -> None:
        self.stdout.write(
            f"登记文书：{_named(document)} · 第{document.version}版\n"
            f"案号：{document.case.number}\n出具单位：{document.issuer}\n"
            f"生成时间：{local_time(document.created_at)} · 验证码 {document.code_display}"
            f"{' · 已冻结' if document.frozen else ''}\n登记 SHA-256：{document.sha256}")
        standing = document_standing(document)
        if standing.text:
            self.stdout.write(f"文书状态：{standing.text}")

    def _check_all(self) -> None:
        problems = 0
        known: set[str] = set()
        checked = 0
        for document in IssuedDocument.objects.select_related("case").order_by("pk").iterator(chunk_size=500):
            known.add(document.file.name or "")
            checked += 1
            data = registry.stored_bytes(document)
            if data is None:
                problems += 1
                self.stdout.write(self.style.ERROR(f"缺失：{document.case.number} {document.title} "
                                                   f"第{document.version}版（{document.file.name}）"))
            elif registry.sha256_of(data) != document.sha256:
                problems += 1
                self.stdout.write(self.style.ERROR(f"已改动：{document.case.number} {document.title} "
                                                   f"第{document.version}版（{document.file.name}）"))
        # Listed page by page on a bucket (mediation.storage.walk), folder by folder on disk.
        orphans = [name for name in walk(default_storage, registry.STORAGE_PREFIX) if name not in known]
        for name in orphans:
            problems += 1
            self.stdout.write(self.style.WARNING(f"未登记的文件：{name}"))
        self.stdout.write(f"已检查 {checked} 份登记文书，发现 {problems} 个问题。")
        if problems:
            raise CommandError(f"发现 {problems} 个问题。")


def _named(document: IssuedDocument) -> str:
    """The title, with the kind before it only where the title does not already say it
    (调解申请书 · 口头申请笔录, but never 调解协议书 · 调解协议书)."""
    kind = str(DocumentKind(document.kind).label)
    return document.title if document.title.startswith(kind) else f"{kind} · {document.title}"

