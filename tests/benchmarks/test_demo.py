"""The demo datasets: the upload one from this app, the project ones from the annotation demo;
each is built once."""

from __future__ import annotations

import io

import pytest

from accounts.demo import load_people
from benchmarks import demo
from benchmarks.models import Dataset, Version

pytestmark = pytest.mark.django_db


def test_demo_builds_the_upload_and_project_datasets_once():
    from annotation import demo as annotation_demo

    people = load_people()
    # The annotation demo makes its projects' datasets (it runs before this app's demo).
    annotation_demo.load(people=people, stdout=io.StringIO())
    out = io.StringIO()
    demo.load(people=people, stdout=out)
    assert "datasets: 3" in out.getvalue()
    assert sorted(Dataset.objects.values_list("name", flat=True)) == sorted(
        [demo.UPLOAD_DATASET, annotation_demo.EMOTION_DATASET, annotation_demo.POLICY_DATASET]
    )
    upload = Version.objects.get(dataset__name=demo.UPLOAD_DATASET)
    assert (upload.stats["n_items"], upload.stats["n_votes"]) == (60, 300)
    assert Version.objects.count() == 3
    shas = sorted(Version.objects.values_list("sha256", flat=True))

    annotation_demo.load(people=people, stdout=io.StringIO())
    demo.load(people=people, stdout=io.StringIO())
    assert Version.objects.count() == 3
    assert sorted(Version.objects.values_list("sha256", flat=True)) == shas
