"""The "360" case lifecycle as a django-fsm-2 graph (DOMAIN.md §3).

The decorators declare the graph and nothing else: a transition method only
changes fields in memory. Locking, permission checks, saving and logging happen
in ``workflows.services``. Conditions read facts the case model exposes
(``has_effective_agreement()`` …); permissions defer to ``mediation.permissions``,
the one place that decides who may do what where.
"""
from __future__ import annotations

from operator import methodcaller
from typing import Any, Callable

from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, transition

from workflows.states import CLOSABLE_STATES, LINE_OF_WORKING_STATE, WORKING_STATE_OF_LINE, WORKING_STATES
from workflows.states import CaseState as S

WITHDRAWABLE_STATES = (S.REGISTERED, *WORKING_STATES, S.ESCALATION_PENDING)


def _permission(action: str) -> Callable[[Any, Any], bool]:
    def check(case: Any, user: Any) -> bool:
        from mediation.permissions import user_may

        return user_may(user, action, case)

    check.__name__ = f"may_{action}"
    return check


def _target_of_accept(case: Any, *args: Any, **kwargs: Any) -> str:
    return WORKING_STATE_OF_LINE[case.organisation.line]


def _target_of_approval(case: Any, *args: Any, to_line: int, **kwargs: Any) -> str:
    return WORKING_STATE_OF_LINE[to_line]


def _return_to(case: Any, *args: Any, return_to: str, **kwargs: Any) -> str:
    return return_to


def _meta(label: Any, *, reason: bool = False, supervisor: bool = False) -> dict[str, Any]:
    return {"label": label, "needs_reason": reason, "supervisor_only": supervisor}


class CaseStateMachine:
    """Mixed into ``mediation.models.Case``; the state field is ``state``."""

    @transition(field="state", source=S.REGISTERED,
                target=GET_STATE(_target_of_accept, states=list(WORKING_STATES)),
                permission=_permission("accept"), custom=_meta(_("受理")))
    def accept(self) -> None:
        pass

    @transition(field="state", source=S.REGISTERED, target=S.REJECTED,
                permission=_permission("reject"), custom=_meta(_("不予受理"), reason=True))
    def reject(self) -> None:
        pass

    @transition(field="state", source=list(WORKING_STATES), target=S.ESCALATION_PENDING,
                conditions=[methodcaller("has_higher_organisation")],
                permission=_permission("request_escalation"),
                custom=_meta(_("申请提级"), reason=True))
    def request_escalation(self) -> None:
        pass

    @transition(field="state", source=S.ESCALATION_PENDING,
                target=GET_STATE(_target_of_approval, states=list(WORKING_STATES)),
                permission=_permission("approve_escalation"),
                custom=_meta(_("批准提级"), supervisor=True))
    def approve_escalation(self, *, to_line: int) -> None:
        pass

    @transition(field="state", source=S.ESCALATION_PENDING,
                target=GET_STATE(_return_to, states=list(WORKING_STATES)),
                permission=_permission("deny_escalation"),
                custom=_meta(_("不予提级"), reason=True, supervisor=True))
    def deny_escalation(self, *, return_to: str) -> None:
        pass

    @transition(field="state", source=S.ESCALATION_PENDING,
                target=GET_STATE(_return_to, states=list(WORKING_STATES)),
                permission=_permission("cancel_escalation"),
                custom=_meta(_("撤回提级申请"), reason=True))
    def cancel_escalation(self, *, return_to: str) -> None:
        pass

    @transition(field="state", source=list(WORKING_STATES), target=S.SETTLED,
                conditions=[methodcaller("has_effective_agreement")],
                permission=_permission("record_agreement"), custom=_meta(_("达成协议")))
    def record_agreement(self) -> None:
        pass

    @transition(field="state", source=list(WORKING_STATES), target=S.MEDIATION_FAILED,
                permission=_permission("terminate"), custom=_meta(_("终止调解"), reason=True))
    def terminate(self) -> None:
        pass

    @transition(field="state", source=S.SETTLED, target=S.PERFORMED,
                conditions=[methodcaller("agreement_fully_paid")],
                permission=_permission("confirm_performance"), custom=_meta(_("确认履行")))
    def confirm_performance(self) -> None:
        pass

    # Also from performed: a performed case reopened because a payment was clawed back or
    # the remaining terms were not kept (劳动争议调解仲裁法 arts. 15–16).
    @transition(field="state", source=[S.SETTLED, S.PERFORMED], target=S.MEDIATION_FAILED,
                permission=_permission("report_nonperformance"),
                custom=_meta(_("报告未履行"), reason=True))
    def report_nonperformance(self) -> None:
        pass

    @transition(field="state", source=S.MEDIATION_FAILED, target=S.REFERRED,
                permission=_permission("refer"), custom=_meta(_("转仲裁/诉讼")))
    def refer(self) -> None:
        pass

    @transition(field="state", source=list(WITHDRAWABLE_STATES), target=S.WITHDRAWN,
                permission=_permission("withdraw"), custom=_meta(_("申请人撤回调解申请"), reason=True))
    def withdraw(self) -> None:
        pass

    @transition(field="state", source=list(CLOSABLE_STATES), target=S.CLOSED,
                conditions=[methodcaller("ready_to_close")],
                permission=_permission("close"), custom=_meta(_("结案"), supervisor=True))
    def close(self) -> None:
        pass

    @transition(field="state", source=S.CLOSED,
                target=GET_STATE(_return_to, states=list(CLOSABLE_STATES)),
                permission=_permission("reopen"),
                custom=_meta(_("重新开启"), reason=True, supervisor=True))
    def reopen(self, *, return_to: str) -> None:
        pass


