"""What every page's frame shows: the user's roles, counts for the navigation."""
from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from mediation import permissions
from mediation.models import Role


def _workspace(request) -> dict[str, Any]:
    from mediation.frame import frame_escalation_count, frame_figures, frame_reads_audit
    from workflows.clocks import local_today

    user = request.user
    grants = permissions.grants_of(user)
    roles = sorted({Role(g.role).label for g in grants})
    decides = permissions.holds(user, "decide_escalation")
    extra_nav = []
    if permissions.holds(user, "read_statistics", "view_case"):
        for name, label in (("reports:statistics", _("统计分析")), ("reports:ledger", _("案件台账"))):
            try:
                extra_nav.append({"name": name, "url": reverse(name), "label": label})
            except NoReverseMatch:  # the page is not installed in this deployment
                pass
    if permissions.holds(user, "export_case_files"):
        extra_nav.append({"name": "documents:export", "url": reverse("documents:export"), "label": _("导出卷宗")})
    extra_nav.append({"name": "documents:verify", "url": reverse("documents:verify"), "label": _("文书核验")})
    if frame_reads_audit(request):  # permissions.may_read_audit's answer, read with the frame's figures
        extra_nav.append({"name": "audit:log", "url": reverse("audit:log"), "label": _("审计日志")})
    return {
        "roles": "、".join(str(r) for r in roles),
        "may_register": permissions.holds(user, "register_case"),
        "decides_escalations": decides,
        "escalations": frame_escalation_count(request) if decides else 0,
        "overdue": sum(frame_figures(request, local_today())["overdue"].values()) if grants else 0,
        "is_admin": user.is_staff,
        "extra_nav": extra_nav,
    }


def workspace(request) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"workspace": SimpleLazyObject(lambda: _workspace(request))}
