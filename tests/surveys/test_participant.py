"""Participant pages through Django's test client: the flow, resume, errors, queries, weight."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from surveys.models import Answer, QuotaCell, Response, ResponseStatus
from surveys.services import sample_draw, survey_close

pytestmark = pytest.mark.django_db


def link(token, **params):
    url = reverse("surveys:participant", args=[token])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_invitation_flow_with_resume(client, survey):
    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    page = client.get(link(invitation.token, lang="en"))
    assert page.status_code == 200
    assert "I have read the above and agree" in page.content.decode()
    refused = client.post(link(invitation.token), {"lang": "en"})
    assert refused.status_code == 400
    assert Response.objects.count() == 0
    started = client.post(link(invitation.token), {"lang": "ko", "consent": "yes"})
    assert started.status_code == 302
    page = client.get(link(invitation.token))
    html = page.content.decode()
    assert '<html lang="ko">' in html
    assert "가족이 우선이다." in html and "페이지 1 / 2" in html
    bad = client.post(link(invitation.token), {"page": "1", "family": "9", "capital": "seoul"})
    assert bad.status_code == 400
    assert "알 수 없는 선택지입니다: 9." in bad.content.decode()
    assert Answer.objects.count() == 0
    ok = client.post(link(invitation.token), {"page": "1", "family": "4", "capital": "seoul"})
    assert ok.status_code == 302 and ok["Location"].endswith("?page=2")
    # Leaving and coming back with the same link resumes on page 2.
    resumed = client.get(link(invitation.token))
    assert "페이지 2 / 2" in resumed.content.decode()
    done = client.post(
        link(invitation.token),
        {"page": "2", "media": ["tv", "paper"], "hours": "6.5", "attention": "4"},
    )
    assert done.status_code == 302
    final = client.get(link(invitation.token))
    assert "응답이 기록되었습니다" in final.content.decode()
    again = client.post(
        link(invitation.token), {"page": "2", "media": ["web"], "hours": "1", "attention": "4"}
    )
    assert again.status_code == 200
    response = Response.objects.get()
    assert response.status == ResponseStatus.COMPLETED
    assert sorted(response.answers.values_list("question__code", "choices", "number")) == [
        ("attention", ["4"], None),
        ("capital", ["seoul"], None),
        ("family", ["4"], None),
        ("hours", [], 6.5),
        ("media", ["tv", "paper"], None),
    ]


def test_open_link_screens_out_when_cell_is_full(client, open_survey):
    quota = QuotaCell.objects.get(design=open_survey.design, cell__key="Busan|M")
    QuotaCell.objects.filter(pk=quota.pk).update(filled=quota.target)
    start = client.post(link(open_survey.open_token), {"lang": "en", "consent": "yes"})
    token = start["Location"].split("/")[-2]
    assert token != open_survey.open_token
    # The open link brings the same person back to their own response.
    assert client.get(link(open_survey.open_token))["Location"] == link(token)
    page = client.get(link(token))
    assert "Where do you live?" in page.content.decode()
    out = client.post(link(token), {"region": "Busan", "gender": "M"})
    assert out.status_code == 302
    page = client.get(link(token))
    assert "We already have enough participants like you" in page.content.decode()
    assert Response.objects.get().status == ResponseStatus.SCREENED_OUT


def test_closed_survey_page(client, survey):
    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    survey_close(survey=survey)
    page = client.get(link(invitation.token, lang="en"))
    assert "This survey is closed" in page.content.decode()
    assert client.post(link(invitation.token), {"consent": "yes"}).status_code == 200
    assert Response.objects.count() == 0


def test_unknown_token_is_404(client, survey):
    assert client.get(link("x" * 32)).status_code == 404


def test_question_page_queries_and_weight(client, survey, django_assert_num_queries):
    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    client.post(link(invitation.token), {"lang": "ko", "consent": "yes"})
    client.get(link(invitation.token))  # warm the session
    # response, blocks, questions, options, answers
    with django_assert_num_queries(5):
        page = client.get(link(invitation.token, page=2))
    assert page.status_code == 200
    assert len(page.content) < 100_000


def _order(html: bytes) -> list[str]:
    return re.findall(r'id="q-([a-z]+)"|name="media" value="([a-z]+)"', html.decode())


def test_seeded_order_is_stable_per_participant(client, study, design, colleague):
    from tests.surveys.factories import make_survey

    survey = make_survey(
        study, design, reviewer=colleague, randomize_questions=True, randomize_options=True
    )
    orders = []
    for invitation in sample_draw(survey=survey, seed=3).invitations.all()[:6]:
        client.post(link(invitation.token), {"lang": "en", "consent": "yes"})
        first = _order(client.get(link(invitation.token, page=2)).content)
        assert _order(client.get(link(invitation.token, page=2)).content) == first
        assert len(first) == 7  # 4 questions and 3 media options
        orders.append(tuple(first))
    assert len(set(orders)) > 1


def test_showing_a_page_in_the_other_language_writes_nothing_until_the_participant_acts(
    client, survey
):
    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    client.post(link(invitation.token), {"lang": "ko", "consent": "yes"})
    response = Response.objects.get()
    assert response.language == "ko"
    page = client.get(link(invitation.token, lang="en"))
    assert '<html lang="en">' in page.content.decode()
    response.refresh_from_db()
    assert response.language == "ko"
    # The header's language switch submits the page as a draft: the choice is kept from then.
    switched = client.post(link(invitation.token), {"page": "1", "go": "lang:en"})
    assert switched.status_code == 302
    response.refresh_from_db()
    assert response.language == "en"
    assert '<html lang="en">' in client.get(link(invitation.token)).content.decode()
