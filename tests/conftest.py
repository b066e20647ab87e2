"""Fixtures shared by the whole suite: personas, API clients, a real browser, a real worker.

Personas (as in the house style): ``researcher`` owns ``study``; ``colleague`` is a researcher
member of it; ``annotator`` and ``expert`` are plain users that annotation projects add as
members; ``outsider`` belongs to nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Playwright's sync API runs an event loop in the test thread; Django would then refuse ORM
# calls from that thread although they are plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path_factory):
    """Uploads and job results of a test go to a folder of its own, never into the project."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users are made in most tests; the default hasher takes about half a second each, a
    fast one keeps the suite quick (what a password check does is the same)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language, whatever a test before it activated (a
    management command, for one, runs in the language that is active)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Tests run from one address at machine speed: the request rate limits are off unless a
    test turns them on (``rate_limits``). The log-in lock-out stays on; it counts failures
    only."""
    settings.RATE_LIMITS_ENABLED = False


@pytest.fixture
def rate_limits(settings):
    """Turn the rate limits on with a clean history; returns ``settings`` to set rates on."""
    from django.core.cache import cache

    cache.clear()
    settings.RATE_LIMITS_ENABLED = True
    yield settings
    cache.clear()


@pytest.fixture
def researcher(db):
    """A researcher: may create studies (``can_create_studies``)."""
    from accounts.services import researcher_grant
    from tests.accounts.factories import UserFactory

    user = UserFactory(username="rosa")
    researcher_grant(user=user)
    return user


@pytest.fixture
def study(researcher):
    from accounts.services import study_create

    return study_create(user=researcher, name="Values 2026")


@pytest.fixture
def colleague(study):
    from accounts.services import study_member_add
    from tests.accounts.factories import UserFactory

    user = UserFactory(username="colin")
    study_member_add(study=study, user=user)
    return user


@pytest.fixture
def annotator(db):
    from tests.accounts.factories import UserFactory

    return UserFactory(username="ana")


@pytest.fixture
def expert(db):
    from tests.accounts.factories import UserFactory

    return UserFactory(username="eunji")


@pytest.fixture
def outsider(db):
    from tests.accounts.factories import UserFactory

    return UserFactory(username="otto")


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api_as(api_client):
    """``api_as(user)`` returns the API client logged in as ``user``."""

    def login(user):
        api_client.force_authenticate(user=user)
        return api_client

    return login


@pytest.fixture
def flat_page(django_assert_max_num_queries):
    """``flat_page(client, url, grow, pinned=n)``: the page makes as many queries after
    ``grow()`` as before, and at most ``n`` (``tests/page_queries.py``)."""
    from tests.page_queries import make_flat_page

    return make_flat_page(django_assert_max_num_queries)


def post_refused(client, url, data=None, **extra):
    """POST a form that its page refuses: the answer is a 303 back to the page's GET address,
    which shows the form again with its errors (``config.forms``); returns that page."""
    response = client.post(url, data if data is not None else {}, **extra)
    assert response.status_code == 303, (response.status_code, response.get("Location"))
    assert "form=" in response["Location"], response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


# --- a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Browser tests need Debian's chromium on PATH (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def _opened_page(browser, live_server, **options):
    """A page in a fresh browser context on the live server (15 s timeouts)."""
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server):
    context, opened = _opened_page(browser, live_server, locale="en-US")
    yield opened
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    """A phone-sized page (iPhone 13-like viewport, touch, Korean locale)."""
    context, opened = _opened_page(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="ko-KR",
    )
    yield opened
    context.close()


@pytest.fixture
def tablet_page(browser, live_server):
    """A tablet in portrait (iPad Air-like viewport), touch only, English."""
    context, opened = _opened_page(
        browser,
        live_server,
        viewport={"width": 820, "height": 1180},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
    )
    yield opened
    context.close()


AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[str]:
    """The page's serious and critical accessibility violations found by axe-core.

    axe is evaluated through the driver: the pages' CSP (rightly) refuses inline scripts.
    """
    page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def browser_login(page, user, password: str = "pw-for-tests-1") -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


# --- a real Celery worker ----------------------------------------------------------------------


def _forget_broker_connections(app) -> None:
    """Drop pooled broker connections so the next send uses the current broker URL.

    An eager task earlier in the run makes Celery build its producer pool for the default
    broker; without this, later sends (and control pings) would still go there. kombu keeps
    pools in a registry keyed by URL, so that registry is emptied too: a closed pool left in
    it would be handed out again to the next worker fixture.
    """
    from kombu import pools

    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    app.control.mailbox.__dict__.pop("producer_pool", None)


def pytest_collection_modifyitems(config, items):
    """On SQLite (the embedded default, ``make test``'s second pass) skip what needs a database
    server, saying why: tests with a Celery worker in another process and tests marked
    ``postgresql`` (row locks between concurrent clients, COPY). The PostgreSQL pass runs them."""
    from django.conf import settings

    for item in items:
        # Marked by what they use, so that ``-m "not celery_worker"`` leaves every one out.
        if "celery_worker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.celery_worker)
    if "sqlite" not in settings.DATABASES["default"]["ENGINE"]:
        return
    worker = pytest.mark.skip(
        reason="a Celery worker in another process shares the test database only on "
        "PostgreSQL; make test's PostgreSQL pass runs it"
    )
    server = pytest.mark.skip(
        reason="needs PostgreSQL (concurrent clients, row locks); make test's PostgreSQL pass "
        "runs it"
    )
    for item in items:
        if item.get_closest_marker("celery_worker"):
            item.add_marker(worker)
        elif item.get_closest_marker("postgresql"):
            item.add_marker(server)


@pytest.fixture
def celery_worker(transactional_db, settings):
    """Start a real Celery worker on Redis against this test's database and route tasks to it.

    The broker is ``TEST_BROKER_URL`` (``make test`` sets a Redis database of its own); tests
    that use this fixture must be transactional so the worker sees their rows.
    """
    from django.db import connection

    from config.celery import app

    broker = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/13")
    import redis

    redis.Redis.from_url(broker).flushdb()
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    if connection.vendor != "postgresql":
        pytest.fail("The Celery integration tests run against PostgreSQL (make test)")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=broker, task_always_eager=False)
    _forget_broker_connections(app)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5)
            if replies:
                break
            if worker.poll() is not None:
                pytest.fail(f"The Celery worker exited: {worker.stdout.read()}")
        else:
            pytest.fail("The Celery worker did not answer within 60 s")
        yield worker
    finally:
        app.conf.update(**previous)
        _forget_broker_connections(app)
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
