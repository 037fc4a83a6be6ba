"""The notification centre: one's own notifications only (anyone else's is a 404)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import services
from notifications.forms import PreferenceForm
from notifications.models import NotificationPreference


@login_required
def notification_list(request) -> HttpResponse:
    mine = services.notifications_of(request.user)
    page = Paginator(mine, 50).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_POST
def notification_read(request, pk: int) -> HttpResponse:
    services.notification_mark_read(user=request.user, notification_id=pk)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("notification_list")


@login_required
@require_POST
def notification_read_all(request) -> HttpResponse:
    services.notifications_mark_all_read(user=request.user)
    return redirect("notification_list")


@login_required
def notification_preferences(request) -> HttpResponse:
    pref = NotificationPreference.objects.filter(user=request.user).first() or NotificationPreference(
        user=request.user)
    form = PreferenceForm(request.POST or None, instance=pref)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("提醒设置已保存。"))
        return redirect(reverse("notification_preferences"))
    return render(request, "notifications/preferences.html", {"form": form})
