"""Job kinds for tests only, imported by the test worker (tests/celery_worker.py, ``-I``) and the tests.

``test_flaky``: raises OperationalError (a transient failure) on its first
``parameters["fail_times"]`` attempts, then writes a small text file.
"""
from __future__ import annotations

import io

from django.db import OperationalError

from jobs.kinds import Kind, Output, Progress, register
from jobs.models import Job


def run_flaky(job: Job, progress: Progress) -> Output:
    progress(50)
    if job.attempts <= int(job.parameters.get("fail_times", 0)):
        raise OperationalError(f"the database went away (attempt {job.attempts})")
    return Output(file=io.BytesIO(f"attempt {job.attempts}".encode()), name="flaky.txt")


register("test_flaky", Kind(run=run_flaky, may_download=lambda user: True))
