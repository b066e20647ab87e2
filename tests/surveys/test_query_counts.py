"""The questionnaire page reads the same however many questions (and reviews) it shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys import services
from surveys.models import Block
from tests.surveys.factories import AGREE, approve_all, make_survey

pytestmark = pytest.mark.django_db


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_questionnaire_page_does_not_read_per_question(client, study, researcher, colleague):
    survey = make_survey(study, approve=False)
    approve_all(survey, colleague)
    client.force_login(researcher)
    url = f"/surveys/{survey.id}/questions/"
    before = queries(client, url)
    block = Block.objects.filter(survey=survey).first()
    for i in range(10):
        question = services.question_create(
            block=block, code=f"extra{i}", kind="scale", text_en=f"Extra {i}.", options=AGREE
        )
        services.question_submit(question=question, user=researcher)
        services.question_review(question=question, reviewer=colleague, decision="approve")
    assert survey.questions.count() >= 12
    assert queries(client, url) == before
