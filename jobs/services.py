"""Starting, running and finishing jobs; the task (jobs.tasks.run_job) only calls these."""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from jobs.kinds import REGISTRY, Output
from jobs.models import Job

logger = logging.getLogger(__name__)


def background_enabled() -> bool:
    """True when a broker is configured: exports become jobs run by workers (docs/operations.md)."""
    from mediation.celery import app

    return not app.conf.task_always_eager


def job_start(*, owner: Any, kind: str, parameters: dict[str, Any]) -> Job:
    """Record a job and queue it once the surrounding transaction commits (a worker must see the row)."""
    from jobs.tasks import run_job

    if kind not in REGISTRY:
        raise ValueError(f"unknown job kind {kind!r}")
    from mediation.permissions import reach_signature

    # What the owner's rights reach now: the file is handed out only while they still reach as far.
    job = Job.objects.create(owner=owner, kind=kind, parameters={**parameters, "reach": reach_signature(owner)})
    transaction.on_commit(lambda: run_job.delay(job.pk))
    return job


def job_of(*, user: Any, job_id: int) -> Job:
    """One of ``user``'s own jobs; anyone else's is not found, whatever its state (ids reveal nothing)."""
    job = Job.objects.filter(pk=job_id, owner=user).first() if getattr(user, "is_authenticated", False) else None
    if job is None:
        raise Http404(_("未找到该导出。"))
    return job


def job_file_open(*, user: Any, job_id: int) -> tuple[Job, Any]:
    """The file a finished job made, opened for ``user`` to download (我的导出 and the API).

    Not found: someone else's job, one without a file, an expired one (its file is deleted now), a
    file gone from storage. Refused (``PermissionDenied`` with the reason): the owner no longer holds
    the right the kind needs, or their rights reach elsewhere than when they asked for it (the file
    may hold cases no longer theirs). Each download goes on the audit trail.
    """
    from mediation.audit import log as audit
    from mediation.permissions import reach_signature

    job = job_of(user=user, job_id=job_id)
    if job.status != Job.Status.DONE or not job.file:
        raise Http404(_("该导出没有可下载的文件。"))
    if job.expired:
        job_file_delete(job)
        raise Http404(_("该导出文件已过期并已删除，请重新导出。"))
    kind = REGISTRY.get(job.kind)
    # The rights are checked again now: a file made last week is not handed to someone who lost them.
    if kind is None or not kind.may_download(user):
        raise PermissionDenied(_("您已没有查看这些数据的权限，不能下载该导出。"))
    if job.parameters.get("reach") != reach_signature(user):
        raise PermissionDenied(_(
            "您的组织或角色在导出后已变更，该文件可能包含您现在无权查看的案件，不能下载；请重新导出。"))
    try:
        handle = job.file.open("rb")
    except (FileNotFoundError, OSError):
        job_file_delete(job)
        raise Http404(_("该导出文件已不在存储中，请重新导出。")) from None
    audit.record(actor=user, action="export.download", obj=job, new={
        "job": job.pk, "kind": job.kind, "sha256": job.file_sha256, "size": job.file_size})
    return job, handle


def job_claim(job_id: int) -> Job | None:
    """Mark the job running for one more attempt; None when it is gone or already finished.

    A job found running again was left by a worker that died (a late-acknowledged task is
    delivered again only then): this attempt takes over, and only the newest attempt may finish it.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("owner").filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        job.status, job.progress, job.error = Job.Status.RUNNING, 0, ""
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "progress", "error", "attempts", "started_at"])
    return job


def _current(job: Job) -> Any:
    """The job's row while this attempt is still the newest one."""
    return Job.objects.filter(pk=job.pk, attempts=job.attempts, status=Job.Status.RUNNING)


def job_progress_set(job: Job, percent: int) -> None:
    percent = max(0, min(100, int(percent)))
    if percent != job.progress:
        job.progress = percent
        _current(job).update(progress=percent)


def job_execute(job: Job) -> bool:
    """Run the job's kind and store its file; False when a newer attempt took the job over."""
    output = REGISTRY[job.kind].run(job, lambda percent: job_progress_set(job, percent))
    return job_result_store(job, output)


def _sha256(fh: Any) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    fh.seek(0)
    for block in iter(lambda: fh.read(1024 * 1024), b""):
        digest.update(block)
        size += len(block)
    fh.seek(0)
    return digest.hexdigest(), size


def job_result_store(job: Job, output: Output) -> bool:
    with output.file as fh:
        sha256, size = _sha256(fh)
        with transaction.atomic():
            if not _current(job).select_for_update().exists():
                return False
            job.file.save(output.name, File(fh), save=False)
            now = timezone.now()
            job.status, job.progress = Job.Status.DONE, 100
            job.file_name, job.file_size, job.file_sha256 = output.name, size, sha256
            job.finished_at = now
            job.expires_at = now + timedelta(days=settings.JOBS_EXPIRE_DAYS)
            job.save(update_fields=["file", "status", "progress", "file_name", "file_size", "file_sha256",
                                    "finished_at", "expires_at"])
    job_owner_notify(job)
    return True


def job_requeue(job: Job, reason: str) -> None:
    """A transient failure: back to the queue for the next attempt."""
    logger.warning("job %s attempt %s failed, retrying: %s", job.pk, job.attempts, reason)
    _current(job).update(status=Job.Status.QUEUED)


def job_fail(job: Job, message: str) -> None:
    """A permanent failure, with the message the owner reads on 我的导出."""
    now = timezone.now()
    updated = _current(job).update(status=Job.Status.FAILED, error=message[:500], finished_at=now)
    if updated:
        job.status, job.error, job.finished_at = Job.Status.FAILED, message[:500], now
        job_owner_notify(job)


def job_owner_notify(job: Job) -> None:
    from jobs.notify import job_finished

    job_finished(job)


def retry_delay(attempt: int) -> float:
    """Seconds before the next attempt: JOBS_RETRY_DELAY, doubling with each attempt."""
    return float(settings.JOBS_RETRY_DELAY) * 2 ** max(attempt - 1, 0)


def job_files_expire(now: Any = None) -> int:
    """Delete the files of jobs past their expiry; the job rows stay as the record. Returns how many."""
    now = now or timezone.now()
    count = 0
    for job in Job.objects.filter(expires_at__lte=now).exclude(file=""):
        job_file_delete(job)
        count += 1
    return count


def job_file_delete(job: Job) -> None:
    if job.file:
        job.file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(file="")
