"""Importing items: CSV/JSONL plus a zip of audio, checked by content, all or nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError

from annotation.media import inspect_audio, write_tone_wav
from annotation.models import Item
from annotation.services import items_import
from tests.annotation.factories import emotion_project

pytestmark = pytest.mark.django_db


def make_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_inspect_audio_reads_wav_duration_and_refuses_bad_files():
    info = inspect_audio(write_tone_wav(frequency=440, seconds=1.5))
    assert (info.media_type, info.extension, info.duration) == ("audio/wav", "wav", 1.5)
    with pytest.raises(ValueError, match="not an audio file"):
        inspect_audio(b"just some text pretending to be audio")
    truncated = write_tone_wav(frequency=440, seconds=1.0)[:2000]
    with pytest.raises(ValueError, match="corrupt WAV file"):
        inspect_audio(truncated)
    with pytest.raises(ValueError, match="corrupt FLAC file"):
        inspect_audio(b"fLaC" + b"\x00" * 40)


def test_csv_with_audio_zip_imports_and_is_idempotent(study, researcher):
    project = emotion_project(study=study, user=researcher)
    media = make_zip(
        {"clips/a.wav": write_tone_wav(frequency=220), "b.wav": write_tone_wav(frequency=330)}
    )
    csv = b"external_id,media,speaker,region\nc1,a.wav,s1,north\nc2,b.wav,s2,south\n"
    report = items_import(project=project, data=csv, filename="clips.csv", media_zip=media)
    assert report.as_dict() == {
        "ok": True,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rows": [
            {"row": 1, "external_id": "c1", "status": "created", "errors": []},
            {"row": 2, "external_id": "c2", "status": "created", "errors": []},
        ],
    }
    item = Item.objects.get(external_id="c1")
    assert (item.kind, item.media_type, item.duration) == ("audio", "audio/wav", 1.0)
    assert item.metadata == {"speaker": "s1", "region": "north"}
    assert (item.slots_total, item.slots_taken) == (3, 0)
    assert item.media.read()[:4] == b"RIFF"

    again = items_import(project=project, data=csv, filename="clips.csv", media_zip=media)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = csv.replace(b"north", b"east")
    third = items_import(project=project, data=changed, filename="clips.csv", media_zip=media)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    assert Item.objects.get(external_id="c1").metadata["region"] == "east"
    assert Item.objects.count() == 2


def test_a_bad_row_imports_nothing_and_every_problem_is_reported(study, researcher):
    project = emotion_project(study=study, user=researcher)
    media = make_zip(
        {
            "ok.wav": write_tone_wav(frequency=220),
            "fake.wav": b"<html>not audio</html>",
            "broken.wav": write_tone_wav(frequency=220)[:1000],
        }
    )
    csv = (
        b"external_id,media,gold_label\n"
        b"c1,ok.wav,\nc2,fake.wav,\nc3,broken.wav,\nc4,missing.wav,\nc5,ok.wav,rage\n"
    )
    report = items_import(project=project, data=csv, filename="clips.csv", media_zip=media)
    assert not report.ok
    assert [(r["external_id"], r["status"], r["errors"]) for r in report.rows] == [
        ("c1", "not imported", []),
        ("c2", "error", ["media: fake.wav: not an audio file (WAV, MP3, OGG or FLAC expected)"]),
        ("c3", "error", ["media: broken.wav: corrupt WAV file (truncated audio data)"]),
        ("c4", "error", ["media: 'missing.wav' is not in the zip"]),
        ("c5", "error", ["gold_label: unknown category 'rage'"]),
    ]
    assert Item.objects.count() == 0


def test_jsonl_text_items_with_metadata(study, researcher):
    project = emotion_project(study=study, user=researcher)
    lines = [
        {"external_id": "p1", "text": "Net zero by 2050.", "metadata": {"year": 2021}},
        {"external_id": "p2", "text": "Cut 40%.", "region": "EU", "is_gold": True,
         "gold_label": "joy"},
    ]  # fmt: skip
    data = "\n".join(json.dumps(line) for line in lines).encode()
    report = items_import(project=project, data=data, filename="items.jsonl")
    assert report.created == 2
    p1, p2 = Item.objects.order_by("external_id")
    assert (p1.kind, p1.metadata, p1.is_gold) == ("text", {"year": 2021}, False)
    assert (p2.metadata, p2.is_gold, p2.gold_label.key, p2.slots_total) == (
        {"region": "EU"},
        True,
        "joy",
        0,
    )


def test_unreadable_files_are_refused(study, researcher):
    project = emotion_project(study=study, user=researcher)
    with pytest.raises(ValidationError) as err:
        items_import(project=project, data=b"id,text\n1,x\n", filename="x.csv")
    assert err.value.message_dict == {"file": ["The CSV needs an external_id column."]}
    with pytest.raises(ValidationError) as err:
        items_import(project=project, data=b"external_id\n1\n", filename="x.csv", media_zip=b"PK")
    assert err.value.message_dict == {"media_zip": ["The media archive is not a zip file."]}
    assert Item.objects.count() == 0
