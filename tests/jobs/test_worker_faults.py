"""Fault tests on a real Celery worker: a worker killed mid-job, a job over its time limit.

The workers get short heartbeat, staleness and Redis visibility settings through their
environment, so that a killed worker's task comes back within a couple of seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from django.core.files.storage import default_storage

from jobs.models import Job, JobStatus
from jobs.services import job_start
from jobs.tasks import job_selftest
from tests.conftest import REPO

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

STEPS = 8
CONTENT = "".join(f"step {step}/{STEPS}\n" for step in range(1, STEPS + 1)).encode()


@pytest.fixture
def quick_recovery(monkeypatch):
    """Settings of the workers started after this (they read them from the environment)."""
    monkeypatch.setenv("JOB_HEARTBEAT_SECONDS", "0.2")
    monkeypatch.setenv("JOB_STALE_SECONDS", "1.5")
    monkeypatch.setenv("JOB_TIME_LIMITS", "selftest.slow=1:10")
    monkeypatch.setenv(
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        '{"visibility_timeout": 1, "unacked_restore_interval": 0.5, "unacked_restore_throttle": 1}',
    )


@pytest.fixture
def worker(quick_recovery, request):
    # Requested here so that the environment above is set before the worker starts.
    return request.getfixturevalue("celery_worker")


def start_another_worker(first: subprocess.Popen, settings, log_path) -> subprocess.Popen:
    """A second worker like the fixture's (same command, database, broker and media)."""
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/13"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(first.args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def result_files(job: Job) -> list[str]:
    folder = f"jobs/{job.created_at:%Y/%m}/{job.id}"
    try:
        return sorted(default_storage.listdir(folder)[1])
    except FileNotFoundError:
        return []


def test_a_job_whose_worker_is_killed_ends_on_the_next_worker(
    worker, researcher, settings, tmp_path
):
    job = job_start(
        kind="selftest",
        task=job_selftest,
        user=researcher,
        params={"steps": STEPS, "pause": 0.25, "file": True},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == JobStatus.RUNNING and job.progress >= 25:
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"the job did not get going: {job.status} {job.progress}")

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    time.sleep(0.5)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
    assert result_files(job) == []

    second = start_another_worker(worker, settings, tmp_path / "second-worker.log")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job.refresh_from_db()
            # Whenever the result file is there under its name, it is complete.
            for name in result_files(job):
                assert not name.startswith(".partial-") or job.status == JobStatus.RUNNING
                if name == "selftest.txt":
                    with default_storage.open(f"jobs/{job.created_at:%Y/%m}/{job.id}/{name}") as f:
                        assert f.read() == CONTENT
            if job.is_finished:
                break
            time.sleep(0.05)
        log = (tmp_path / "second-worker.log").read_text()
        assert (job.status, job.message) == (JobStatus.SUCCEEDED, ""), log[-3000:]
    finally:
        second.terminate()
        second.wait(timeout=20)
    assert (job.attempts, job.progress, job.result) == (2, 100, {"steps": STEPS})
    assert result_files(job) == ["selftest.txt"]
    assert job.result_file.name == f"jobs/{job.created_at:%Y/%m}/{job.id}/selftest.txt"
    with job.result_file.open("rb") as stored:
        assert stored.read() == CONTENT
    assert Job.objects.count() == 1


def test_a_job_over_its_soft_time_limit_fails_on_a_worker(worker, researcher):
    job = job_start(
        kind="selftest.slow", task=job_selftest, user=researcher, params={"steps": 50, "pause": 0.1}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.05)
    assert (job.status, job.message) == (
        JobStatus.FAILED,
        "Stopped: it ran longer than its time limit of 1 s.",
    )
    assert 0 < job.progress < 100
    assert (job.finished_at - job.started_at).total_seconds() < 3
