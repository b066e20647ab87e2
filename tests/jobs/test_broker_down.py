"""With the broker unreachable, every way of starting a job answers at once and leaves no job.

The pages show a message (503 when there is no page to go back to); the API answers 503 with
the usual error body. Transactional, so that each start runs as in production: views in
autocommit publish after the row is committed (and delete it on failure), views that wrap the
start in a transaction check the broker before creating anything.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.messages import get_messages

from jobs.models import Job, JobStatus
from jobs.services import job_claim, job_create, job_succeed

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_PORT = "redis://127.0.0.1:1/0"
MESSAGE = "Background work is unavailable right now; try again in a few minutes."
BODY = {"errors": {"non_field_errors": [MESSAGE]}}


@pytest.fixture
def broker_down():
    """Celery publishes to a port where nothing listens (no eager mode)."""
    from config.celery import app
    from tests.conftest import _forget_broker_connections

    previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=CLOSED_PORT, task_always_eager=False)
    _forget_broker_connections(app)
    yield
    app.conf.update(**previous)
    _forget_broker_connections(app)


@pytest.fixture
def everything(study, researcher, colleague):
    """One of each thing a job can be started for (built while tasks still run eagerly)."""
    from benchmarks.services import dataset_create, source_upload_create, version_build
    from surveys.services import design_create
    from tests.annotation.factories import emotion_project, text_items
    from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame
    from tests.surveys import factories as survey_factories

    dataset = dataset_create(
        study=study, user=researcher, name="Emotions", categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 20},
    )  # fmt: skip
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame(8)))
    version = version_build(dataset=dataset, user=researcher)
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    population = survey_factories.make_population(study)
    panel = survey_factories.make_panel(study, population, per_cell=2)
    design = design_create(study=study, population=population, panel=panel, name="Main", n=4)
    survey = survey_factories.make_survey(study, design, reviewer=colleague)
    return {"dataset": dataset, "version": version, "project": project, "survey": survey}


def page_starts(e) -> list[tuple[str, dict[str, str]]]:
    d, v, p, s = e["dataset"].pk, e["version"].number, e["project"].pk, e["survey"].pk
    return [
        (f"/benchmarks/datasets/{d}/build/", {}),
        (f"/benchmarks/datasets/{d}/versions/{v}/export/", {}),
        (f"/annotation/projects/{p}/votes/export/", {"export-format": "csv"}),
        (f"/annotation/projects/{p}/agreement/", {}),
        (f"/surveys/{s}/send/invitations/", {}),
        (f"/surveys/{s}/send/reminders/", {}),
        (f"/surveys/{s}/weights/", {}),
        (f"/surveys/{s}/export/csv/", {}),
    ]


def api_starts(e) -> list[tuple[str, dict[str, str]]]:
    d, v, p, s = e["dataset"].pk, e["version"].number, e["project"].pk, e["survey"].pk
    return [
        (f"/api/benchmarks/datasets/{d}/build/", {}),
        (f"/api/benchmarks/datasets/{d}/versions/{v}/exports/", {}),
        (f"/api/annotation/projects/{p}/votes/export/", {"format": "csv"}),
        (f"/api/annotation/projects/{p}/agreement/", {}),
        (f"/api/surveys/surveys/{s}/invitations/send/", {}),
        (f"/api/surveys/surveys/{s}/weights/", {}),
        (f"/api/surveys/surveys/{s}/exports/", {"format": "csv"}),
    ]


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def test_every_page_that_starts_a_job_shows_a_message(client, researcher, everything, broker_down):
    client.force_login(researcher)
    for url, data in page_starts(everything):
        response, took = timed(client.post, url, data, HTTP_REFERER="/")
        assert (url, response.status_code, response["Location"]) == (url, 302, "/")
        assert took < 3, (url, took)
        # Back on the page the form was on, the message is shown.
        page = client.get("/")
        assert page.text.count(MESSAGE) == 1, url
    assert Job.objects.count() == 0

    # Without a page to go back to: a 503 page that says so.
    url = page_starts(everything)[0][0]
    response = client.post(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert MESSAGE in response.text
    assert Job.objects.count() == 0


def test_every_api_start_answers_503(api_as, researcher, everything, broker_down):
    api = api_as(researcher)
    for url, data in api_starts(everything):
        response, took = timed(api.post, url, data, format="json")
        assert (url, response.status_code, response.json()) == (url, 503, BODY)
        assert response["Retry-After"] == "60"
        assert took < 3, (url, took)
    assert Job.objects.count() == 0


def test_admin_actions_that_start_jobs_show_a_message(client, everything, broker_down):
    from tests.accounts.factories import UserFactory

    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    earlier = job_create(kind="selftest", user=root)
    job_claim(job_id=earlier.id)
    job_succeed(job_id=earlier.id)
    actions = [
        ("/admin/jobs/job/", "start_selftest", earlier.pk),
        ("/admin/benchmarks/version/", "export_versions", everything["version"].pk),
        ("/admin/annotation/project/", "export_votes_csv", everything["project"].pk),
    ]
    for url, action, pk in actions:
        response, took = timed(
            client.post, url, {"action": action, "_selected_action": [pk]}, HTTP_REFERER=url
        )
        assert (action, response.status_code, response["Location"]) == (action, 302, url)
        assert [str(m) for m in get_messages(response.wsgi_request)] == [MESSAGE]
        assert took < 3, (action, took)
        client.get(url)  # shows (and so consumes) the message
    assert list(Job.objects.values_list("pk", "status")) == [(earlier.pk, JobStatus.SUCCEEDED)]
