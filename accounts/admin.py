"""An administrator who sets someone else's password makes them choose their own at next login."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountProfile, require_password_change


class PasswordSetByAdministratorMixin:
    """For the User admin: a password set for another user (reset, or a new account) must be changed.

    Mixed into ``mediation.admin.UserAdmin``; the flag is ``AccountProfile.must_change_password``,
    and ``accounts.gate`` keeps the user on the password-change page until it is cleared.
    """

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        users = get_user_model().objects.filter(pk=id)
        before = users.values_list("password", flat=True).first()
        response = super().user_change_password(request, id, form_url)  # type: ignore[misc]
        after = users.values_list("password", flat=True).first()
        if before is not None and after != before and str(request.user.pk) != str(id):
            require_password_change(users.get())
        return response

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if self.has_change_permission(request):  # type: ignore[attr-defined]
            actions["require_password_change"] = (
                _require_password_change, "require_password_change", REQUIRE_CHANGE_LABEL)
        return actions

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        if not change and obj.has_usable_password():
            require_password_change(obj)


REQUIRE_CHANGE_LABEL = _("下次登录须修改密码")


def _require_password_change(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> None:
    for user in queryset:
        require_password_change(user)


@admin.register(AccountProfile)
class AccountProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "must_change_password", "password_changed_at")
    list_filter = ("must_change_password",)
    search_fields = ("user__username", "user__first_name")
    fields = ("user", "must_change_password", "password_changed_at")
    readonly_fields = ("user", "password_changed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
