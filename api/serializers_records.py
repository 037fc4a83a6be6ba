"""What the API shows of a case's records (attachments, issued documents), of the statistics, of the
caller's export jobs and notifications, and the inputs it takes for them (api/views_records.py)."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mediation.documents.models import DocumentKind, DocumentStage
from mediation.models import Attachment
from mediation.reports.models import AMOUNT_MEASURES, COUNT_MEASURES
from mediation.reports.statistics import LINES, Figures


def _person(user: Any) -> str | None:
    return (user.get_full_name() or user.get_username()) if user is not None else None


# --- attachments ------------------------------------------------------------------------------------

class AttachmentSerializer(serializers.Serializer):
    """An attachment's registry entry; the bytes come from ``download``."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Attachment.Kind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    description = serializers.CharField(allow_blank=True)
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    uploaded_by = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_uploaded_by(self, attachment: Attachment) -> str | None:
        return _person(attachment.uploaded_by)


class AttachmentUploadSerializer(serializers.Serializer):
    """``multipart/form-data``: the file and its category, as the case page's upload form."""

    file = serializers.FileField(help_text=_("PDF、图片或 Office 文档"))
    kind = serializers.ChoiceField(choices=Attachment.Kind.choices)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


# --- documents --------------------------------------------------------------------------------------

class DocumentSerializer(serializers.Serializer):
    """A registered (issued) document: what the case page's documents card lists."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    stage = serializers.ChoiceField(choices=DocumentStage.choices, allow_blank=True)
    subject_id = serializers.IntegerField()
    title = serializers.CharField()
    case_number = serializers.CharField(source="case.number")
    version = serializers.IntegerField()
    verification_code = serializers.CharField(source="code_display", help_text=_("印在文书上的验证码"))
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    issuer = serializers.CharField(allow_blank=True, help_text=_("出具时文书所载的组织"))
    issued_at = serializers.DateTimeField(source="created_at")
    issued_by = serializers.SerializerMethodField()
    frozen = serializers.BooleanField()
    standing = serializers.SerializerMethodField(help_text=_("文书现在的效力：issued、draft、awaiting_signatures、"
                                                             "effective、superseded 或 void"))
    standing_text = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_issued_by(self, document: Any) -> str | None:
        return _person(document.author)

    def get_standing(self, document: Any) -> str:
        return document.standing.key if document.standing is not None else "issued"

    def get_standing_text(self, document: Any) -> str:
        return str(document.standing.text) if document.standing is not None else ""


class IssuableSerializer(serializers.Serializer):
    """A document the caller may issue now: POST its ``kind``, ``subject_id`` and ``stage``."""

    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    kind_label = serializers.CharField()
    subject_id = serializers.IntegerField()
    stage = serializers.ChoiceField(choices=DocumentStage.choices, allow_blank=True)
    label = serializers.CharField()  # type: ignore[assignment]
    frozen = serializers.BooleanField(help_text=_("已冻结：再次生成将返回已登记的同一份文书"))
    latest = serializers.IntegerField(allow_null=True, help_text=_("最新登记版本的文书编号"))


class CaseDocumentsSerializer(serializers.Serializer):
    issued = DocumentSerializer(many=True)
    issuable = IssuableSerializer(many=True)
    may_issue = serializers.BooleanField()
    may_download = serializers.BooleanField()


class DocumentIssueSerializer(serializers.Serializer):
    """Which document to issue: its kind, and for a document about one part of the case (a session, an
    agreement version …) that part's id and, for an agreement, the stage (``draft``, ``signing``)."""

    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    subject_id = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False, default=0)
    stage = serializers.ChoiceField(choices=DocumentStage.choices, required=False, allow_blank=True, default="")


class IssuedSerializer(DocumentSerializer):
    reused = serializers.BooleanField(help_text=_("已冻结或已登记签署版：返回的是原有文书，没有重新生成"))


# --- statistics -------------------------------------------------------------------------------------

