"""What the API shows of a case. Personal data is masked by the same rule, and in the same form, as
on the case page (``permissions.may_see_personal_data``; templates/mediation/_party_row.html)."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mediation.models import Case, CaseParty, PartyRole


class OrganisationRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CaseSummarySerializer(serializers.Serializer):
    """One row of the case list."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    organisation = OrganisationRef()
    employer_name = serializers.SerializerMethodField()
    received_at = serializers.DateTimeField()
    channel = serializers.CharField(help_text=_("来源渠道（walk_in、hotline、wechat、online 等）"))
    applied_online = serializers.BooleanField(help_text=_("网上申请：劳动者本人在网上提交的申请"))
    running_due = serializers.DateField(allow_null=True, help_text=_("当前状态下正在计算的期限（受理或调解）"))
    overdue = serializers.BooleanField(source="is_overdue")
    amount_claimed = serializers.DecimalField(max_digits=14, decimal_places=2)
    applicants = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_employer_name(self, case: Case) -> str | None:
        return case.employer.name if case.employer_id else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_applicants(self, case: Case) -> list[str]:
        parties = getattr(case, "applicant_parties", None)
        if parties is None:
            parties = [p for p in case.parties.all() if p.role == PartyRole.APPLICANT]
        return [p.name for p in parties]


class PartySerializer(serializers.Serializer):
    """A party as the case page lists it: the ID number (or credit code) and phone masked unless the
    reader may see personal data."""

    id = serializers.IntegerField()
    role = serializers.CharField()
    role_label = serializers.CharField(source="title")
    kind = serializers.SerializerMethodField()
    name = serializers.CharField()
    id_number = serializers.SerializerMethodField(help_text=_("公民身份号码或统一社会信用代码"))
    phone = serializers.SerializerMethodField()
    represents = serializers.IntegerField(source="represents_id", allow_null=True)

    def _full(self) -> bool:
        return bool(self.context.get("show_personal"))

    @extend_schema_field(serializers.ChoiceField(choices=["person", "employer"]))
    def get_kind(self, party: CaseParty) -> str:
        return "person" if party.person_id else "employer"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_id_number(self, party: CaseParty) -> str | None:
        if party.person is not None:
            return (party.person.id_number if self._full() else party.person.masked_id_number) or None
        if party.employer is not None:
            return (party.employer.credit_code if self._full() else party.employer.masked_credit_code) or None
        return None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_phone(self, party: CaseParty) -> str | None:
        # An employer's phone is the office's number: the case page shows it to every reader.
        if party.person_id and not self._full():
            return party.masked_phone or None
        return party.phone or None


class ClaimSerializer(serializers.Serializer):
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    category = serializers.CharField(source="category.name", allow_null=True, default=None)


class DeadlineSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    basis = serializers.CharField()
    due = serializers.DateField()
    confirmed = serializers.BooleanField()
    active = serializers.BooleanField()


class CaseDetailSerializer(CaseSummarySerializer):
    channel = serializers.CharField()
    channel_label = serializers.CharField(source="get_channel_display")
    dispute_summary = serializers.CharField()
    is_collective = serializers.BooleanField()
    categories = serializers.SerializerMethodField()
    mediators = serializers.SerializerMethodField()
    acceptance_due = serializers.DateField(allow_null=True)
    mediation_due = serializers.DateField(allow_null=True)
    amount_agreed = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount_recovered = serializers.DecimalField(max_digits=14, decimal_places=2)
    personal_data_masked = serializers.SerializerMethodField()
    parties = PartySerializer(many=True, source="party_rows")
    claims = ClaimSerializer(many=True, source="claims.all")
    deadlines = DeadlineSerializer(many=True, source="deadline_rows")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_categories(self, case: Case) -> list[str]:
        return [c.name for c in case.categories.all()]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_mediators(self, case: Case) -> list[str]:
        return [m.get_full_name() or m.get_username() for m in case.mediators.all()]

    def get_personal_data_masked(self, case: Case) -> bool:
        return not self.context.get("show_personal")


# Serializers are fields themselves (with a label, a required flag): these declared fields shadow
# those attributes only in the class body, where DRF collects them.
class TransitionFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]
    choices = serializers.ListField(child=serializers.DictField(), allow_null=True)


class TransitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    blocked = serializers.CharField(allow_null=True, help_text=_("条件尚未满足时的原因"))
    arguments = TransitionFieldSerializer(many=True, help_text=_("该操作表单的字段：POST 时放在 arguments 中"))


_SCALAR = (str, int, float, bool)


class TransitionRequestSerializer(serializers.Serializer):
    """A move: the reason, the other arguments its form asks for, and optionally the state the client
    last saw (the move is refused if the case moved on meanwhile)."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")
    arguments = serializers.DictField(required=False, default=dict, help_text=_("该操作表单的其他字段"))
    expected_state = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)

    def validate_arguments(self, value: dict[str, Any]) -> dict[str, Any]:
        """Form fields take text, numbers, yes/no or lists of them; anything else is refused here."""
        clean: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            if isinstance(item, list) and all(isinstance(v, _SCALAR) for v in item):
                clean[key] = [v if isinstance(v, bool) else str(v) for v in item]
            elif isinstance(item, _SCALAR):
                clean[key] = item if isinstance(item, bool) else str(item)
            else:
                raise serializers.ValidationError(_("“%(name)s”的值应为文字、数字、是否或其列表。") % {"name": key})
        return clean


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    detail = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """An error (RFC 9457, ``application/problem+json``)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(allow_blank=True)
    instance = serializers.CharField(allow_blank=True)
    # Shadows Serializer.errors in the class body only (DRF collects declared fields from there);
    # this serializer only describes the schema and never validates.
    errors = ProblemErrorSerializer(many=True, required=False,  # type: ignore[assignment]
                                    help_text=_("仅 400：每处错误一项"))


def problems(*statuses: int, negotiated: bool = True) -> dict[tuple[int, str], type[ProblemSerializer]]:
    """The schema's error answers of an endpoint: problem documents with these statuses (and 401, 413,
    429, which any endpoint may give, and 406, which any endpoint answering JSON gives to a client that
    accepts no JSON; a download, ``negotiated=False``, answers whatever ``Accept`` says)."""
    always = {401, 413, 429, 406} if negotiated else {401, 413, 429}
    return {(code, "application/problem+json"): ProblemSerializer for code in sorted({*always, *statuses})}
