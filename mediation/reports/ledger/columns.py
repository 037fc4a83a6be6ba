"""The ledger's columns (DOMAIN.md §8) and the outcome a row records beside the state."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy

from workflows.states import WORKING_STATES
from workflows.states import CaseState as S

SEP = "、"  # between several values in one cell (applicants, categories …)
ITEM_SEP = "；"  # between structured items (claims, instalments, follow-ups)
LINE_SEP = "\n"  # between further respondents: one per line in the cell
MAX_IMPORT_ROWS = 20000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
IMPORT_REASON = gettext_lazy("历史台账导入")


class Outcome:
    """The ledger's 处理结果: what became of the case, beside the state it is in now."""

    PENDING = "pending"
    REJECTED = "rejected"
    IN_MEDIATION = "in_mediation"
    SETTLED = "settled"
    PERFORMED = "performed"
    NONPERFORMED = "nonperformed"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"

    LABELS = {
        PENDING: gettext_lazy("待受理"),
        REJECTED: gettext_lazy("不予受理"),
        IN_MEDIATION: gettext_lazy("调解中"),
        SETTLED: gettext_lazy("达成协议，履行中"),
        PERFORMED: gettext_lazy("达成协议，已履行"),
        NONPERFORMED: gettext_lazy("达成协议，未履行"),
        FAILED: gettext_lazy("调解不成"),
        WITHDRAWN: gettext_lazy("撤回申请"),
    }


def case_outcome(case: Any) -> str:
    """The outcome of a case (or of anything with ``state``, ``closed_from_state``, ``agreement_effective_on``)."""
    return outcome_of(case.state, case.closed_from_state, case.agreement_effective_on)


def outcome_of(state: str, closed_from_state: str, agreement_effective_on: datetime.date | None) -> str:
    if state == S.CLOSED and closed_from_state:
        state = closed_from_state
    if state == S.REGISTERED:
        return Outcome.PENDING
    if state == S.REJECTED:
        return Outcome.REJECTED
    if state in (*WORKING_STATES, S.ESCALATION_PENDING):
        return Outcome.IN_MEDIATION
    if state == S.SETTLED:
        return Outcome.SETTLED
    if state == S.PERFORMED:
        return Outcome.PERFORMED
    if state == S.WITHDRAWN:
        return Outcome.WITHDRAWN
    # mediation_failed or referred: was there an agreement that was not performed?
    return Outcome.NONPERFORMED if agreement_effective_on else Outcome.FAILED


#: State labels older ledgers use, read as the state they named (line 1 was called 企业内部化解,
#: the escalation request 待审批升级, before the terms were settled; workflows/states.py).
FORMER_STATE_LABELS: dict[str, str] = {"企业内部化解": S.SELF_RESOLUTION, "待审批升级": S.ESCALATION_PENDING}


@dataclass(frozen=True)
class Column:
    key: str
    header: Any  # lazy: the file always carries the Chinese header (see ``_headers``)
    width: int = 14
    importable: bool = True
    required: bool = False
    help: Any = ""


