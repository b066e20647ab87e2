"""Every demo dataset's latest version exports with its items' content, as `make run` shows."""

from __future__ import annotations

import io

import pytest

from accounts.demo import load_people
from benchmarks.models import Dataset
from benchmarks.services import version_export_write

pytestmark = pytest.mark.django_db


def test_every_demo_dataset_exports_its_content(tmp_path, monkeypatch):
    from annotation import demo as annotation_demo
    from benchmarks import demo
    from surveys import demo as survey_demo

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    people = load_people()
    for module in (survey_demo, annotation_demo, demo):
        module.load(people=people, stdout=io.StringIO())
    names = sorted(Dataset.objects.values_list("name", flat=True))
    assert names == sorted(
        [
            demo.UPLOAD_DATASET,
            survey_demo.SURVEY_DATASET,
            annotation_demo.EMOTION_DATASET,
            annotation_demo.POLICY_DATASET,
        ]
    )
    rows = {}
    for dataset in Dataset.objects.all():
        version = dataset.versions.order_by("-number").first()
        out = tmp_path / str(dataset.pk)
        version_export_write(version=version, fmt="hf", out=out)
        loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
        if "audio" in loaded["train"].column_names:
            loaded = loaded.cast_column("audio", datasets.Audio(decode=False))
        rows[dataset.name] = [r for split in loaded.values() for r in split]
        assert rows[dataset.name], dataset.name

    reviews = rows[demo.UPLOAD_DATASET]
    assert len(reviews) == 60 and all(r["text"] and r["kind"] == "text" for r in reviews)
    questions = rows[survey_demo.SURVEY_DATASET]
    assert len(questions) == len(survey_demo.SURVEY_QUESTIONS)
    for row in questions:
        assert row["kind"] == "question" and row["question_en"] and row["question_ko"]
        assert len(row["options"]) == len(row["distribution"]) == 5
        assert sum(row["distribution"]) == pytest.approx(1.0)
        assert row["n"] > 100
    clips = rows[annotation_demo.EMOTION_DATASET]
    assert all(r["kind"] == "audio" and r["audio"]["bytes"][:4] == b"RIFF" for r in clips)
    passages = rows[annotation_demo.POLICY_DATASET]
    assert all(r["kind"] == "text" and len(r["text"]) > 20 for r in passages)
