"""Log-in lock-out (django-axes) and the API's rate limits (defect: 200 wrong passwords, then
the right one logged in)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from rest_framework.authtoken.models import Token

from accounts.models import Study
from config.throttling import client_address
from tests.accounts.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def log_in(client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def test_two_hundred_wrong_passwords_then_the_right_one_is_refused(settings, researcher):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client(REMOTE_ADDR="203.0.113.5")
    statuses = [log_in(client, "rosa", f"guess-{i}").status_code for i in range(200)]
    assert statuses[:4] == [200] * 4  # the form again, with "enter a correct password"
    assert set(statuses[4:]) == {429}
    right = log_in(client, "rosa", TEST_PASSWORD)
    assert right.status_code == 429
    body = right.content.decode()
    assert "Too many failed log-ins for this account from your address" in body
    assert "refused for 15 minutes" in body
    assert 'value="rosa"' in body
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still a visitor


def test_the_lock_is_per_username_and_address_and_ends_after_the_cool_off(settings, researcher):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR="203.0.113.5")
    for i in range(3):
        log_in(attacker, "rosa", f"guess-{i}")
    assert log_in(attacker, "rosa", TEST_PASSWORD).status_code == 429
    # Rosa at her own address logs in as usual.
    rosa = Client(REMOTE_ADDR="198.51.100.1")
    assert log_in(rosa, "rosa", TEST_PASSWORD).status_code == 302
    # After the cool-off the pair may try again.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert log_in(attacker, "rosa", TEST_PASSWORD).status_code == 302


def test_the_lock_out_message_in_korean(settings, researcher):
    settings.AXES_FAILURE_LIMIT = 1
    client = Client(REMOTE_ADDR="203.0.113.5", headers={"accept-language": "ko"})
    log_in(client, "rosa", "wrong")
    locked = log_in(client, "rosa", TEST_PASSWORD)
    assert locked.status_code == 429
    assert "15분 동안 로그인할 수 없으니" in locked.content.decode()


def test_failed_token_look_ups_are_limited_per_address(rate_limits, api_client, researcher):
    rate_limits.RATE_LIMITS = {**rate_limits.RATE_LIMITS, "token_miss": "3/min"}
    good = Token.objects.create(user=researcher)
    guesses = [
        api_client.get(
            "/api/studies/", headers={"authorization": f"Token guess{i}"}, REMOTE_ADDR="203.0.113.5"
        )
        for i in range(3)
    ]
    assert [g.status_code for g in guesses] == [401] * 3
    refused = api_client.get(
        "/api/studies/", headers={"authorization": f"Token {good.key}"}, REMOTE_ADDR="203.0.113.5"
    )
    assert refused.status_code == 429
    assert list(refused.json()) == ["errors"]
    assert list(refused.json()["errors"]) == ["non_field_errors"]
    assert "throttled" in refused.json()["errors"]["non_field_errors"][0]
    assert 0 < int(refused["Retry-After"]) <= 60
    elsewhere = api_client.get(
        "/api/studies/", headers={"authorization": f"Token {good.key}"}, REMOTE_ADDR="198.51.100.1"
    )
    assert elsewhere.status_code == 200


def test_api_writes_are_limited_per_user(rate_limits, api_as, researcher, outsider):
    rate_limits.RATE_LIMITS = {**rate_limits.RATE_LIMITS, "api_write": "2/min"}
    client = api_as(researcher)
    made = [client.post("/api/studies/", {"name": f"S{i}"}, format="json") for i in range(3)]
    assert [m.status_code for m in made] == [201, 201, 429]
    assert made[2].json()["errors"]["non_field_errors"][0].startswith("Request was throttled.")
    assert Study.objects.filter(created_by=researcher).count() == 2
    # Reads are not writes; another user has a budget of their own.
    assert client.get("/api/studies/").status_code == 200
    other = api_as(outsider).post("/api/studies/", {"name": "O"}, format="json")
    assert other.status_code != 429  # (whether they may create studies is another matter)


def test_the_client_address_trusts_forwarded_for_only_behind_known_proxies(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
    )
    settings.TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXIES = 1
    assert client_address(request) == "203.0.113.5"
    settings.TRUSTED_PROXIES = 2
    assert client_address(request) == "6.6.6.6"
