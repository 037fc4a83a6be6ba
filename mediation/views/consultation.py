"""Consultation (协商) before mediation: the request, the other side's reply within 5 days, the outcome.

企业劳动争议协商调解规定 (人社部令第17号): a party may ask the other side to consult; the other
side answers within 5 days of the request, and no answer is taken as refusing to consult.
The page records it; ``services.consultation_record`` decides and writes.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from mediation import forms, permissions, services
from mediation.selectors import case_get_for_user
from mediation.views.common import apply_errors, case_errors
from workflows.clocks import (
    DueDate,
    WorkCalendar,
    consultation_awaits_reply,
    consultation_reply_due,
    local_today,
)
from workflows.errors import ActionNotAllowed


@dataclass(frozen=True)
class ConsultationFacts:
    """What the case page and the consultation page show about a consultation."""

    due: DueDate | None
    awaiting_reply: bool
    today: datetime.date
    may_record: bool
    #: The case is past the consultation stage (accepted at line 2 or 3, concluded …): the clock stopped.
    moved_on: bool = False

    @property
    def days_left(self) -> int | None:
        return None if self.due is None else (self.due.date - self.today).days

    @property
    def period_over(self) -> bool:
        """The 5 days have run out (the day after the last day); "no reply" may now be recorded."""
        return self.due is not None and self.today > self.due.date


def consultation_facts(case: Any, user: Any, *, calendar: WorkCalendar | None = None,
                       today: datetime.date | None = None) -> ConsultationFacts:
    today = today or local_today()
    due = None
    if case.consultation_requested_on is not None:
        due = consultation_reply_due(calendar or WorkCalendar.from_db(), case.consultation_requested_on)
    consulting = case.state in services.CONSULTATION_STATES
    return ConsultationFacts(
        due=due, awaiting_reply=consulting and consultation_awaits_reply(case), today=today,
        may_record=consulting and permissions.user_may(user, "work", case),
        moved_on=not consulting and consultation_awaits_reply(case))


def _initial(case: Any) -> dict[str, Any]:
    return {"requested_on": case.consultation_requested_on, "requested_by": case.consultation_requested_by,
            "replied_on": case.consultation_replied_on, "outcome": case.consultation_outcome or "pending",
            "note": case.consultation_note}


@login_required
@case_errors
def consultation_edit(request, pk: int):
    """GET shows the form with the reply due date; POST records (those who work the case, 人社部令第17号)."""
    case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
    if not permissions.user_may(request.user, "work", case):
        # Refused before the input is read.
        raise PermissionDenied(_("您没有办理本案件的权限。"))
    if case.state not in services.CONSULTATION_STATES:
        raise ActionNotAllowed(_("案件当前状态为“%(state)s”，不能%(what)s。")
                               % {"state": case.get_state_display(), "what": _("登记协商情况")})
    form = forms.ConsultationForm(request.POST or None, initial=_initial(case))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.consultation_record(case_id=case.pk, actor=request.user, requested_on=d["requested_on"],
                                             requested_by=d["requested_by"], replied_on=d["replied_on"],
                                             outcome=d["outcome"], note=d["note"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("协商情况已保存。"))
                return redirect("case_detail", pk=case.pk)
        status = 400
    return render(request, "mediation/consultation_form.html", {
        "case": case, "title": _("登记协商情况"), "form": form, "target": request.path,
        "consultation": consultation_facts(case, request.user)}, status=status)
