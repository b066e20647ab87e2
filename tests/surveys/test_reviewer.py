"""A reviewer of the study approves survey questions in the pages and the API, and changes
nothing of the survey."""

from __future__ import annotations

import pytest

from accounts.services import study_member_add
from surveys import services
from surveys.models import Question, QuestionReview, ReviewState, Survey
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(study):
    user = UserFactory(username="rhee")
    study_member_add(study=study, user=user, role="reviewer")
    return user


@pytest.fixture
def question(study, researcher):
    survey = services.survey_create(study=study, title_en="Trust")
    block = services.block_create(survey=survey, title_en="All")
    question = services.question_create(
        block=block,
        code="trust",
        kind="single",
        text_en="Do you trust people?",
        options=[("y", "Yes", "예"), ("n", "No", "아니요")],
        user=researcher,
    )
    services.question_submit(question=question, user=researcher)
    return question


def test_the_reviewer_approves_in_the_review_queue(client, reviewer, question):
    client.force_login(reviewer)
    queue = client.get(f"/surveys/{question.survey_id}/review/")
    assert queue.status_code == 200
    assert b"Do you trust people?" in queue.content
    response = client.post(
        f"/surveys/{question.survey_id}/review/{question.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.review_state == ReviewState.APPROVED
    assert QuestionReview.objects.get().reviewer == reviewer


def test_the_reviewer_approves_through_the_api(api_as, reviewer, question):
    response = api_as(reviewer).post(
        f"/api/surveys/questions/{question.pk}/reviews/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 201
    assert Question.objects.get(pk=question.pk).review_state == ReviewState.APPROVED


def test_the_reviewer_changes_nothing_else(client, api_as, reviewer, question):
    survey_id = question.survey_id
    client.force_login(reviewer)
    edit = client.post(
        f"/surveys/{survey_id}/questions/{question.pk}/edit/",
        {"text_en": "Changed", "options": "y | Yes\nn | No"},
    )
    assert edit.status_code == 403
    # The page says why.
    assert "Reviewers and viewers see this study but cannot change it." in edit.content.decode()
    assert client.post(f"/surveys/{survey_id}/questions/{question.pk}/delete/").status_code == 403
    assert client.post(f"/surveys/{survey_id}/status/open/").status_code == 403
    api = api_as(reviewer).patch(
        f"/api/surveys/surveys/{survey_id}/", {"title_en": "X"}, format="json"
    )
    assert api.status_code == 403
    question.refresh_from_db()
    assert (question.text_en, question.review_state) == ("Do you trust people?", "in_review")
    assert Survey.objects.get(pk=survey_id).title_en == "Trust"


def test_a_viewer_cannot_review(client, study, question):
    viewer = UserFactory(username="vera")
    study_member_add(study=study, user=viewer, role="viewer")
    client.force_login(viewer)
    assert client.get(f"/surveys/{question.survey_id}/review/").status_code == 200
    response = client.post(
        f"/surveys/{question.survey_id}/review/{question.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 403
    assert QuestionReview.objects.count() == 0


def test_the_reviewer_sees_the_pages_without_their_controls(client, researcher, reviewer, question):
    survey_id = question.survey_id
    client.force_login(researcher)
    own = client.get(f"/surveys/{survey_id}/questions/").content.decode()
    assert "Add the question" in own and "Save survey settings" in own
    results = f"/surveys/{survey_id}/results/"
    assert "Save and compute weights" in client.get(results).content.decode()
    client.force_login(reviewer)
    page = client.get(f"/surveys/{survey_id}/questions/").content.decode()
    assert 'id="read-only-note"' in page
    for control in ("Add the question", "Save survey settings", "Open the survey", "Edit trust"):
        assert control not in page
    assert "Do you trust people?" in page
    dashboard = client.get(f"/surveys/{survey_id}/").content.decode()
    assert "Review queue (1 question)" in dashboard
    assert "compute weights" not in client.get(results).content.decode()


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "Kim — Approve (cycle 1, round 1): Clear wording."),
        ("ko", "Kim — 승인 (주기 1, 차수 1): Clear wording."),
    ],
)
def test_the_queue_lists_earlier_reviews_in_the_readers_language(
    client, study, reviewer, question, language, line
):
    """One translated line per review, so that Korean puts its own words around the numbers."""
    Question.objects.filter(pk=question.pk).update(required_approvals=2)
    first = UserFactory(username="kim")
    study_member_add(study=study, user=first, role="reviewer")
    services.question_review(
        question=question, reviewer=first, decision="approve", comment="Clear wording."
    )
    client.force_login(reviewer)
    client.cookies["django_language"] = language
    queue = client.get(f"/surveys/{question.survey_id}/review/")
    assert queue.status_code == 200
    text = " ".join(queue.content.decode().split())
    assert line in text
