"""On a phone, in Korean: "Back" and the language switch keep what was ticked on the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Answer
from surveys.services import design_create, sample_draw
from tests.conftest import axe_violations as audit
from tests.surveys import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def invitation(study, colleague):
    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=5)
    design = design_create(study=study, population=population, panel=panel, name="D", n=8)
    survey = factories.make_survey(study, design, reviewer=colleague)
    return sample_draw(survey=survey, seed=5).invitations.first()


def _start(page, invitation):
    page.goto(f"/surveys/r/{invitation.token}/")
    page.get_by_label("위 내용을 읽었으며 참여에 동의합니다.").check()
    page.get_by_role("button", name="설문 시작").click()
    expect(page.locator(".progress-text")).to_have_text("페이지 1 / 2")


def test_back_keeps_the_ticks_of_the_page_it_leaves(phone_page, invitation):
    page = phone_page
    _start(page, invitation)
    page.get_by_role("group", name="가족이 우선이다.").get_by_label("동의함", exact=True).check()
    page.get_by_role("group", name="한국의 수도는?").get_by_label("서울").check()
    page.get_by_role("button", name="다음").click()
    expect(page.locator(".progress-text")).to_have_text("페이지 2 / 2")
    # The range shows before any error.
    expect(page.locator("#range-hours")).to_have_text("0부터 24까지의 숫자.")
    assert audit(page) == []
    page.get_by_label("TV").check()
    page.get_by_role("textbox", name="수면 시간은?").fill("7")
    # Back, with a required question (the attention check) still unanswered: no error.
    page.get_by_role("button", name="이전").click()
    expect(page.locator(".progress-text")).to_have_text("페이지 1 / 2")
    expect(page.locator(".errors")).to_have_count(0)
    expect(
        page.get_by_role("group", name="가족이 우선이다.").get_by_label("동의함", exact=True)
    ).to_be_checked()
    page.get_by_role("button", name="다음").click()
    expect(page.locator(".progress-text")).to_have_text("페이지 2 / 2")
    expect(page.get_by_label("TV")).to_be_checked()
    expect(page.get_by_label("웹")).not_to_be_checked()
    expect(page.get_by_role("textbox", name="수면 시간은?")).to_have_value("7")


def test_the_language_switch_keeps_the_ticks_and_the_page(phone_page, invitation):
    page = phone_page
    _start(page, invitation)
    page.get_by_role("group", name="가족이 우선이다.").get_by_label(
        "동의하지 않음", exact=True
    ).check()
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".progress-text")).to_have_text("Page 1 of 2")
    expect(
        page.get_by_role("group", name="Family comes first.").get_by_label("Disagree", exact=True)
    ).to_be_checked()
    assert audit(page) == []
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(
        page.get_by_role("group", name="가족이 우선이다.").get_by_label("동의하지 않음", exact=True)
    ).to_be_checked()
    assert Answer.objects.filter(question__code="family").get().choices == ["2"]


def test_enter_in_the_number_box_means_next(phone_page, invitation):
    page = phone_page
    _start(page, invitation)
    page.get_by_role("group", name="가족이 우선이다.").get_by_label("동의함", exact=True).check()
    page.get_by_role("group", name="한국의 수도는?").get_by_label("서울").check()
    page.get_by_role("button", name="다음").click()
    box = page.get_by_role("textbox", name="수면 시간은?")
    box.fill("99")
    box.press("Enter")
    # Next was pressed (the page is checked), not the language switch.
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#err-hours")).to_be_visible()
