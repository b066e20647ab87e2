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


def test_an_invitation_is_accepted_from_the_home_page(page, live_server):
    """An owner invites Ana on the study's members page; Ana sees the invitation on her home
    page, accepts it and lands on the study; the owner sees her among the members."""
    from accounts.models import StudyMember
    from accounts.services import researcher_grant, study_create
    from tests.accounts.factories import UserFactory
    from tests.conftest import browser_login

    owner = UserFactory(username="rosa")
    researcher_grant(user=owner)
    study = study_create(user=owner, name="Values 2026")
    ana = UserFactory(username="ana")

    browser_login(page, owner)
    page.goto(f"/studies/{study.pk}/members/")
    page.fill("#id_invite-username", "ana")
    page.click("#invite-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("ana is invited")
    page.click("nav form button")  # log out

    browser_login(page, ana)
    invitation = page.locator("section.invitations li")
    expect(invitation).to_contain_text("Values 2026")
    invitation.get_by_role("button", name="Accept").click()
    expect(page.locator("h1")).to_have_text("Values 2026")
    expect(page.locator(".messages")).to_contain_text("You joined Values 2026.")
    assert StudyMember.objects.get(study=study, user=ana).role == "researcher"
    page.goto("/")
    expect(page.locator("section.invitations")).to_have_count(0)


def test_a_researcher_creates_a_study_and_a_reviewer_signs_up_through_the_link(
    browser, live_server
):
    """From a home page with no study: create one, make a reviewer link, copy it; a person
    without an account opens it, signs up, lands on the study as its reviewer."""
    from accounts.models import StudyMember
    from accounts.services import researcher_grant
    from tests.accounts.factories import UserFactory
    from tests.conftest import axe_violations, browser_login

    owner = UserFactory(username="rosa")
    researcher_grant(user=owner)
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    browser_login(page, owner)
    expect(page.locator("main")).to_contain_text("You are not a member of any study yet.")
    assert axe_violations(page) == []
    page.fill("#id_study-name", "Trust 2027")
    page.get_by_role("button", name="Create the study").click()
    expect(page.locator("h1")).to_have_text("Trust 2027")
    expect(page.locator(".messages")).to_contain_text("Trust 2027 is created.")
    page.get_by_role("link", name="Members").click()
    page.select_option("#id_link-role", "reviewer")
    page.fill("#id_link-email", "rhee@example.org")
    page.get_by_role("button", name="Make an invitation link").click()
    field = page.locator("input.invitation-link")
    expect(field).to_have_count(1)
    link = field.input_value()
    assert link.startswith(f"{live_server.url}/join/")
    assert axe_violations(page) == []
    page.locator("#invite-link-form").page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    context.close()

    newcomer = browser.new_context(base_url=live_server.url, locale="en-US")
    newcomer.set_default_timeout(15_000)
    page = newcomer.new_page()
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Join Trust 2027")
    assert axe_violations(page) == []
    page.fill("#id_username", "rhee")
    page.fill("#id_password1", "a-long-pass-phrase-9")
    page.fill("#id_password2", "a-long-pass-phrase-9")
    page.get_by_role("button", name="Create the account and join").click()
    expect(page.locator("h1")).to_have_text("Trust 2027")
    expect(page.locator("#read-only-note")).to_contain_text("You review this study's survey")
    assert axe_violations(page) == []
    member = StudyMember.objects.get(user__username="rhee")
    assert (member.study.name, member.role) == ("Trust 2027", "reviewer")
    # The link worked once.
    page.goto(link)
    expect(page.locator("h1")).not_to_have_text("Join Trust 2027")
    newcomer.close()


def test_switching_language_after_a_failed_form(page, live_server):
    """The study form sent back with an error lives at a POST-only address; switching the
    language there returns to the page the form came from (not a 405)."""
    from accounts.services import researcher_grant
    from tests.accounts.factories import UserFactory
    from tests.conftest import browser_login

    owner = UserFactory(username="rosa")
    researcher_grant(user=owner)
    browser_login(page, owner)
    page.fill("#id_study-description", "No name given")
    # The server's check, not the browser's (``required``), is the one under test.
    page.evaluate("document.querySelector('#study-create-form').noValidate = true")
    page.get_by_role("button", name="Create the study").click()
    expect(page).to_have_url(f"{live_server.url}/studies/new/")
    expect(page.locator("#study-create-form")).to_contain_text("This field is required.")
    page.select_option("#language-select", "ko")
    page.click(".language-switch button")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#study-create-form h2")).to_have_text("새 스터디")
