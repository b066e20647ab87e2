"""The questionnaire editor in a real browser: a researcher writes a bilingual choice question
in a new block, fixes a refused option list, edits the question, moves and deletes a spare
one, submits the first for review and, once a colleague approved it, opens the survey; axe
audits each state."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Question, ReviewState, SurveyStatus
from surveys.services import question_review, survey_create
from tests.conftest import axe_violations as audit
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_researcher_writes_submits_and_opens(page, researcher, study, colleague):
    survey = survey_create(study=study, title_en="Trust 2026", title_ko="신뢰 2026")
    browser_login(page, researcher)
    page.goto(f"/surveys/{survey.pk}/")
    page.get_by_role("link", name="Questionnaire").click()
    expect(page.locator("h1")).to_contain_text("Questionnaire")
    expect(page.get_by_text("No question yet.")).to_be_visible()
    assert audit(page) == []

    form = page.locator("#add")
    form.get_by_label("New block title (English)").fill("Trust")
    form.get_by_label("New block title (Korean)").fill("신뢰")
    form.get_by_label("Code").fill("trust_gov")
    form.get_by_label("Kind").select_option(label="Single choice")
    form.get_by_label("Question (English)").fill("How much do you trust the government?")
    form.get_by_label("Question (Korean)").fill("정부를 얼마나 신뢰하십니까?")
    form.get_by_label("Options").fill("high | A lot | 많이\nsome Somewhat")
    form.get_by_role("button", name="Add the question").click()
    expect(page.locator("#field-options .errorlist")).to_have_text(
        "Line 2: write code | English text | Korean text."
    )
    # What was typed is kept for the correction.
    expect(page.locator("#add").get_by_label("Code")).to_have_value("trust_gov")
    assert audit(page) == []
    assert Question.objects.count() == 0

    page.locator("#add").get_by_label("Options").fill(
        "high | A lot | 많이\nsome | Somewhat | 어느 정도\nnone | Not at all | 전혀"
    )
    page.locator("#add").get_by_role("button", name="Add the question").click()
    expect(page.get_by_role("status")).to_contain_text("Question trust_gov added.")
    question = page.locator("#q-trust_gov")
    expect(question).to_contain_text("정부를 얼마나 신뢰하십니까?")
    expect(question.locator("li")).to_have_count(3)
    expect(question).to_contain_text("Draft")
    assert audit(page) == []

    # A second look: the Korean wording changes and a middle option comes in.
    page.get_by_role("link", name="Edit trust_gov").click()
    expect(page.get_by_label("Options")).to_have_value(
        "high | A lot | 많이\nsome | Somewhat | 어느 정도\nnone | Not at all | 전혀"
    )
    assert audit(page) == []
    page.get_by_label("Question (Korean)").fill("정부를 어느 정도 신뢰하십니까?")
    page.get_by_label("Options").fill(
        "high | A lot | 많이\nsome | Somewhat | 어느 정도\nmid | Neither | 보통\n"
        "none | Not at all | 전혀"
    )
    page.get_by_role("button", name="Save the question").click()
    expect(page.get_by_role("status")).to_contain_text("trust_gov changed; it is a draft again.")
    expect(page.locator("#q-trust_gov li")).to_have_count(4)
    expect(page.locator("#q-trust_gov")).to_contain_text("정부를 어느 정도 신뢰하십니까?")

    # A spare question goes in, moves to the top, and is deleted again.
    form = page.locator("#add")
    form.get_by_label("Code").fill("spare")
    form.get_by_label("Kind").select_option(label="Free text")
    form.get_by_label("Question (English)").fill("Anything else?")
    form.get_by_role("button", name="Add the question").click()
    expect(page.get_by_role("status")).to_contain_text("Question spare added.")
    page.get_by_role("button", name="Move spare up").click()
    expect(page.locator("article.question h3").first).to_contain_text("spare")
    page.locator("#q-spare summary").click()
    assert audit(page) == []
    page.get_by_role("button", name="Delete spare for good").click()
    expect(page.get_by_role("status")).to_contain_text("Question spare deleted.")
    expect(page.locator("article.question")).to_have_count(1)

    page.get_by_role("button", name="Submit trust_gov for review").click()
    expect(page.get_by_role("status")).to_contain_text("trust_gov is waiting for review.")
    expect(page.locator("#q-trust_gov")).to_contain_text("In review")
    page.get_by_role("button", name="Open the survey").click()
    expect(page.get_by_role("status")).to_contain_text("not approved yet: trust_gov")

    # The consent text is written before fieldwork, in both languages.
    page.locator("#settings summary").click()
    settings = page.locator("#settings")
    settings.get_by_label("Consent text (English)").fill("We ask about trust. About 5 minutes.")
    settings.get_by_label("Consent text (Korean)").fill("신뢰에 대해 묻습니다. 약 5분이 걸립니다.")
    settings.get_by_role("button", name="Save survey settings").click()
    expect(page.get_by_role("status")).to_contain_text("Survey settings saved.")
    assert audit(page) == []

    question_review(question=Question.objects.get(), reviewer=colleague, decision="approve")
    page.reload()
    expect(page.locator("#q-trust_gov")).to_contain_text("Approved")
    page.get_by_role("button", name="Open the survey").click()
    expect(page.get_by_role("status")).to_contain_text("The survey is open.")
    expect(page.get_by_role("button", name="Close the survey")).to_be_visible()
    assert audit(page) == []
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.OPEN
    assert Question.objects.get().review_state == ReviewState.APPROVED
    assert survey.intro_ko == "신뢰에 대해 묻습니다. 약 5분이 걸립니다."
