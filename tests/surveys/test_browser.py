"""Participant pages in a real browser: a Korean phone flow with resume, and axe audits."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Answer, Response, ResponseStatus
from surveys.services import sample_draw
from tests.conftest import axe_violations as audit
from tests.surveys import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def invitation(study, colleague):
    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=5)
    from surveys.services import design_create

    design = design_create(study=study, population=population, panel=panel, name="D", n=8)
    survey = factories.make_survey(study, design, reviewer=colleague)
    return sample_draw(survey=survey, seed=5).invitations.first()


def test_korean_phone_flow_leaves_halfway_resumes_and_answers_land_once(phone_page, invitation):
    page = phone_page
    link = f"/surveys/r/{invitation.token}/"
    page.goto(link)
    expect(page.locator("h1")).to_have_text("가치관 조사")
    assert audit(page) == []
    page.get_by_label("위 내용을 읽었으며 참여에 동의합니다.").check()
    page.get_by_role("button", name="설문 시작").click()
    expect(page.locator(".progress-text")).to_have_text("페이지 1 / 2")
    assert audit(page) == []
    page.get_by_role("group", name="가족이 우선이다.").get_by_label("동의함", exact=True).check()
    page.get_by_role("group", name="한국의 수도는?").get_by_label("서울").check()
    page.get_by_role("button", name="다음").click()
    expect(page.locator(".progress-text")).to_have_text("페이지 2 / 2")
    # Leave halfway, come back later through the same link.
    page.goto("about:blank")
    page.goto(link)
    expect(page.locator(".progress-text")).to_have_text("페이지 2 / 2")
    page.get_by_label("TV").check()
    page.get_by_label("웹").check()
    page.get_by_role("textbox", name="수면 시간은?").fill("7.5")
    page.get_by_role("group", name="'동의함'을 고르세요.").get_by_label(
        "동의함", exact=True
    ).check()
    page.get_by_role("button", name="완료").click()
    expect(page.locator("h1")).to_have_text("감사합니다!")
    assert audit(page) == []
    # A second submit (back button) changes nothing.
    page.go_back()
    page.goto(link)
    expect(page.locator("h1")).to_have_text("감사합니다!")
    response = Response.objects.get()
    assert (response.status, response.language) == (ResponseStatus.COMPLETED, "ko")
    assert sorted(Answer.objects.values_list("question__code", "choices", "number")) == [
        ("attention", ["4"], None),
        ("capital", ["seoul"], None),
        ("family", ["4"], None),
        ("hours", [], 7.5),
        ("media", ["tv", "web"], None),
    ]


def test_english_pages_pass_the_audit_and_show_errors(page, invitation):
    page.goto(f"/surveys/r/{invitation.token}/?lang=en")
    page.get_by_role("button", name="Start the survey").click()
    expect(page.get_by_role("alert")).to_have_text("Please tick the box to agree before you start.")
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Start the survey").click()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_have_text("Please check the answers marked below.")
    expect(page.locator("#err-family")).to_have_text("This question needs an answer.")
    assert audit(page) == []
    assert Answer.objects.count() == 0


def test_open_link_screener_and_screened_out_pages(page, study, colleague):
    from surveys.models import QuotaCell
    from surveys.services import design_create

    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=5)
    design = design_create(study=study, population=population, panel=panel, name="D", n=8)
    survey = factories.make_survey(study, design, open_link=True, reviewer=colleague)
    QuotaCell.objects.filter(design=design, cell__key="Busan|M").update(filled=1)
    page.goto(f"/surveys/r/{survey.open_token}/?lang=en")
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Start the survey").click()
    expect(page.locator("h1")).to_have_text("A few questions about you")
    assert audit(page) == []
    page.get_by_role("group", name="Where do you live?").get_by_label("Busan").check()
    page.get_by_role("group", name="What is your gender?").get_by_label("M").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Thank you for your interest")
    expect(page.get_by_role("status")).to_contain_text("We already have enough participants")
    assert audit(page) == []
    assert Response.objects.get().status == ResponseStatus.SCREENED_OUT
