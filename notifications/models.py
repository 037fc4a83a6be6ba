"""Reminders and the in-app notification centre (docs/operations.md, "Reminders").

A ``Notification`` row is both the in-app message and the outbox of the other channels:
it is inserted first (``pending``), then e-mail and SMS are sent and the row is marked
``sent``. The unique constraint on (key, threshold, user) is what makes a reminder go out
once, whatever number of sweeps run at the same time.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
                             verbose_name=_("接收人"))
    #: The deadline's stable key: kind, case id, subject id and due date ("digest:<date>" for a digest).
    key = models.CharField(_("期限标识"), max_length=120)
    #: Which threshold of REMINDER_THRESHOLDS this is ("before_3", "on_day", "overdue", "digest").
    threshold = models.CharField(_("提醒节点"), max_length=20)
    case = models.ForeignKey("mediation.Case", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+", verbose_name=_("案件"))
    due_on = models.DateField(_("期限"), null=True, blank=True)
    #: What is due and the case number; never a party's name, ID number or phone number.
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    status = models.CharField(_("发送状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["key", "threshold", "user"], name="notification_once_per_threshold"),
        ]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread"),
            models.Index(fields=["status"], name="notification_status",
                         condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return self.subject


class NotificationPreference(models.Model):
    """Which channels a user is reached through. The notification centre is always on."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preference", verbose_name=_("用户"))
    by_email = models.BooleanField(_("电子邮件"), default=True)
    by_sms = models.BooleanField(_("短信"), default=False)
    #: The user's own mobile number for SMS reminders (a staff member's, never a party's).
    mobile = models.CharField(_("接收短信的手机号"), max_length=20, blank=True)
    digest = models.BooleanField(_("每日汇总"), default=True,
                                 help_text=_("工作日上午8:30发送一份当天需要办理的期限汇总。"))

    class Meta:
        verbose_name = _("提醒设置")
        verbose_name_plural = _("提醒设置")

    def __str__(self) -> str:
        return str(self.user)


def unread_of(user) -> models.QuerySet[Notification]:
    """The notices ``user`` has not read yet (the bell counts them; "mark all read" reads them)."""
    return Notification.objects.filter(user=user, read_at__isnull=True)
