"""Importing existing ratings with COPY: all or nothing, idempotent, k respected."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import User
from annotation.models import Annotation, AnnotationLabel, Assignment, Item, ProjectMember
from annotation.selectors import project_vote_table, voter_key
from annotation.services import ratings_import
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = pytest.mark.django_db

GOOD = (
    "item,rater,label,role,created,time_ms\n"
    "t00,ext-1,joy,primary,2026-03-01T10:00:00Z,1200\n"
    "t00,ext-1,fear,secondary,2026-03-01T10:00:00Z,1200\n"
    "t00,ext-2,anger,,2026-03-02T10:00:00Z,\n"
    "t01,ext-1,sadness,primary,,900\n"
)


@pytest.fixture
def project(study, researcher):
    if connection.vendor != "postgresql":
        pytest.skip("COPY import needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    return project


def run(project, text: str):
    return ratings_import(project=project, source=io.BytesIO(text.encode()))


def test_ratings_are_imported_as_answers_and_again_changes_nothing(project):
    report = run(project, GOOD)
    assert report == {"rows": 4, "answers": 3, "labels": 4, "skipped_rows": 0, "new_raters": 2}
    ext1 = User.objects.get(username="ext-1")
    assert (ext1.is_active, ext1.has_usable_password()) == (False, False)
    assert ProjectMember.objects.filter(project=project).count() == 2
    assert list(Item.objects.order_by("id").values_list("slots_taken", flat=True)) == [2, 1]
    votes = project_vote_table(project=project)
    rows = sorted(votes[["item", "voter", "label", "role"]].itertuples(index=False, name=None))
    k1, k2 = voter_key(ext1.pk), voter_key(User.objects.get(username="ext-2").pk)
    assert rows == sorted(
        [
            ("t00", k1, "joy", "primary"),
            ("t00", k1, "fear", "secondary"),
            ("t00", k2, "anger", "primary"),
            ("t01", k1, "sadness", "primary"),
        ]
    )
    a = Annotation.objects.get(assignment__rater=ext1, assignment__item__external_id="t00")
    assert (a.time_ms, a.created_at.isoformat()) == (1200, "2026-03-01T10:00:00+00:00")
    again = run(project, GOOD)
    assert again == {"rows": 4, "answers": 0, "labels": 0, "skipped_rows": 4, "new_raters": 0}
    assert (Assignment.objects.count(), AnnotationLabel.objects.count()) == (3, 4)


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("item,rater,label\nt00,x,rage\n", {"label": ["Unknown category(ies): rage."]}),
        ("item,rater,label\nt09,x,joy\n", {"item": ["Unknown item(s): t09."]}),
        (
            "item,rater,label,role\nt00,x,joy,primary\nt00,x,fear,primary\n",
            {"role": ["Each rater needs exactly one primary label per item (item(s) t00)."]},
        ),
        (
            "item,rater,label\nt00,x,joy\nt00,y,joy\nt00,z,joy\n",
            {"item": ["More than k = 2 raters on: t00."]},
        ),
        ("item,who,label\nt00,x,joy\n", {"file": ["Unknown column(s): who."]}),
        (
            "item,rater,label,role\nt00,x,joy,primary\nt00,x,fear,secondary\nt00,x,fear,secondary\n",
            {"label": ["A label is repeated by one rater on one item."]},
        ),
    ],
)
def test_bad_rating_files_import_nothing(project, text, errors):
    before = User.objects.count()
    with pytest.raises(ValidationError) as err:
        run(project, text)
    assert err.value.message_dict == errors
    assert Assignment.objects.count() == 0
    assert User.objects.count() == before
    assert list(Item.objects.values_list("slots_taken", flat=True)) == [0, 0]


def test_imported_ratings_count_against_k_for_live_raters(project):
    from annotation.services import assignment_next

    run(project, "item,rater,label\nt00,x,joy\nt00,y,anger\n")
    (ana,) = raters(project, 1, prefix="ana")
    assert assignment_next(project=project, user=ana).item.external_id == "t01"