COLUMNS: tuple[Column, ...] = (
    Column("number", gettext_lazy("案号"), 22,
           help=gettext_lazy("留空则按登记组织的案号规则新编；填写的须为“前缀〔年度〕序号号”格式")),
    Column("received_at", gettext_lazy("收案时间"), 17, required=True, help=gettext_lazy("如 2025-03-01 09:30")),
    Column("channel", gettext_lazy("来源渠道"), 14, required=True),
    Column("application_form", gettext_lazy("申请方式"), 10, help=gettext_lazy("书面申请或口头申请；留空为书面申请")),
    Column("applicants", gettext_lazy("申请人"), 18, required=True, help=gettext_lazy("多人用“、”分隔")),
    Column("applicant_ids", gettext_lazy("申请人身份证号"), 22, help=gettext_lazy("与申请人一一对应，用“、”分隔")),
    Column("applicant_phones", gettext_lazy("申请人电话"), 16, help=gettext_lazy("与申请人一一对应，用“、”分隔")),
    Column("representatives", gettext_lazy("推举代表"), 14,
           help=gettext_lazy("集体争议中劳动者推举的代表（劳动争议调解仲裁法第七条），须为本行申请人，多人用“、”分隔；"
                             "涉及人数不足10人的不填")),
    Column("applicant_count", gettext_lazy("申请人数"), 8, importable=False),
    Column("workers_involved", gettext_lazy("涉及人数"), 8,
           help=gettext_lazy("有共同请求的劳动者人数，含未列为申请人的；留空为申请人数；不得少于申请人数")),
    Column("collective", gettext_lazy("集体争议"), 8, importable=False),
    Column("employer", gettext_lazy("被申请单位"), 24, required=True),
    Column("employer_capacity", gettext_lazy("被申请单位身份"), 12,
           help=gettext_lazy("被申请单位的责任身份；留空为用人单位")),
    Column("credit_code", gettext_lazy("统一社会信用代码"), 21),
    Column("legal_representative", gettext_lazy("法定代表人"), 10),
    Column("employer_address", gettext_lazy("单位地址"), 24),
    Column("industry", gettext_lazy("所属行业"), 14),
    Column("has_union", gettext_lazy("是否建立工会"), 8, help=gettext_lazy("是/否")),
    Column("other_respondents", gettext_lazy("其他被申请人"), 36,
           help=gettext_lazy("被申请单位以外的共同被申请人，每行一个，写成“名称（身份，统一社会信用代码）”，无代码的写"
                             "“名称（身份）”，如“宁波某某人力资源有限公司（劳务派遣单位，91330283MA2XXXXXXX）”；"
                             "劳务派遣单位与用工单位为共同当事人（劳动争议调解仲裁法第二十二条），须同时列明；"
                             "平台企业填在“平台或用工合作方”列")),
    Column("new_form", gettext_lazy("新就业形态"), 8, help=gettext_lazy("是/否")),
    Column("work_form", gettext_lazy("新就业形态类型"), 12),
    Column("platform", gettext_lazy("平台或用工合作方"), 20),
    Column("categories", gettext_lazy("争议类别"), 18, help=gettext_lazy("多个用“、”分隔")),
    Column("dispute_summary", gettext_lazy("争议事项"), 30, required=True),
    Column("claims", gettext_lazy("请求事项"), 30, help=gettext_lazy("如“拖欠工资：12000.00元；经济补偿：3000.00元”")),
    Column("amount_claimed", gettext_lazy("请求金额（元）"), 13),
    Column("line", gettext_lazy("承办防线"), 10, importable=False),
    Column("organisation", gettext_lazy("承办组织"), 24, required=True, help=gettext_lazy("组织全称或简称")),
    Column("registered_organisation", gettext_lazy("登记组织"), 24, help=gettext_lazy("留空同承办组织")),
    Column("mediators", gettext_lazy("承办调解员"), 14, help=gettext_lazy("姓名，多人用“、”分隔")),
    Column("state", gettext_lazy("状态"), 12, required=True),
    Column("outcome", gettext_lazy("处理结果"), 16),
    Column("accepted_at", gettext_lazy("受理时间"), 17),
    Column("rejected_at", gettext_lazy("不予受理时间"), 17),
    Column("acceptance_due", gettext_lazy("受理期限"), 11, importable=False),
    Column("mediation_due", gettext_lazy("调解期限"), 11, importable=False),
    Column("extra_days", gettext_lazy("延长调解天数"), 8),
    Column("sessions", gettext_lazy("调解日期"), 22, help=gettext_lazy("每次调解的日期，用“、”分隔")),
    Column("concluded_at", gettext_lazy("调解终结时间"), 17, help=gettext_lazy("达成协议、调解不成或撤回的时间")),
    Column("agreement_effective_on", gettext_lazy("协议生效日期"), 11),
    Column("amount_agreed", gettext_lazy("协议金额（元）"), 13),
    Column("instalments", gettext_lazy("分期履行"), 40,
           help=gettext_lazy(
               "如“第1期 6000.00元 2026-12-20前 已于2026-12-18履行6000.00元；第2期 6000.00元 2027-01-20前 未履行”")),
    Column("amount_recovered", gettext_lazy("已履行金额（元）"), 13),
    Column("follow_ups", gettext_lazy("回访"), 22, help=gettext_lazy("如“2026-12-25 电话回访 满意”")),
    Column("referral_destination", gettext_lazy("移交去向"), 18),
    Column("referral_body", gettext_lazy("接收机构"), 24),
    Column("referred_on", gettext_lazy("移交日期"), 11),
    Column("referral_outcome", gettext_lazy("仲裁/诉讼结果"), 12),
    Column("referral_outcome_on", gettext_lazy("结果日期"), 11),
    Column("closed_at", gettext_lazy("结案时间"), 17),
    Column("archive_number", gettext_lazy("档案号"), 14),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _headers() -> list[str]:
    # The file is a record kept across years and offices: its headers are always the Chinese ones.
    with translation.override("zh-hans"):
        return [str(c.header) for c in COLUMNS]


#: The case's own columns a ledger row shows, read as plain values: building 100,000
#: model instances (and their related ones) would cost more than writing the file.
CASE_FIELDS: tuple[str, ...] = (
    "pk", "number", "received_at", "channel", "application_form", "applicant_count", "workers_involved",
    "is_collective", "employer_id", "platform_id",
    "is_new_employment_form", "work_form", "dispute_summary", "amount_claimed", "amount_agreed",
    "amount_recovered", "state", "closed_from_state", "accepted_at", "rejected_at", "acceptance_due",
    "mediation_due", "mediation_extra_days", "concluded_at", "agreement_effective_on", "closed_at",
    "archive_number", "organisation_id", "organisation__name", "organisation__path", "organisation__level__line",
    "registered_organisation__name", "employer__name", "employer__credit_code", "employer__industry",
    "employer__has_union", "platform__name",
)

