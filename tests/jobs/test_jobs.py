"""Job rows: claiming, progress, the progress fragment, and who may see a job."""

from __future__ import annotations

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_claim, job_create, job_progress, job_run

pytestmark = pytest.mark.django_db


def test_a_job_is_claimed_once(researcher):
    job = job_create(kind="selftest", user=researcher)
    assert job_claim(job_id=job.id) is True
    assert job_claim(job_id=job.id) is False
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.started_at is not None


def test_progress_is_clamped_and_only_moves_running_jobs(researcher):
    job = job_create(kind="selftest", user=researcher)
    job_progress(job_id=job.id, progress=40)
    job.refresh_from_db()
    assert job.progress == 0  # still pending: nothing moves
    job_claim(job_id=job.id)
    job_progress(job_id=job.id, progress=140, message="nearly")
    job.refresh_from_db()
    assert (job.progress, job.message) == (100, "nearly")


def test_job_run_records_success_and_failure(researcher):
    ok = job_create(kind="selftest", user=researcher)
    assert job_run(job_id=ok.id, work=lambda job, progress: {"answer": 42}) is True
    ok.refresh_from_db()
    assert (ok.status, ok.progress, ok.result) == (JobStatus.SUCCEEDED, 100, {"answer": 42})
    assert job_run(job_id=ok.id, work=lambda job, progress: {"again": 1}) is False

    def broken(job, progress):
        progress(30, "reading")
        raise ValueError("column 'label' is missing")

    bad = job_create(kind="selftest", user=researcher)
    job_run(job_id=bad.id, work=broken)
    bad.refresh_from_db()
    assert bad.status == JobStatus.FAILED
    assert bad.message == "ValueError: column 'label' is missing"
    assert bad.progress == 30


def test_eager_task_runs_the_selftest_job(researcher):
    from jobs.tasks import job_selftest

    job = job_create(kind="selftest", user=researcher)
    job_selftest.delay(str(job.id), steps=3, pause=0)
    job.refresh_from_db()
    assert (job.status, job.progress, job.result) == (JobStatus.SUCCEEDED, 100, {"steps": 3})


def test_progress_fragment_and_api(client, api_as, researcher, outsider):
    job = job_create(kind="selftest", user=researcher)
    job_claim(job_id=job.id)
    job_progress(job_id=job.id, progress=37, message="step 2/5")
    client.force_login(researcher)
    body = client.get(f"/jobs/{job.id}/progress/").content.decode()
    assert 'value="37"' in body
    assert "step 2/5" in body
    assert 'data-finished="0"' in body
    assert api_as(researcher).get(f"/api/jobs/{job.id}/").json()["progress"] == 37

    client.force_login(outsider)
    assert client.get(f"/jobs/{job.id}/progress/").status_code == 404
    assert api_as(outsider).get(f"/api/jobs/{job.id}/").status_code == 404
    assert Job.objects.count() == 1


def test_result_file_is_downloaded_through_the_access_check(client, api_as, researcher, outsider):
    from jobs.services import job_succeed

    job = job_create(kind="selftest", user=researcher)
    job_claim(job_id=job.id)
    job_succeed(job_id=job.id, file_name="report.csv", content=b"item,label\n1,joy\n")
    url = f"/jobs/{job.id}/download/"
    assert api_as(researcher).get(f"/api/jobs/{job.id}/").json()["result_url"] == url

    client.force_login(researcher)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"item,label\n1,joy\n"
    assert 'filename="report' in response.headers["Content-Disposition"]
    assert url in client.get(f"/jobs/{job.id}/progress/").content.decode()

    client.force_login(outsider)
    assert client.get(url).status_code == 404
