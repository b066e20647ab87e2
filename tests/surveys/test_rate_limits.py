"""Open links under load from one address (defect: 50 anonymous sessions in 1.6 s held every
quota place of a cell for the reservation time)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from surveys.models import QuotaCell, QuotaReservation, Response, ResponseStatus

pytestmark = pytest.mark.django_db


def link(token: str) -> str:
    return reverse("surveys:participant", args=[token])


def start(survey, address: str = "203.0.113.7", lang: str = "en"):
    """A fresh browser (no cookies) agreeing on the open link; returns (client, answer)."""
    client = Client(REMOTE_ADDR=address)
    answer = client.post(link(survey.open_token), {"lang": lang, "consent": "yes"})
    return client, answer


def test_fifty_sessions_from_one_address_cannot_hold_a_cell(rate_limits, open_survey):
    """The defaults: 10 starts a minute and 5 places held at once per address."""
    quota = QuotaCell.objects.get(design=open_survey.design, cell__key="Seoul|F")
    assert (quota.target, quota.filled, quota.reserved) == (8, 0, 0)
    statuses = []
    for _ in range(50):
        client, answer = start(open_survey)
        statuses.append(answer.status_code)
        if answer.status_code == 302:
            screened = client.post(answer["Location"], {"region": "Seoul", "gender": "F"})
            statuses.append(screened.status_code)
    assert statuses.count(429) == 40 + 5
    assert Response.objects.count() == 10
    quota.refresh_from_db()
    assert (quota.filled, quota.reserved) == (0, 5)
    assert QuotaReservation.objects.count() == 5
    # Three places are left for everyone else.
    client, answer = start(open_survey, address="198.51.100.20")
    assert client.post(answer["Location"], {"region": "Seoul", "gender": "F"}).status_code == 302
    quota.refresh_from_db()
    assert quota.reserved == 6


def test_past_the_start_limit_a_friendly_page_and_no_response(rate_limits, open_survey):
    rate_limits.RATE_LIMITS = {**rate_limits.RATE_LIMITS, "open_link_start": "3/min"}
    for _ in range(3):
        assert start(open_survey)[1].status_code == 302
    _client, refused = start(open_survey)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Please wait a few minutes" in refused.content.decode()
    _client, korean = start(open_survey, lang="ko")
    assert korean.status_code == 429
    assert "잠시 후에 다시 시도해 주세요" in korean.content.decode()
    assert Response.objects.count() == 3
    assert QuotaReservation.objects.count() == 0
    # Another address is not held up.
    assert start(open_survey, address="198.51.100.20")[1].status_code == 302
    assert Response.objects.count() == 4


def test_one_address_holds_only_so_many_places_at_once(rate_limits, open_survey):
    rate_limits.QUOTA_HOLDS_PER_ADDRESS = 2
    quota = QuotaCell.objects.get(design=open_survey.design, cell__key="Busan|M")
    links = [start(open_survey) for _ in range(3)]
    answers = [c.post(a["Location"], {"region": "Busan", "gender": "M"}) for c, a in links]
    assert [a.status_code for a in answers] == [302, 302, 429]
    assert "Please wait a few minutes" in answers[2].content.decode()
    quota.refresh_from_db()
    assert quota.reserved == 2
    third = Response.objects.order_by("pk").last()
    assert (third.status, third.cell_id) == (ResponseStatus.STARTED, None)
    # Once a hold has expired, the third participant gets in.
    from django.utils import timezone

    QuotaReservation.objects.filter(pk=QuotaReservation.objects.first().pk).update(
        expires_at=timezone.now()
    )
    client, started = links[2]
    assert client.post(started["Location"], {"region": "Busan", "gender": "M"}).status_code == 302
    third.refresh_from_db()
    assert third.cell_id == quota.cell_id
    assert QuotaReservation.objects.filter(response=third).count() == 1


def test_guessing_tokens_is_cut_short(rate_limits, survey):
    rate_limits.RATE_LIMITS = {**rate_limits.RATE_LIMITS, "token_miss": "3/min"}
    from surveys.services import sample_draw

    invitation = sample_draw(survey=survey, seed=3).invitations.first()
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert [client.get(link(f"guess{i:027d}")).status_code for i in range(3)] == [404] * 3
    refused = client.get(link("guess" + "9" * 27))
    assert refused.status_code == 429
    assert "잠시 후에 다시 시도해 주세요" in refused.content.decode()
    assert "Please try again in a few minutes" in refused.content.decode()
    # The address is held up even with a good link for the rest of the minute; others are not.
    assert client.get(link(invitation.token)).status_code == 429
    assert Client(REMOTE_ADDR="198.51.100.20").get(link(invitation.token)).status_code == 200
    # Good links do not count.
    other = Client(REMOTE_ADDR="198.51.100.21")
    assert {other.get(link(invitation.token)).status_code for _ in range(5)} == {200}


def test_limits_are_off_when_disabled(settings, open_survey):
    """The suite's default (tests/conftest.py): RATE_LIMITS_ENABLED = False."""
    assert settings.RATE_LIMITS_ENABLED is False
    assert {start(open_survey)[1].status_code for _ in range(15)} == {302}
