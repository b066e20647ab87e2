"""In a real browser: the participant pages send their form's key, so each page sent twice
(a retry after a timeout, a double submit) is stored once and the participant goes on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Answer, Response, ResponseStatus
from surveys.services import design_create, sample_draw
from tests.annotation.test_idempotency_browser import send_twice
from tests.surveys import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_each_page_sent_twice_is_stored_once(page, study, colleague):
    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=5)
    design = design_create(study=study, population=population, panel=panel, name="D", n=8)
    survey = factories.make_survey(study, design, reviewer=colleague)
    invitation = sample_draw(survey=survey, seed=5).invitations.first()
    page.goto(f"/surveys/r/{invitation.token}/?lang=en")
    sent: list[dict] = []
    page.route("**/surveys/r/**", send_twice(sent))
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Start the survey").click()
    expect(page.locator(".progress-text")).to_have_text("Page 1 of 2")
    page.get_by_role("group", name="Family comes first.").get_by_label("Agree", exact=True).check()
    page.get_by_role("group", name="Capital of Korea?").get_by_label("Seoul").check()
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".progress-text")).to_have_text("Page 2 of 2")
    page.get_by_label("TV").check()
    page.get_by_role("textbox", name="Hours of sleep?").fill("7")
    page.get_by_role("group", name="Choose 'Agree'.").get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Finish").click()
    expect(page.locator("h1")).to_have_text("Thank you!")
    assert [s["statuses"] for s in sent] == [(302, 302)] * 3
    assert [s["replayed"] for s in sent] == ["true"] * 3
    keys = [s["form"]["idempotency_key"][0] for s in sent]
    assert len(set(keys)) == 3
    response = Response.objects.get()
    assert response.status == ResponseStatus.COMPLETED
    assert Answer.objects.filter(response=response).count() == 5