class FiguresSerializer(serializers.Serializer):
    """The measures of one row of the statistics page (docs/statistics.md)."""

    counts = serializers.SerializerMethodField(help_text="received, accepted, settled, …: docs/statistics.md")
    amounts = serializers.SerializerMethodField(help_text="claimed, agreed, recovered: yuan as strings")
    concluded = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    grassroots_rate = serializers.FloatField(allow_null=True)
    overdue = serializers.IntegerField(allow_null=True)
    average_days_by_line = serializers.SerializerMethodField(help_text=_("各道防线平均办理天数"))

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, figures: Figures) -> dict[str, int]:
        return {key: int(figures.values[key]) for key in COUNT_MEASURES if not key.startswith("stay_micros_")}

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_amounts(self, figures: Figures) -> dict[str, str]:
        return {key: f"{figures.values[key]:.2f}" for key in AMOUNT_MEASURES}

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_average_days_by_line(self, figures: Figures) -> dict[str, float | None]:
        return {str(line): figures.average_days(line) for line in LINES}


class StatisticsRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("组织编号、防线、渠道、月份或类别代码"))
    label = serializers.CharField()  # type: ignore[assignment]
    figures = FiguresSerializer()


class StatisticsSerializer(serializers.Serializer):
    first_month = serializers.CharField(help_text="YYYY-MM")
    last_month = serializers.CharField(help_text="YYYY-MM")
    organisation = serializers.IntegerField(allow_null=True)
    line = serializers.IntegerField(allow_null=True)
    channel = serializers.CharField(allow_null=True)
    category = serializers.CharField(allow_null=True)
    totals = FiguresSerializer()
    by_organisation = StatisticsRowSerializer(many=True)
    by_line = StatisticsRowSerializer(many=True)
    by_channel = StatisticsRowSerializer(many=True)
    by_month = StatisticsRowSerializer(many=True)
    by_category = StatisticsRowSerializer(many=True)


def statistics_data(stats: Any) -> dict[str, Any]:
    """The figures the statistics page shows, as plain rows for ``StatisticsSerializer``."""
    q = stats.query
    return {
        "first_month": f"{q.first_month:%Y-%m}", "last_month": f"{q.last_month:%Y-%m}",
        "organisation": q.organisation.pk if q.organisation is not None else None,
        "line": q.line, "channel": q.channel, "category": q.category, "totals": stats.totals,
        "by_organisation": [{"key": str(g.organisation.pk), "label": g.label, "figures": f}
                            for g, f in stats.by_organisation],
        "by_line": [{"key": str(n), "label": name, "figures": f} for n, name, f in stats.by_line],
        "by_channel": [{"key": c, "label": label, "figures": f} for c, label, f in stats.by_channel],
        "by_month": [{"key": f"{m:%Y-%m}", "label": f"{m:%Y-%m}", "figures": f} for m, f in stats.by_month],
        "by_category": [{"key": c.code, "label": c.name, "figures": f} for c, f in stats.by_category],
    }


# --- export jobs ------------------------------------------------------------------------------------

class LedgerExportRequestSerializer(serializers.Serializer):
    """The case list's filters (docs/api.md), as the ledger page takes them from the list; a free-text
    search is not kept in a job and is refused here."""

    state = serializers.CharField(required=False, allow_blank=True)
    line = serializers.CharField(required=False, allow_blank=True)
    organisation = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(required=False, allow_blank=True)
    channel = serializers.CharField(required=False, allow_blank=True)
    mediator = serializers.CharField(required=False, allow_blank=True)
    received_from = serializers.CharField(required=False, allow_blank=True, help_text="YYYY-MM-DD")
    received_to = serializers.CharField(required=False, allow_blank=True, help_text="YYYY-MM-DD")
    overdue = serializers.BooleanField(required=False, default=False)


class JobSerializer(serializers.Serializer):
    """One of the caller's export jobs (我的导出)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    status_label = serializers.CharField(source="get_status_display")
    progress = serializers.IntegerField(help_text=_("百分比"))
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    file_name = serializers.CharField(allow_blank=True)
    file_size = serializers.IntegerField(allow_null=True)
    file_sha256 = serializers.CharField(allow_blank=True)
    downloadable = serializers.BooleanField()


# --- notifications ----------------------------------------------------------------------------------

class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    body = serializers.CharField()
    case = serializers.IntegerField(source="case_id", allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    read = serializers.SerializerMethodField()

    def get_read(self, notification: Any) -> bool:
        return notification.read_at is not None


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=_("本次标为已读的条数"))
