"""The lm-evaluation-harness export: a task folder that lm-eval (from PyPI) loads offline and
runs with its ``dummy`` model, every item, the alignment score and accuracy reported."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import yaml
from django.core.management import call_command

from benchmarks import lm_eval_task
from benchmarks.selectors import version_contents, version_items
from benchmarks.services import version_export_write
from benchmarks.services.lm_eval import task_name
from evaluation import metrics

pytestmark = pytest.mark.django_db


def run_lm_eval(folder, task, tmp_path, monkeypatch):
    """``lm_eval --model dummy --include_path FOLDER --tasks TASK``, offline, in process."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.chdir(tmp_path)  # the folder is found from anywhere
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    return simple_evaluate(
        model="dummy",
        tasks=[task],
        task_manager=TaskManager(include_path=str(folder)),
        log_samples=True,
        random_seed=7,
    )


def test_survey_version_runs_in_lm_eval_with_alignment_and_accuracy(
    survey_version,
    tmp_path,
    monkeypatch,
):
    version, survey = survey_version
    folder = tmp_path / "task"
    written = version_export_write(version=version, fmt="lm-eval", out=folder)
    name = task_name(version)
    assert sorted(p.name for p in written) == sorted(
        ["README.md", "items.jsonl", "utils.py", f"{name}.yaml"]
        + ([f"{name}_en.yaml", f"{name}_ko.yaml"] if (folder / f"{name}_ko.yaml").exists() else [])
    )
    config = (folder / f"{name}.yaml").read_text()
    assert "custom_dataset: !function utils.load_items" in config
    assert "process_results: !function utils.process_results" in config
    rows = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
    contents = version_contents(version=version).set_index("item")
    assert [r["item"] for r in rows] == list(contents.index)
    for row in rows:
        people = np.asarray(contents.at[row["item"], "distribution"], dtype=float)
        assert row["distribution"] == pytest.approx(list(people / people.sum()))
        assert row["choices"] == list(contents.at[row["item"], "options"])

    results = run_lm_eval(folder, name, tmp_path, monkeypatch)
    samples = results["samples"][name]
    assert len(samples) == len(rows)  # every item loaded and asked
    reported = results["results"][name]
    assert set(reported) >= {"alignment,none", "acc,none"}
    # Each item's scores follow from the dummy model's log-likelihoods.
    align, correct = [], []
    for sample in samples:
        doc = sample["doc"]
        lls = [r[0][0] for r in sample["resps"]]
        choice = int(np.argmax(lls))
        align.append(doc["distribution"][choice])
        if doc["target"] >= 0:
            correct.append(choice == doc["target"])
        assert sample["alignment"] == pytest.approx(align[-1])
    assert reported["alignment,none"] == pytest.approx(np.mean(align))
    assert reported["acc,none"] == pytest.approx(np.mean(correct))
    # The capital question has a key (Seoul); the agreement question is scored by plurality.
    by_item = {r["item"]: r for r in rows}
    capital = by_item[f"{survey.pk}:capital"]
    assert (capital["target_source"], capital["choices"][capital["target"]]) == ("key", "seoul")
    assert by_item[f"{survey.pk}:family"]["target_source"] == "plurality"


def test_annotation_version_runs_in_lm_eval_against_plurality_labels(
    text_version, tmp_path, monkeypatch
):
    version = text_version
    folder = tmp_path / "task"
    call_command(
        "export_version", str(version.dataset_id), "--format", "lm-eval", "--out", str(folder)
    )
    name = task_name(version)
    config = yaml.safe_load((folder / f"{name}.yaml").read_text().replace("!function ", ""))
    assert config["dataset_kwargs"] == {"data_files": {"test": "items.jsonl"}}
    assert [m["metric"] for m in config["metric_list"]] == ["acc"]
    items = version_items(version=version)
    plurality = dict(zip(items["item"].astype(str), items["plurality.label"], strict=True))
    rows = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
    assert len(rows) == len(items)
    for row in rows:
        truth = plurality[row["item"]]
        expected = -1 if truth is None or truth != truth else row["choices"].index(truth)
        assert row["target"] == expected
    results = run_lm_eval(folder, name, tmp_path, monkeypatch)
    samples = results["samples"][name]
    assert len(samples) == len(items)
    scored = [s for s in samples if s["doc"]["target"] >= 0]
    expected = np.mean(
        [np.argmax([r[0][0] for r in s["resps"]]) == s["doc"]["target"] for s in scored]
    )
    assert results["results"][name]["acc,none"] == pytest.approx(expected)


def test_the_exported_alignment_score_is_the_projects():
    """The folder's metrics module computes what ``evaluation.metrics`` does (same inputs)."""
    rng = np.random.default_rng(3)
    dist = rng.dirichlet(np.ones(5), size=40)
    choices = rng.integers(0, 5, size=40)
    fold = [[0, 1], [2], [3, 4]]
    for f in (None, fold):
        assert lm_eval_task.alignment_score(dist.tolist(), choices.tolist(), f) == pytest.approx(
            metrics.alignment_score(dist, choices, f)
        )
    targets = [random.Random(1).randrange(-1, 5) for _ in range(40)]
    keep = np.array(targets) >= 0
    assert lm_eval_task.accuracy(choices.tolist(), targets) == pytest.approx(
        float((choices[keep] == np.array(targets)[keep]).mean())
    )


def test_api_and_page_export_the_task_folder_as_its_own_zip(
    text_version, version, researcher, api_client, client, django_capture_on_commit_callbacks
):
    import io
    import zipfile

    from jobs.models import Job

    api_client.force_authenticate(researcher)
    base = f"/api/benchmarks/datasets/{text_version.dataset_id}/versions/1/exports/"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(base, {"format": "lm-eval"}, format="json")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.message
    name = task_name(text_version)
    assert job.result["file"] == "emotions-with-texts-v1-lm-eval.zip"
    download = api_client.get(f"{base}{job.id}/download/")
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as zf:
        assert sorted(zf.namelist()) == sorted(
            f"lm_eval/{f}" for f in ("README.md", "items.jsonl", "utils.py", f"{name}.yaml")
        )
    # A version of votes only has no task: refused, naming the field, nothing queued.
    before = Job.objects.count()
    votes_only = f"/api/benchmarks/datasets/{version.dataset_id}/versions/1/exports/"
    response = api_client.post(votes_only, {"format": "lm-eval"}, format="json")
    assert response.status_code == 400
    assert "format" in str(response.json())
    response = api_client.post(votes_only, {"format": "docx"}, format="json")
    assert response.status_code == 400 and "format" in str(response.json())
    assert Job.objects.count() == before
    # The version page offers the choice.
    client.force_login(researcher)
    page = client.get(f"/benchmarks/datasets/{text_version.dataset_id}/versions/1/")
    assert b'<option value="lm-eval">' in page.content


def test_the_command_refuses_a_version_without_texts_or_questions(version, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="lm-eval needs text items or survey questions"):
        call_command(
            "export_version", str(version.dataset_id), "--format", "lm-eval", "--out",
            str(tmp_path / "task"),
        )  # fmt: skip
    assert not (tmp_path / "task").exists() or not any((tmp_path / "task").iterdir())
