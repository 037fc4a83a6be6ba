"""The moves that bring an imported case from registration to the state its ledger row records.

A ledger records where a case ended and a few dates, not its history; the import
replays the shortest history the lifecycle allows to reach that state and outcome,
each move timed by the ledger's dates and never before the move it follows.
"""
from __future__ import annotations

import datetime
from collections import namedtuple
from typing import Any, Callable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from mediation.models import Organisation
from mediation.reports.ledger.cells import local_minute
from mediation.reports.ledger.columns import COLUMN_BY_KEY, Outcome
from workflows.clocks import CHINA_TZ
from workflows.states import CLOSABLE_STATES, WORKING_STATE_OF_LINE, WORKING_STATES
from workflows.states import CaseState as S

Step = namedtuple("Step", "name source target at")  # one move, at a moment


_IMPLIED_OUTCOME: dict[str, str] = {
    S.REGISTERED: Outcome.PENDING, S.REJECTED: Outcome.REJECTED, S.SETTLED: Outcome.SETTLED,
    S.PERFORMED: Outcome.PERFORMED, S.WITHDRAWN: Outcome.WITHDRAWN, S.MEDIATION_FAILED: Outcome.FAILED,
    S.REFERRED: Outcome.FAILED}
_AGREED = (Outcome.SETTLED, Outcome.PERFORMED, Outcome.NONPERFORMED)


class _Walk:
    """The history so far: the last state and moment, and the moves that reached them."""

    def __init__(self, *, state: str, outcome: str, received_at: datetime.datetime,
                 times: dict[str, datetime.datetime | None], referral: dict[str, Any] | None,
                 instalments: list[dict[str, Any]]) -> None:
        self.state, self.outcome, self.times = state, outcome, times
        self.referral, self.instalments = referral, instalments
        self.current: str = S.REGISTERED
        self.moment = received_at
        self.steps: list[Step] = []

    def at(self, key: str, what: str) -> datetime.datetime:
        value = self.times.get(key)
        if value is None:
            raise ValidationError({key: _("状态为“%(state)s”、处理结果为“%(outcome)s”的案件须填写%(what)s。")
                               % {"state": S(self.state).label, "outcome": Outcome.LABELS[self.outcome], "what": what}})
        return value

    def go(self, name: str, target: str, moment: datetime.datetime, key: str) -> None:
        if moment < self.moment:
            previous = f"{local_minute(self.moment):%Y-%m-%d %H:%M}"
            raise ValidationError({key: _("%(col)s不能早于前一环节的时间（%(prev)s）。")
                                   % {"col": COLUMN_BY_KEY[key].header, "prev": previous}})
        self.steps.append(Step(name, self.current, target, moment))
        self.current, self.moment = target, moment

    def on_day(self, day: datetime.date | None) -> datetime.datetime:
        """A move the ledger dates but does not time (referral, performance): noon that day.

        Never before the previous move: the dates are typed in by people (a referral
        may be dated the day before the termination was recorded), while the moves
        must stay in order; the date itself is kept on its own record.
        """
        if day is None:
            return self.moment
        return max(datetime.datetime.combine(day, datetime.time(12, 0), tzinfo=CHINA_TZ), self.moment)

    # --- recipes, one per outcome ----------------------------------------------------
    def rejected(self, working: str) -> None:
        self.go("reject", S.REJECTED, self.at("rejected_at", _("不予受理时间")), "rejected_at")

    def withdrawn(self, working: str) -> None:
        if accepted := self.times.get("accepted_at"):
            self.go("accept", working, accepted, "accepted_at")
        self.go("withdraw", S.WITHDRAWN, self.at("concluded_at", _("调解终结时间（撤回时间）")), "concluded_at")

    def pending(self, working: str) -> None:
        pass

    def accepted(self, working: str) -> None:
        self.go("accept", working, self.at("accepted_at", _("受理时间")), "accepted_at")
        if self.outcome in _AGREED:
            self.go("record_agreement", S.SETTLED, self.at("concluded_at", _("调解终结时间")), "concluded_at")
        if self.outcome == Outcome.PERFORMED:
            paid = [i["paid_on"] for i in self.instalments if i["paid_on"]]
            self.go("confirm_performance", S.PERFORMED, self.on_day(max(paid) if paid else None), "concluded_at")
        elif self.outcome == Outcome.NONPERFORMED:
            later = self.on_day(self.referral["referred_on"]) if self.referral and self.referral["referred_on"] \
                else max(self.moment, self.times.get("closed_at") or self.moment)
            self.go("report_nonperformance", S.MEDIATION_FAILED, later, "concluded_at")
        elif self.outcome == Outcome.FAILED:
            self.go("terminate", S.MEDIATION_FAILED, self.at("concluded_at", _("调解终结时间")), "concluded_at")

    def refer(self) -> None:
        if self.referral is None:
            raise ValidationError({"referral_destination": _("已转仲裁/诉讼的案件须填写移交去向和移交日期。")})
        self.go("refer", S.REFERRED, self.on_day(self.referral["referred_on"]), "referred_on")

    def close(self) -> str:
        closed_from = self.current
        if closed_from not in CLOSABLE_STATES:
            raise ValidationError({"outcome": _("处理结果为“%(outcome)s”的案件不能结案。")
                               % {"outcome": Outcome.LABELS[self.outcome]}})
        self.go("close", S.CLOSED, self.at("closed_at", _("结案时间")), "closed_at")
        return closed_from


