"""The mark ``seed_demo`` leaves when it creates the demo district.

``seed_demo --reset`` deletes a whole district with its cases; it does so only where this
row says that ``seed_demo`` created that very district (or, between the wipe and the new
seeding of a reset, that it created the database's demo before). A database whose organisation
merely has the demo's name (a real 奉化区职工服务中心) has no such row and is refused.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DemoInstallation(models.Model):
    # Emptied while --reset rebuilds the district; the row itself stays: the database is still the demo's.
    district = models.OneToOneField("mediation.Organisation", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("演示区"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("演示数据标记")
        verbose_name_plural = _("演示数据标记")

    def __str__(self) -> str:
        return f"seed_demo {self.district_id} {self.created_at:%Y-%m-%d %H:%M}"
