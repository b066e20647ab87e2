"""Media and job results on an S3-compatible object store: the several-machines setup.

A moto server on 127.0.0.1 stands in for the store (one per module, with a fresh bucket per
test), and ``STORAGES["default"]`` points at it as ``STORAGE_BACKEND=s3`` would. Every flow
that writes or reads a file runs against it: an annotation media import and the annotator's
audio, a dataset version build (media frozen under ``benchmarks/media/``), the export jobs of a
version and of a survey and their downloads. Each test lists the bucket with boto3 and checks
that nothing was written to the local MEDIA_ROOT. The last test runs a real Celery worker in
its own process, configured from the environment only, as a second machine would be.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from tests.conftest import REPO

BUCKET = "chorus-media"
KEYS = {"access_key": "chorus-test", "secret_key": "chorus-test-secret"}
REGION = "us-east-1"

WAV_A_SECONDS, WAV_B_SECONDS = 1.0, 0.5


@pytest.fixture(scope="module")
def s3_server():
    """A moto S3 server in a thread of this process, on a free port of 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    # Its request log (every HEAD, GET and PUT) would drown a failing test's output.
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug.setLevel(level)


@pytest.fixture
def s3_client(s3_server):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=REGION,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
    )


def s3_storage_options(endpoint: str, bucket: str) -> dict:
    """The options ``config.settings`` builds from the environment for this store (checked
    against the settings themselves in ``test_settings_from_the_environment``)."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": REGION,
        **KEYS,
        "addressing_style": "path",
        "signature_version": "s3v4",
        "location": "",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 300,
        "custom_domain": None,
        "file_overwrite": False,
        # Small, so that files read whole spill to a temporary file, as large ones would.
        "max_memory_size": 1024,
        "verify": None,
    }


class Bucket:
    def __init__(self, client, name: str, endpoint: str) -> None:
        self.client, self.name, self.endpoint = client, name, endpoint

    def objects(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture
def s3(s3_server, s3_client, settings, monkeypatch):
    """A fresh private bucket, and ``STORAGES["default"]`` on it for this test."""
    # Never ask for instance credentials or regions over the network: only 127.0.0.1.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    name = f"{BUCKET}-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    # Changing STORAGES sends setting_changed, whose receiver empties Django's storage cache
    # and default_storage (see test_the_storage_setting_switches_default_storage_and_back).
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_storage_options(s3_server, name),
        },
    }
    return Bucket(s3_client, name, s3_server)


def local_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def tone(frequency: int, seconds: float) -> bytes:
    from annotation.media import write_tone_wav

    return write_tone_wav(frequency=frequency, seconds=seconds)


def streamed(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


# --- settings ----------------------------------------------------------------------------------


def settings_storages(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES, default=str))"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORAGE_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**keep, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_from_the_environment(s3_server):
    done = settings_storages(
        {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": s3_server,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": KEYS["access_key"],
            "AWS_SECRET_ACCESS_KEY": KEYS["secret_key"],
            "AWS_S3_ADDRESSING_STYLE": "path",
            "AWS_S3_MAX_MEMORY_SIZE": "1024",
        }
    )
    assert done.returncode == 0, done.stderr
    storages = json.loads(done.stdout)
    assert storages["default"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3_storage_options(s3_server, BUCKET),
    }
    # Static files stay with whitenoise (DEBUG is on here: Django's own storage).
    assert storages["staticfiles"]["BACKEND"].startswith("django.contrib.staticfiles")


def test_a_bucket_name_alone_chooses_s3_and_nothing_keeps_the_local_folder():
    alone = settings_storages({"AWS_STORAGE_BUCKET_NAME": BUCKET})
    assert alone.returncode == 0, alone.stderr
    options = json.loads(alone.stdout)["default"]["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["access_key"]) == (
        BUCKET,
        None,
        None,
    )
    nothing = settings_storages({})
    assert json.loads(nothing.stdout)["default"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_BACKEND": "s3"}, "STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME"),
        ({"STORAGE_BACKEND": "gcs"}, "STORAGE_BACKEND must be filesystem or s3, not 'gcs'"),
    ],
)
def test_a_storage_setting_that_cannot_work_stops_the_start(env, message):
    done = settings_storages(env)
    assert done.returncode != 0
    assert f"ImproperlyConfigured: {message}" in done.stderr


def test_the_storage_setting_switches_default_storage_and_back(s3, settings):
    from django.core.files.storage import FileSystemStorage, default_storage
    from storages.backends.s3 import S3Storage

    from jobs.models import Job

    # File fields hold the lazy default_storage, so they follow the setting too.
    assert Job._meta.get_field("result_file").storage is default_storage
    assert default_storage.save("probe/hello.txt", ContentFile(b"hello")) == "probe/hello.txt"
    assert isinstance(default_storage._wrapped, S3Storage)
    local = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    with override_settings(STORAGES=local):
        assert not default_storage.exists("probe/hello.txt")
        assert isinstance(default_storage._wrapped, FileSystemStorage)
    assert default_storage.exists("probe/hello.txt")
    assert isinstance(default_storage._wrapped, S3Storage)
    assert s3.objects() == ["probe/hello.txt"]
    assert s3.read("probe/hello.txt") == b"hello"
    # File overwrite is off: the same name again gets a name of its own.
    again = default_storage.save("probe/hello.txt", ContentFile(b"again"))
    assert again != "probe/hello.txt" and again.startswith("probe/hello_")
    assert local_files(settings) == []


# --- downloads are streamed from the store ------------------------------------------------------


@pytest.mark.django_db
def test_a_large_result_is_streamed_from_the_bucket_not_copied_first(
    s3, settings, client, study, researcher, outsider
):
    from django.core.files.storage import default_storage

    from config.storage import ObjectBody, open_stored
    from jobs.models import Job, JobStatus

    content = os.urandom(3 * 2**20 + 5)
    name = default_storage.save("jobs/2026/01/big/result.bin", ContentFile(content))
    job = Job.objects.create(
        kind="selftest", study=study, created_by=researcher, status=JobStatus.SUCCEEDED
    )
    job.result_file.name = name
    job.save()

    with open_stored(name) as stream:
        # A GET read as it arrives: not S3File, which would download it all first.
        assert isinstance(stream, ObjectBody)
        assert (stream.size, stream.read(10)) == (len(content), content[:10])

    client.force_login(researcher)
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Disposition"] == 'attachment; filename="result.bin"'
    chunks = list(response.streaming_content)
    assert len(chunks) == math.ceil(len(content) / (64 * 1024))
    assert b"".join(chunks) == content

    # Gone from the store (deleted by hand, say): a 404, not a server error.
    default_storage.delete(name)
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 404
    assert local_files(settings) == []


# --- the flows, in this process (eager jobs) ---------------------------------------------------


def audio_project(study, researcher, *, rate: bool = True):
    """An emotion project of two imported audio clips, each rated by two raters."""
    from annotation.services import annotation_submit, assignment_next, items_import
    from tests.annotation.factories import emotion_project, raters

    project = emotion_project(study=study, user=researcher, k=2)
    clips = {"clip-a": tone(440, WAV_A_SECONDS), "clip-b": tone(660, WAV_B_SECONDS)}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.wav", clips["clip-a"])
        zf.writestr("b.wav", clips["clip-b"])
    report = items_import(
        project=project,
        data=b"external_id,media,speaker\nclip-a,a.wav,s1\nclip-b,b.wav,s2\n",
        filename="items.csv",
        media_zip=archive.getvalue(),
    )
    assert report.ok, report.rows
    if rate:
        for user, label in zip(raters(project, 2), ["joy", "anger"], strict=True):
            for _ in range(2):
                a = assignment_next(project=project, user=user)
                annotation_submit(
                    project=project, user=user, item_id=a.item_id,
                    labels=[{"category": label, "role": "primary"}],
                )  # fmt: skip
    return project, clips


@pytest.mark.django_db
def test_annotation_media_import_and_the_annotators_audio(
    s3, settings, client, study, researcher, outsider
):
    from annotation.services import assignment_next
    from tests.annotation.factories import raters

    project, clips = audio_project(study, researcher, rate=False)
    items = {i.external_id: i for i in project.items.all()}
    assert s3.objects() == sorted(items[k].media.name for k in ("clip-a", "clip-b"))
    assert all(key.startswith("annotation/media/") for key in s3.objects())
    for key, clip in clips.items():
        assert s3.read(items[key].media.name) == clip

    [annotator] = raters(project, 1, prefix="ann")
    lease = assignment_next(project=project, user=annotator)
    item = items["clip-a"] if lease.item_id == items["clip-a"].pk else items["clip-b"]
    client.force_login(annotator)
    response = client.get(f"/annotation/items/{item.pk}/media/")
    assert response.status_code == 200
    body = streamed(response)
    assert body == clips[item.external_id]
    assert response["Content-Length"] == str(len(body))
    assert response["Content-Type"] == item.media_type
    assert response["Cache-Control"] == "private, no-cache"

    client.force_login(outsider)
    assert client.get(f"/annotation/items/{item.pk}/media/").status_code == 404
    assert local_files(settings) == []


@pytest.mark.django_db
def test_a_version_build_freezes_media_in_the_bucket_and_its_export_downloads(
    s3, settings, client, api_as, study, researcher, outsider, django_capture_on_commit_callbacks
):
    from benchmarks.models import Version
    from benchmarks.services import (
        dataset_create,
        source_annotation_create,
        version_build_start,
        version_export_start,
    )
    from tests.annotation.factories import EMOTIONS

    project, clips = audio_project(study, researcher)
    media_keys = s3.objects("annotation/media/")
    dataset = dataset_create(
        study=study, user=researcher, name="Clips", categories=EMOTIONS,
        split_fractions={"train": 1.0}, split_stratify="",
    )  # fmt: skip
    source_annotation_create(dataset=dataset, project_id=project.pk)
    with django_capture_on_commit_callbacks(execute=True):
        build = version_build_start(dataset=dataset, user=researcher)
    build.refresh_from_db()
    assert build.status == "succeeded", build.message
    version = Version.objects.get(dataset=dataset, number=1)

    frozen = {key: f"{hashlib.sha256(clip).hexdigest()}.wav" for key, clip in clips.items()}
    assert s3.objects("benchmarks/media/") == sorted(
        f"benchmarks/media/{n}" for n in frozen.values()
    )
    for key, name in frozen.items():
        assert s3.read(f"benchmarks/media/{name}") == clips[key]
    tables = sorted([version.votes_file.name, version.items_file.name, version.contents_file.name])
    assert s3.objects("benchmarks/versions/") == tables

    base = f"/benchmarks/datasets/{dataset.pk}/versions/1"
    client.force_login(researcher)
    for key, name in frozen.items():
        response = client.get(f"{base}/media/{name}")
        assert response.status_code == 200
        assert streamed(response) == clips[key]
        assert response["Content-Length"] == str(len(clips[key]))
    # The version's item browser reads its tables back from the bucket.
    assert client.get(f"{base}/items/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        export = version_export_start(version=version, user=researcher)
    export.refresh_from_db()
    assert export.status == "succeeded", export.message
    key = export.result_file.name
    assert key.startswith("jobs/") and key.endswith("/clips-v1.zip")
    assert s3.objects("jobs/") == [key]
    stored = s3.read(key)
    assert export.result["bytes"] == len(stored)

    page = client.get(f"{base}/exports/{export.pk}/download/")
    api = api_as(researcher).get(
        f"/api/benchmarks/datasets/{dataset.pk}/versions/1/exports/{export.pk}/download/"
    )
    for response in (page, api):
        assert response.status_code == 200
        assert response["Content-Disposition"] == 'attachment; filename="clips-v1.zip"'
        assert response["Content-Length"] == str(len(stored))
        assert streamed(response) == stored
    with zipfile.ZipFile(io.BytesIO(stored)) as zf:
        for key, name in frozen.items():
            assert zf.read(f"media/{name}") == clips[key]

    client.force_login(outsider)
    assert client.get(f"{base}/exports/{export.pk}/download/").status_code == 404
    assert client.get(f"/jobs/{export.pk}/download/").status_code == 404
    assert client.get(f"{base}/media/{frozen['clip-a']}").status_code == 404
    # Nothing but the bucket: the annotation media are as they were, nothing is on the disk.
    assert s3.objects("annotation/media/") == media_keys
    assert local_files(settings) == []


@pytest.mark.django_db
def test_a_survey_export_job_writes_to_the_bucket_and_downloads(
    s3, settings, tmp_path, client, api_as, study, researcher, colleague, outsider,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from jobs.models import Job
    from surveys.services import design_create, response_screen, response_start
    from tests.surveys.factories import complete, make_panel, make_population, make_survey

    population = make_population(study)
    panel = make_panel(study, population, per_cell=10)
    design = design_create(study=study, population=population, panel=panel, name="Main", n=20)
    survey = make_survey(study, design, open_link=True, reviewer=colleague)
    for region, gender in [("Seoul", "F"), ("Busan", "M"), ("Seoul", "M"), ("Busan", "F")]:
        complete(
            response_screen(
                response=response_start(survey=survey),
                values={"region": region, "gender": gender},
            )
        )
    api = api_as(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(
            f"/api/surveys/surveys/{survey.pk}/exports/", {"format": "sav"}, format="json"
        )
    assert started.status_code == 202, started.json()
    job = Job.objects.get(pk=started.json()["job"])
    assert job.status == "succeeded", job.message
    key = job.result_file.name
    assert s3.objects() == [key]
    assert key.startswith("jobs/") and key.endswith(f"/survey-{survey.pk}-responses.sav")

    detail = api.get(f"/api/jobs/{job.pk}/").json()
    assert detail["result_url"] == f"/jobs/{job.pk}/download/"
    client.force_login(researcher)
    response = client.get(detail["result_url"])
    assert response.status_code == 200
    body = streamed(response)
    assert body == s3.read(key)
    assert response["Content-Length"] == str(len(body))
    assert response["Content-Disposition"] == (
        f'attachment; filename="survey-{survey.pk}-responses.sav"'
    )
    import pyreadstat

    downloaded = tmp_path / "download.sav"
    downloaded.write_bytes(body)
    frame, _meta = pyreadstat.read_sav(str(downloaded))
    assert len(frame) == 4

    client.force_login(outsider)
    assert client.get(detail["result_url"]).status_code == 404
    assert local_files(settings) == []


# --- a second machine: a Celery worker configured from the environment only -------------------


@pytest.fixture
def s3_env(s3, monkeypatch):
    """The environment of a machine that uses the bucket of ``s3`` (as ``make run`` would read
    it); the ``celery_worker`` fixture, set up after this one, starts its worker with it."""
    env = {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": s3.name,
        "AWS_S3_ENDPOINT_URL": s3.endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": KEYS["access_key"],
        "AWS_SECRET_ACCESS_KEY": KEYS["secret_key"],
        "AWS_S3_ADDRESSING_STYLE": "path",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return s3


def wait_for(job, timeout: float = 90):
    from jobs.models import JobStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job.kind} did not finish: {job.status} {job.message}")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_another_machine_builds_and_exports_through_the_bucket(
    s3_env, celery_worker, settings, client, study, researcher
):
    """The worker shares no folder with this process (its files would land in this test's
    MEDIA_ROOT, which stays empty): it reads the annotation media this process stored, freezes
    them, writes the export, and this process serves the export, all through the bucket."""
    from benchmarks.models import Version
    from benchmarks.services import (
        dataset_create,
        source_annotation_create,
        version_build_start,
        version_export_start,
    )
    from tests.annotation.factories import EMOTIONS

    s3 = s3_env
    project, clips = audio_project(study, researcher)
    dataset = dataset_create(
        study=study, user=researcher, name="Clips", categories=EMOTIONS,
        split_fractions={"train": 1.0}, split_stratify="",
    )  # fmt: skip
    source_annotation_create(dataset=dataset, project_id=project.pk)
    build = wait_for(version_build_start(dataset=dataset, user=researcher))
    assert build.status == "succeeded", build.message
    version = Version.objects.get(dataset=dataset)
    frozen = sorted(f"benchmarks/media/{hashlib.sha256(c).hexdigest()}.wav" for c in clips.values())
    assert s3.objects("benchmarks/media/") == frozen

    export = wait_for(version_export_start(version=version, user=researcher))
    assert export.status == "succeeded", export.message
    assert s3.objects("jobs/") == [export.result_file.name]
    client.force_login(researcher)
    response = client.get(
        f"/benchmarks/datasets/{dataset.pk}/versions/1/exports/{export.pk}/download/"
    )
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(streamed(response))) as zf:
        assert sorted(n for n in zf.namelist() if n.startswith("media/")) == [
            key.removeprefix("benchmarks/") for key in frozen
        ]
    assert local_files(settings) == []


# --- the object store is down -------------------------------------------------------------------


@pytest.fixture
def s3_down(settings, monkeypatch):
    """``STORAGES["default"]`` on an object store that refuses every connection."""
    import socket

    from botocore.config import Config

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = s3_storage_options(f"http://127.0.0.1:{port}", "chorus-down")
    options["client_config"] = Config(
        connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"}
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }


VOTES_CSV = b"item,voter,label\ni1,v1,joy\ni1,v2,joy\ni2,v1,anger\n"


@pytest.mark.django_db
def test_an_unreachable_object_store_answers_503_and_stores_nothing(
    s3_down, api_as, client, study, researcher
):
    """An upload while the store is down: the API answers 503 in the JSON error body with
    Retry-After, the page the branded 503, and no source row is left behind."""
    from benchmarks.models import Dataset, DatasetSource
    from benchmarks.services import dataset_create

    dataset = dataset_create(
        study=study, user=researcher, name="Down", categories=["joy", "anger"], split_group=""
    )
    api = api_as(researcher)
    api.raise_request_exception = False
    upload = io.BytesIO(VOTES_CSV)
    upload.name = "votes.csv"
    response = api.post(
        f"/api/benchmarks/datasets/{dataset.id}/sources/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "errors": {
            "non_field_errors": ["The service is unavailable for a moment; try again shortly."]
        }
    }

    client.force_login(researcher)
    client.raise_request_exception = False
    upload = io.BytesIO(VOTES_CSV)
    upload.name = "votes.csv"
    page = client.post(f"/benchmarks/datasets/{dataset.id}/sources/", {"file": upload})
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    assert b"<html" in page.content.lower()
    assert DatasetSource.objects.count() == 0
    assert Dataset.objects.count() == 1


# --- the admin never links to the store ---------------------------------------------------------


@pytest.mark.django_db
def test_admin_pages_link_files_through_the_access_checked_views(s3, client, study, researcher):
    """Job results, frozen version files and item media: the admin shows their names and links
    to Chorus's own views, never to a (presigned) address of the bucket."""
    from annotation.models import Item
    from jobs.models import Job
    from jobs.services import job_claim, job_create, job_succeed
    from tests.accounts.factories import UserFactory
    from tests.annotation.factories import audio_items, emotion_project

    job = job_create(kind="selftest", user=researcher, study=study)
    job_claim(job_id=job.id)
    job_succeed(job_id=job.id, result={}, file_name="result.txt", content=b"hello")
    project = emotion_project(study=study, user=researcher, k=1)
    audio_items(project, {"clip.wav": tone(440, 0.2)}, raters=1)
    item = Item.objects.get(project=project)
    assert item.media

    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    pages = {
        f"/admin/jobs/job/{job.pk}/change/": f"/jobs/{job.pk}/download/",
        f"/admin/annotation/item/{item.pk}/change/": f"/annotation/items/{item.pk}/media/",
    }
    for url, own_link in pages.items():
        html = client.get(url).content.decode()
        assert f'href="{own_link}"' in html, url
        assert s3.endpoint not in html and "X-Amz-" not in html, url
    assert Job.objects.get(pk=job.pk).result_file.name.endswith("result.txt")
