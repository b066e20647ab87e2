"""The surveys admin cannot skip the review: questions are read-only there, a survey's status
changes only through the questionnaire page, and an open survey's consent text is fixed."""

from __future__ import annotations

import pytest

from surveys.models import Survey, SurveyStatus
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))


def test_questions_and_status_are_read_only_in_the_admin(client, staff, survey):
    question = survey.questions.first()
    page = client.get(f"/admin/surveys/question/{question.pk}/change/")
    assert page.status_code == 200
    assert 'name="text_en"' not in page.text
    assert client.get("/admin/surveys/question/add/").status_code == 403

    assert survey.status == SurveyStatus.OPEN
    page = client.get(f"/admin/surveys/survey/{survey.pk}/change/")
    assert page.status_code == 200
    for name in ("status", "intro_en", "title_en"):
        assert f'name="{name}"' not in page.text
    assert f'href="/surveys/{survey.pk}/questions/"' in page.text


def test_a_draft_survey_keeps_its_texts_editable_but_not_its_status(client, staff, study):
    from surveys.services import survey_create

    draft = survey_create(study=study, title_en="Draft")
    page = client.get(f"/admin/surveys/survey/{draft.pk}/change/")
    assert 'name="intro_en"' in page.text and 'name="status"' not in page.text
    assert Survey.objects.get(pk=draft.pk).status == SurveyStatus.DRAFT
