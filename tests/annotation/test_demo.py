"""The annotation demo: both projects with their simulated, pilot and open work, loaded once."""

from __future__ import annotations

import io

import pytest

from accounts.demo import load_people
from annotation import demo
from annotation.models import Annotation, ImportedRating, Item, Project
from annotation.selectors import project_progress
from annotation.services import assignment_next
from benchmarks.models import Version

pytestmark = pytest.mark.django_db


def test_demo_projects_are_complete_and_idempotent():
    people = load_people()
    out = io.StringIO()
    demo.load(people=people, stdout=out)
    assert "18 clips, 65 simulated ratings, 8 imported from a pilot" in out.getvalue()
    emotions = Project.objects.get(name=demo.EMOTION_PROJECT)
    policy = Project.objects.get(name=demo.POLICY_PROJECT)
    assert Annotation.objects.filter(assignment__item__project=emotions).count() == 65
    assert Annotation.objects.filter(assignment__item__project=policy).count() == 28
    pilot = ImportedRating.objects.filter(item__project=emotions)
    assert sorted(set(pilot.values_list("item__external_id", flat=True))) == [
        "clip-12", "clip-13", "clip-14", "clip-15"
    ]  # fmt: skip
    assert pilot.filter(role="primary").count() == 8
    fresh = Item.objects.filter(project=emotions, external_id__in=["clip-12", "clip-15"])
    assert list(fresh.values_list("slots_taken", flat=True)) == [2, 2]
    progress = project_progress(project=emotions)
    assert (progress["ratings_imported"], progress["items_complete"]) == (8, 12)
    # The demo annotators have work: a fresh clip, not one of the twelve full ones.
    lease = assignment_next(project=emotions, user=people.annotators[0])
    assert lease.item.external_id in {"clip-12", "clip-13", "clip-14", "clip-15", "clip-16",
                                      "clip-17"}  # fmt: skip

    # Each project is also a benchmark dataset, built once.
    versions = dict(Version.objects.values_list("dataset__name", "stats__n_items"))
    assert versions == {demo.EMOTION_DATASET: 17, demo.POLICY_DATASET: 16}

    again = io.StringIO()
    demo.load(people=people, stdout=again)
    assert "already there" in again.getvalue()
    assert ImportedRating.objects.count() == pilot.count()
    assert Project.objects.count() == 2
    assert Version.objects.count() == 2
