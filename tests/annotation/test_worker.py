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
