"""Tell a job's owner that it finished, through the notification centre (and the owner's channels).

The message names the kind of export and its number, never a case party.
"""
from __future__ import annotations

import logging

from django.urls import reverse
from django.utils.translation import gettext as _

from jobs.models import Job

logger = logging.getLogger(__name__)


def message_for(job: Job) -> str:
    if job.status == Job.Status.DONE:
        return _("%(kind)s #%(id)d 已完成，可在“我的导出”中下载。") % {"kind": job.get_kind_display(), "id": job.pk}
    return _("%(kind)s #%(id)d 未能完成：%(error)s") % {"kind": job.get_kind_display(), "id": job.pk,
                                                     "error": job.error}


def job_finished(job: Job) -> bool:
    """Notify the owner of a finished (done or failed) job, once; False when that could not be done."""
    from notifications.services import notify

    subject = _("导出已完成") if job.status == Job.Status.DONE else _("导出失败")
    try:
        notify(job.owner, key=f"job:{job.pk}:{job.status}", subject=subject,
               body=message_for(job) + "\n" + reverse("jobs:list"))
    except Exception:  # a notification failure must not undo the job
        logger.exception("job %s: the owner could not be notified", job.pk)
        return False
    return True
