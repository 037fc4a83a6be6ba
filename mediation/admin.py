"""The district administrator's back office (DOMAIN.md §5: organisations, users, reference data).

The admin is for administrators only: mediators and supervisors work in the
application's own pages and are not staff users. It offers no way around the
case lifecycle (ARCHITECTURE.md habit 5, django-fsm-2 issues #149/#150):

* cases, their parties, claims and agreements are read-only here; nobody can add,
  change or delete a case, edit its ``state`` or move it to another organisation —
  every such move is a service in ``workflows.services`` that checks, locks and logs;
* only a superuser or a holder of ``view_all_cases`` (the administrator role) may
  read cases here, and every case page read goes on the audit trail (``case.read``);
* memberships are edited here, and the user's groups are brought in line with
  their roles (``permissions.sync_role_groups``) after every save or delete.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin import PasswordSetByAdministratorMixin
from mediation import identity, permissions, services
from mediation.audit import log as audit
from mediation.audit.adminlog import AuditedAdmin
from mediation.models import (
    Agreement,
    Case,
    CaseParty,
    Category,
    ClaimItem,
    Employer,
    LineName,
    Membership,
    Organisation,
    OrganisationLevel,
    Person,
)
from mediation.typing import User
from workflows.states import WORKING_STATES

admin.site.site_header = _("“360”劳动争议多元化解 管理后台")
admin.site.site_title = _("劳动争议调解管理后台")
admin.site.index_title = _("系统管理")


may_read_cases_in_admin = permissions.may_read_cases_in_admin


class ReadOnlyAdminMixin:
    """Nothing can be added, changed or deleted; reading is for district administrators."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_read_cases_in_admin(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_read_cases_in_admin(request.user)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


# --- reference data -----------------------------------------------------------------


