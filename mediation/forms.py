"""Forms: they parse and present; the services decide and write.

Longer than most modules: every form of the pages and the API is here, with the groups of forms
(intake, agreement) that the intake page, the agreement editor and the API share."""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mediation import identity, services
from mediation.models import (
    ApplicationForm,
    Attachment,
    CaseParty,
    Category,
    Channel,
    ConsultationOutcome,
    ConsultationSide,
    FollowUp,
    Instalment,
    Organisation,
    Referral,
    RespondentCapacity,
    Sex,
    Signature,
    WorkForm,
)
from mediation.services import parse_amount
from mediation.services.registration import WORKERS_MAX
from mediation.typing import User
from mediation.widgets import ListedChoiceIterator, ListedModelChoiceField, ListedUserChoiceField
from workflows.states import CaseState, Line

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def user_label(user: User) -> str:
    return user.get_full_name() or user.get_username()


_FieldT = TypeVar("_FieldT", bound=forms.Field)


def field_of(form: forms.BaseForm, name: str, kind: type[_FieldT]) -> _FieldT:
    """``form.fields[name]`` as the field class it is (``fields`` is typed as plain ``Field``)."""
    field = form.fields[name]
    assert isinstance(field, kind), (name, type(field))
    return field


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return user_label(obj)


class UsersChoiceField(forms.ModelMultipleChoiceField):
    iterator = ListedChoiceIterator  # one plain query, no server-side cursor (mediation/widgets.py)

    def label_from_instance(self, obj: User) -> str:
        return user_label(obj)


