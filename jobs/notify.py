"""Tell a job's owner that it finished, through the notifications app when it is installed.

Loosely coupled: nothing here imports ``notifications`` unless the app is installed and its
``services`` module offers ``notify(user, ...)``; otherwise the 我的导出 page is the only news.
The message names the kind of export and its number, never a case party.
"""
from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any

from django.apps import apps
from django.urls import reverse
from django.utils.translation import gettext as _

from jobs.models import Job

logger = logging.getLogger(__name__)


def _notifier() -> Any:
    if not apps.is_installed("notifications"):
        return None
    try:
        services = importlib.import_module("notifications.services")
    except ImportError:
        return None
    return getattr(services, "notify", None)


def message_for(job: Job) -> str:
    if job.status == Job.Status.DONE:
        return _("%(kind)s #%(id)d 已完成，可在“我的导出”中下载。") % {"kind": job.get_kind_display(), "id": job.pk}
    return _("%(kind)s #%(id)d 未能完成：%(error)s") % {"kind": job.get_kind_display(), "id": job.pk,
                                                     "error": job.error}


def job_finished(job: Job) -> bool:
    """Notify the owner of a finished (done or failed) job; False when no notification channel exists."""
    notify = _notifier()
    if notify is None:
        return False
    offered = {"message": message_for(job), "url": reverse("jobs:list"), "kind": "job",
               "subject": _("导出已完成") if job.status == Job.Status.DONE else _("导出失败")}
    try:
        parameters = inspect.signature(notify).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            offered = {k: v for k, v in offered.items() if k in parameters}
        notify(job.owner, **offered)
    except Exception:  # a notification failure must not undo the job
        logger.exception("job %s: the owner could not be notified", job.pk)
        return False
    return True
