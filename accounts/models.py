from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountProfile(models.Model):
    """What the account needs beyond Django's user: a password the user must replace."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_profile",
                                verbose_name=_("用户"))
    must_change_password = models.BooleanField(
        _("下次登录须修改密码"), default=False,
        help_text=_("管理员为他人设置密码后自动勾选；用户自行修改密码后清除。"))
    password_changed_at = models.DateTimeField(_("上次自行修改密码"), null=True, blank=True)

    class Meta:
        verbose_name = _("账户设置")
        verbose_name_plural = _("账户设置")

    def __str__(self) -> str:
        return str(self.user)


def must_change_password(user) -> bool:
    return AccountProfile.objects.filter(user=user, must_change_password=True).exists()


def require_password_change(user) -> None:
    """The next login of ``user`` goes to the password-change page first."""
    AccountProfile.objects.update_or_create(user=user, defaults={"must_change_password": True})
