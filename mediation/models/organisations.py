"""The organisation tree (district → township/street → area → enterprise) and roles.

Line names, levels and which level serves which line are data an administrator
edits (DOMAIN.md §2); only the three line numbers are fixed, because the state
machine has one working state per line.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from workflows.states import Line


class LineName(models.Model):
    """The display name of one of the three lines of defence."""

    number = models.PositiveSmallIntegerField(_("防线"), choices=Line.choices, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("防线")
        verbose_name_plural = _("防线")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.name


class OrganisationLevel(models.Model):
    """A level of the tree (区, 镇街, 片区, 企业) and the line it serves."""

    name = models.CharField(_("层级名称"), max_length=30, unique=True)
    rank = models.PositiveSmallIntegerField(
        _("层级序号"), unique=True, help_text=_("0 为区级，数字越大层级越低"))
    line = models.PositiveSmallIntegerField(_("所属防线"), choices=Line.choices)

    class Meta:
        verbose_name = _("组织层级")
        verbose_name_plural = _("组织层级")
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=30, blank=True)
    level = models.ForeignKey(OrganisationLevel, on_delete=models.PROTECT, related_name="organisations",
                              verbose_name=_("层级"))
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children", verbose_name=_("上级组织"))
    case_number_prefix = models.CharField(
        _("案号前缀"), max_length=20, unique=True,
        error_messages={"unique": _("该案号前缀已被其他组织使用，请换一个。")},
        help_text=_("如“奉工调”，案号形如 奉工调〔2026〕0001号"))
    is_peoples_mediation_committee = models.BooleanField(
        _("人民调解委员会"), default=False,
        help_text=_("人民调解委员会达成的协议可在生效后30日内申请司法确认（人民调解法第三十三条）"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    #: An enterprise committee mediates its own enterprise's disputes; a regional or industry
    #: committee the small firms assigned to it (DOMAIN.md §4, parties and consent).
    served_employers = models.ManyToManyField(
        "mediation.Employer", blank=True, related_name="committees", verbose_name=_("所服务的企业"),
        help_text=_("企业或片区调解委员会只受理这些企业的劳动争议"))
    is_active = models.BooleanField(_("启用"), default=True)
    # Materialised path ("/1/4/17/") so that "this organisation and its subtree" is
    # one indexed prefix match, however deep the tree.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # The path is derived data, kept right on every save (the admin included);
        # moving an organisation re-paths its whole subtree in the same transaction.
        from django.db import transaction

        with transaction.atomic():
            if self.pk is None:
                super().save(*args, **kwargs)
                kwargs.pop("force_insert", None)
            old_path = self.path
            self.path = (self.parent.path if self.parent else "/") + f"{self.pk}/"
            super().save(*args, **{k: v for k, v in kwargs.items() if k != "force_insert"})
            if old_path and old_path != self.path:
                for child in self.subtree(old_path).exclude(pk=self.pk):
                    child.path = self.path + child.path[len(old_path):]
                    Organisation.objects.filter(pk=child.pk).update(path=child.path)

    @property
    def line(self) -> int:
        return self.level.line

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        parent = self.parent
        if parent and self.level_id:
            if self.pk and parent.path.startswith(self.path or "\0"):
                raise ValidationError({"parent": _("上级组织不能是本组织或其下级组织。")})
            if parent.level.rank >= self.level.rank:
                raise ValidationError({"parent": _("上级组织的层级必须高于本组织。")})

    def subtree(self, path: str | None = None) -> models.QuerySet["Organisation"]:
        """This organisation and everything below it (materialised path); ``path`` for a former place.

        The tree's own structure; who may act where is ``mediation.permissions.scope_q``.
        """
        return Organisation.objects.filter(path__startswith=path or self.path)

    def ancestors(self) -> models.QuerySet["Organisation"]:
        ids = [int(p) for p in self.path.strip("/").split("/") if p]
        return Organisation.objects.filter(pk__in=ids).exclude(pk=self.pk).select_related("level")


class Role(models.TextChoices):
    MEDIATOR = "mediator", _("调解员")
    SUPERVISOR = "supervisor", _("负责人")
    ADMINISTRATOR = "administrator", _("管理员")
    AUDITOR = "auditor", _("监督员")


class Membership(models.Model):
    """A user's role at one organisation: what they may do and where (DOMAIN.md §5)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships", verbose_name=_("用户"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships",
                                     verbose_name=_("组织"))
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    phone = models.CharField(_("工作电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        constraints = [models.UniqueConstraint(fields=["user", "organisation", "role"],
                                               name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"
