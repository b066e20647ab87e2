"""Benchmarks carry their items: each kind of source is built, exported as a Hugging Face folder
and read back with ``datasets.load_dataset`` offline, content and labels checked row by row."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation

from benchmarks.models import DatasetSource, Version
from benchmarks.selectors import version_contents
from benchmarks.services import (
    dataset_create,
    source_annotation_create,
    source_survey_create,
    source_upload_create,
    version_build,
    version_diff,
    version_export_write,
)
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def load_folder(tmp_path, monkeypatch):
    """``datasets.load_dataset`` on an exported folder, offline, with a private cache."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    def load(folder):
        return datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))

    return load


def review_items(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": [f"i{i:02d}" for i in range(n)],
            "text": [
                f'Review {i}: the film was {"good" if i % 2 else "long"}, "really".'
                for i in range(n)
            ],
            "meta.year": [str(2020 + i % 3) for i in range(n)],
        }
    )


def items_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_upload_with_items_exports_texts_beside_every_rule(
    dataset, researcher, tmp_path, load_folder
):
    votes = vote_frame()
    source_upload_create(
        dataset=dataset,
        file_name="votes.csv",
        content=csv_bytes(votes),
        items_name="items.csv",
        items_content=items_csv(review_items()),
    )
    version = version_build(dataset=dataset, user=researcher)
    assert version.stats["item_kinds"] == {"text": 30}
    assert version.stats["items_without_content"] == 0

    out = tmp_path / "hf"
    version_export_write(version=version, fmt="hf", out=out)
    loaded = load_folder(out)
    rows = {r["item"]: r for split in loaded.values() for r in split}
    assert len(rows) == 30
    row = rows["i07"]
    assert row["kind"] == "text"
    assert row["text"] == 'Review 7: the film was good, "really".'
    assert row["year"] == "2021"
    assert row["speaker"] == "s7"
    mine = votes[votes["item"] == "i07"]
    assert sorted(v["label"] for v in row["votes"]) == sorted(mine["label"])
    assert row["plurality"] == mine["label"].mode().iloc[0]
    assert row["soft"] == pytest.approx([float((mine["label"] == c).mean()) for c in CATEGORIES])
    card = (out / "README.md").read_text()
    assert "| `text` | text | The text a model reads" in card
    assert "| `year` | text | Item metadata from the source. |" in card


def test_csv_jsonl_and_parquet_item_tables_carry_the_content(dataset, researcher, tmp_path):
    source_upload_create(
        dataset=dataset,
        file_name="votes.csv",
        content=csv_bytes(vote_frame()),
        items_name="items.jsonl",
        items_content=review_items().to_json(orient="records", lines=True).encode(),
    )
    version = version_build(dataset=dataset, user=researcher)
    for fmt in ("csv", "jsonl", "parquet"):
        call_command(
            "export_version", str(dataset.pk), "--format", fmt, "--out", str(tmp_path / fmt),
            stdout=io.StringIO(),
        )  # fmt: skip
    csv_items = pd.read_csv(tmp_path / "csv" / "items.csv", dtype=str)
    jsonl_items = pd.read_json(tmp_path / "jsonl" / "items.jsonl", lines=True, dtype=False)
    parquet_items = pd.read_parquet(tmp_path / "parquet" / "items.parquet")
    for frame in (csv_items, jsonl_items, parquet_items):
        assert list(frame.columns[:4]) == ["item", "kind", "text", "year"]
        assert frame.loc[3, "text"] == 'Review 3: the film was good, "really".'
        assert "plurality.label" in frame.columns
    assert (tmp_path / "csv" / "votes.csv").exists()
    assert version.number == 1


