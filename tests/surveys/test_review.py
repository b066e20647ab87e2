"""Question review: draft -> in review -> approved after N approvals; only approved fielded."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from surveys.models import QuestionReview, ReviewState, SurveyStatus
from surveys.services import (
    question_review,
    question_submit,
    question_update,
    survey_open,
)
from tests.accounts.factories import UserFactory
from tests.surveys.factories import make_survey

pytestmark = pytest.mark.django_db


def test_two_rounds_of_approval(study, researcher, colleague):
    survey = make_survey(study, approve=False)
    q = survey.questions.get(code="family")
    q.required_approvals = 2
    q.created_by = researcher
    q.save()
    third = UserFactory(username="third")
    question_submit(question=q, user=researcher)
    q.refresh_from_db()
    assert (q.review_state, q.review_cycle) == (ReviewState.IN_REVIEW, 1)
    with pytest.raises(ValidationError) as err:
        question_review(question=q, reviewer=researcher, decision="approve")
    assert err.value.message_dict == {"reviewer": ["Authors cannot review their own questions."]}
    first = question_review(question=q, reviewer=colleague, decision="approve", comment="ok")
    q.refresh_from_db()
    assert (first.round, q.review_state) == (1, ReviewState.IN_REVIEW)
    with pytest.raises(ValidationError):
        question_review(question=q, reviewer=colleague, decision="approve")
    second = question_review(question=q, reviewer=third, decision="approve")
    q.refresh_from_db()
    assert (second.round, q.review_state) == (2, ReviewState.APPROVED)
    # Editing the wording sends it back to draft; a new cycle needs new approvals.
    question_update(question=q, text_en="Family always comes first.")
    q.refresh_from_db()
    assert q.review_state == ReviewState.DRAFT


def test_rejection_needs_a_comment_and_returns_to_draft(study, colleague):
    survey = make_survey(study, approve=False)
    q = survey.questions.get(code="capital")
    question_submit(question=q, user=None)
    with pytest.raises(ValidationError) as err:
        question_review(question=q, reviewer=colleague, decision="reject")
    assert err.value.message_dict == {"comment": ["Say what should change."]}
    question_review(question=q, reviewer=colleague, decision="reject", comment="Add Incheon.")
    q.refresh_from_db()
    assert q.review_state == ReviewState.DRAFT
    assert list(QuestionReview.objects.values_list("decision", "comment")) == [
        ("reject", "Add Incheon.")
    ]


def test_a_survey_with_unapproved_questions_cannot_open(study, colleague):
    survey = make_survey(study, approve=False)
    for q in survey.questions.exclude(code__in=["media", "hours"]):
        question_submit(question=q, user=None)
        question_review(question=q, reviewer=colleague, decision="approve")
    with pytest.raises(ValidationError) as err:
        survey_open(survey=survey)
    assert err.value.message_dict == {
        "survey": ["These questions are not approved yet: media, hours."]
    }
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.DRAFT
