"""Fieldwork in a real browser: the researcher draws the sample on the survey's dashboard and
sends the invitations, whose job then reports on the same page; axe audits each state."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Invitation, InvitationStatus
from tests.conftest import axe_violations as audit
from tests.conftest import browser_login
from tests.surveys import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_researcher_draws_and_invites_from_the_dashboard(
    page, researcher, study, design, colleague
):
    survey = factories.make_survey(study, design, reviewer=colleague)
    browser_login(page, researcher)
    page.goto(f"/surveys/{survey.pk}/fieldwork/")
    fieldwork = page.locator("#fieldwork")
    fieldwork.get_by_label("Seed").fill("11")
    fieldwork.get_by_role("button", name="Draw the sample").click()
    expect(page.get_by_role("status")).to_contain_text("20 people drawn with seed 11")
    expect(page.locator("#fieldwork")).to_contain_text("Initial")
    assert audit(page) == []

    page.get_by_role("button", name="Send 20 invitations").click()
    expect(page.locator(".job-progress").first).to_have_attribute("data-finished", "1")
    assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 20
    page.reload()
    expect(page.get_by_role("button", name="Send 0 invitations")).to_be_disabled()
    expect(page.get_by_role("button", name="Send reminders")).to_be_enabled()
