"""The agreement report of a large project runs as a job on a real Celery worker."""

from __future__ import annotations

import time

import pytest

from annotation.selectors import project_agreement
from annotation.services import annotation_submit, assignment_next
from jobs.models import Job
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_agreement_job_runs_on_the_worker(celery_worker, api_as, study, researcher):
    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 4)
    for user, labels in zip(
        raters(project, 3), (["joy", "joy", "anger", "fear"], ["joy", "anger", "anger", "fear"],
                             ["joy", "joy", "anger", "sadness"]), strict=True
    ):  # fmt: skip
        for label in labels:
            lease = assignment_next(project=project, user=user)
            annotation_submit(
                project=project, user=user, item_id=lease.item_id, labels=[{"category": label}]
            )
    response = api_as(researcher).post(f"/api/annotation/projects/{project.id}/agreement/")
    assert response.status_code == 202
    job_id = response.json()["job"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            break
        time.sleep(0.1)
    assert job.status == "succeeded", job.message
    expected = project_agreement(project=project, n_boot=200, seed=0)
    assert job.result["alpha"] == pytest.approx(expected["alpha"])
    assert job.result["alpha_ci"] == pytest.approx(expected["alpha_ci"])
    assert job.result["n_votes"] == 12
    # Only researchers may start it.
    assert (
        api_as(raters(project, 1, prefix="x")[0])
        .post(f"/api/annotation/projects/{project.id}/agreement/")
        .status_code
        == 403
    )


def _finished(job_id: str) -> Job:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_vote_table_exports_run_on_the_worker(celery_worker, api_as, client, study, researcher):
    import io

    import pandas as pd

    from annotation.selectors import project_vote_table

    project = emotion_project(study=study, user=researcher, k=2, name="Räume & 감정")
    text_items(project, 2)
    for user, label in zip(raters(project, 2), ("joy", "anger"), strict=True):
        for _ in range(2):
            lease = assignment_next(project=project, user=user)
            annotation_submit(
                project=project,
                user=user,
                item_id=lease.item_id,
                labels=[{"category": label}, {"category": "fear", "role": "secondary"}],
                time_ms=1500,
            )
    api = api_as(researcher)
    url = f"/api/annotation/projects/{project.id}/votes/export/"
    assert api.post(url, {"format": "xlsx"}, format="json").json() == {
        "errors": {"format": ['"xlsx" is not a valid choice.']}
    }
    expected = project_vote_table(project=project, timing=True)
    client.force_login(researcher)
    files = {}
    for fmt in ("csv", "parquet"):
        response = api.post(url, {"format": fmt}, format="json")
        assert response.status_code == 202
        job = _finished(response.json()["job"])
        assert job.status == "succeeded", job.message
        assert job.result == {"format": fmt, "rows": 8}
        detail = api.get(response.json()["url"]).json()
        download = client.get(detail["result_url"])
        assert download.status_code == 200
        files[fmt] = b"".join(download.streaming_content)
    assert files["csv"].startswith(
        b"\xef\xbb\xbfitem,voter,label,weight,role,group,created,seconds"
    )
    from_csv = pd.read_csv(io.BytesIO(files["csv"]), encoding="utf-8-sig")
    from_parquet = pd.read_parquet(io.BytesIO(files["parquet"]))
    columns = ["item", "voter", "label", "weight", "role", "group", "created", "seconds", "speaker"]
    assert list(from_parquet.columns) == list(expected.columns) == columns
    assert len(from_csv) == len(from_parquet) == 8
    labels = ["anger"] * 2 + ["fear"] * 4 + ["joy"] * 2
    assert sorted(from_csv["label"]) == sorted(from_parquet["label"]) == labels
    assert sorted(expected["label"]) == labels
    assert set(from_parquet["seconds"]) == {1.5}
    assert set(from_csv["speaker"]) == {"spk0", "spk1"}
    (ana,) = raters(project, 1, prefix="ana")
    assert api_as(ana).post(url, {"format": "csv"}, format="json").status_code == 403
