"""A real Celery worker on Redis runs a job row to completion, reporting progress."""

from __future__ import annotations

import time

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_create
from jobs.tasks import job_selftest

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_worker_moves_job_from_pending_through_running_to_succeeded(celery_worker, researcher):
    job = job_create(kind="selftest", user=researcher)
    assert job.status == JobStatus.PENDING
    job_selftest.delay(str(job.id), steps=5, pause=0.4)

    seen_status: list[str] = []
    seen_progress: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = Job.objects.values("status", "progress").get(pk=job.id)
        if not seen_status or seen_status[-1] != row["status"]:
            seen_status.append(row["status"])
        if row["status"] == JobStatus.RUNNING:
            seen_progress.append(row["progress"])
        if row["status"] in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            break
        time.sleep(0.05)

    assert seen_status == ["pending", "running", "succeeded"]
    # Progress was seen strictly between 0 and 100 while running, and never went back.
    assert any(0 < p < 100 for p in seen_progress)
    assert seen_progress == sorted(seen_progress)
    job.refresh_from_db()
    assert (job.progress, job.result) == (100, {"steps": 5})
