"""What the API shows of the work on a case (sessions, agreements, signatures, instalments, follow-ups),
and the shape of what it takes to register a case or record that work.

The request serializers only check the shape of the JSON (types, lists); every rule is the web form's
and the service's (mediation/forms.py, mediation/services/): the views hand the values to those.
Rows show what the case page shows to anyone who may read the case; no ID number or phone is in them.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mediation.models import Agreement


def _name(user: Any) -> str | None:
    return (user.get_full_name() or user.get_username()) if user is not None else None


@extend_schema_field(serializers.CharField(allow_null=True))
class UserNameField(serializers.Field):
    """A user as the case page names them: full name, else the username."""

    def to_representation(self, value: Any) -> str | None:
        return _name(value)


# --- rows ---------------------------------------------------------------------------------------------

class SessionSerializer(serializers.Serializer):
    """A mediation session's record (调解笔录), as the case page lists it."""

    id = serializers.IntegerField()
    held_at = serializers.DateTimeField()
    place = serializers.CharField()
    attendees = serializers.CharField()
    record = serializers.CharField()
    result = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")
    mediators = serializers.SerializerMethodField()
    recorded_by = UserNameField()
    recorded_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_mediators(self, session: Any) -> list[str]:
        return [_name(u) or "" for u in session.mediators.all()]


class FollowUpSerializer(serializers.Serializer):
    """A follow-up visit (回访)."""

    id = serializers.IntegerField()
    visited_on = serializers.DateField()
    method = serializers.CharField()
    method_label = serializers.CharField(source="get_method_display")
    contact = serializers.CharField()
    content = serializers.CharField()
    satisfied = serializers.BooleanField()
    recorded_by = UserNameField()
    recorded_at = serializers.DateTimeField()


class InstalmentSerializer(serializers.Serializer):
    """One payment the agreement provides for, and what was paid on it."""

    id = serializers.IntegerField()
    agreement = serializers.IntegerField(source="agreement_id")
    number = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    due_on = serializers.DateField()
    method = serializers.CharField()
    method_label = serializers.CharField(source="get_method_display")
    paid_on = serializers.DateField(allow_null=True)
    paid_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    payment_note = serializers.CharField()
    outstanding = serializers.DecimalField(max_digits=14, decimal_places=2, help_text=_("本期尚欠金额"))


class SignatureSerializer(serializers.Serializer):
    """A signature or seal recorded from the signed paper original."""

    id = serializers.IntegerField()
    agreement = serializers.IntegerField(source="agreement_id")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    party = serializers.IntegerField(source="party_id", allow_null=True)
    signer_name = serializers.CharField()
    signed_on = serializers.DateField()
    recorded_by = UserNameField()
    recorded_at = serializers.DateTimeField()


class TermSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField()


class AgreementSerializer(serializers.Serializer):
    """A version of the mediation agreement (调解协议书): a draft, effective, or superseded by a correction."""

    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    dispute_summary = serializers.CharField()
    claims_summary = serializers.CharField()
    waived = serializers.CharField()
    copies = serializers.IntegerField()
    effective_on = serializers.DateField(allow_null=True)
    drafted_by = UserNameField()
    drafted_at = serializers.DateTimeField()
    signing_code = serializers.SerializerMethodField(help_text=_("当前签署版的验证码；未生成签署版时为空"))
    missing_signatures = serializers.SerializerMethodField(help_text=_("草稿生效前还缺的签字盖章"))
    terms = TermSerializer(many=True, source="terms.all")
    instalments = InstalmentSerializer(many=True, source="instalments.all")
    signatures = SignatureSerializer(many=True, source="signatures.all")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_signing_code(self, agreement: Agreement) -> str | None:
        document = agreement.signing_document
        return document.code_display if document is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_missing_signatures(self, agreement: Agreement) -> list[str]:
        from mediation.services import agreement_missing_signatures

        if agreement.status != Agreement.Status.DRAFT:
            return []
        return [str(m) for m in agreement_missing_signatures(agreement)]


# --- requests -----------------------------------------------------------------------------------------
# Values are passed on to the web form as typed; the form parses them (dates YYYY-MM-DD, amounts
# "12,000.50" or numbers) and answers in the user's language.

def _text(help_text: Any = None) -> serializers.CharField:
    """An optional text field, empty when left out."""
    return serializers.CharField(required=False, allow_blank=True, default="", help_text=help_text)


