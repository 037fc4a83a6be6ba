"""Celery tasks of background jobs (task names are agreed project-wide: jobs.tasks.run_job)."""
from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import translation
from django.utils.translation import gettext as _

from jobs import services
from jobs.kinds import JobRefused

logger = logging.getLogger(__name__)

#: Failures that may pass (a database restart, a lost connection): retried with a growing delay.
TRANSIENT = (OperationalError, InterfaceError)


@shared_task(bind=True, name="jobs.tasks.run_job", acks_late=True, max_retries=None)
def run_job(self: Any, job_id: int) -> str:
    """Run job ``job_id`` once to the end. A job already done or failed is left as it is."""
    job = services.job_claim(job_id)
    if job is None:
        return "skipped"
    with translation.override(settings.LANGUAGE_CODE):
        try:
            services.job_execute(job)
        except TRANSIENT as exc:
            if job.attempts < settings.JOBS_MAX_ATTEMPTS:
                services.job_requeue(job, str(exc))
                raise self.retry(countdown=services.retry_delay(job.attempts), exc=exc) from exc
            logger.exception("job %s failed after %s attempts", job.pk, job.attempts)
            services.job_fail(job, _("数据库暂时不可用，已尝试 %(n)d 次仍未完成。请稍后重新导出。")
                          % {"n": job.attempts})
            return "failed"
        except JobRefused as exc:
            services.job_fail(job, str(exc))
            return "failed"
        except Exception:
            logger.exception("job %s failed", job.pk)
            services.job_fail(job, _("导出时出错，未能完成。请重新导出；如仍失败，请联系管理员。"))
            return "failed"
    return "done"


@shared_task(name="jobs.tasks.expire_files", acks_late=True)
def expire_files() -> int:
    """Delete result files past their expiry (beat runs it hourly; a download past expiry also deletes)."""
    return services.job_files_expire()