_RECIPES: dict[str, Callable[[_Walk, str], None]] = {
    Outcome.REJECTED: _Walk.rejected, Outcome.WITHDRAWN: _Walk.withdrawn, Outcome.PENDING: _Walk.pending}


def _outcome(state: str, outcome: str, referral: dict[str, Any] | None) -> str:
    """The outcome given, or the one the state implies; a closed case must say (or show by a referral)."""
    if state == S.ESCALATION_PENDING:
        raise ValidationError({"state": _("待审批提级的案件不能导入：请先审批，再按审批后的状态导入。")})
    if outcome:
        return outcome
    if state == S.CLOSED and referral is None:
        raise ValidationError({"outcome": _("已结案的案件请填写处理结果。")})
    return Outcome.FAILED if state == S.CLOSED else _IMPLIED_OUTCOME.get(state, Outcome.IN_MEDIATION)


def history_of(*, state: str, outcome: str, organisation: Organisation, registered_organisation: Organisation,
               received_at: datetime.datetime, times: dict[str, datetime.datetime | None],
               referral: dict[str, Any] | None, instalments: list[dict[str, Any]]) -> tuple[str, list[Step]]:
    """The moves from registration to ``state``, each timed, each an edge of the lifecycle graph.

    Returns (the state a closed case was closed from, the moves). Moves the ledger has
    no time for take the nearest time it has (confirming performance: the last payment;
    reporting non-performance: the referral or the closure). Refusals name the column to correct.
    """
    referred = state == S.REFERRED or (state == S.CLOSED and referral is not None
                                        and outcome in ("", Outcome.FAILED, Outcome.NONPERFORMED))
    outcome = _outcome(state, outcome, referral)
    working = WORKING_STATE_OF_LINE[organisation.level.line]
    if state in WORKING_STATES and state != working:
        raise ValidationError({"state": _("承办组织“%(org)s”属于第%(n)d道防线，在办案件的状态应为“%(state)s”。")
                           % {"org": organisation.name, "n": organisation.level.line, "state": S(working).label}})
    walk = _Walk(state=state, outcome=outcome, received_at=received_at, times=times, referral=referral,
                 instalments=instalments)
    _RECIPES.get(outcome, _Walk.accepted)(walk, working)
    if referred and outcome not in _RECIPES:
        walk.refer()
    if referral is not None and not referred:
        raise ValidationError({"referral_destination": _(
            "填写了移交去向，但状态既不是“已转仲裁/诉讼”，也不是由其结案。")})
    if organisation.pk != registered_organisation.pk and not any(s.name == "accept" for s in walk.steps):
        raise ValidationError({"registered_organisation": _("未受理的案件，登记组织应与承办组织相同。")})
    closed_from = walk.close() if state == S.CLOSED else ""
    if walk.current != state:
        raise ValidationError({"outcome": _("状态“%(state)s”与处理结果“%(outcome)s”不一致。")
                           % {"state": S(state).label, "outcome": Outcome.LABELS[outcome]}})
    return closed_from, walk.steps