class _Scalar(serializers.Field):
    """Text, a number or yes/no, passed on to the form as it parses a typed value."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool):
            return data
        if isinstance(data, int | float | str):
            return str(data)
        raise serializers.ValidationError(_("应为文字、数字或是否。"))

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(serializers.CharField())
class TextOrNumber(_Scalar):
    pass


class PersonRequest(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    sex = _text(help_text=_("M（男）、F（女）；可空"))
    id_number = _text(help_text=_("18位公民身份号码"))
    phone = _text()
    address = _text()


class ApplicantRequest(PersonRequest):
    is_representative = serializers.BooleanField(required=False, default=False)


class ClaimRequest(serializers.Serializer):
    description = serializers.CharField(allow_blank=True)
    category = _text(help_text=_("争议类别代码，如 wages"))
    amount = TextOrNumber(help_text=_("金额（元），如 12000 或 \"12,000.50\""))


class RespondentRequest(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    credit_code = _text()
    legal_representative = _text()
    address = _text()
    capacity = _text()


class RegistrationRequest(serializers.Serializer):
    """An application, with the intake page's fields (their names and rules are the form's)."""

    organisation = serializers.IntegerField(help_text=_("受理组织（须为您可以登记案件的组织）"))
    application_form = serializers.CharField(help_text=_("written 或 oral"))
    received_at = serializers.CharField(help_text=_("收到申请时间，YYYY-MM-DDTHH:MM（北京时间）"))
    channel = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField(), help_text=_("争议类别代码"))
    dispute_summary = serializers.CharField(allow_blank=True)
    reasons = _text()
    dispute_known_on = _text()
    employer_name = serializers.CharField(allow_blank=True)
    employer_credit_code = _text()
    employer_legal_representative = _text()
    employer_address = _text()
    employer_phone = _text()
    employer_industry = _text()
    employer_has_union = serializers.BooleanField(required=False, default=False)
    employer_capacity = _text()
    workers_involved = serializers.IntegerField(required=False, allow_null=True, default=None)
    is_new_employment_form = serializers.BooleanField(required=False, default=False)
    work_form = _text()
    platform_name = _text()
    platform_credit_code = _text()
    applicants = ApplicantRequest(many=True)
    claims = ClaimRequest(many=True, required=False, default=list)
    agents = PersonRequest(many=True, required=False, default=list)
    respondents = RespondentRequest(many=True, required=False, default=list, help_text=_("其他被申请人（共同当事人）"))
    intake_token = serializers.UUIDField(required=False, allow_null=True, default=None,
                                         help_text=_("同一登记只算一次：同一令牌再次提交得到同一案件"))
    confirm_duplicate = serializers.BooleanField(
        required=False, default=False,
        help_text=_("申请人对同一用人单位已有未结案件时，确认仍要登记（否则答复 422 并列出这些案件）"))


class SessionRequest(serializers.Serializer):
    held_at = serializers.CharField(help_text=_("调解时间，YYYY-MM-DDTHH:MM（北京时间）"))
    place = serializers.CharField(allow_blank=True)
    attendees = serializers.CharField(allow_blank=True)
    record = serializers.CharField(allow_blank=True)
    result = _text()


class InstalmentRequest(serializers.Serializer):
    amount = TextOrNumber()
    due_on = serializers.CharField(help_text=_("履行期限，YYYY-MM-DD"))
    method = serializers.CharField()


class AgreementDraftRequest(serializers.Serializer):
    """The agreement editor's fields: the draft is written anew from them."""

    dispute_summary = serializers.CharField(allow_blank=True)
    claims_summary = _text()
    waived = _text()
    copies = serializers.IntegerField(required=False, allow_null=True, default=None)
    terms = serializers.ListField(child=serializers.CharField(allow_blank=True), help_text=_("各条款，按序号"))
    instalments = InstalmentRequest(many=True, required=False, default=list)


class SignatureRequest(serializers.Serializer):
    agreement = serializers.IntegerField(required=False, allow_null=True, default=None,
                                         help_text=_("协议的 id；不填即为本案的协议草稿"))
    document_code = serializers.CharField(allow_blank=True, help_text=_("签署版页脚所印的验证码"))
    kind = serializers.CharField(help_text=_("party、mediator 或 seal"))
    party = serializers.IntegerField(required=False, allow_null=True, default=None,
                                     help_text=_("当事人的 id（案件详情 parties 中的 id）；仅 party 需要"))
    signer_name = _text()
    signed_on = serializers.CharField(help_text=_("签署日期，YYYY-MM-DD"))


class PaymentRequest(serializers.Serializer):
    paid_on = serializers.CharField(help_text=_("实际履行日期，YYYY-MM-DD"))
    paid_amount = TextOrNumber(help_text=_("实际履行金额（元）"))
    payment_note = _text(help_text=_("实付高于本期应付时必填"))


class FollowUpRequest(serializers.Serializer):
    visited_on = serializers.CharField(help_text=_("回访日期，YYYY-MM-DD"))
    method = serializers.CharField()
    contact = serializers.CharField(allow_blank=True)
    content = serializers.CharField(allow_blank=True)
    satisfied = serializers.BooleanField(required=False, default=True)
