from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_static.models import StaticDevice

from accounts import gate, otp
from accounts.forms import SetupForm, TokenForm
from accounts.models import AccountProfile

SETUP_KEY = "accounts.totp_setup_key"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        AccountProfile.objects.update_or_create(
            user=form.user, defaults={"must_change_password": False, "password_changed_at": timezone.now()})
        self.request.session[gate.MUST_CHANGE] = False
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["forced"] = bool(self.request.session.get(gate.MUST_CHANGE))
        return context


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: the key waits in the session until a code from it is shown."""
    if otp.has_totp(request.user):
        return render(request, "accounts/otp_setup.html", {"enabled": True,
                                                            "codes_left": otp.recovery_codes_left(request.user)})
    key = request.session.get(SETUP_KEY) or otp.new_key()
    request.session[SETUP_KEY] = key
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = otp.confirm_totp(request.user, key, form.cleaned_data["token"])
        if device is not None:
            from django_otp import login as otp_login

            del request.session[SETUP_KEY]
            otp_login(request, device)
            request.session[gate.HAS_DEVICE] = True
            codes = otp.new_recovery_codes(request.user)
            messages.success(request, _("双因素认证已启用。"))
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})
        form.add_error("token", _("验证码不正确，请核对手机时间后重试。"))
    uri = otp.provisioning_uri(request.user, key)
    return render(request, "accounts/otp_setup.html", {
        "form": form, "qr": otp.qr_svg(uri), "secret": otp.secret_base32(key),
        "required": gate.required_step(request) == "otp_setup", "next": request.GET.get("next", "")})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app, or one recovery code."""
    from django_otp import login as otp_login

    user = request.user
    if gate.is_verified(user):
        return HttpResponseRedirect(_next_url(request))
    if not gate.has_confirmed_device(user):
        request.session[gate.HAS_DEVICE] = False  # removed by an administrator meanwhile
        return HttpResponseRedirect(_next_url(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = otp.verify(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                messages.warning(request, _("已使用一个恢复码，还剩 %(n)d 个。") % {"n": otp.recovery_codes_left(user)})
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", _("验证码不正确或已使用。多次输错后需等待片刻再试。"))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": request.GET.get("next", "")})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Ten new recovery codes, shown once; the old ones stop working."""
    if not otp.has_totp(request.user):
        return redirect("otp_setup")
    if request.method == "POST":
        codes = otp.new_recovery_codes(request.user)
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("home")})
    return render(request, "accounts/recovery_codes.html", {"codes_left": otp.recovery_codes_left(request.user)})


def lockout(request: HttpRequest, original_response: HttpResponse | None = None,
            credentials: dict[str, Any] | None = None) -> HttpResponse:
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): when to try again, in Chinese.

    Each failed attempt during the lockout starts the cool-off again
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so it ends a cool-off after now.
    """
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    retry_at = timezone.localtime(timezone.now() + cool_off) if cool_off else None
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    return render(request, "accounts/lockout.html", {"retry_at": retry_at, "minutes": minutes},
                  status=getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429))