#: Every transition's name, in the order the graph declares them.
TRANSITION_NAMES: tuple[str, ...] = (
    "accept", "reject", "request_escalation", "approve_escalation", "deny_escalation", "cancel_escalation",
    "record_agreement", "terminate", "confirm_performance", "report_nonperformance",
    "refer", "withdraw", "close", "reopen",
)


def _fsm(name: str) -> Any:
    """django-fsm's record of one transition: the only door to the library's internals."""
    return getattr(CaseStateMachine, name)._django_fsm


def custom(name: str) -> dict[str, Any]:
    """The transition's ``custom`` metadata: label, needs_reason, supervisor_only."""
    return next(iter(_fsm(name).transitions.values())).custom


def computed_target(name: str) -> str | None:
    """The name of the function that computes the target (GET_STATE), or None for a fixed one."""
    target = next(iter(_fsm(name).transitions.values())).target
    func = getattr(target, "func", None)
    return func.__name__ if func is not None else ("computed" if hasattr(target, "allowed_states") else None)


def has_transition(case: Any, name: str) -> bool:
    """Does the graph allow ``name`` from the case's current state?"""
    return bool(_fsm(name).has_transition(case.state))


def may_transition(case: Any, name: str, user: Any) -> bool:
    """May ``user`` make move ``name`` from the case's current state (permission only)?"""
    return bool(_fsm(name).has_transition_perm(case, case.state, user))


def conditions_met(case: Any, name: str) -> bool:
    return bool(_fsm(name).conditions_met(case, case.state))


def graph() -> list[tuple[str, str, list[str]]]:
    """(transition, source, possible targets) for every edge: the diagram's source."""
    edges: list[tuple[str, str, list[str]]] = []
    for name in TRANSITION_NAMES:
        for source, tr in _fsm(name).transitions.items():
            target = tr.target
            targets = list(target.allowed_states) if hasattr(target, "allowed_states") else [target]
            edges.append((name, str(source), [str(t) for t in targets]))
    return edges


def transition_label(name: str) -> str:
    return custom(name)["label"]


def needs_reason(name: str) -> bool:
    return bool(custom(name)["needs_reason"])


__all__ = ["CaseStateMachine", "TRANSITION_NAMES", "graph", "transition_label", "needs_reason", "custom",
           "computed_target", "has_transition", "may_transition", "conditions_met",
           "LINE_OF_WORKING_STATE", "WITHDRAWABLE_STATES"]
