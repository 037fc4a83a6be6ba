"""What the reports app stores: the statistics summary, and records of imports and exports.

The summary (``MonthlyFact``) is derived data: ``refresh_statistics`` rebuilds it
from cases and transition logs, and nothing else writes it. See docs/statistics.md.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

#: The additive measures of one ``MonthlyFact`` row, in the order the tables show them.
COUNT_MEASURES: tuple[str, ...] = (
    "received", "collective", "new_form", "accepted", "rejected", "settled", "failed", "nonperformed",
    "referred", "withdrawn", "closed", "concluded_unreferred",
    "stays_1", "stays_2", "stays_3", "stay_micros_1", "stay_micros_2", "stay_micros_3", "workers",
)
AMOUNT_MEASURES: tuple[str, ...] = ("claimed", "agreed", "recovered")
MEASURES: tuple[str, ...] = COUNT_MEASURES + AMOUNT_MEASURES


class MonthlyFact(models.Model):
    """One month's figures for the cases of one handling organisation and channel.

    ``category`` is NULL on the rows that count every case once; a row with a
    category counts only the cases of that category (a case with two categories
    is on two such rows), so the two kinds of row are never added together.
    """

    month = models.DateField(_("月份"))
    organisation = models.ForeignKey("mediation.Organisation", on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("承办组织"))
    channel = models.CharField(_("来源渠道"), max_length=20)
    category = models.ForeignKey("mediation.Category", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="+", verbose_name=_("争议类别"))

    received = models.PositiveIntegerField(_("收案"), default=0)
    collective = models.PositiveIntegerField(_("集体争议"), default=0)
    new_form = models.PositiveIntegerField(_("新就业形态"), default=0)
    accepted = models.PositiveIntegerField(_("受理"), default=0)
    rejected = models.PositiveIntegerField(_("不予受理"), default=0)
    settled = models.PositiveIntegerField(_("调解成功"), default=0)
    failed = models.PositiveIntegerField(_("调解不成"), default=0)
    nonperformed = models.PositiveIntegerField(_("协议未履行"), default=0)
    referred = models.PositiveIntegerField(_("转仲裁/诉讼"), default=0)
    withdrawn = models.PositiveIntegerField(_("撤回"), default=0)
    closed = models.PositiveIntegerField(_("结案"), default=0)
    concluded_unreferred = models.PositiveIntegerField(_("调解终结且未转仲裁/诉讼"), default=0)
    stays_1 = models.PositiveIntegerField(default=0)
    stays_2 = models.PositiveIntegerField(default=0)
    stays_3 = models.PositiveIntegerField(default=0)
    # Microseconds, summed exactly: stored sums plus live sums must equal one live sum.
    stay_micros_1 = models.BigIntegerField(default=0)
    stay_micros_2 = models.BigIntegerField(default=0)
    stay_micros_3 = models.BigIntegerField(default=0)
    # 涉及人数: the workers involved in the cases received (劳动争议调解仲裁法 art. 7).
    workers = models.PositiveIntegerField(_("涉及人数"), default=0, db_default=0)
    claimed = models.DecimalField(_("请求金额"), max_digits=18, decimal_places=2, default=0)
    agreed = models.DecimalField(_("协议金额"), max_digits=18, decimal_places=2, default=0)
    recovered = models.DecimalField(_("已履行金额"), max_digits=18, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("月度统计汇总")
        verbose_name_plural = _("月度统计汇总")
        indexes = [models.Index(fields=["category", "month"], name="reports_fact_cat_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.organisation_id} {self.channel} {self.category_id or ''}"



class SummaryState(models.Model):
    """The one row saying up to which case and transition the summary counts (the watermarks).

    Everything above the watermarks is counted live, so new registrations and
    moves show at once; see docs/statistics.md, "Freshness".
    """

    refreshed_at = models.DateTimeField(_("汇总时间"))
    case_watermark = models.BigIntegerField(_("已汇总的最大案件编号"))
    log_watermark = models.BigIntegerField(_("已汇总的最大状态变更编号"))
    seconds = models.FloatField(_("用时（秒）"), default=0)
    rows = models.PositiveIntegerField(_("汇总行数"), default=0)

    class Meta:
        verbose_name = _("统计汇总状态")
        verbose_name_plural = _("统计汇总状态")

    def __str__(self) -> str:
        return f"{self.refreshed_at:%Y-%m-%d %H:%M}"



class ImportBatch(models.Model):
    """One historical-ledger import that wrote cases (dry runs and refused files leave no batch)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("导入人"))
    at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    filename = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(_("文件SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("数据行数"), default=0)
    created = models.PositiveIntegerField(_("新增案件"), default=0)
    skipped = models.PositiveIntegerField(_("已存在而跳过"), default=0)

    class Meta:
        verbose_name = _("台账导入记录")
        verbose_name_plural = _("台账导入记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.filename}"



class LedgerExport(models.Model):
    """Who exported which ledger: one row per export stands in for a per-case read log."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("导出人"))
    at = models.DateTimeField(_("导出时间"), auto_now_add=True)
    query = models.TextField(_("筛选条件"), blank=True)
    rows = models.PositiveIntegerField(_("案件数"), default=0)
    full_identity = models.BooleanField(_("含完整身份号码"), default=False)

    class Meta:
        verbose_name = _("台账导出记录")
        verbose_name_plural = _("台账导出记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.rows}"

