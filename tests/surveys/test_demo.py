"""The demo loads the national values survey once; loading again changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest

from accounts.demo import load_people
from benchmarks.models import Version
from surveys import demo
from surveys.models import (
    Answer,
    Cell,
    Invitation,
    Panelist,
    Question,
    Response,
    ReviewState,
    Survey,
    Weight,
)

pytestmark = pytest.mark.django_db


def counts():
    return [m.objects.count() for m in (Cell, Panelist, Invitation, Response, Answer, Weight)]


def test_demo_is_complete_and_idempotent():
    people = load_people()
    demo.load(people=people, stdout=StringIO())
    first = counts()
    assert first[:3] == [170, 20_000, 1_000]
    assert 450 < first[3] < 700  # response rates differ by stratum
    assert first[5] == Response.objects.filter(flagged_attention=False).count()
    survey = Survey.objects.get(title_en=demo.TITLE)
    assert survey.status == "open"
    states = set(survey.questions.values_list("review_state", flat=True))
    assert states == {ReviewState.APPROVED}
    assert all(q.text_ko for q in Question.objects.all())
    # A second survey is still being written: one question of each review state.
    draft = Survey.objects.get(title_en=demo.FOLLOW_UP)
    assert draft.status == "draft"
    assert sorted(draft.questions.values_list("code", "review_state")) == [
        ("remote", ReviewState.IN_REVIEW),
        ("trust_boss", ReviewState.DRAFT),
        ("work_meaning", ReviewState.APPROVED),
    ]
    # Older people answered more often than the young.
    old = Response.objects.filter(cell__values__age="60+").count()
    young = Response.objects.filter(cell__values__age="18-29").count()
    assert old > young
    # The benchmark dataset of three agreement questions, built once.
    version = Version.objects.get(dataset__name=demo.SURVEY_DATASET)
    assert version.stats["n_items"] == 3
    assert set(version.stats["agreement"]) >= {"alpha", "measure"}
    demo.load(people=people, stdout=StringIO())
    assert counts() == first
    assert list(Version.objects.values_list("pk", flat=True)) == [version.pk]
