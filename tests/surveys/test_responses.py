"""Starting, answering and completing; quota holds; invalid answers change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from surveys.models import (
    Answer,
    InvitationStatus,
    QuotaCell,
    QuotaReservation,
    Response,
    ResponseStatus,
)
from surveys.services import (
    answers_record,
    response_complete,
    response_screen,
    response_start,
    sample_draw,
    survey_close,
)
from tests.surveys.factories import GOOD_ANSWERS, complete

pytestmark = pytest.mark.django_db


def quota(survey, key):
    return QuotaCell.objects.get(design=survey.design, cell__key=key)


def test_invited_participant_completes_once(survey):
    draw = sample_draw(survey=survey, seed=1)
    invitation = draw.invitations.filter(panelist__cell__key="Busan|M").first()
    response = response_start(survey=survey, invitation=invitation, language="en")
    assert response.token == invitation.token
    q = quota(survey, "Busan|M")
    assert (q.target, q.filled, q.reserved) == (3, 0, 1)
    assert response_start(survey=survey, invitation=invitation).pk == response.pk
    complete(response)
    complete_again = response_complete(response=response)
    assert complete_again.status == ResponseStatus.COMPLETED
    q.refresh_from_db()
    assert (q.filled, q.reserved) == (1, 0)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.COMPLETED
    assert Answer.objects.filter(response=response).count() == 5  # the comment was left empty
    assert QuotaReservation.objects.count() == 0
    with pytest.raises(ValidationError) as err:
        answers_record(response=response, answers={"family": "5"})
    assert err.value.message_dict == {"response": ["This response is already complete."]}
    assert Answer.objects.get(response=response, question__code="family").choices == ["4"]


def test_open_link_screener_places_and_screens_out(open_survey):
    q = quota(open_survey, "Busan|M")
    QuotaCell.objects.filter(pk=q.pk).update(filled=q.target - 1)
    first = response_start(survey=open_survey)
    first = response_screen(response=first, values={"region": "Busan", "gender": "M"})
    assert (first.status, first.cell.key) == (ResponseStatus.STARTED, "Busan|M")
    second = response_screen(
        response=response_start(survey=open_survey), values={"region": "Busan", "gender": "M"}
    )
    assert second.status == ResponseStatus.SCREENED_OUT
    q.refresh_from_db()
    assert (q.filled, q.reserved) == (2, 1)


def test_expired_hold_is_released_for_the_next_participant(open_survey):
    q = quota(open_survey, "Busan|M")
    QuotaCell.objects.filter(pk=q.pk).update(filled=q.target - 1)
    first = response_screen(
        response=response_start(survey=open_survey), values={"region": "Busan", "gender": "M"}
    )
    QuotaReservation.objects.filter(response=first).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    second = response_screen(
        response=response_start(survey=open_survey), values={"region": "Busan", "gender": "M"}
    )
    assert second.status == ResponseStatus.STARTED
    complete(second)
    # The first comes back too late: the cell is full now, so they are screened out.
    first = complete(first)
    assert first.status == ResponseStatus.SCREENED_OUT
    q.refresh_from_db()
    assert (q.filled, q.reserved) == (3, 0)


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        ({"family": "9"}, {"family": ["Unknown option: 9."]}),
        ({"family": ["1", "2"]}, {"family": ["Choose one option only."]}),
        ({"media": ["tv", "radio"]}, {"media": ["Unknown option: radio."]}),
        ({"hours": "seven"}, {"hours": ["Enter a number."]}),
        ({"hours": "30"}, {"hours": ["Enter a number of at most 24."]}),
        ({"nope": "1"}, {"nope": ["Unknown question."]}),
    ],
)
def test_invalid_answers_change_nothing(open_survey, answers, errors):
    response = response_screen(
        response=response_start(survey=open_survey), values={"region": "Seoul", "gender": "F"}
    )
    answers_record(response=response, answers={"family": "2", "hours": "8"})
    with pytest.raises(ValidationError) as err:
        answers_record(response=response, answers={"capital": "seoul", **answers})
    assert err.value.message_dict == errors
    assert sorted(response.answers.values_list("question__code", "choices", "number")) == [
        ("family", ["2"], None),
        ("hours", [], 8.0),
    ]


def test_closed_survey_refuses_answers(open_survey):
    response = response_screen(
        response=response_start(survey=open_survey), values={"region": "Seoul", "gender": "F"}
    )
    survey_close(survey=open_survey)
    with pytest.raises(ValidationError) as err:
        answers_record(response=response, answers={"family": "2"})
    assert err.value.message_dict == {"survey": ["This survey is not open."]}
    assert Answer.objects.count() == 0


def test_repeated_submit_is_harmless_and_attention_failure_flags(open_survey):
    response = response_screen(
        response=response_start(survey=open_survey), values={"region": "Seoul", "gender": "F"}
    )
    answers = {**GOOD_ANSWERS, "attention": "2"}
    answers_record(response=response, answers=answers)
    answers_record(response=response, answers=answers)
    assert Answer.objects.filter(response=response).count() == 5
    response = response_complete(response=response)
    assert response.status == ResponseStatus.COMPLETED
    assert Response.objects.get(pk=response.pk).flagged_attention is True


def test_completion_needs_every_required_answer(open_survey):
    response = response_screen(
        response=response_start(survey=open_survey), values={"region": "Seoul", "gender": "F"}
    )
    answers_record(response=response, answers={"family": "1", "capital": "busan"})
    with pytest.raises(ValidationError) as err:
        response_complete(response=response)
    assert err.value.message_dict == {
        "media": ["This question needs an answer."],
        "hours": ["This question needs an answer."],
        "attention": ["This question needs an answer."],
    }
    response.refresh_from_db()
    assert response.status == ResponseStatus.STARTED


def test_expired_holds_are_given_back_by_the_housekeeping_command(open_survey):
    from io import StringIO

    from django.core.management import call_command

    held = [
        response_screen(response=response_start(survey=open_survey), values=values)
        for values in (
            {"region": "Seoul", "gender": "F"},
            {"region": "Busan", "gender": "M"},
            {"region": "Busan", "gender": "M"},
        )
    ]
    QuotaReservation.objects.filter(response__in=held[1:]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    out = StringIO()
    call_command("release_quota_holds", stdout=out)
    assert out.getvalue().strip() == "2 places given back."
    assert (quota(open_survey, "Busan|M").reserved, quota(open_survey, "Seoul|F").reserved) == (
        0,
        1,
    )
    assert QuotaReservation.objects.count() == 1


def test_beat_gives_back_expired_holds_with_a_registered_task(open_survey):
    """The beat schedule names a task the Celery app knows, and that task does the sweep."""
    from django.conf import settings

    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["release-expired-quota-holds"]
    app.loader.import_default_modules()
    assert entry["schedule"] == 60.0
    held = [
        response_screen(response=response_start(survey=open_survey), values=values)
        for values in ({"region": "Seoul", "gender": "F"}, {"region": "Busan", "gender": "M"})
    ]
    QuotaReservation.objects.filter(response=held[1]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert app.tasks[entry["task"]]() == 1
    assert (quota(open_survey, "Busan|M").reserved, quota(open_survey, "Seoul|F").reserved) == (
        0,
        1,
    )
