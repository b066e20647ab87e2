"""Leaderboard page, run page, pass mark, API and the evaluate command, with permissions."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from benchmarks.selectors import version_items
from evaluation.models import Run
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db


def answers(version, wrong_every: int) -> str:
    items = version_items(version=version)
    rows = ["item,label"]
    cats = ["joy", "anger", "sadness"]
    for i, (key, label) in enumerate(zip(items["item"], items["plurality.label"], strict=True)):
        label = label if isinstance(label, str) else "joy"
        if i % wrong_every == 0:
            label = cats[(cats.index(label) + 1) % 3]
        rows.append(f"{key},{label}")
    return "\n".join(rows) + "\n"


def test_leaderboard_ranks_runs_and_shows_pass_or_fail(client, researcher, version):
    url = f"/evaluation/datasets/{version.dataset_id}/"
    client.force_login(researcher)
    for name, wrong in (("weak", 2), ("strong", 10)):
        response = client.post(
            url,
            {"name": name, "file": SimpleUploadedFile("p.csv", answers(version, wrong).encode())},
        )
        assert response.status_code == 302
    response = client.post(
        f"/evaluation/datasets/{version.dataset_id}/reference/",
        {"reference-source": "set", "reference-metric": "macro_f1", "reference-value": "0.8"},
    )
    assert response.status_code == 302
    body = client.get(url).content.decode()
    assert body.index(">strong<") < body.index(">weak<")
    strong = Run.objects.get(name="strong").scores["headline"]["estimate"]
    weak = Run.objects.get(name="weak").scores["headline"]["estimate"]
    assert strong > 0.8 > weak
    assert body.count('class="pass"') == 1 and body.count('class="fail"') == 1
    run = Run.objects.get(name="strong")
    page = client.get(f"/evaluation/runs/{run.pk}/").content.decode()
    assert 'id="rule-scores"' in page and "plurality" in page and "dawid_skene" in page
    assert "speaker" in page  # the item attribute breakdown


def test_a_bad_file_on_the_page_shows_the_error_and_stores_nothing(client, researcher, version):
    client.force_login(researcher)
    response = post_refused(
        client,
        f"/evaluation/datasets/{version.dataset_id}/",
        {"name": "m", "file": SimpleUploadedFile("p.csv", b"item,label\nnope,joy\n")},
    )
    assert "1 item(s) are not in version 1: &#x27;nope&#x27;." in response.content.decode()
    assert Run.objects.count() == 0


def test_outsiders_see_nothing(client, api_as, outsider, researcher, version):
    client.force_login(researcher)
    client.post(
        f"/evaluation/datasets/{version.dataset_id}/",
        {"name": "m", "file": SimpleUploadedFile("p.csv", answers(version, 3).encode())},
    )
    run = Run.objects.get()
    client.force_login(outsider)
    assert client.get(f"/evaluation/datasets/{version.dataset_id}/").status_code == 404
    assert client.get(f"/evaluation/runs/{run.pk}/").status_code == 404
    api = api_as(outsider)
    assert api.get(f"/api/evaluation/runs/{run.pk}/").status_code == 404
    assert api.get(f"/api/evaluation/datasets/{version.dataset_id}/runs/").status_code == 404
    client.logout()
    assert client.get(f"/evaluation/runs/{run.pk}/").status_code == 302


def test_api_upload_leaderboard_and_reference(api_as, researcher, version):
    api = api_as(researcher)
    url = f"/api/evaluation/datasets/{version.dataset_id}/runs/"
    response = api.post(
        url,
        {"name": "api-model", "file": SimpleUploadedFile("p.csv", answers(version, 3).encode())},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["scores"]["report"]["n_predicted"] == 30
    bad = api.post(
        url, {"name": "x", "file": SimpleUploadedFile("p.csv", b"item,label\ni00,fear\n")},
        format="multipart",
    )  # fmt: skip
    assert bad.status_code == 400
    assert "is not a category" in bad.json()["errors"]["file"][0]
    ref = api.put(
        f"/api/evaluation/datasets/{version.dataset_id}/reference/",
        {"source": "held_out_human"},
        format="json",
    )
    assert ref.status_code == 200 and ref.json()["metric"] == "macro_f1"
    board = api.get(url).json()
    assert [r["name"] for r in board["runs"]] == ["api-model"]
    assert board["reference"]["source"] == "held_out_human"
    assert board["runs"][0]["passed"] in (True, False)
    missing = api.put(
        f"/api/evaluation/datasets/{version.dataset_id}/reference/", {"source": "set"},
        format="json",
    )  # fmt: skip
    assert missing.status_code == 400 and set(missing.json()["errors"]) == {"metric", "value"}


def test_evaluate_command(version, tmp_path):
    path = tmp_path / "model-b.csv"
    path.write_text(answers(version, 5))
    out = io.StringIO()
    call_command("evaluate", str(version.dataset_id), str(path), stdout=out)
    assert out.getvalue().startswith("model-b on Emotions v1: macro_f1 (plurality) ")
    assert "30 of 30 items" in out.getvalue()
    out = io.StringIO()
    call_command(
        "evaluate", str(version.dataset_id), str(path), "--name", "again", "--json", stdout=out
    )
    assert json.loads(out.getvalue())["headline"]["rule"] == "plurality"
    with pytest.raises(CommandError, match="already has a run 'again'"):
        call_command("evaluate", str(version.dataset_id), str(path), "--name", "again")
    with pytest.raises(CommandError, match=r"version: This dataset has no such version\."):
        call_command("evaluate", str(version.dataset_id), str(path), "--version", "7")


def test_endpoint_pages_and_api(
    client, api_as, researcher, outsider, study, version, django_capture_on_commit_callbacks
):
    from evaluation.models import ModelEndpoint
    from evaluation.stub import StubServer

    client.force_login(researcher)
    with StubServer() as stub:
        response = client.post(
            f"/evaluation/datasets/{version.dataset_id}/endpoints/",
            {
                "endpoint-name": "Stub", "endpoint-url": stub.url, "endpoint-model": "s1",
                "endpoint-api_style": "chat", "endpoint-api_key": "sk-1",
                "endpoint-max_concurrency": "2", "endpoint-timeout_seconds": "5",
                "endpoint-max_retries": "1", "endpoint-price_input": "0",
                "endpoint-price_output": "0",
            },
        )  # fmt: skip
        assert response.status_code == 302
        endpoint = ModelEndpoint.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/evaluation/datasets/{version.dataset_id}/endpoint-runs/",
                {"run-endpoint": str(endpoint.pk), "run-language": "en", "run-name": "via page"},
            )
        run = Run.objects.get(name="via page")
        assert response.status_code == 302 and response["Location"] == f"/evaluation/runs/{run.pk}/"
        page = client.get(response["Location"])
        assert page.status_code == 200
        assert 'id="rule-scores"' in page.content.decode()

        api = api_as(researcher)
        listed = api.get(f"/api/evaluation/studies/{study.pk}/endpoints/").json()
        assert listed[0]["has_stored_key"] is True and "api_key" not in listed[0]
        started = api.post(
            f"/api/evaluation/datasets/{version.dataset_id}/endpoint-runs/",
            {"endpoint": endpoint.pk, "name": "via api", "language": "ko"},
            format="json",
        )
        assert started.status_code == 202, started.json()
        # The job is enqueued when the request's transaction commits.
        assert started.json()["status"] == "pending" and started.json()["job"]
        bad = api.post(
            f"/api/evaluation/datasets/{version.dataset_id}/endpoint-runs/",
            {"endpoint": endpoint.pk, "prompt_template": "{nope}"},
            format="json",
        )
        assert bad.status_code == 400 and "prompt_template" in bad.json()["errors"]
    other = api_as(outsider)
    assert other.get(f"/api/evaluation/studies/{study.pk}/endpoints/").status_code == 404


def test_a_refused_endpoint_comes_back_with_what_was_typed_but_never_the_key(
    client, researcher, version
):
    """The form goes back to the leaderboard (a GET address) with the values typed and the
    error; the key is a password field: it is not kept in the session, nor shown again."""
    from django.contrib.sessions.models import Session

    from evaluation.models import ModelEndpoint

    client.force_login(researcher)
    page = post_refused(
        client,
        f"/evaluation/datasets/{version.dataset_id}/endpoints/",
        {
            "endpoint-name": "Local model",
            "endpoint-url": "not a url",
            "endpoint-model": "tiny",
            "endpoint-api_style": "chat",
            "endpoint-api_key": "sk-secret-123",
            "endpoint-max_concurrency": "4",
            "endpoint-timeout_seconds": "30",
            "endpoint-max_retries": "3",
            "endpoint-price_input": "0",
            "endpoint-price_output": "0",
        },
    )
    html = page.content.decode()
    assert list(page.context["endpoint_form"].errors) == ["url"]
    assert 'value="Local model"' in html and 'value="not a url"' in html
    assert "sk-secret-123" not in html
    session = Session.objects.get().get_decoded()
    assert "sk-secret-123" not in str(session)
    assert "Local model" in str(session)
    assert ModelEndpoint.objects.count() == 0
