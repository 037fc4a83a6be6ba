"""The user's own access tokens (账户 → 访问令牌): list, create, revoke. Creating one needs a verified
second factor whenever the user has one or must have one; the token is shown once."""
from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import MaxValueValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api import tokens
from api.models import AccessToken


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名称"), max_length=60,
                           help_text=gettext_lazy("写明用途，如“区平台案件同步”，便于日后辨认和撤销。"))
    scope = forms.ChoiceField(label=gettext_lazy("权限范围"), choices=AccessToken.Scope.choices,
                              initial=AccessToken.Scope.READ, widget=forms.RadioSelect,
                              help_text=gettext_lazy("只读令牌只能查询；读写令牌还能办理案件操作。"))
    days = forms.IntegerField(label=gettext_lazy("有效天数"), min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        longest = tokens.max_days()  # a setting: read when the form is made, not at import
        days = self.fields["days"]
        days.validators.append(MaxValueValidator(longest))
        days.initial = tokens.default_days()
        days.help_text = _("最长 %(n)d 天；到期后令牌自动失效。") % {"n": longest}
        days.widget.attrs.update({"min": 1, "max": longest})


def second_factor_missing(request: HttpRequest) -> bool:
    """Creating a token needs a verified second factor when the user has a device, or must have one."""
    from accounts import gate
    from mediation.permissions import needs_second_factor

    user = request.user
    required = gate.has_confirmed_device(user) or (settings.OTP_REQUIRED and needs_second_factor(user))
    return required and not gate.is_verified(user)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    blocked = second_factor_missing(request)
    form = TokenCreateForm(request.POST or None)
    created = None
    if request.method == "POST":
        if blocked:
            messages.error(request, _("创建访问令牌前须先通过双因素认证。"))
        elif form.is_valid():
            created = tokens.token_create(actor=request.user, name=form.cleaned_data["name"],
                                          scope=form.cleaned_data["scope"], days=form.cleaned_data["days"])
            form = TokenCreateForm()
    status = 403 if request.method == "POST" and blocked else 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/api_tokens.html", {
        "tokens": tokens.tokens_of(request.user), "form": form, "created": created,
        "second_factor_missing": blocked}, status=status)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = tokens.token_revoke(actor=request.user, token_id=pk)
    except AccessToken.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("访问令牌“%(name)s”已撤销。") % {"name": token.name})
    return redirect("api_tokens")
