"""A background job: who started it, what it makes, how far it is, and the file it made."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _result_path(job: "Job", filename: str) -> str:
    # Stored under an ASCII name of our own; the Chinese name offered on download is file_name.
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"jobs/{job.created_at:%Y/%m}/{job.pk}-{job.attempts}.{suffix}"


class Job(models.Model):
    class Kind(models.TextChoices):
        LEDGER = "ledger", _("案件台账导出")
        CASE_FILES = "case_files", _("卷宗导出")
        BULK_ISSUE = "bulk_issue", _("批量生成文书")

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs",
                              verbose_name=_("发起人"))
    kind = models.CharField(_("类型"), max_length=32)
    # Filters and options only (states, dates, organisation ids): never a name, phone or ID number.
    parameters = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    error = models.CharField(_("失败原因"), max_length=500, blank=True)
    file = models.FileField(_("结果文件"), upload_to=_result_path, blank=True, max_length=255)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("文件大小"), null=True, blank=True)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台导出")
        verbose_name_plural = _("后台导出")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["owner", "-created_at"]), models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def get_kind_display(self) -> str:
        try:
            return str(self.Kind(self.kind).label)
        except ValueError:
            return self.kind

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def downloadable(self) -> bool:
        return self.status == self.Status.DONE and bool(self.file) and not self.expired
