"""The notification centre: one's own notifications only (anyone else's is a 404)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications.forms import PreferenceForm
from notifications.models import Notification, NotificationPreference


@login_required
def notification_list(request) -> HttpResponse:
    mine = Notification.objects.filter(user=request.user).select_related("case")
    page = Paginator(mine, 50).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_POST
def notification_read(request, pk: int) -> HttpResponse:
    n = get_object_or_404(Notification, pk=pk, user=request.user)
    if n.read_at is None:
        n.read_at = timezone.now()
        n.save(update_fields=["read_at"])
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("notification_list")


@login_required
@require_POST
def notification_read_all(request) -> HttpResponse:
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
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
