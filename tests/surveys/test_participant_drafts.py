"""The participant's "Back" and language switch submit the page as a draft; number boxes
show their allowed range."""

from __future__ import annotations

import pytest

from surveys.models import Answer
from surveys.services import response_start, sample_draw

pytestmark = pytest.mark.django_db


@pytest.fixture
def response(survey):
    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    return response_start(survey=survey, invitation=invitation, language="ko")


def _url(response, query=""):
    return f"/surveys/r/{response.token}/{query}"


def _answers(response):
    return sorted(
        Answer.objects.filter(response=response).values_list("question__code", "choices", "number")
    )


def test_back_keeps_what_was_ticked_without_checking_the_page(client, response):
    client.post(_url(response), {"page": "1", "family": "4", "capital": "seoul"})
    # Page 2: one box ticked, a required question left empty, then Back.
    back = client.post(_url(response, "?page=2"), {"page": "2", "media": ["tv"], "go": "back"})
    assert back.status_code == 302
    assert back["Location"] == f"/surveys/r/{response.token}/?page=1"
    assert _answers(response) == [
        ("capital", ["seoul"], None),
        ("family", ["4"], None),
        ("media", ["tv"], None),
    ]
    # Forward again: page 2 shows the box still ticked.
    page2 = client.get(_url(response, "?page=2")).content.decode()
    assert 'value="tv" checked' in page2
    assert 'value="web" checked' not in page2


def test_an_invalid_value_is_left_out_of_a_draft_and_the_valid_ones_kept(client, response):
    client.post(_url(response), {"page": "1", "family": "4", "capital": "seoul"})
    back = client.post(
        _url(response, "?page=2"),
        {"page": "2", "hours": "99", "attention": "4", "go": "back"},
    )
    assert back.status_code == 302
    codes = [code for code, _c, _n in _answers(response)]
    assert codes == ["attention", "capital", "family"]


def test_the_language_switch_keeps_the_page_and_its_answers(client, response):
    switched = client.post(_url(response), {"page": "1", "family": "2", "go": "lang:en"})
    assert switched.status_code == 302
    assert switched["Location"] == f"/surveys/r/{response.token}/?lang=en&page=1"
    page = client.get(switched["Location"]).content.decode()
    assert '<html lang="en">' in page
    assert 'name="family" value="2" checked' in page
    assert _answers(response) == [("family", ["2"], None)]
    response.refresh_from_db()
    assert response.language == "en"


def test_next_still_checks_the_page(client, response):
    refused = client.post(_url(response), {"page": "1", "family": "2"})
    assert refused.status_code == 400
    assert Answer.objects.count() == 0


def test_the_number_box_shows_its_range_before_any_error(client, response):
    client.post(_url(response), {"page": "1", "family": "4", "capital": "seoul"})
    page = client.get(_url(response, "?page=2&lang=en")).content.decode()
    assert 'aria-describedby="range-hours"' in page
    assert "A number from 0 to 24." in page
    korean = client.get(_url(response, "?page=2&lang=ko")).content.decode()
    assert "0부터 24까지의 숫자" in korean


def test_the_page_offers_back_and_the_switch_as_buttons_of_the_form(client, response):
    client.post(_url(response), {"page": "1", "family": "4", "capital": "seoul"})
    page = client.get(_url(response, "?page=2&lang=en")).content.decode()
    assert 'name="go" value="back"' in page
    assert 'form="answers-form" name="go" value="lang:ko"' in page
    # Enter in a text box submits with the form's first button: a plain Next.
    first = page.index('form="answers-form"')
    assert 'value="lang:ko"' not in page[first - 60 : first + 40]