class AmountField(forms.CharField):
    """Yuan as typed by people: "12,000", "3500.5"; refused in words otherwise."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_amount(value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["amount"]) from None


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, widget=forms.TextInput(
        attrs={"type": "search", "placeholder": _("案号、当事人、单位或完整身份证号")}))
    # The list is shown all day: its choice lists are read cheaply (mediation/widgets.py).
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *CaseState.choices])
    line = forms.TypedChoiceField(label=_("防线"), required=False, coerce=int, empty_value=None,
                                  choices=[("", _("全部")), *Line.choices])
    organisation = ListedModelChoiceField(label=_("承办组织"), required=False, queryset=Organisation.objects.none(),
                                          empty_label=_("全部"))
    category = ListedModelChoiceField(label=_("争议类别"), required=False, queryset=Category.objects.all(),
                                      to_field_name="code", empty_label=_("全部"))
    channel = forms.ChoiceField(label=_("来源渠道"), required=False, choices=[("", _("全部")), *Channel.choices])
    mediator = ListedUserChoiceField(label=_("调解员"), required=False, queryset=User.objects.none(),
                                     empty_label=_("全部"))
    received_from = forms.DateField(label=_("收案日期自"), required=False, widget=DATE)
    received_to = forms.DateField(label=_("至"), required=False, widget=DATE)
    overdue = forms.BooleanField(label=_("仅看超期"), required=False)
    online = forms.BooleanField(label=_("仅看网上申请"), required=False)

    def __init__(self, *args: Any,
                 organisations: QuerySet[Organisation] | Callable[[], QuerySet[Organisation]] | None = None,
                 mediators: QuerySet[User] | Callable[[], QuerySet[User]] | None = None, **kwargs: Any) -> None:
        """``organisations`` and ``mediators``: the places and people the lists may name, or what builds
        them when first asked for (``ListedModelChoiceField.build_queryset_when_asked``)."""
        super().__init__(*args, **kwargs)
        for name, given in (("organisation", organisations), ("mediator", mediators)):
            field = field_of(self, name, ListedModelChoiceField)
            if isinstance(given, QuerySet):
                field.queryset = given
            elif given is not None:
                field.build_queryset_when_asked(given)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            raise ValidationError(_("开始日期不能晚于结束日期。"))
        return data


class IntakeForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("受理组织"), queryset=Organisation.objects.none(), empty_label=None)
    application_form = forms.ChoiceField(label=_("申请方式"), choices=ApplicationForm.choices, widget=forms.RadioSelect,
                                         initial=ApplicationForm.ORAL)
    received_at = forms.DateTimeField(label=_("收到申请时间"), widget=DATETIME,
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])
    channel = forms.ChoiceField(label=_("来源渠道"), choices=Channel.choices)
    categories = forms.ModelMultipleChoiceField(label=_("争议类别"), queryset=Category.objects.all(),
                                                to_field_name="code", widget=forms.CheckboxSelectMultiple)
    dispute_summary = forms.CharField(label=_("争议事项"), widget=forms.Textarea(attrs={"rows": 3}),
                                      help_text=_("口头申请的，照实记录申请人陈述的争议事项"))
    reasons = forms.CharField(label=_("申请理由"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    dispute_known_on = forms.DateField(label=_("知道权利被侵害之日"), required=False, widget=DATE,
                                       help_text=_("用于计算一年仲裁时效"))
    employer_name = forms.CharField(label=_("单位名称"), max_length=200)
    employer_credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=30, required=False)
    employer_legal_representative = forms.CharField(label=_("法定代表人"), max_length=50, required=False)
    employer_address = forms.CharField(label=_("住所地"), max_length=200, required=False)
    employer_phone = forms.CharField(label=_("单位电话"), max_length=30, required=False)
    employer_industry = forms.CharField(label=_("行业"), max_length=50, required=False)
    employer_has_union = forms.BooleanField(label=_("已建工会"), required=False)
    employer_capacity = forms.ChoiceField(label=_("责任身份"), choices=RespondentCapacity.choices, required=False,
                                          initial=RespondentCapacity.EMPLOYER,
                                          help_text=_("劳务派遣的，劳务派遣单位和用工单位都要列为被申请人"))
    workers_involved = forms.IntegerField(
        label=_("涉及劳动者人数"), required=False, min_value=1, max_value=WORKERS_MAX,
        help_text=_("有共同请求的劳动者总数；不填即为所列申请人数。10人以上为集体争议，可推举代表参加调解"))
    is_new_employment_form = forms.BooleanField(label=_("新就业形态劳动者"), required=False)
    work_form = forms.ChoiceField(label=_("新就业形态类型"), required=False, choices=[("", "—"), *WorkForm.choices])
    platform_name = forms.CharField(label=_("平台或用工合作方"), max_length=200, required=False)
    platform_credit_code = forms.CharField(label=_("平台统一社会信用代码"), max_length=30, required=False)
    intake_token = forms.UUIDField(widget=forms.HiddenInput)
    confirm_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organisations: QuerySet[Organisation] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organisations is not None:
            field_of(self, "organisation", forms.ModelChoiceField).queryset = organisations

    def clean_received_at(self):
        value = self.cleaned_data["received_at"]
        if value > timezone.now() + datetime.timedelta(minutes=5):
            raise ValidationError(_("收到申请的时间不能晚于当前时间。"))
        return value

    def clean_employer_credit_code(self):
        value = self.cleaned_data["employer_credit_code"].strip()
        if value:
            identity.validate_credit_code(value)
            return identity.normalize_credit_code(value)
        return ""

    def clean_platform_credit_code(self):
        value = self.cleaned_data["platform_credit_code"].strip()
        if value:
            identity.validate_credit_code(value)
            return identity.normalize_credit_code(value)
        return ""

    def clean_employer_phone(self):
        value = identity.normalize_phone(self.cleaned_data["employer_phone"])
        if value:
            identity.validate_phone(value)
        return value


class PersonForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    sex = forms.ChoiceField(label=_("性别"), choices=[("", "—"), *Sex.choices], required=False)
    id_number = forms.CharField(label=_("公民身份号码"), max_length=30, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    address = forms.CharField(label=_("住址"), max_length=200, required=False)

    def clean_id_number(self):
        value = self.cleaned_data["id_number"].strip()
        if value:
            identity.validate_id_number(value)
            return identity.normalize_id_number(value)
        return ""

    def clean_phone(self):
        value = identity.normalize_phone(self.cleaned_data["phone"])
        if value:
            identity.validate_phone(value)
        return value


class ApplicantForm(PersonForm):
    is_representative = forms.BooleanField(label=_("推举的代表"), required=False)


class RespondentForm(forms.Form):
    """A further respondent beside the principal one (劳动争议调解仲裁法 art. 22: joint parties)."""

    name = forms.CharField(label=_("单位名称"), max_length=200)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=30, required=False)
    legal_representative = forms.CharField(label=_("法定代表人"), max_length=50, required=False)
    address = forms.CharField(label=_("住所地"), max_length=200, required=False)
    capacity = forms.ChoiceField(label=_("责任身份"), choices=RespondentCapacity.choices,
                                 initial=RespondentCapacity.JOINTLY_LIABLE)

    def clean_credit_code(self):
        value = self.cleaned_data["credit_code"].strip()
        if value:
            identity.validate_credit_code(value)
            return identity.normalize_credit_code(value)
        return ""


class ClaimForm(forms.Form):
    description = forms.CharField(label=_("请求事项"), max_length=200)
    category = forms.ModelChoiceField(label=_("类别"), queryset=Category.objects.all(), to_field_name="code",
                                      required=False, empty_label="—")
    amount = AmountField(label=_("金额（元）"))


class BaseRequiredFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        filled = [f for f in self.forms if f.has_changed() and not f.cleaned_data.get(DELETION_FIELD_NAME)]
        if len(filled) < self.min_num:
            # BaseFormSet.__init__ sets error_messages (Django 4.1+); django-stubs lacks the attribute.
            message = self.error_messages["too_few_forms"]  # type: ignore[attr-defined]
            raise ValidationError(message % {"num": self.min_num})


ApplicantFormSet = forms.formset_factory(ApplicantForm, formset=BaseRequiredFormSet, extra=0, min_num=1,
                                         validate_min=True, can_delete=True)
RespondentFormSet = forms.formset_factory(RespondentForm, extra=0, can_delete=True)
AgentFormSet = forms.formset_factory(PersonForm, extra=0, can_delete=True)
ClaimFormSet = forms.formset_factory(ClaimForm, extra=0, min_num=0, can_delete=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 3}))


class WithdrawForm(forms.Form):
    """The applicant withdraws the application for mediation: the case ends. Not a mediator's own
    request (an escalation request is taken back with 撤回提级申请), so it is confirmed explicitly."""

    applicant_withdrew = forms.BooleanField(
        label=_("申请人已书面或口头明确撤回调解申请"), required=True,
        error_messages={"required": _("请确认申请人已明确撤回调解申请；撤回后案件终结。")})
    reason = forms.CharField(label=_("撤回情况"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("如：申请人某日书面申请撤回，或某日电话表示撤回及其理由"))


class ApproveEscalationForm(forms.Form):
    reason = forms.CharField(label=_("审批意见"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    mediators = UsersChoiceField(label=_("指派调解员"), queryset=User.objects.none(), required=False,
                                 widget=forms.CheckboxSelectMultiple, help_text=_("可在批准时一并指派上级组织的调解员"))

    def __init__(self, *args: Any, candidates: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if candidates is not None:
            field_of(self, "mediators", UsersChoiceField).queryset = candidates


class EscalationForm(forms.Form):
    to_organisation = forms.ModelChoiceField(label=_("提级到"), queryset=Organisation.objects.none(), empty_label=None)
    reason = forms.CharField(label=_("提级理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, targets: Iterable[Organisation] = (), user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        targets = list(targets)
        field = field_of(self, "to_organisation", forms.ModelChoiceField)
        field.queryset = Organisation.objects.filter(pk__in=[o.pk for o in targets])
        # Keep the nearest-first order of the targets in the select.
        field.choices = [(o.pk, o.name) for o in targets]
        if user is not None:
            # A target where nobody but the requester could decide is marked (the service refuses it),
            # and the nearest one somebody can decide is offered first.
            from mediation.selectors import decided_by_another

            open_to = [o.pk for o in targets if decided_by_another(o, exclude=user)]
            field.choices = [(o.pk, o.name if o.pk in open_to else _("%(name)s（除您之外无人可以审批）")
                              % {"name": o.name}) for o in targets]
            if open_to and not self.is_bound:
                self.initial.setdefault("to_organisation", open_to[0])


class ReferForm(forms.Form):
    destination = forms.ChoiceField(label=_("移交去向"), choices=Referral.Destination.choices)
    body = forms.CharField(label=_("接收机构"), max_length=100)
    referred_on = forms.DateField(label=_("移交日期"), widget=DATE)
    note = forms.CharField(label=_("移交说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CloseForm(forms.Form):
    archive_number = forms.CharField(label=_("档案号"), max_length=60, required=False)
    reason = forms.CharField(label=_("结案意见"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class SessionForm(forms.Form):
    held_at = forms.DateTimeField(label=_("调解时间"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M"])
    place = forms.CharField(label=_("调解地点"), max_length=200)
    attendees = forms.CharField(label=_("参加人员"), widget=forms.Textarea(attrs={"rows": 2}))
    record = forms.CharField(label=_("调解笔录"), widget=forms.Textarea(attrs={"rows": 8}))
    result = forms.CharField(label=_("本次结果"), max_length=200, required=False)


class AgreementForm(forms.Form):
    dispute_summary = forms.CharField(label=_("争议事项"), widget=forms.Textarea(attrs={"rows": 3}))
    claims_summary = forms.CharField(label=_("当事人请求"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    waived = forms.CharField(label=_("放弃的权利"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    copies = forms.IntegerField(label=_("份数"), min_value=2, max_value=50, required=False)


class TermForm(forms.Form):
    text = forms.CharField(label=_("条款内容"), widget=forms.Textarea(attrs={"rows": 2}))


class InstalmentForm(forms.Form):
    amount = AmountField(label=_("金额（元）"))
    due_on = forms.DateField(label=_("履行期限"), widget=DATE)
    method = forms.ChoiceField(label=_("支付方式"), choices=Instalment.Method.choices)


TermFormSet = forms.formset_factory(TermForm, formset=BaseRequiredFormSet, extra=0, min_num=1, validate_min=True,
                                    can_delete=True)
InstalmentFormSet = forms.formset_factory(InstalmentForm, extra=0, can_delete=True)


class SignatureForm(forms.Form):
    document_code = forms.CharField(
        label=_("签署版验证码"), max_length=40,
        help_text=_("签字盖章的纸质件页脚所印的验证码，如 7KQ2-M9XD-4HRT-0BWC"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    # Only a party's signature names the party (app.js hides the field for the mediator and the seal).
    kind = forms.ChoiceField(label=_("签章类型"), choices=Signature.Kind.choices,
                             widget=forms.Select(attrs={"data-only-for-party": "party"}))
    party = forms.TypedChoiceField(label=_("当事人"), coerce=int, required=False, empty_value=None)
    signer_name = forms.CharField(label=_("签署人"), max_length=100, required=False)
    signed_on = forms.DateField(label=_("签署日期"), widget=DATE)

    def __init__(self, *args: Any, parties: Iterable[CaseParty] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each party in its part (被申请人（用工单位）, 申请人（代表）): who signs is chosen by what they are.
        field_of(self, "party", forms.TypedChoiceField).choices = [
            ("", "—"), *((p.pk, f"{p.title}：{p.name}") for p in parties)]


class PaymentForm(forms.Form):
    paid_on = forms.DateField(label=_("实际履行日期"), widget=DATE)
    paid_amount = AmountField(label=_("实际履行金额（元）"))
    payment_note = forms.CharField(label=_("履行说明"), max_length=200, required=False,
                                   help_text=_("实付高于本期应付时必填，如：含迟延履行的利息、一次性付清其余各期"))


class PaymentCorrectionForm(PaymentForm):
    """A recorded payment corrected, with the reason; or cleared when it was recorded by mistake."""

    clear = forms.BooleanField(label=_("登记有误，撤销本期履行登记"), required=False)
    reason = forms.CharField(label=_("更正理由"), widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["paid_on", "paid_amount", "payment_note", "clear", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].required = False
        self.fields["paid_amount"].required = False

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("clear"):
            data["paid_on"] = data["paid_amount"] = None
            data["payment_note"] = ""
        else:
            for name, message in (("paid_on", _("请填写实际履行日期。")), ("paid_amount", _("请填写实际履行金额。"))):
                if name not in self.errors and data.get(name) in (None, ""):
                    self.add_error(name, message)
        return data


class FollowUpForm(forms.Form):
    visited_on = forms.DateField(label=_("回访日期"), widget=DATE)
    method = forms.ChoiceField(label=_("回访方式"), choices=FollowUp.Method.choices)
    contact = forms.CharField(label=_("回访对象"), max_length=100)
    content = forms.CharField(label=_("回访情况"), widget=forms.Textarea(attrs={"rows": 3}))
    satisfied = forms.BooleanField(label=_("当事人满意"), required=False, initial=True)


class ReferralOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("处理结果"),
                                choices=[c for c in Referral.Outcome.choices if c[0] != Referral.Outcome.PENDING])
    outcome_on = forms.DateField(label=_("结果日期"), widget=DATE)
    summary = forms.CharField(label=_("结果摘要"), widget=forms.Textarea(attrs={"rows": 2}))
    amount = AmountField(label=_("裁判或调解金额（元）"), required=False)


class AssignForm(forms.Form):
    mediators = UsersChoiceField(label=_("承办调解员"), queryset=User.objects.none(),
                                 widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, candidates: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field_of(self, "mediators", UsersChoiceField).queryset = candidates


class ExtendForm(forms.Form):
    extra_days = forms.IntegerField(label=_("延长天数"), min_value=1, max_value=90)
    consent_note = forms.CharField(label=_("双方同意情况"), widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text=_("如：双方当事人于某日书面同意延长，已签字附卷"))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("文件"))
    kind = forms.ChoiceField(label=_("类别"), choices=Attachment.Kind.choices)
    description = forms.CharField(label=_("说明"), max_length=200, required=False)


class ConsultationForm(forms.Form):
    """A consultation (协商) and the other side's answer (人社部令第17号); the service checks the dates."""

    requested_on = forms.DateField(label=_("提出协商日期"), widget=DATE)
    requested_by = forms.ChoiceField(label=_("提出协商的一方"), choices=ConsultationSide.choices)
    replied_on = forms.DateField(label=_("对方答复日期"), widget=DATE, required=False,
                                 help_text=_("对方应在收到协商要求后5日内作出口头或书面回应；未答复的请留空"))
    outcome = forms.ChoiceField(label=_("协商结果"), choices=ConsultationOutcome.choices,
                                help_text=_("5日内不作回应的，视为不愿协商；答复期限届满后方可登记“逾期未答复”"))
    note = forms.CharField(label=_("协商情况"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AcceptForm(forms.Form):
    """Acceptance needs the respondents' consent to mediate (人社部令第17号): confirmed, dated, and how."""

    consent_confirmed = forms.BooleanField(
        label=_("已征询被申请人意见，被申请人（全部）同意调解"),
        error_messages={"required": _("调解须双方自愿：受理前须征得被申请人同意调解（人社部令第17号）。"
                                      "被申请人不同意调解的，请选择“不予受理”。")})
    consent_recorded_on = forms.DateField(label=_("征询意见日期"), widget=DATE)
    consent_note = forms.CharField(label=_("征询方式和情况"), max_length=200,
                                   help_text=_("如：电话征询被申请人人事负责人，同意调解"))


class RejectForm(forms.Form):
    """Not accepted: outside the scope, the respondent refuses mediation (人社部令第17号), or another reason."""

    SCOPE, RESPONDENT_REFUSED, OTHER = "scope", "respondent_refused", "other"
    reason_kind = forms.ChoiceField(label=_("不予受理的原因"), choices=[
        (SCOPE, _("不属于劳动争议调解受理范围")), (RESPONDENT_REFUSED, _("被申请人不同意调解")), (OTHER, _("其他"))])
    refused_on = forms.DateField(label=_("被申请人表示不同意调解的日期"), widget=DATE, required=False)
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reason_kind") == self.RESPONDENT_REFUSED and not data.get("refused_on"):
            self.add_error("refused_on", _("请填写被申请人表示不同意调解的日期。"))
        return data


def live_forms(formset: forms.BaseFormSet) -> list[forms.Form]:
    """The formset's filled rows that are not marked for deletion, in order; each with
    ``cleaned_data_without_delete`` (its values without the deletion box)."""
    live = []
    for form in formset.forms:
        if form.has_changed() and not form.cleaned_data.get(DELETION_FIELD_NAME):
            form.cleaned_data_without_delete = {
                k: v for k, v in form.cleaned_data.items() if k != DELETION_FIELD_NAME}
            live.append(form)
    return live


class FormGroup:
    """A page's main form with its formsets (rows): one validity, and errors placed and read by row."""

    main: forms.Form

    def formsets(self) -> dict[str, forms.BaseFormSet]:
        raise NotImplementedError

    def is_valid(self) -> bool:
        return all([self.main.is_valid(), *(f.is_valid() for f in self.formsets().values() if f.is_bound)])

    def add_errors(self, exc: ValidationError) -> None:
        """A service's errors on the right form: "applicants-0-id_number" on the first filled row's field,
        a main form field's on that field, anything else on the whole form."""
        for key, errors in exc.message_dict.items():
            placed = False
            for prefix, formset in self.formsets().items():
                if key.startswith(prefix + "-") and key.count("-") >= 2:
                    _prefix, index, name = key.split("-", 2)
                    live = live_forms(formset) if formset.is_bound else []
                    form = live[int(index)] if index.isdigit() and int(index) < len(live) else None
                    if form is not None:
                        form.add_error(name if name in form.fields else None, errors)
                        placed = True
            if not placed:
                self.main.add_error(key if key in self.main.fields else None, errors)

    def errors(self) -> dict[str, list[str]]:
        """Every error by field: the main form's by name, a row's as "applicants.0.id_number" (its place
        among the rows sent), a formset's own under its prefix, the whole form's under "__all__"."""
        found: dict[str, list[str]] = {k: [str(e) for e in v] for k, v in self.main.errors.items()}
        for prefix, formset in self.formsets().items():
            if not formset.is_bound:
                continue
            for index, form in enumerate(formset.forms):
                for name, errors in form.errors.items():
                    key = f"{prefix}.{index}" if name == "__all__" else f"{prefix}.{index}.{name}"
                    found.setdefault(key, []).extend(str(e) for e in errors)
            if formset.non_form_errors():
                found.setdefault(prefix, []).extend(str(e) for e in formset.non_form_errors())
        return found


class IntakeForms(FormGroup):
    """The intake's forms together: the application, its applicants, claims, agents and further
    respondents. The intake page and the API read an application through these (``registration``)
    and put the registration service's errors back on them (``add_errors``)."""

    def __init__(self, data: Any, *, organisations: QuerySet[Organisation]) -> None:
        self.main = self.intake = IntakeForm(data, organisations=organisations)
        self.applicants = ApplicantFormSet(data, prefix="applicants")
        self.claims = ClaimFormSet(data, prefix="claims")
        self.agents = AgentFormSet(data, prefix="agents")
        # Further respondents are optional: a form sent without their rows has none.
        self.respondents = RespondentFormSet(data if "respondents-TOTAL_FORMS" in data else None,
                                             prefix="respondents")

    def formsets(self) -> dict[str, forms.BaseFormSet]:
        return {"applicants": self.applicants, "claims": self.claims, "agents": self.agents,
                "respondents": self.respondents}

    def registration(self) -> services.Registration:
        """The application as the registration service takes it (after ``is_valid``)."""
        d = self.intake.cleaned_data
        respondents = live_forms(self.respondents) if self.respondents.is_bound else []
        return services.Registration(
            organisation=d["organisation"], received_at=d["received_at"], channel=d["channel"],
            application_form=d["application_form"], dispute_summary=d["dispute_summary"], reasons=d["reasons"],
            categories=[c.code for c in d["categories"]],
            employer=services.EmployerInput(
                name=d["employer_name"], credit_code=d["employer_credit_code"],
                legal_representative=d["employer_legal_representative"], address=d["employer_address"],
                phone=d["employer_phone"], industry=d["employer_industry"], has_union=d["employer_has_union"]),
            applicants=[services.PersonInput(**f.cleaned_data_without_delete)  # type: ignore[attr-defined]
                        for f in live_forms(self.applicants)],
            claims=[services.ClaimInput(description=f.cleaned_data["description"], amount=f.cleaned_data["amount"],
                                        category_code=f.cleaned_data["category"].code
                                        if f.cleaned_data.get("category") else "") for f in live_forms(self.claims)],
            agents=[services.PersonInput(**f.cleaned_data_without_delete)  # type: ignore[attr-defined]
                    for f in live_forms(self.agents)],
            is_new_employment_form=d["is_new_employment_form"], work_form=d["work_form"],
            platform=services.EmployerInput(name=d["platform_name"], credit_code=d["platform_credit_code"],
                                            is_platform=True) if d["platform_name"].strip() else None,
            dispute_known_on=d["dispute_known_on"],
            employer_capacity=d["employer_capacity"] or "employer", workers_involved=d["workers_involved"],
            other_respondents=[services.RespondentInput(employer=services.EmployerInput(
                name=f.cleaned_data["name"], credit_code=f.cleaned_data["credit_code"],
                legal_representative=f.cleaned_data["legal_representative"], address=f.cleaned_data["address"]),
                capacity=f.cleaned_data["capacity"]) for f in respondents],
        )


class AgreementForms(FormGroup):
    """The agreement editor's forms together: the agreement, its numbered terms and its instalments.
    The editor page and the API write a draft through ``draft`` (``services.agreement_draft``)."""

    def __init__(self, data: Any = None, *, draft: Any = None, dispute_summary: str = "") -> None:
        if data is None and draft is not None:
            self.form = AgreementForm(initial={"dispute_summary": draft.dispute_summary,
                                               "claims_summary": draft.claims_summary, "waived": draft.waived,
                                               "copies": draft.copies})
            self.terms = TermFormSet(prefix="terms", initial=[{"text": t.text} for t in draft.terms.all()])
            self.instalments = InstalmentFormSet(prefix="instalments", initial=[
                {"amount": i.amount, "due_on": i.due_on, "method": i.method} for i in draft.instalments.all()])
        elif data is None:
            # The claims are itemised in the agreement from the case; 当事人请求 is for what they add to them.
            self.form = AgreementForm(initial={"dispute_summary": dispute_summary})
            self.terms = TermFormSet(prefix="terms", initial=[{}])
            self.instalments = InstalmentFormSet(prefix="instalments")
        else:
            self.form = AgreementForm(data)
            self.terms = TermFormSet(data, prefix="terms")
            self.instalments = InstalmentFormSet(data, prefix="instalments")
        self.main = self.form

    def formsets(self) -> dict[str, forms.BaseFormSet]:
        return {"terms": self.terms, "instalments": self.instalments}

    def draft(self, *, case_id: int, actor: Any) -> Any:
        """Write the draft (after ``is_valid``); the service's ValidationError is left to the caller."""
        d = self.form.cleaned_data
        return services.agreement_draft(
            case_id=case_id, actor=actor, dispute_summary=d["dispute_summary"],
            claims_summary=d["claims_summary"], waived=d["waived"], copies=d["copies"],
            terms=[f.cleaned_data["text"] for f in live_forms(self.terms)],
            instalments=[services.InstalmentInput(amount=f.cleaned_data["amount"], due_on=f.cleaned_data["due_on"],
                                                  method=f.cleaned_data["method"])
                         for f in live_forms(self.instalments)])