def test_export_command_writes_the_latest_version_and_refuses_unknown_ones(
    uploaded, researcher, tmp_path
):
    version_build(dataset=uploaded, user=researcher)
    version_build(dataset=uploaded, user=researcher)
    out = io.StringIO()
    call_command(
        "export_version", str(uploaded.pk), "--format", "zip", "--out", str(tmp_path), stdout=out
    )
    assert (tmp_path / "emotions-v2.zip").exists()
    assert "v2 (zip)" in out.getvalue()
    call_command(
        "export_version", str(uploaded.pk), "--version", "1", "--format", "hf",
        "--out", str(tmp_path / "v1"), stdout=io.StringIO(),
    )  # fmt: skip
    assert (tmp_path / "v1" / "README.md").exists()
    assert (tmp_path / "v1" / "data" / "train.parquet").exists()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="has no version 9"):
        call_command(
            "export_version",
            str(uploaded.pk),
            "--version",
            "9",
            "--format",
            "hf",
            "--out",
            str(tmp_path),
        )
    with pytest.raises(CommandError, match="no dataset 999999"):
        call_command("export_version", "999999", "--format", "hf", "--out", str(tmp_path))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (review_items(29), "item: the items file misses 1 item(s) of the vote table ('i29')."),
        (
            review_items().assign(txt="x"),
            "Unknown column 'txt' in the items file",
        ),
        (
            pd.concat([review_items(), review_items(1)]),
            "item: 'i00' is given 2 times; each item once",
        ),
        (
            pd.concat([review_items(), pd.DataFrame({"item": ["zz"], "text": ["?"]})]),
            "item: 1 item(s) of the items file have no vote ('zz').",
        ),
        (review_items().assign(kind="video"), "kind: 'video' is not one of"),
    ],
)
def test_a_bad_items_file_is_refused_and_nothing_is_stored(dataset, media_root, frame, message):
    with pytest.raises(ValidationError) as info:
        source_upload_create(
            dataset=dataset,
            file_name="votes.csv",
            content=csv_bytes(vote_frame()),
            items_name="items.csv",
            items_content=items_csv(frame),
        )
    assert list(info.value.message_dict) == ["items"]
    assert message in info.value.message_dict["items"][0]
    assert DatasetSource.objects.count() == 0
    # No file was kept: neither the vote table nor the items file (rglob of a missing folder
    # is empty).
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (review_items(29), "item: 항목 파일에 투표 표의 항목 1개가 없습니다('i29')."),
        (review_items().assign(txt="x"), "항목 파일에 알 수 없는 열 'txt'이(가) 있습니다."),
        (
            pd.concat([review_items(), pd.DataFrame({"item": ["zz"], "text": ["?"]})]),
            "item: 항목 파일의 항목 1개에 투표가 없습니다('zz').",
        ),
    ],
)
def test_an_items_file_is_refused_in_the_readers_language(dataset, media_root, frame, message):
    with translation.override("ko"), pytest.raises(ValidationError) as info:
        source_upload_create(
            dataset=dataset,
            file_name="votes.csv",
            content=csv_bytes(vote_frame()),
            items_name="items.csv",
            items_content=items_csv(frame),
        )
    assert info.value.message_dict["items"][0].startswith(message)
    assert DatasetSource.objects.count() == 0
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_an_edited_annotation_item_leaves_its_old_version_as_it_was(study, researcher, tmp_path):
    from annotation.services import annotation_submit, assignment_next, items_import
    from tests.annotation.factories import EMOTIONS, emotion_project, raters, text_items

    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 3)
    for user in raters(project, 2):
        for _ in range(3):
            a = assignment_next(project=project, user=user)
            labels = [{"category": "joy", "role": "primary"}]
            annotation_submit(project=project, user=user, item_id=a.item_id, labels=labels)
    dataset = dataset_create(
        study=study, user=researcher, name="Passages", categories=EMOTIONS,
        split_fractions={"train": 1.0}, split_stratify="",
    )  # fmt: skip
    source_annotation_create(dataset=dataset, project_id=project.pk)
    old = version_build(dataset=dataset, user=researcher)
    old_bytes = {
        f: getattr(old, f).open("rb").read() for f in ("votes_file", "items_file", "contents_file")
    }
    assert version_contents(version=old).set_index("item").at["t01", "text"] == "Passage 1"

    report = items_import(
        project=project,
        data=b"external_id,text,speaker,gold_label\nt01,Passage 1 (revised),spk1,\n",
        filename="items.csv",
    )
    assert report.ok, report.rows
    new = version_build(dataset=dataset, user=researcher)

    old = Version.objects.get(pk=old.pk)
    assert {f: getattr(old, f).open("rb").read() for f in old_bytes} == old_bytes
    assert version_contents(version=old).set_index("item").at["t01", "text"] == "Passage 1"
    assert (
        version_contents(version=new).set_index("item").at["t01", "text"] == "Passage 1 (revised)"
    )
    assert new.sha256 != old.sha256
    diff = version_diff(old=old, new=new)
    assert diff["content_changed"] == {
        "count": 1, "items": ["t01"], "columns": {"text": 1}, "compared": True,
    }  # fmt: skip
    assert diff["changed"]["plurality"]["count"] == 0
    assert not diff["same_content"]


