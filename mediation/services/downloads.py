"""Handing out a case's stored evidence: the one check before an attachment's bytes leave the
server, for the case page and the API alike."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from mediation import permissions
from mediation.audit import log as audit
from mediation.models import Attachment, Case


def attachment_open(*, user: Any, case: Case, attachment_id: int) -> tuple[Attachment, Any]:
    """One of ``case``'s attachments opened for ``user`` to download.

    ``case`` comes from ``case_get_for_user`` (scope checked, the read logged). Evidence carries the
    parties' personal data, like the issued documents: only those who may see it download
    (``PermissionDenied`` with the reason; docs/permissions.md). Another case's attachment, or a file
    gone from storage: ``Http404``. Each download goes on the audit trail.
    """
    attachment = Attachment.objects.filter(pk=attachment_id, case=case).first()
    if attachment is None:
        raise Http404
    if not permissions.may_see_personal_data(user, case):
        raise PermissionDenied(_("证据材料载有当事人的个人信息，仅承办本案的调解员和负责人可以下载。"))
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    audit.record(actor=user, action="attachment.download", obj=attachment, case=case)
    return attachment, handle
