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
    """A refused form comes back on its page (a GET address, after a redirect) with the error
    and what was typed; switching the language there shows the same page and form in Korean,
    the typed value and the error (now in Korean) still in place."""
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
    page.wait_for_url("**/?form=*")
    refused = page.url
    expect(page.locator("#study-create-form")).to_contain_text("This field is required.")
    expect(page.locator("#id_study-description")).to_have_value("No name given")
    # A reload shows the same (no "send the form again?").
    page.reload()
    expect(page.locator("#id_study-description")).to_have_value("No name given")
    page.select_option("#language-select", "ko")
    page.click(".language-switch button")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    assert page.url.split("#")[0] == refused.split("#")[0]
    expect(page.locator("#study-create-form h2")).to_have_text("새 스터디")
    expect(page.locator("#id_study-description")).to_have_value("No name given")
    expect(page.locator("#study-create-form")).to_contain_text("필수 항목입니다.")
    expect(page.locator("#study-create-form")).not_to_contain_text("This field is required.")


def test_an_owner_renames_and_archives_a_study(page, live_server):
    """The owner renames the study on its page (a name too long first: the error and the typed
    name come back), archives it: the home page leaves it out until asked, and its page says
    it is archived; unarchiving brings it back. Every page passes the axe audit."""
    from accounts.models import Study
    from accounts.services import researcher_grant, study_create
    from tests.accounts.factories import UserFactory
    from tests.conftest import axe_violations, browser_login

    owner = UserFactory(username="rosa")
    researcher_grant(user=owner)
    study = study_create(user=owner, name="Values 2026")
    study_create(user=owner, name="Trust 2027")
    browser_login(page, owner)
    page.get_by_role("link", name="Values 2026").click()
    expect(page.locator("h1")).to_have_text("Values 2026")
    page.get_by_text("Name and archive").click()
    assert axe_violations(page) == []
    # The browser stops at 200 characters; the server's check is the one under test.
    page.evaluate("document.querySelector('#id_study-name').removeAttribute('maxlength')")
    page.fill("#id_study-name", "v" * 201)
    page.fill("#id_study-description", "Second wave")
    page.get_by_role("button", name="Save name and description").click()
    page.wait_for_url("**/?form=*")
    expect(page.locator("#study-edit-form")).to_contain_text(
        "Ensure this value has at most 200 characters (it has 201)."
    )
    expect(page.locator("#id_study-name")).to_have_value("v" * 201)
    expect(page.locator("#id_study-description")).to_have_value("Second wave")
    assert axe_violations(page) == []
    page.fill("#id_study-name", "Values 2027")
    page.get_by_role("button", name="Save name and description").click()
    expect(page.locator("h1")).to_have_text("Values 2027")
    expect(page.locator(".messages")).to_contain_text("name and description are saved")

    page.get_by_text("Name and archive").click()
    page.get_by_role("button", name="Archive the study").click()
    expect(page.locator(".messages")).to_contain_text("Values 2027 is archived")
    expect(page.locator("#archived-note")).to_contain_text("This study was archived on")
    expect(page.get_by_role("link", name="New annotation project")).to_have_count(0)
    assert axe_violations(page) == []
    assert Study.objects.get(pk=study.pk).archived_at is not None

    page.get_by_role("link", name="Your studies").click()
    expect(page.locator("ul.cards h2")).to_have_text(["Trust 2027"])
    page.get_by_role("link", name="Show archived studies (1)").click()
    expect(page.locator("ul.cards h2")).to_have_count(2)
    expect(page.locator("li.card.archived h2")).to_have_text("Values 2027 Archived")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Values 2027").click()
    page.get_by_text("Name and archive").click()
    page.get_by_role("button", name="Unarchive the study").click()
    expect(page.locator(".messages")).to_contain_text("Values 2027 is no longer archived.")
    expect(page.locator("#archived-note")).to_have_count(0)
    page.get_by_role("link", name="Your studies").click()
    expect(page.locator("ul.cards h2")).to_have_count(2)
    expect(page.locator("#archived-toggle")).to_have_count(0)
