"""Media zips within limits: zip bombs, huge or long audio, and the project's own limits.

The zips here are written by hand (:func:`write_zip`): a megabyte of zeros deflates to the
same 1,037 bytes every time once the compressor is fully flushed, so an entry of hundreds of
megabytes of zeros is that block repeated. The archive is streamed to a file in a second and
never exists unpacked, in memory or on disk.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import wave
import zipfile
import zlib
from functools import cache
from pathlib import Path

import pytest

from annotation.media import write_tone_wav
from annotation.models import Item
from annotation.services import items_import, project_update
from tests.annotation.factories import emotion_project
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

MIB = 2**20
ZERO_MIB = bytes(MIB)


def _deflated_zero_mib() -> bytes:
    """A megabyte of zeros, deflated and fully flushed: a block that does not refer back, so
    it can be repeated to stand for any number of megabytes of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(ZERO_MIB) + compressor.flush(zlib.Z_FULL_FLUSH)


@cache
def _crc(head: bytes, n: int) -> int:
    crc = zlib.crc32(head)
    for _ in range(n):
        crc = zlib.crc32(ZERO_MIB, crc)
    return crc


def write_zip(path: Path, entries: dict[str, tuple[bytes, int]]) -> Path:
    """A zip whose entries are ``head`` followed by ``n`` MiB of zeros, deflated, written
    entry by entry to ``path`` (memory holds one megabyte at a time)."""
    block = _deflated_zero_mib()
    central = []
    with path.open("wb") as out:
        for name, (head, n) in entries.items():
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
            end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
            crc = _crc(head, n)
            size = len(head) + n * MIB
            packed = len(start) + n * len(block) + len(end)
            offset = out.tell()
            encoded = name.encode()
            # Local file header: version 2.0, deflate, no date, then the name.
            out.write(
                struct.pack(
                    "<4s2B4HL2L2H",
                    b"PK\x03\x04",
                    20,
                    0,
                    0,
                    8,
                    0,
                    33,
                    crc,
                    packed,
                    size,
                    len(encoded),
                    0,
                )
            )
            out.write(encoded + start)
            for _ in range(n):
                out.write(block)
            out.write(end)
            central.append(
                struct.pack(
                    "<4s4B4HL2L5H2L",
                    b"PK\x01\x02",
                    20,
                    0,
                    20,
                    0,
                    0,
                    8,
                    0,
                    33,
                    crc,
                    packed,
                    size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + encoded
            )
        directory = out.tell()
        for record in central:
            out.write(record)
        out.write(
            struct.pack(
                "<4s4H2LH",
                b"PK\x05\x06",
                0,
                0,
                len(central),
                len(central),
                out.tell() - directory,
                directory,
                0,
            )
        )
    return path


def silent_wav_head(n_bytes: int, rate: int = 16000) -> bytes:
    """The 44-byte header of a mono 16-bit WAV whose ``n_bytes`` of audio follow."""
    return (
        b"RIFF"
        + struct.pack("<I", 36 + n_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", n_bytes)
    )


def media_csv(names: list[str]) -> bytes:
    rows = [f"c{i},{name}" for i, name in enumerate(names)]
    return ("external_id,media\n" + "\n".join(rows) + "\n").encode()


def stored_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def peak_above_baseline(call) -> tuple[object, int]:
    """Run ``call`` and return (its result or exception, the peak of Python's traced memory
    above what was traced when it started)."""
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        try:
            result: object = call()
        except Exception as exc:
            result = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak - baseline


def test_the_hand_made_zip_is_a_valid_zip_of_zeros(tmp_path):
    path = write_zip(tmp_path / "z.zip", {"a.bin": (b"head", 3), "b.bin": (b"", 1)})
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        a, b = archive.infolist()
        assert (a.filename, a.file_size, b.file_size) == ("a.bin", 4 + 3 * MIB, MIB)
        assert archive.read("a.bin") == b"head" + bytes(3 * MIB)


def test_zip_bomb_is_refused_before_anything_unpacks(study, researcher, settings, tmp_path):
    """8 entries of 300 MiB of zeros (2.4 GB unpacked) in a 2.5 MB zip: before the fix each
    entry was read whole and kept until the end (the worker grew by 2.2 GB).

    Memory is measured with tracemalloc around the call: the bomb's payload would be Python
    ``bytes`` objects (``ZipFile.read``), which tracemalloc counts, so a regression shows as
    hundreds of megabytes of peak. The peak must stay under 100 MB above the baseline.
    """
    project = emotion_project(study=study, user=researcher)
    names = [f"clip{i}.wav" for i in range(8)]
    bomb = write_zip(tmp_path / "bomb.zip", {name: (b"", 300) for name in names})
    assert bomb.stat().st_size < 3 * MIB

    with bomb.open("rb") as media:
        report, peak = peak_above_baseline(
            lambda: items_import(
                project=project, data=media_csv(names), filename="clips.csv", media_zip=media
            )
        )
    assert peak < 100 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert [r["errors"] for r in report.rows] == [
        [f"media: {name}: unpacks to 300.0 MB; the limit is 100.0 MB per file"] for name in names
    ]
    assert {r["status"] for r in report.rows} == {"error"}
    assert Item.objects.count() == 0
    assert stored_files(settings) == []


def test_zip_bomb_within_the_size_limit_is_refused_by_its_compression_ratio(
    study, researcher, tmp_path
):
    project = emotion_project(study=study, user=researcher, media_max_bytes=400 * MIB)
    bomb = write_zip(tmp_path / "bomb.zip", {"a.wav": (b"", 300)})
    report = items_import(
        project=project, data=media_csv(["a.wav"]), filename="c.csv", media_zip=bomb.read_bytes()
    )
    assert report.rows[0]["errors"] == [
        "media: a.wav: packed 1,011 to 1; the limit is 100 to 1 (the zip looks like a zip bomb)"
    ]
    assert Item.objects.count() == 0


def test_zip_bomb_beyond_the_total_is_refused_as_a_whole(study, researcher, settings, tmp_path):
    settings.ANNOTATION_ZIP_MAX_RATIO = 10**6
    settings.ANNOTATION_ZIP_MAX_TOTAL_BYTES = 2**30
    project = emotion_project(study=study, user=researcher, media_max_bytes=400 * MIB)
    names = [f"clip{i}.wav" for i in range(8)]
    bomb = write_zip(tmp_path / "bomb.zip", {name: (b"", 300) for name in names})
    from django.core.exceptions import ValidationError

    with bomb.open("rb") as media, pytest.raises(ValidationError) as err:
        items_import(project=project, data=media_csv(names), filename="c.csv", media_zip=media)
    assert err.value.message_dict == {
        "media_zip": [
            "The media files of this import unpack to 2,400.0 MB; the limit is 1,024.0 MB."
        ]
    }
    assert Item.objects.count() == 0


def test_unpacking_streams_to_disk_when_every_limit_allows_a_large_file(
    study, researcher, settings, tmp_path
):
    """With the ratio and size limits opened up, two 150 MiB entries really are unpacked and
    read (they are not audio): one megabyte at a time, spilling to a temporary file, so the
    traced peak stays far below one entry."""
    settings.ANNOTATION_ZIP_MAX_RATIO = 10**6
    project = emotion_project(study=study, user=researcher, media_max_bytes=400 * MIB)
    bomb = write_zip(tmp_path / "bomb.zip", {"a.wav": (b"", 150), "b.wav": (b"", 150)})
    with bomb.open("rb") as media:
        report, peak = peak_above_baseline(
            lambda: items_import(
                project=project,
                data=media_csv(["a.wav", "b.wav"]),
                filename="c.csv",
                media_zip=media,
            )
        )
    assert peak < 100 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert [r["errors"] for r in report.rows] == [
        ["media: a.wav: not an audio file (WAV, MP3, OGG or FLAC expected)"],
        ["media: b.wav: not an audio file (WAV, MP3, OGG or FLAC expected)"],
    ]
    assert Item.objects.count() == 0


def test_valid_but_huge_silent_wav_is_refused_by_the_size_limit(
    api_as, study, researcher, settings, tmp_path
):
    """A 306 KB zip holding a valid 300 MB silent WAV was accepted and stored."""
    project = emotion_project(study=study, user=researcher)
    n = 300 * MIB
    path = write_zip(tmp_path / "wav.zip", {"silence.wav": (silent_wav_head(n), 300)})
    assert path.stat().st_size < 400 * 1024
    with path.open("rb") as media:
        csv = io.BytesIO(b"external_id,media\ns1,silence.wav\n")
        csv.name = "clips.csv"
        response = api_as(researcher).post(
            f"/api/annotation/projects/{project.id}/items/",
            {"file": csv, "media_zip": media},
            format="multipart",
        )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "rows.1": ["media: silence.wav: unpacks to 300.0 MB; the limit is 100.0 MB per file"]
    }
    assert Item.objects.count() == 0
    assert stored_files(settings) == []


def test_valid_wav_longer_than_the_project_allows_is_refused_by_its_duration(
    study, researcher, settings, tmp_path
):
    """The same silent WAV, allowed by size and ratio, is refused for lasting 2.7 hours; a
    shorter one passes once the project's limit allows it."""
    settings.ANNOTATION_ZIP_MAX_RATIO = 10**6
    project = emotion_project(study=study, user=researcher, media_max_bytes=400 * MIB)
    n = 300 * MIB
    path = write_zip(tmp_path / "wav.zip", {"silence.wav": (silent_wav_head(n), 300)})
    report = items_import(
        project=project,
        data=media_csv(["silence.wav"]),
        filename="c.csv",
        media_zip=path.open("rb"),
    )
    assert report.rows[0]["errors"] == [
        "media: silence.wav: lasts 9,830.4 s; the project's limit is 600 s"
    ]
    assert Item.objects.count() == 0

    tone = write_tone_wav(frequency=440, seconds=3)
    media = io.BytesIO()
    with zipfile.ZipFile(media, "w") as archive:
        archive.writestr("tone.wav", tone)
    project_update(project=project, media_max_seconds=2)
    project.refresh_from_db()
    report = items_import(
        project=project, data=media_csv(["tone.wav"]), filename="c.csv", media_zip=media.getvalue()
    )
    assert report.rows[0]["errors"] == ["media: tone.wav: lasts 3.0 s; the project's limit is 2 s"]
    project_update(project=project, media_max_seconds=3)
    project.refresh_from_db()
    report = items_import(
        project=project, data=media_csv(["tone.wav"]), filename="c.csv", media_zip=media.getvalue()
    )
    assert (report.ok, report.created) == (True, 1)
    item = Item.objects.get()
    assert (item.duration, item.media.read()) == (3.0, tone)


def test_project_size_limit_applies_to_small_files_too(study, researcher):
    project = emotion_project(study=study, user=researcher, media_max_bytes=10_000)
    tone = write_tone_wav(frequency=440, seconds=1)  # 32,044 bytes
    media = io.BytesIO()
    with zipfile.ZipFile(media, "w") as archive:
        archive.writestr("tone.wav", tone)
    report = items_import(
        project=project, data=media_csv(["tone.wav"]), filename="c.csv", media_zip=media.getvalue()
    )
    assert report.rows[0]["errors"] == [
        "media: tone.wav: unpacks to 0.0 MB; the limit is 0.0 MB per file"
    ]
    assert Item.objects.count() == 0


def test_wav_header_promising_more_audio_than_the_file_holds_is_corrupt(study, researcher):
    """The WAV check reads the audio in pieces now; a short file is still caught."""
    project = emotion_project(study=study, user=researcher)
    media = io.BytesIO()
    with zipfile.ZipFile(media, "w") as archive:
        archive.writestr("short.wav", silent_wav_head(10 * MIB) + bytes(1000))
    report = items_import(
        project=project, data=media_csv(["short.wav"]), filename="c.csv", media_zip=media.getvalue()
    )
    assert report.rows[0]["errors"] == ["media: short.wav: corrupt WAV file (truncated audio data)"]


def test_media_limits_are_project_settings_with_defaults_from_the_settings(
    api_as, study, researcher, settings
):
    settings.ANNOTATION_MEDIA_MAX_BYTES = 5 * MIB
    settings.ANNOTATION_MEDIA_MAX_SECONDS = 30
    project = emotion_project(study=study, user=researcher)
    assert (project.media_max_bytes, project.media_max_seconds) == (5 * MIB, 30)
    api = api_as(researcher)
    url = f"/api/annotation/projects/{project.id}/"
    response = api.patch(url, {"media_max_bytes": 1000, "media_max_seconds": 5}, format="json")
    assert response.status_code == 200
    assert (response.json()["media_max_bytes"], response.json()["media_max_seconds"]) == (1000, 5)
    at_least = "Ensure this value is greater than or equal to {}."
    at_most = "Ensure this value is less than or equal to {}."
    for body, errors in [
        ({"media_max_bytes": 0}, {"media_max_bytes": [at_least.format(1)]}),
        ({"media_max_seconds": 2**31}, {"media_max_seconds": [at_most.format(2**31 - 1)]}),
        ({"media_max_bytes": 2**63}, {"media_max_bytes": [at_most.format(2**63 - 1)]}),
    ]:
        response = api.patch(url, body, format="json")
        assert (response.status_code, response.json()) == (400, {"errors": errors})
    project.refresh_from_db()
    assert (project.media_max_bytes, project.media_max_seconds) == (1000, 5)


def test_media_limits_on_the_settings_page(client, study, researcher):
    project = emotion_project(study=study, user=researcher)
    client.force_login(researcher)
    url = f"/annotation/projects/{project.id}/settings/"
    page = client.get(url)
    assert b'name="media_max_bytes"' in page.content
    assert b'name="media_max_seconds"' in page.content
    form = {
        "name": project.name, "raters_per_item": 3, "gold_rate": 0, "lease_minutes": 15,
        "disagreement_rule": "no_majority", "media_max_bytes": 2048, "media_max_seconds": 2**31,
    }  # fmt: skip
    response = post_refused(client, url, form)
    assert (
        "Ensure this value is less than or equal to 2147483647."
        in (response.context["form"].errors["media_max_seconds"])
    )
    project.refresh_from_db()
    assert project.media_max_bytes == 100 * MIB
    response = client.post(url, {**form, "media_max_seconds": 60})
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.media_max_bytes, project.media_max_seconds) == (2048, 60)


def test_wav_reading_from_a_file_matches_reading_bytes():
    from annotation.media import inspect_audio

    tone = write_tone_wav(frequency=440, seconds=1.5)
    assert inspect_audio(io.BytesIO(tone)) == inspect_audio(tone)
    with wave.open(io.BytesIO(tone)) as wav:
        assert wav.getnframes() == 24000


def test_a_zip_with_more_files_than_allowed_is_refused_as_a_whole(study, researcher, settings):
    from django.core.exceptions import ValidationError

    settings.ANNOTATION_ZIP_MAX_ENTRIES = 2
    project = emotion_project(study=study, user=researcher)
    media = io.BytesIO()
    with zipfile.ZipFile(media, "w") as archive:
        for name in ("a.wav", "b.wav", "c.wav"):
            archive.writestr(name, write_tone_wav(frequency=440, seconds=0.1))
    with pytest.raises(ValidationError) as err:
        items_import(
            project=project, data=media_csv(["a.wav"]), filename="c.csv", media_zip=media.getvalue()
        )
    assert err.value.message_dict == {
        "media_zip": ["The media archive holds 3 files; the limit is 2."]
    }
    assert Item.objects.count() == 0