@admin.register(LineName)
class LineNameAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ("number", "name", "description")
    list_display_links = ("name",)
    ordering = ("number",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The three line numbers are fixed by the state machine (one working state per line);
        # only their names and descriptions are data.
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("number",) if obj is not None else ()


class OrganisationLevelForm(forms.ModelForm):
    class Meta:
        model = OrganisationLevel
        fields = ("name", "rank", "line")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        level = self.instance
        if level.pk is None:
            return data
        rank, line = data.get("rank"), data.get("line")
        if line is not None and line != level.line and Case.objects.filter(
                organisation__level=level, state__in=WORKING_STATES).exists():
            # A working case sits in the state of its organisation's line; changing the
            # line under it would leave it in the wrong state without a logged transition.
            raise ValidationError({"line": _("该层级的组织尚有正在调解的案件，不能更改所属防线。")})
        if rank is not None and rank != level.rank:
            orgs = Organisation.objects.filter(level=level)
            if orgs.filter(parent__level__rank__gte=rank).exists():
                raise ValidationError({"rank": _("该层级有组织的上级组织层级序号不小于新序号，树形结构将不成立。")})
            if Organisation.objects.filter(parent__level=level, level__rank__lte=rank).exists():
                raise ValidationError({"rank": _("该层级有组织的下级组织层级序号不大于新序号，树形结构将不成立。")})
        return data


@admin.register(OrganisationLevel)
class OrganisationLevelAdmin(AuditedAdmin, admin.ModelAdmin):
    form = OrganisationLevelForm
    list_display = ("rank", "name", "line")
    list_display_links = ("name",)
    ordering = ("rank",)


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ("name", "short_name", "level", "parent", "case_number_prefix",
                  "is_peoples_mediation_committee", "served_employers", "address", "phone", "is_active")

    def _post_clean(self) -> None:
        # Organisation.clean() reads self.level; when the level field itself failed
        # validation it is unset and clean() would raise instead of reporting.
        if "level" in self.errors or "parent" in self.errors:
            return
        super()._post_clean()  # type: ignore[misc]  # Django's private hook, not in django-stubs

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        org = self.instance
        new_level = data.get("level")
        if org.pk is None or new_level is None or new_level.pk == org.level_id:
            return data
        if new_level.line != org.level.line and org.cases.filter(state__in=WORKING_STATES).exists():
            raise ValidationError({"level": _("本组织尚有正在调解的案件，不能改为属于另一道防线的层级。")})
        if org.children.filter(level__rank__lte=new_level.rank).exists():
            raise ValidationError({"level": _("下级组织的层级必须低于本组织。")})
        return data


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin, admin.ModelAdmin):
    form = OrganisationForm
    list_display = ("tree_name", "level", "line_display", "parent", "case_number_prefix",
                    "is_peoples_mediation_committee", "is_active")
    list_filter = ("level", "level__line", "is_active", "is_peoples_mediation_committee")
    search_fields = ("name", "short_name")
    list_select_related = ("level", "parent")
    readonly_fields = ("path",)
    autocomplete_fields = ("parent", "served_employers")
    ordering = ("path",)
    fieldsets = (
        (None, {"fields": ("name", "short_name", "level", "parent", "path")}),
        (_("案件"), {"fields": ("case_number_prefix", "is_peoples_mediation_committee", "served_employers")}),
        (_("联系方式"), {"fields": ("address", "phone")}),
        (None, {"fields": ("is_active",)}),
    )

    @admin.display(description=_("名称"), ordering="path")
    def tree_name(self, obj: Organisation) -> str:
        depth = max(obj.path.count("/") - 2, 0)
        return format_html("{}{}", "\u3000" * depth + ("└ " if depth else ""), obj.name)

    @admin.display(description=_("所属防线"), ordering="level__line")
    def line_display(self, obj: Organisation) -> str:
        return obj.level.get_line_display()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The firms a committee serves decide which disputes it may register (DOMAIN.md §4):
        # a change of them is on the audit trail with the firms before and after.
        org = form.instance
        before = sorted(org.served_employers.values_list("name", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(org.served_employers.values_list("name", flat=True))
        if before != after:
            audit.record(actor=request.user, action="admin.change", obj=org, request=request,
                         old={"served_employers": before}, new={"served_employers": after})


@admin.register(Category)
class CategoryAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ("position", "code", "name")
    list_display_links = ("name",)
    search_fields = ("code", "name")
    ordering = ("position", "pk")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a category in use would silently drop it from cases' statistics.
        if obj is not None and (obj.cases.exists() or ClaimItem.objects.filter(category=obj).exists()):
            return False
        return super().has_delete_permission(request, obj)


# --- users and roles ----------------------------------------------------------------


def _sync_users(users: set[Any]) -> None:
    for user in users:
        permissions.sync_role_groups(user)


class MembershipForm(forms.ModelForm):
    """Refuses a membership for an account the editing user may not change (their own, a superuser's)."""

    editor: Any = None

    class Meta:
        model = Membership
        fields = ("user", "organisation", "role", "phone")

    def clean_user(self) -> Any:
        user = self.cleaned_data.get("user")
        if user is not None and not permissions.may_change_account(self.editor, user):
            raise forms.ValidationError(_("您不能修改自己或超级管理员的岗位。"))
        return user


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin, admin.ModelAdmin):
    form = MembershipForm
    list_display = ("user", "user_full_name", "organisation", "role", "phone")
    list_filter = ("role", "organisation__level")
    search_fields = ("user__username", "user__first_name", "user__last_name", "organisation__name")
    list_select_related = ("user", "organisation")
    autocomplete_fields = ("user", "organisation")

    @admin.display(description=_("姓名"))
    def user_full_name(self, obj: Membership) -> str:
        return obj.user.get_full_name()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type("MembershipFormFor", (form,), {"editor": request.user})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or permissions.may_change_account(request.user, obj.user))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or permissions.may_change_account(request.user, obj.user))

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        previous_user_id = form.initial.get("user") if change else None
        super().save_model(request, obj, form, change)
        users = {obj.user}
        if previous_user_id and previous_user_id != obj.user_id:
            users.add(User.objects.get(pk=previous_user_id))
        _sync_users(users)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        user = obj.user
        super().delete_model(request, obj)
        permissions.sync_role_groups(user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        users = set(User.objects.filter(pk__in=queryset.values("user_id")))
        super().delete_queryset(request, queryset)
        _sync_users(users)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("organisation",)
    verbose_name = _("岗位")
    verbose_name_plural = _("岗位（角色与组织）")

    # ``obj`` is the account being edited: one's own memberships are read only.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and permissions.may_change_account(request.user, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and permissions.may_change_account(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and permissions.may_change_account(request.user, obj)


# Re-register the auth User admin with the memberships inline.
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AuditedAdmin, PasswordSetByAdministratorMixin, DjangoUserAdmin):
    inlines = (MembershipInline,)
    list_display = ("username", "first_name", "last_name", "is_active", "is_staff", "roles")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("memberships__organisation")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # Superuser and staff rights, groups and single permissions are the server operators' to give.
        return [(name, {**options, "fields": tuple(f for f in options["fields"]
                                                   if f not in permissions.ACCOUNT_RIGHTS)})
                for name, options in fieldsets]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and permissions.may_change_account(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and permissions.may_change_account(request.user, obj)

    @admin.display(description=_("岗位"))
    def roles(self, obj: Any) -> str:
        return "；".join(f"{m.organisation.display_name}·{m.get_role_display()}" for m in obj.memberships.all())

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The role groups follow the memberships: the groups field on this form cannot
        # give someone a role's permissions without the membership that scopes them.
        permissions.sync_role_groups(form.instance)


# --- people and employers -----------------------------------------------------------


class CorrectionForm(forms.ModelForm):
    """A correction of a record on file: any change needs a reason, and goes through
    ``services.record_correct``, which keeps the old and new values on the record."""

    reason = forms.CharField(label=_("更正理由"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("更正姓名、证件号码等登记信息时必填，将与更正前后的内容一并留存。"))

    def corrections(self) -> dict[str, Any]:
        on_file = {f.name for f in self.instance._meta.fields}
        return {f: self.cleaned_data[f] for f in self.changed_data if f in on_file and f in self.cleaned_data}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk and self.corrections() and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("更正登记信息须写明理由。"))
        return cleaned


class CorrectionAdmin(AuditedAdmin, admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        on_file = type(obj).objects.get(pk=obj.pk)
        services.record_correct(record=on_file, actor=request.user, reason=form.cleaned_data["reason"],
                                changes=form.corrections())


class PersonForm(CorrectionForm):
    id_number = forms.CharField(label=_("更正后的公民身份号码"), required=False, max_length=30,
                                help_text=_("留空则不变。登记的号码在此只显示部分。"))

    class Meta:
        model = Person
        fields = ("name", "sex", "ethnicity", "id_number")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["id_number"] = ""  # never put the full number into the page

    def clean_id_number(self) -> str | None:
        value = self.cleaned_data.get("id_number")
        if not value:
            return self.instance.id_number  # unchanged
        number = identity.normalize_id_number(value)
        identity.validate_id_number(number)
        return number

    def corrections(self) -> dict[str, Any]:
        changes = super().corrections()
        if changes.get("id_number") == self.instance.id_number:
            changes.pop("id_number")
        return changes


@admin.register(Person)
class PersonAdmin(CorrectionAdmin):
    """People on file. Their details as given in a case belong to that case; here only the
    identity is kept, shown masked, and corrected for a reason (docs/permissions.md)."""

    form = PersonForm
    list_display = ("name", "sex", "masked_id_number_display")
    search_fields = ("name",)
    list_filter = ("sex",)
    readonly_fields = ("masked_id_number_display",)
    fields = ("name", "sex", "ethnicity", "masked_id_number_display", "id_number", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people come onto the file through a registration

    @admin.display(description=_("公民身份号码"))
    def masked_id_number_display(self, obj: Person) -> str:
        return obj.masked_id_number


class EmployerForm(CorrectionForm):
    class Meta:
        model = Employer
        fields = ("name", "credit_code", "legal_representative", "address", "phone", "industry",
                  "has_union", "has_mediation_committee", "is_platform")

    def clean_credit_code(self) -> str | None:
        value = self.cleaned_data.get("credit_code")
        return identity.normalize_credit_code(value) if value else None


@admin.register(Employer)
class EmployerAdmin(CorrectionAdmin):
    form = EmployerForm
    list_display = ("name", "masked_credit_code_display", "legal_representative", "industry",
                    "has_union", "has_mediation_committee", "is_platform")
    list_filter = ("has_union", "has_mediation_committee", "is_platform")
    search_fields = ("name",)

    @admin.display(description=_("统一社会信用代码"))
    def masked_credit_code_display(self, obj: Employer) -> str:
        return obj.masked_credit_code


# --- cases: read only ---------------------------------------------------------------


class CasePartyInline(ReadOnlyInline):
    model = CaseParty
    fk_name = "case"
    fields = ("role", "person", "employer", "position")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("person", "employer")


class ClaimItemInline(ReadOnlyInline):
    model = ClaimItem
    fields = ("category", "description", "amount")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("category")


class AgreementInline(ReadOnlyInline):
    model = Agreement
    fk_name = "case"
    fields = ("version", "status", "effective_on", "drafted_by", "drafted_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("drafted_by")


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """For administrators' reading only: the lifecycle is moved by services, never here."""

    list_display = ("number", "state", "organisation", "received_at", "acceptance_due", "mediation_due",
                    "is_collective")
    list_filter = ("state", "organisation__level__line", "channel", "is_collective", "is_new_employment_form")
    search_fields = ("number",)
    list_select_related = ("organisation",)
    show_full_result_count = False
    inlines = (CasePartyInline, ClaimItemInline, AgreementInline)

    fieldsets = (
        (None, {"fields": ("number", "state", "organisation", "registered_organisation", "mediators")}),
        (_("申请"), {"fields": ("received_at", "channel", "application_form", "dispute_summary", "reasons",
                               "categories", "employer", "applicant_count", "is_collective",
                               "is_new_employment_form", "work_form", "platform")}),
        (_("金额"), {"fields": ("amount_claimed", "amount_agreed", "amount_recovered")}),
        (_("期限与结果"), {"fields": ("dispute_known_on", "consultation_requested_on", "accepted_at",
                                  "acceptance_due", "mediation_extra_days", "mediation_due",
                                  "deadlines_confirmed", "rejected_at", "concluded_at",
                                  "agreement_effective_on", "closed_at", "closed_from",
                                  "archive_number")}),
        (_("登记"), {"fields": ("imported", "created_by", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Belt and braces: even if change permission were ever granted, nothing is editable,
        # least of all ``state`` (a protected FSMField) or ``organisation`` (moved only by
        # an approved escalation).
        return tuple(flatten_fieldsets(self.fieldsets))

    @admin.display(description=_("结案前状态"))
    def closed_from(self, obj: Case) -> str:
        return obj.get_closed_from_state_display() or "-"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return super().get_queryset(request).select_related("organisation", "registered_organisation",
                                                            "employer", "platform", "created_by")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            # Administrators' reads are logged like auditors' (DOMAIN.md §5).
            assert isinstance(request.user, User)  # only signed-in staff reach an admin page
            audit.record(actor=request.user, action="case.read", case=int(object_id), new={"purpose": "admin_view"})
        return response

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raise PermissionDenied

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        raise PermissionDenied

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        raise PermissionDenied
