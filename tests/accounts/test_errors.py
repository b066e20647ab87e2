"""Failures answered without leaking: API 500/503 in the JSON error body, branded pages,
/healthz with the database down, the Permissions-Policy header, a configurable admin path."""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys

import pytest
from django.db import OperationalError, connections
from django.test import override_settings
from django.urls import clear_url_caches

from tests.conftest import REPO

pytestmark = pytest.mark.django_db

# What a real driver says: host, address and port, which no anonymous caller may read.
DRIVER_MESSAGE = (
    'connection failed: connection to server at "db.internal" (10.0.0.5), port 5432 failed: '
    "Connection refused"
)
POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), screen-wake-lock=(), serial=(), "
    "usb=(), xr-spatial-tracking=()"
)


@pytest.fixture
def take_database_down(monkeypatch):
    """Call it, and every new cursor fails as it does when PostgreSQL cannot be reached."""

    def refuse(*args, **kwargs):
        raise OperationalError(DRIVER_MESSAGE)

    return lambda: monkeypatch.setattr(connections["default"], "ensure_connection", refuse)


def _researcher():
    from tests.accounts.factories import UserFactory

    return UserFactory(username="ines")


@pytest.fixture
def quiet_client(client):
    client.raise_request_exception = False
    return client


@pytest.fixture
def quiet_api(api_as, researcher):
    api = api_as(researcher)
    api.raise_request_exception = False
    return api


def test_an_api_bug_is_a_json_500_without_details(quiet_api, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("secret detail of the bug")

    monkeypatch.setattr("accounts.api.study_list", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = quiet_api.get("/api/studies/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "errors": {"non_field_errors": ["Internal error; it has been logged."]}
    }
    assert b"secret detail" not in response.content
    # Django logged it, traceback included.
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info[0] is RuntimeError


def test_a_page_bug_is_the_branded_500_page(quiet_client, researcher, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("secret detail of the bug")

    monkeypatch.setattr("accounts.views.study_list", broken)
    quiet_client.force_login(researcher)
    response = quiet_client.get("/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "<h1>Something went wrong on our side</h1>" in body
    assert "secret detail" not in body


def test_api_with_the_database_down_is_a_json_503(api_client, researcher, take_database_down):
    api_client.force_authenticate(researcher)  # no token look-up: the view hits the database
    api_client.raise_request_exception = False
    take_database_down()
    response = api_client.get("/api/studies/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "errors": {
            "non_field_errors": ["The service is unavailable for a moment; try again shortly."]
        }
    }
    assert b"5432" not in response.content


def test_pages_with_the_database_down_are_the_branded_503_page(
    quiet_client, researcher, take_database_down
):
    quiet_client.force_login(researcher)  # the session is read from the database
    take_database_down()
    response = quiet_client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "<h1>Chorus is unavailable for a moment</h1>" in body
    assert "db.internal" not in body and "5432" not in body


def test_healthz_with_the_database_down_says_only_not_ok(client, take_database_down, caplog):
    take_database_down()
    with caplog.at_level(logging.ERROR, logger="accounts.views"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ok", "database": "not ok"}
    assert b"db.internal" not in response.content and b"5432" not in response.content
    # The reason is in the log, for the people who run the site.
    assert DRIVER_MESSAGE in caplog.text


def test_permissions_policy_on_every_kind_of_response(quiet_client, monkeypatch):
    client = quiet_client
    answers = {
        "page": client.get("/accounts/login/"),
        "redirect": client.get("/"),
        "not found": client.get("/no/such/page/"),
        "api": client.get("/api/studies/"),
        "healthz": client.get("/healthz"),
    }
    monkeypatch.setattr("accounts.api.study_list", None)  # calling None fails: a 500
    client.force_login(_researcher())
    answers["api error"] = client.get("/api/studies/")
    for name, response in answers.items():
        assert response.headers["Permissions-Policy"] == POLICY, name
    assert [r.status_code for r in answers.values()] == [200, 302, 404, 401, 200, 500]


@pytest.fixture
def admin_at_backstage():
    import config.urls

    try:
        with override_settings(ADMIN_URL="backstage/"):
            importlib.reload(config.urls)
            clear_url_caches()
            yield
    finally:
        importlib.reload(config.urls)
        clear_url_caches()


def test_admin_url_setting_moves_the_admin(client, admin_at_backstage):
    from django.urls import reverse

    assert reverse("admin:index") == "/backstage/"
    response = client.get("/backstage/")
    assert response.status_code == 302
    assert response.url == "/backstage/login/?next=/backstage/"
    assert client.get("/admin/").status_code == 404


def test_admin_url_default_and_refusal():
    env = {**os.environ, "ADMIN_URL": "backstage"}
    code = (
        "import django; django.setup(); from django.urls import reverse; "
        "print(reverse('admin:index'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    assert run.stdout.strip() == "/backstage/", run.stderr
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env={**os.environ, "ADMIN_URL": "api/admin/"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "ADMIN_URL must be a path of its own, not 'api/admin/'" in refused.stderr


def test_an_unknown_api_address_answers_the_json_error_body(client, researcher):
    client.force_login(researcher)
    response = client.get("/api/no/such/endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "errors": {"non_field_errors": ["No such address in the API; see /api/docs/."]}
    }
    page = client.get("/no/such/page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
