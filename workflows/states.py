"""The single source of the case states' machine names (DOMAIN.md §3)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    REGISTERED = "registered", _("已登记")
    REJECTED = "rejected", _("不予受理")
    SELF_RESOLUTION = "self_resolution", _("企业自主化解")
    JOINT_MEDIATION = "joint_mediation", _("联合调解")
    LINKED_MEDIATION = "linked_mediation", _("调裁诉联动")
    ESCALATION_PENDING = "escalation_pending", _("待审批提级")
    SETTLED = "settled", _("已达成协议")
    PERFORMED = "performed", _("已履行")
    MEDIATION_FAILED = "mediation_failed", _("调解不成")
    REFERRED = "referred", _("已转仲裁/诉讼")
    WITHDRAWN = "withdrawn", _("已撤回")
    CLOSED = "closed", _("已结案")


class Line(models.IntegerChoices):
    """The three lines of defence. Their display names are data (``LineName``)."""

    WORKPLACE = 1, _("第一道防线：企业自主化解")
    JOINT = 2, _("第二道防线：联合调解")
    LINKED = 3, _("第三道防线：调裁诉联动")


#: The working state of each line: a case being worked sits in the state of the
#: line its handling organisation serves.
WORKING_STATE_OF_LINE: dict[int, str] = {
    Line.WORKPLACE: CaseState.SELF_RESOLUTION,
    Line.JOINT: CaseState.JOINT_MEDIATION,
    Line.LINKED: CaseState.LINKED_MEDIATION,
}
LINE_OF_WORKING_STATE: dict[str, int] = {v: k for k, v in WORKING_STATE_OF_LINE.items()}

WORKING_STATES: tuple[str, ...] = tuple(WORKING_STATE_OF_LINE.values())
#: States in which the case is still open (deadlines run, it shows in "my work").
OPEN_STATES: tuple[str, ...] = (
    CaseState.REGISTERED,
    *WORKING_STATES,
    CaseState.ESCALATION_PENDING,
    CaseState.SETTLED,
    CaseState.MEDIATION_FAILED,
    CaseState.REFERRED,
)
#: States from which "close" is allowed (DOMAIN.md §3).
CLOSABLE_STATES: tuple[str, ...] = (
    CaseState.PERFORMED,
    CaseState.REJECTED,
    CaseState.WITHDRAWN,
    CaseState.REFERRED,
    # The parties did not go on to arbitration or court: closed once the termination notice
    # is issued, with the reason (docs/states.md, "Closing a failed mediation").
    CaseState.MEDIATION_FAILED,
)
#: A case in one of these has concluded (for success and grassroots rates).
CONCLUDED_STATES: tuple[str, ...] = (
    CaseState.SETTLED,
    CaseState.PERFORMED,
    CaseState.MEDIATION_FAILED,
    CaseState.REFERRED,
)
