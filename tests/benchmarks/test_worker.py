"""A real Celery worker builds a version and exports it, reporting progress on the job rows."""

from __future__ import annotations

import time

import pytest

from benchmarks.models import Version
from benchmarks.services import version_build_start, version_export_start
from jobs.models import Job, JobStatus

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def wait_for(job: Job, timeout: float = 90) -> tuple[Job, list[int]]:
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == JobStatus.RUNNING:
            seen.append(job.progress)
        if job.is_finished:
            return job, seen
        time.sleep(0.02)
    raise AssertionError(f"job {job.kind} did not finish: {job.status} {job.message}")


def test_worker_builds_and_exports_a_version(celery_worker, uploaded, researcher):
    job = version_build_start(dataset=uploaded, user=researcher)
    job, progress = wait_for(job)
    assert job.status == JobStatus.SUCCEEDED, job.message
    version = Version.objects.get()
    assert job.result == {"version_id": version.pk, "number": 1, "sha256": version.sha256}
    assert progress == sorted(progress)
    assert version.stats["n_votes"] == 90

    export = version_export_start(version=version, user=researcher)
    export, _ = wait_for(export)
    assert export.status == JobStatus.SUCCEEDED, export.message
    assert export.result["file"] == "emotions-v1.zip"
    assert export.result_file.size == export.result["bytes"]
