"""What the audit page calls each kind of event."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "auth.login": _("登录"),
    "auth.logout": _("退出登录"),
    "auth.login_failed": _("登录失败"),
    "case.register": _("登记案件"),
    "case.read": _("查阅案件"),
    "case.search": _("检索案件"),
    "case.mediators": _("指派调解员"),
    "case.extend_deadline": _("延长调解期限"),
    "case.consultation": _("登记协商情况"),
    "session.record": _("记录调解"),
    "agreement.draft": _("起草调解协议"),
    "agreement.correct": _("更正调解协议"),
    "signature.record": _("登记签章"),
    "instalment.payment": _("登记履行"),
    "instalment.payment_correct": _("更正履行记录"),
    "followup.record": _("登记回访"),
    "referral.outcome": _("登记仲裁或诉讼结果"),
    "attachment.add": _("上传证据材料"),
    "attachment.download": _("下载证据材料"),
    "document.issue": _("生成文书"),
    "document.download": _("下载文书"),
    "export.case_files": _("导出卷宗"),
    "documents.bulk_issue": _("批量生成文书"),
    "export.download": _("下载后台导出文件"),
    "document.signed_copy": _("上传签署原件扫描件"),
    "agreement.supersede": _("调解协议被更正版本取代"),
    "export.ledger": _("导出台账"),
    "export.monthly_xlsx": _("导出月统计表（Excel）"),
    "export.monthly_pdf": _("导出月统计表（PDF）"),
    "audit.extract": _("导出审计记录"),
    "import.ledger": _("导入历史台账"),
    "record.correct": _("更正登记信息"),
    "admin.add": _("后台新增"),
    "admin.change": _("后台修改"),
    "admin.delete": _("后台删除"),
    "api.token_create": _("创建接口访问令牌"),
    "api.token_revoke": _("撤销接口访问令牌"),
    "portal.apply": _("网上申请调解"),
    "portal.follow": _("网上查询进度"),
    "portal.code_request": _("网上申请文书验证码"),
    "portal.code_check": _("网上核对文书验证码"),
    "portal.document_download": _("网上下载文书"),
    "portal.respondent_invite": _("邀请被申请人在线确认"),
    "portal.respondent_code": _("发送被申请人确认验证码"),
    "portal.respondent_code_check": _("被申请人核对确认验证码"),
    "portal.respondent_answer": _("被申请人在线确认"),
}


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    if action.startswith("case."):
        from workflows.machine import TRANSITION_NAMES, transition_label

        name = action.removeprefix("case.")
        if name in TRANSITION_NAMES:
            return str(transition_label(name))
    return action
