"""The demo researcher logs in with a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD, load_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_researcher_logs_in_and_sees_the_demo_study(page, live_server):
    load_people()
    page.goto("/")
    page.wait_for_url("**/accounts/login/?next=/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Your studies")
    expect(page.get_by_role("link", name="Demo: values and emotions")).to_be_visible()


def test_wrong_password_shows_an_error(page):
    load_people()
    page.goto("/accounts/login/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", "wrong")
    page.click("main button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("Please enter a correct username")


def test_switching_to_korean(page):
    load_people()
    page.goto("/accounts/login/")
    page.select_option("#language-select", "ko")
    page.click(".language-switch button")
    expect(page.locator("h1")).to_have_text("Chorus에 로그인")
