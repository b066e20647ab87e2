"""The survey dashboard in a real browser, in English and Korean: sections at their own
addresses, results first for an open survey and within two screens of a 1280x800 window on
the demo survey, long tables paged, weighting chosen and repaired in the page."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from playwright.sync_api import expect

from accounts.demo import load_people
from surveys import demo
from surveys.models import Survey
from tests.conftest import axe_violations as audit
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREEN = {"width": 1280, "height": 800}


@pytest.fixture
def demo_survey():
    people = load_people()
    demo.load(people=people, stdout=StringIO())
    people.researcher.set_password("pw-for-tests-1")
    people.researcher.save()
    return people.researcher, Survey.objects.get(title_en=demo.TITLE)


def bottom_of(page, selector: str) -> float:
    """Distance from the top of the page to the bottom of the element, in CSS pixels."""
    return page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.bottom + window.scrollY; }",
        selector,
    )


@pytest.mark.parametrize("language", ["en", "ko"])
def test_demo_results_come_first_and_fit_two_screens(page, demo_survey, language):
    researcher, survey = demo_survey
    page.set_viewport_size(SCREEN)
    browser_login(page, researcher)
    if language == "ko":
        page.context.add_cookies([{"name": "django_language", "value": "ko", "url": page.url}])
    page.goto(f"/surveys/{survey.pk}/")
    results = page.locator("#results")
    if language == "en":
        expect(results.get_by_role("heading", level=2)).to_have_text(
            "Weighted answer distributions"
        )
        expect(results).to_contain_text("Generally speaking, can most people be trusted?")
        expect(page.get_by_role("link", name="Results")).to_have_attribute("aria-current", "page")
    else:
        expect(results.get_by_role("heading", level=2)).to_have_text("가중 응답 분포")
        expect(results).to_contain_text("일반적으로 대부분의 사람을 믿을 수 있다고 생각하십니까?")
        expect(results).not_to_contain_text("Generally speaking")
        expect(page.locator("h1")).to_contain_text(survey.title_ko or survey.title_en)
    # Every choice question has its chart and the number question its summary.
    expect(results.locator(".distribution")).to_have_count(7)
    expect(page.locator("#numbers tbody tr")).to_have_count(1)
    assert bottom_of(page, "#results") <= 2 * SCREEN["height"]
    page.screenshot(path=f"/tmp/dash/results-{language}.png", full_page=True)
    assert audit(page) == []


def test_sections_have_their_own_addresses_and_long_tables_are_paged(page, demo_survey):
    researcher, survey = demo_survey
    page.set_viewport_size(SCREEN)
    browser_login(page, researcher)
    page.goto(f"/surveys/{survey.pk}/")
    page.get_by_role("link", name="Quotas").click()
    expect(page).to_have_url(re.compile(rf"/surveys/{survey.pk}/quotas/$"))
    expect(page.locator("#quotas tbody tr")).to_have_count(25)
    expect(page.locator("#quotas .pager")).to_contain_text("Page 1 of 7 (170 rows)")
    page.locator("#quotas .pager").get_by_role("link", name="Next").click()
    expect(page.locator("#quotas .pager")).to_contain_text("Page 2 of 7")
    # The demo survey is open: its quotas are shown, not edited.
    expect(page.locator("#quotas input[type=number]")).to_have_count(0)
    assert audit(page) == []
    page.get_by_role("link", name="Fieldwork").click()
    expect(page.locator("#rates tbody tr")).to_have_count(25)
    expect(page.locator("#rates .pager")).to_contain_text("(170 rows)")
    page.get_by_role("link", name="Representativeness").click()
    expect(page.locator("#representativeness h3")).to_have_count(3)
    assert audit(page) == []
    page.get_by_role("link", name="Overview").click()
    expect(page.locator("#overview")).to_contain_text("Responses over time")
    assert audit(page) == []


WEIGHTING = {
    "en": {
        "unweighted": "Unweighted answer distributions",
        "weighted": "Weighted answer distributions",
        "merge": "Merge and weight again",
        "no_one": "No respondent in Busan (region).",
        "merged": "Busan is merged into Seoul for weighting.",
    },
    "ko": {
        "unweighted": "가중하지 않은 응답 분포",
        "weighted": "가중 응답 분포",
        "merge": "합치고 다시 가중",
        "no_one": "Busan(region)에 응답자가 없습니다.",
        "merged": "가중을 위해 Busan을(를) Seoul에 합쳤습니다.",
    },
}


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_failed_weighting_is_explained_and_merged_away(page, researcher, open_survey, language):
    from surveys.services import response_screen, response_start
    from tests.surveys.factories import GOOD_ANSWERS, complete

    for gender, hours in [("F", 6), ("F", 9), ("M", 4)]:
        response = response_screen(
            response=response_start(survey=open_survey),
            values={"region": "Seoul", "gender": gender},
        )
        complete(response, {**GOOD_ANSWERS, "hours": str(hours)})
    words = WEIGHTING[language]
    page.set_viewport_size(SCREEN)
    browser_login(page, researcher)
    if language == "ko":
        page.context.add_cookies([{"name": "django_language", "value": "ko", "url": page.url}])
    page.goto(f"/surveys/{open_survey.pk}/")
    results = page.locator("#results")
    expect(results.get_by_role("heading", level=2)).to_have_text(words["unweighted"])
    alert = page.locator("#weighting-failed")
    expect(alert).to_contain_text(words["no_one"])
    expect(page.locator("#numbers")).to_contain_text("6.33")
    assert audit(page) == []
    alert.get_by_role("button", name=words["merge"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["merged"])
    expect(results.get_by_role("heading", level=2)).to_have_text(words["weighted"])
    expect(page.locator("#weighting-failed")).to_have_count(0)
    expect(page.locator("#numbers")).to_contain_text("6.10")
    expect(page.locator(".job-progress").first).to_have_attribute("data-finished", "1")
    assert audit(page) == []


@pytest.mark.parametrize("language", ["en", "ko"])
def test_population_panel_and_quota_pages(page, researcher, study, design, language):
    from tests.surveys import factories

    draft = factories.make_survey(study, design, approve=False)
    browser_login(page, researcher)
    if language == "ko":
        page.context.add_cookies([{"name": "django_language", "value": "ko", "url": page.url}])
    page.goto(f"/surveys/studies/{study.pk}/setup/")
    page.get_by_role("link", name="Korea").click()
    expect(page.locator("#cells tbody tr")).to_have_count(4)
    expect(page.locator("#cells tbody tr").first).to_contain_text("600")
    assert audit(page) == []
    page.go_back()
    page.get_by_role("link", name="Panel", exact=True).click()
    pager = page.locator("#members .pager")
    expect(pager).to_contain_text("(40 rows)" if language == "en" else "(40행)")
    search = "Search by id or cell" if language == "en" else "ID나 셀로 검색"
    page.get_by_label(search).fill("Busan|M")
    page.get_by_label(search).press("Enter")
    expect(page.locator("#members tbody tr")).to_have_count(10)
    assert audit(page) == []

    page.goto(f"/surveys/{draft.pk}/quotas/")
    first = page.locator("#quotas input[type=number]").first
    first.fill("7")
    page.get_by_role("button", name="Save targets" if language == "en" else "목표 저장").click()
    saved = "Quotas saved" if language == "en" else "할당을 저장했습니다"
    expect(page.get_by_role("status")).to_contain_text(saved)
    expect(page.locator("#quotas input[type=number]").first).to_have_value("7")
    assert audit(page) == []

    # Targets the service refuses (their sum is too large) come back as they were typed.
    targets = page.locator("#quotas input[type=number]")
    targets.nth(0).fill("2000000000")
    targets.nth(1).fill("2000000000")
    page.get_by_role("button", name="Save targets" if language == "en" else "목표 저장").click()
    too_many = "add up to more than" if language == "en" else "목표의 합이"
    expect(page.locator("#quotas [role=alert]")).to_contain_text(too_many)
    expect(targets.nth(0)).to_have_value("2000000000")
    expect(targets.nth(1)).to_have_value("2000000000")
    assert "form=" in page.url
    page.reload()
    expect(targets.nth(1)).to_have_value("2000000000")
    assert audit(page) == []
