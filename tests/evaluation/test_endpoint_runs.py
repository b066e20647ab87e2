"""Endpoint runs against the local stub server: answers parsed to options or categories, the
stub's log-probabilities kept, bounded concurrency, retries, per-item failures, resuming."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from evaluation import client
from evaluation.models import Prediction, Run, RunStatus
from evaluation.services.endpoints import (
    endpoint_create,
    endpoint_key,
    endpoint_run_execute,
    endpoint_run_start,
)
from evaluation.stub import StubServer
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


def make_endpoint(study, researcher, url, *, name="stub", **extra):
    values = {"max_concurrency": 3, "timeout_seconds": 2.0, "max_retries": 2, **extra}
    return endpoint_create(
        study=study, user=researcher, name=name, url=url, model="stub-1", **values
    )


def test_a_run_asks_every_item_and_is_scored(study, researcher, version):
    with StubServer() as stub:
        endpoint = make_endpoint(study, researcher, stub.url, price_input=0.5)
        run = endpoint_run_start(
            dataset=version.dataset, version=version, endpoint=endpoint, user=researcher
        )
        # Eager Celery in tests without a broker: the job ran at commit.
        run.refresh_from_db()
        job = Job.objects.get(pk=run.job_id)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert run.status == RunStatus.DONE
    assert (run.n_items, run.n_predicted, run.n_failed) == (30, 30, 0)
    assert stub.max_active <= 3
    preds = Prediction.objects.filter(run=run)
    assert set(preds.values_list("label", flat=True)) <= {"joy", "anger", "sadness"}
    # The stub's log-probabilities become a distribution over the categories.
    first = preds.first()
    assert len(first.probs) == 3 and sum(first.probs) == pytest.approx(1.0)
    assert run.tokens_in > 0 and run.cost == pytest.approx(run.tokens_in * 0.5 / 1000)
    assert run.scores["headline"]["metric"] == "macro_f1"
    assert "soft" in run.scores["rules"]


def test_failed_calls_are_retried_then_reported_per_item(client, study, researcher, version):
    with StubServer(mode="flaky") as stub:
        endpoint = make_endpoint(study, researcher, stub.url, name="flaky")
        run = Run.objects.get(
            pk=endpoint_run_start(
                dataset=version.dataset, version=version, endpoint=endpoint, user=researcher
            ).pk
        )
    # The first attempt at each prompt answered 500 (these items have no text, so they share
    # one prompt); the retry got through.
    assert (run.n_predicted, run.n_failed) == (30, 0)
    assert 2 in set(Prediction.objects.filter(run=run).values_list("attempts", flat=True))

    with StubServer(mode="garbage") as stub:
        endpoint = make_endpoint(study, researcher, stub.url, name="garbage", max_retries=1)
        run = Run.objects.get(
            pk=endpoint_run_start(
                dataset=version.dataset, version=version, endpoint=endpoint, user=researcher,
                name="garbage",
            ).pk
        )  # fmt: skip
    # Garbage text, but the log-probabilities still name the categories: they decide.
    assert run.n_failed == 0

    with StubServer(mode="broken") as stub:
        endpoint = make_endpoint(study, researcher, stub.url, name="broken", max_retries=1)
        run = Run.objects.get(
            pk=endpoint_run_start(
                dataset=version.dataset, version=version, endpoint=endpoint, user=researcher,
                name="broken",
            ).pk
        )  # fmt: skip
    assert (run.n_predicted, run.n_failed) == (0, 30)
    errors = set(Prediction.objects.filter(run=run).values_list("error", flat=True))
    assert errors == {"the answer is not OpenAI-style JSON"}
    assert run.message == "30 item(s) failed; see their reasons"
    # The page says so in its reader's language.
    client.force_login(researcher)
    page = client.get(reverse("evaluation:run_detail", args=[run.pk]))
    assert '<p role="status">30 items failed; see their reasons.</p>' in page.content.decode()
    page = client.get(reverse("evaluation:run_detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="ko")
    assert (
        '<p role="status">항목 30개가 실패했습니다. 그 이유를 확인하세요.</p>'
        in page.content.decode()
    )


def test_a_timeout_is_an_error_per_item(study, researcher, version):
    with StubServer(mode="slow") as stub:
        endpoint = make_endpoint(
            study, researcher, stub.url, name="slow", timeout_seconds=0.2, max_retries=0,
            max_concurrency=30,
        )  # fmt: skip
        run = Run.objects.get(
            pk=endpoint_run_start(
                dataset=version.dataset, version=version, endpoint=endpoint, user=researcher
            ).pk
        )
    assert run.n_failed == 30
    assert set(Prediction.objects.filter(run=run).values_list("error", flat=True)) == {
        "no answer within 0.2 s"
    }


def test_a_run_started_again_continues_where_it_stopped(study, researcher, version):
    with StubServer(mode="broken") as stub:
        endpoint = make_endpoint(study, researcher, stub.url, max_retries=0)
        run = Run.objects.get(
            pk=endpoint_run_start(
                dataset=version.dataset, version=version, endpoint=endpoint, user=researcher
            ).pk
        )
    assert run.n_failed == 30
    # Half the items had answers already (as if the job was killed after storing them).
    Prediction.objects.filter(run=run, item__lt="i15").update(error="", label="joy")
    with StubServer() as stub:
        endpoint.url = stub.url
        endpoint.save()
        run = endpoint_run_execute(
            run=Run.objects.select_related("endpoint", "version").get(pk=run.pk)
        )
        assert stub.requests == 15
    run.refresh_from_db()
    assert (run.n_predicted, run.n_failed) == (30, 0)


def test_bad_endpoint_settings_are_refused(study, researcher, version, monkeypatch):
    with pytest.raises(ValidationError) as info:
        endpoint_create(
            study=study, user=researcher, name="x", url="not a url", model="m",
            max_concurrency=0,
        )  # fmt: skip
    assert set(info.value.message_dict) == {"url", "max_concurrency"}
    endpoint = endpoint_create(
        study=study, user=researcher, name="secret", url="http://127.0.0.1:9/v1/chat/completions",
        model="m", api_key="sk-test-123",
    )  # fmt: skip
    assert b"sk-test-123" not in bytes(endpoint.api_key_encrypted)
    assert endpoint_key(endpoint) == "sk-test-123"
    monkeypatch.setenv("STUB_KEY", "from-env")
    from_env = endpoint_create(
        study=study, user=researcher, name="env", url="http://127.0.0.1:9/v1/chat/completions",
        model="m", api_key_env="STUB_KEY",
    )  # fmt: skip
    assert endpoint_key(from_env) == "from-env"
    with pytest.raises(ValidationError) as info:
        endpoint_run_start(
            dataset=version.dataset, version=version, endpoint=endpoint, user=researcher,
            prompt_template="{question} {secret}",
        )  # fmt: skip
    assert "unknown placeholder {secret}" in info.value.message_dict["prompt_template"][0]
    assert Run.objects.count() == 0


def test_answers_are_read_as_options():
    names = ["1", "2", "3"]
    labels = {"1": "Disagree", "2": "Neutral", "3": "Agree"}
    assert client.parse_choice("2", names, labels) == "2"
    assert client.parse_choice("2. Neutral", names, labels) == "2"
    assert client.parse_choice("(3)", names, labels) == "3"
    assert client.parse_choice("Agree", names, labels) == "3"
    assert client.parse_choice("I pick 1 or 2", names, labels) == ""
    assert client.parse_choice("joy.", ["joy", "anger"]) == "joy"
    probs = client.option_probabilities({"1": -0.1, "3": -2.0, "x": 0.0}, names)
    assert probs[1] == 0 and sum(probs) == pytest.approx(1.0) and probs[0] > probs[2]
