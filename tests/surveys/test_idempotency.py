"""Idempotent submits on the participant pages: a page sent again with its form's key gets
the first sending's redirect and writes nothing twice (defect: a retry after a timeout could
not tell a stored answer from a failed one)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from idempotency.models import IdempotencyKey
from surveys.models import Answer, QuotaCell, Response, ResponseStatus
from surveys.services import sample_draw

PAGE_1 = {"page": "1", "family": "4", "capital": "seoul"}
PAGE_2 = {"page": "2", "media": ["tv", "paper"], "hours": "6.5", "attention": "4"}


def link(token: str) -> str:
    return reverse("surveys:participant", args=[token])


def key_on(page) -> str:
    html = page.content.decode()
    start = html.index('name="idempotency_key" value="') + len('name="idempotency_key" value="')
    return html[start : html.index('"', start)]


def started(client, survey) -> tuple[str, Response]:
    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    client.post(link(invitation.token), {"lang": "en", "consent": "yes"})
    return invitation.token, Response.objects.get(invitation=invitation)


@pytest.mark.django_db
def test_the_pages_carry_a_fresh_key_per_rendering(client, survey):
    token, _response = started(client, survey)
    first, second = key_on(client.get(link(token))), key_on(client.get(link(token)))
    assert len(first) == 36 and first != second


@pytest.mark.django_db
def test_a_retried_last_page_gets_the_first_redirect_and_completes_once(client, survey):
    token, response = started(client, survey)
    quota = QuotaCell.objects.get(pk=response.reservation.quota_id)
    filled = quota.filled
    client.post(link(token), {**PAGE_1, "idempotency_key": key_on(client.get(link(token)))})
    key = key_on(client.get(link(token) + "?page=2"))
    first = client.post(link(token) + "?page=2", {**PAGE_2, "idempotency_key": key})
    retry = client.post(link(token) + "?page=2", {**PAGE_2, "idempotency_key": key})
    assert (first.status_code, first["Location"]) == (302, link(token))
    assert (retry.status_code, retry["Location"]) == (302, link(token))
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    response.refresh_from_db()
    quota.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    assert quota.filled == filled + 1
    assert Answer.objects.filter(response=response).count() == 5
    assert IdempotencyKey.objects.filter(scope=f"surveys.answers:{response.pk}").count() == 2
    # The key travels in the header too (a client that is not a browser).
    header = client.post(link(token) + "?page=2", PAGE_2, headers={"Idempotency-Key": key})
    assert (header.status_code, header["Location"]) == (302, link(token))


@pytest.mark.django_db
def test_the_same_form_sent_with_changed_answers_is_a_new_submit(client, survey):
    token, response = started(client, survey)
    key = key_on(client.get(link(token)))
    client.post(link(token), {**PAGE_1, "idempotency_key": key})
    changed = client.post(link(token), {**PAGE_1, "family": "2", "idempotency_key": key})
    assert changed.status_code == 302 and "Idempotent-Replayed" not in changed
    assert Answer.objects.get(response=response, question__code="family").choices == ["2"]
    assert Answer.objects.filter(response=response).count() == 2


@pytest.mark.django_db
def test_an_open_link_start_sent_twice_starts_one_response(open_survey):
    first_client, retry_client = Client(), Client()  # the retry lost the first's cookie
    page = first_client.get(link(open_survey.open_token) + "?lang=en")
    data = {"lang": "en", "consent": "yes", "idempotency_key": key_on(page)}
    first = first_client.post(link(open_survey.open_token), data)
    retry = retry_client.post(link(open_survey.open_token), data)
    assert first["Location"] == retry["Location"] != link(open_survey.open_token)
    assert Response.objects.count() == 1
    # The retry's session now leads back to that response too.
    assert retry_client.get(link(open_survey.open_token))["Location"] == retry["Location"]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_sendings_of_the_last_page_complete_once(study, design, colleague):
    """Eight sendings of the last page with one key, released together on their own
    connections: one completion, one filled place, and every sending gets the same redirect
    (without the key the losers got 400 "This response is already complete")."""
    from tests.surveys.factories import make_survey

    if connection.vendor != "postgresql":
        pytest.skip("the race test needs PostgreSQL")
    survey = make_survey(study, design, reviewer=colleague)
    client = Client()
    token, response = started(client, survey)
    quota = QuotaCell.objects.get(pk=response.reservation.quota_id)
    filled = quota.filled
    client.post(link(token), {**PAGE_1, "idempotency_key": key_on(client.get(link(token)))})
    key = key_on(client.get(link(token) + "?page=2"))
    senders = 8
    barrier = threading.Barrier(senders)
    answers: list[tuple[int, str]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            barrier.wait(timeout=30)
            page = Client().post(link(token) + "?page=2", {**PAGE_2, "idempotency_key": key})
            with lock:
                answers.append((page.status_code, page.get("Location", "")))
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert answers == [(302, link(token))] * senders
    response.refresh_from_db()
    quota.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    assert quota.filled == filled + 1
    assert Answer.objects.filter(response=response).count() == 5
    assert (
        IdempotencyKey.objects.filter(scope=f"surveys.answers:{response.pk}", key=key).count() == 1
    )


@pytest.mark.django_db
def test_an_invitation_consent_sent_twice_gets_the_same_redirect(client, survey):
    """The invitation's link leads to the response once it started: without the key the
    second sending landed on the first page as an empty answer (400)."""
    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    page = client.get(link(invitation.token) + "?lang=en")
    data = {"lang": "en", "consent": "yes", "idempotency_key": key_on(page)}
    first = client.post(link(invitation.token), data)
    retry = client.post(link(invitation.token), data)
    assert (first.status_code, retry.status_code) == (302, 302)
    assert first["Location"] == retry["Location"] == link(invitation.token)
    assert retry["Idempotent-Replayed"] == "true"
    assert Response.objects.count() == 1
    assert Answer.objects.count() == 0


@pytest.mark.django_db
def test_a_page_of_two_answers_takes_fourteen_queries(
    study, design, colleague, django_assert_num_queries
):
    """The participant's hottest write, pinned at 14 statements in a request: the response,
    the replay look-ups, the page's blocks, answers, questions and options (read once: the
    service checks the answers against the page's questions), the key, the locked response,
    the existing answers, both new answers in one INSERT, the stored outcome; it used to take
    17. Inside the test's own transaction the request's transaction is a savepoint: two more."""
    import re

    from tests.surveys.factories import make_survey

    survey = make_survey(study, design, open_link=True, reviewer=colleague)
    client = Client()
    start = client.post(
        reverse("surveys:participant", args=[survey.open_token]) + "?lang=en", {"consent": "yes"}
    )
    link = start["Location"]
    client.post(link, {"region": "Seoul", "gender": "F"})
    page = client.get(link).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]*)"', page).group(1)
    form = {"page": "1", "family": "3", "capital": "seoul", "idempotency_key": key}
    with django_assert_num_queries(14 + 2):
        answered = client.post(link, form)
    assert answered.status_code == 302
    assert sorted(Answer.objects.values_list("question__code", "choices")) == [
        ("capital", ["seoul"]),
        ("family", ["3"]),
    ]