def test_annotation_audio_exports_as_an_audio_feature_that_decodes(
    study, researcher, tmp_path, load_folder
):
    import zipfile

    import soundfile
    from datasets import Audio

    from annotation.media import write_tone_wav
    from annotation.services import annotation_submit, assignment_next, items_import
    from tests.annotation.factories import EMOTIONS, emotion_project, raters

    project = emotion_project(study=study, user=researcher, k=2)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.wav", write_tone_wav(frequency=440, seconds=1.0))
        zf.writestr("b.wav", write_tone_wav(frequency=660, seconds=0.5))
    report = items_import(
        project=project,
        data=b"external_id,media,speaker\nclip-a,a.wav,s1\nclip-b,b.wav,s2\n",
        filename="items.csv",
        media_zip=archive.getvalue(),
    )
    assert report.ok, report.rows
    for user, label in zip(raters(project, 2), ["joy", "anger"], strict=True):
        for _ in range(2):
            a = assignment_next(project=project, user=user)
            annotation_submit(
                project=project, user=user, item_id=a.item_id,
                labels=[{"category": label, "role": "primary"}],
            )  # fmt: skip
    dataset = dataset_create(
        study=study, user=researcher, name="Clips", categories=EMOTIONS,
        split_fractions={"train": 1.0}, split_stratify="",
    )  # fmt: skip
    source_annotation_create(dataset=dataset, project_id=project.pk)
    version = version_build(dataset=dataset, user=researcher)
    assert version.stats["item_kinds"] == {"audio": 2}

    out = tmp_path / "hf"
    version_export_write(version=version, fmt="hf", out=out)
    media = sorted(p.name for p in (out / "media").iterdir())
    assert len(media) == 2 and all(len(p) == 64 + 4 and p.endswith(".wav") for p in media)
    train = load_folder(out)["train"].cast_column("audio", Audio(decode=False))
    rows = {r["item"]: r for r in train}
    assert set(rows) == {"clip-a", "clip-b"}
    for key, seconds in (("clip-a", 1.0), ("clip-b", 0.5)):
        row = rows[key]
        assert row["kind"] == "audio"
        samples, rate = soundfile.read(io.BytesIO(row["audio"]["bytes"]))
        assert rate == 16000
        assert len(samples) / rate == pytest.approx(seconds)
        assert row["audio"]["path"].startswith("media/")
        assert (out / row["audio"]["path"]).read_bytes() == row["audio"]["bytes"]
        assert sorted(v["label"] for v in row["votes"]) == ["anger", "joy"]
        assert row["all_inclusive"] == ["anger", "joy"]


def test_survey_version_exports_one_row_per_question_with_its_distribution(
    study, researcher, colleague, tmp_path, load_folder
):
    from surveys.services import design_create, response_start, sample_draw
    from tests.surveys import factories

    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=10)
    design = design_create(study=study, population=population, panel=panel, name="Main", n=20)
    survey = factories.make_survey(study, design, reviewer=colleague)
    draw = sample_draw(survey=survey, seed=1)
    for invitation, capital in zip(
        draw.invitations.order_by("id")[:4], ["seoul", "busan", "seoul", "seoul"], strict=True
    ):
        response = response_start(survey=survey, invitation=invitation, language="en")
        factories.complete(response, {**factories.GOOD_ANSWERS, "capital": capital})
    dataset = dataset_create(
        study=study, user=researcher, name="Knowledge", categories=["seoul", "busan"],
        rules=["plurality", "soft"], split_fractions={"train": 1.0}, split_stratify="",
    )  # fmt: skip
    source_survey_create(dataset=dataset, survey_id=survey.pk, question_ids=["capital"])
    version = version_build(dataset=dataset, user=researcher)
    out = tmp_path / "hf"
    version_export_write(version=version, fmt="hf", out=out)
    (row,) = load_folder(out)["train"]
    question = survey.questions.get(code="capital")
    codes = list(question.options.order_by("order", "id").values_list("code", flat=True))
    assert row["item"] == f"{survey.pk}:capital"
    assert row["kind"] == "question"
    assert row["question_en"] == question.text_en
    assert row["options"] == codes
    assert row["option_texts_en"] == [question.options.get(code=c).text_en for c in codes]
    assert (row["answer_key"], row["subject"]) == ("seoul", "geography")
    assert row["n"] == 4
    expected = [0.75 if c == "seoul" else 0.25 if c == "busan" else 0.0 for c in codes]
    assert row["distribution"] == pytest.approx(expected)
    assert all(
        lo <= p <= hi
        for lo, p, hi in zip(
            row["distribution_low"], row["distribution"], row["distribution_high"], strict=True
        )
    )
    assert row["plurality"] == "seoul"


def test_croissant_describes_the_content_and_validates(dataset, researcher, tmp_path):
    import mlcroissant

    source_upload_create(
        dataset=dataset,
        file_name="votes.csv",
        content=csv_bytes(vote_frame()),
        items_name="items.csv",
        items_content=items_csv(review_items()),
    )
    version = version_build(dataset=dataset, user=researcher)
    version_export_write(version=version, fmt="zip", out=tmp_path)
    import zipfile

    (archive,) = tmp_path.glob("*.zip")
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    doc = json.loads((folder / "croissant.json").read_text())
    items = next(r for r in doc["recordSet"] if r["name"] == "items")
    fields = {f["name"]: f for f in items["field"]}
    assert fields["text"]["dataType"] == "sc:Text"
    assert fields["text"]["description"] == "The text a model reads (a passage, a review)."
    meta = mlcroissant.Dataset(jsonld=str(folder / "croissant.json"))
    records = list(meta.records(record_set="items"))
    assert len(records) == 30
    texts = sorted(r["items/text"].decode() for r in records)
    assert texts[0] == 'Review 0: the film was long, "really".'
