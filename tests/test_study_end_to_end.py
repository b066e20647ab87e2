"""A whole study in the browser, from a researcher with no study to a downloaded benchmark.

Every step goes through pages (no service call, no API call, no shell): the researcher
creates a study, invites a colleague who signs up through the link, writes a survey of three
questions that the colleague approves, opens it, draws the sample and copies an invitee's
link; the invitee answers on a phone in Korean, going Back once; the researcher weights the
results and sees the distributions; then creates an annotation project from a CSV, the
colleague rates its items, and the researcher builds a dataset and downloads its export.
axe-core audits every page visited: no serious or critical violation anywhere.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.services import researcher_grant
from surveys.models import Answer, Response, ResponseStatus, Weight
from tests.accounts.factories import UserFactory
from tests.conftest import axe_violations, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-pass-phrase-9"


class Audited:
    """Runs axe on each page state it is shown and keeps every serious violation by URL."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.pages = 0

    def __call__(self, page) -> None:
        page.wait_for_load_state("load")
        self.pages += 1
        violations = axe_violations(page)
        if violations:
            self.found[page.url] = violations


def _context(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(20_000)
    return context


def test_a_researcher_runs_a_whole_study_in_the_browser(browser, live_server, tmp_path):
    audit = Audited()
    rosa = UserFactory(username="rosa")
    researcher_grant(user=rosa)

    # --- 1. A study, and a colleague who signs up through an invitation link ----------------
    researcher = _context(browser, live_server, locale="en-US")
    researcher.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = researcher.new_page()
    browser_login(page, rosa)
    expect(page.locator("main")).to_contain_text("You are not a member of any study yet.")
    audit(page)
    page.fill("#id_study-name", "Values 2027")
    page.get_by_role("button", name="Create the study").click()
    expect(page.locator("h1")).to_have_text("Values 2027")
    audit(page)
    page.get_by_role("link", name="Members").click()
    page.select_option("#id_link-role", "reviewer")
    page.get_by_role("button", name="Make an invitation link").click()
    page.locator(".invitation-list").get_by_role("button", name="Copy").click()
    expect(page.locator(".invitation-list").get_by_role("button", name="Copied")).to_be_visible()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{live_server.url}/join/")
    audit(page)

    colleague = _context(browser, live_server, locale="en-US")
    other = colleague.new_page()
    other.goto(link)
    expect(other.locator("h1")).to_have_text("Join Values 2027")
    audit(other)
    other.fill("#id_username", "colin")
    other.fill("#id_password1", PASSWORD)
    other.fill("#id_password2", PASSWORD)
    other.get_by_role("button", name="Create the account and join").click()
    expect(other.locator("h1")).to_have_text("Values 2027")
    audit(other)

    # --- 2. The survey: a one-cell population, a panel, a design, three questions ------------
    census = tmp_path / "census.csv"
    census.write_text("region,count\nSeoul,1000\n", encoding="utf-8")
    people = tmp_path / "panel.csv"
    people.write_text(
        "external_id,region,email\n"
        + "".join(f"P{i},Seoul,p{i}@example.org\n" for i in range(1, 7)),
        encoding="utf-8",
    )
    page.get_by_role("link", name="Values 2027").click()
    page.get_by_role("link", name="Set up surveys").click()
    audit(page)
    form = page.locator("#population-form")
    form.get_by_label("Name").fill("Seoul adults")
    form.get_by_label("Census counts (CSV)").set_input_files(str(census))
    form.get_by_role("button", name="Import population").click()
    expect(page.get_by_role("status")).to_contain_text("Population Seoul adults imported")
    form = page.locator("#panel-form")
    form.get_by_label("Population").select_option(label="Seoul adults")
    form.get_by_label("Panel name").fill("Panel")
    form.get_by_label("Panelists (CSV)").set_input_files(str(people))
    form.get_by_role("button", name="Import panel").click()
    expect(page.get_by_role("status")).to_contain_text("Panel Panel: 6 created")
    form = page.locator("#design-form")
    form.get_by_label("Population:", exact=True).select_option(label="Seoul adults")
    form.get_by_label("Panel (optional)").select_option(label="Panel")
    form.get_by_label("Name").fill("Main")
    form.get_by_label("Sample size (n)").fill("3")
    form.get_by_role("button", name="Create design").click()
    expect(page.get_by_role("status")).to_contain_text("Sample design Main created: n = 3.")
    audit(page)
    form = page.locator("#survey-form")
    form.get_by_label("Title (English)").fill("Values")
    form.get_by_label("Title (Korean)").fill("가치관 조사")
    form.get_by_label("Sample design").select_option(label="Main")
    form.get_by_role("button", name="Create survey").click()
    expect(page.locator("h1")).to_contain_text("Questionnaire")
    audit(page)

    questions = [
        # (new block title, code, kind, English, Korean, options)
        (
            ("Life", "생활"),
            "happy",
            "Single choice",
            "Are you happy?",
            "행복하십니까?",
            "yes | Yes | 예\nno | No | 아니요",
        ),
        (
            None,
            "family",
            "Single choice",
            "Does family come first?",
            "가족이 우선입니까?",
            "yes | Yes | 예\nno | No | 아니요",
        ),
        (
            ("Work", "일"),
            "work",
            "Single choice",
            "Do you like your work?",
            "일이 좋습니까?",
            "yes | Yes | 예\nno | No | 아니요",
        ),
    ]
    for block, code, kind, english, korean, options in questions:
        form = page.locator("#add")
        if block is not None:
            form.locator("#id_block").select_option("")
            form.get_by_label("New block title (English)").fill(block[0])
            form.get_by_label("New block title (Korean)").fill(block[1])
        form.get_by_label("Code").fill(code)
        form.get_by_label("Kind").select_option(label=kind)
        form.get_by_label("Question (English)").fill(english)
        form.get_by_label("Question (Korean)").fill(korean)
        form.get_by_label("Options").fill(options)
        form.get_by_role("button", name="Add the question").click()
        expect(page.get_by_role("status")).to_contain_text(f"Question {code} added.")
        page.get_by_role("button", name=f"Submit {code} for review").click()
        expect(page.get_by_role("status")).to_contain_text(f"{code} is waiting for review.")
    audit(page)

    # --- 3. The colleague approves the three questions -------------------------------------
    other.reload()
    other.get_by_role("link", name="Values", exact=True).click()
    audit(other)
    other.get_by_role("link", name=re.compile(r"Review queue \(3 questions\)")).click()
    audit(other)
    for code in ("happy", "family", "work"):
        card = other.locator(f"#review-{code}")
        card.get_by_label("Approve").check()
        card.get_by_role("button", name="Submit review").click()
        expect(other.get_by_role("status")).to_contain_text(f"Review recorded for {code}.")
    expect(other.get_by_text("No question is waiting for review.")).to_be_visible()
    audit(other)

    # --- 4. Open, draw, copy an invitee's link -------------------------------------------
    page.reload()
    page.get_by_role("button", name="Open the survey").click()
    expect(page.get_by_role("status")).to_contain_text("The survey is open.")
    page.get_by_role("link", name="Values", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Values")
    audit(page)
    page.get_by_role("navigation", name="Survey sections").get_by_role(
        "link", name="Fieldwork"
    ).click()
    page.get_by_role("button", name="Draw the sample").click()
    expect(page.get_by_role("status")).to_contain_text("3 people drawn")
    page.get_by_role("link", name="Invitees and links").click()
    expect(page.locator("#invitees tbody tr")).to_have_count(3)
    audit(page)
    first_row = page.locator("#invitees tbody tr").first
    first_row.get_by_role("button", name="Copy").click()
    # The clipboard holds the new link only once the button says so (writeText is async).
    expect(first_row.get_by_role("button", name="Copied")).to_be_visible()
    personal = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(rf"{re.escape(live_server.url)}/surveys/r/[\w-]+/", personal)

    # --- 5. The invitee answers on a phone, in Korean, going Back once --------------------
    phone = _context(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="ko-KR",
    )
    mobile = phone.new_page()
    mobile.goto(personal)
    expect(mobile.locator("h1")).to_have_text("가치관 조사")
    audit(mobile)
    mobile.get_by_label("위 내용을 읽었으며 참여에 동의합니다.").check()
    mobile.get_by_role("button", name="설문 시작").click()
    expect(mobile.locator(".progress-text")).to_have_text("페이지 1 / 2")
    audit(mobile)
    mobile.get_by_role("group", name="행복하십니까?").get_by_label("예").check()
    mobile.get_by_role("group", name="가족이 우선입니까?").get_by_label("아니요").check()
    mobile.get_by_role("button", name="다음").click()
    expect(mobile.locator(".progress-text")).to_have_text("페이지 2 / 2")
    mobile.get_by_role("group", name="일이 좋습니까?").get_by_label("예").check()
    mobile.get_by_role("button", name="이전").click()
    expect(mobile.locator(".progress-text")).to_have_text("페이지 1 / 2")
    expect(
        mobile.get_by_role("group", name="가족이 우선입니까?").get_by_label("아니요")
    ).to_be_checked()
    audit(mobile)
    mobile.get_by_role("button", name="다음").click()
    expect(mobile.get_by_role("group", name="일이 좋습니까?").get_by_label("예")).to_be_checked()
    mobile.get_by_role("button", name="완료").click()
    expect(mobile.locator("h1")).to_have_text("감사합니다!")
    audit(mobile)
    phone.close()
    response = Response.objects.get()
    assert (response.status, response.language) == (ResponseStatus.COMPLETED, "ko")
    assert sorted(Answer.objects.values_list("question__code", "choices")) == [
        ("family", ["no"]),
        ("happy", ["yes"]),
        ("work", ["yes"]),
    ]

    # --- 6. Weights and the distributions ------------------------------------------------
    page.get_by_role("link", name="Values", exact=True).click()
    page.get_by_role("button", name="Compute weights").click()
    expect(page.get_by_role("status")).to_contain_text("the weights are being computed")
    page.reload()
    expect(page.locator("section.distribution").first).to_contain_text("n = 1")
    audit(page)
    assert Weight.objects.get().value == pytest.approx(1000.0)
    happy = page.locator("section.distribution", has_text="Are you happy?")
    expect(happy.locator("tbody tr").first).to_contain_text("100")

    # --- 7. An annotation project from a CSV, rated by the colleague ---------------------
    items = tmp_path / "items.csv"
    items.write_text(
        "external_id,text\n" + "".join(f"t{i},Passage number {i}\n" for i in range(4)),
        encoding="utf-8",
    )
    page.get_by_role("link", name="Values 2027").first.click()
    page.get_by_role("link", name="New annotation project").click()
    audit(page)
    page.locator("#id_name").fill("Tone")
    page.locator("#id_categories").fill("warm | Warm\ncold | Cold")
    page.locator("#id_raters_per_item").fill("1")
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("h1")).to_contain_text("Tone")
    page.locator("#id_file").set_input_files(str(items))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Imported: 4 new")
    page.locator("#id_member-username").fill("colin")
    page.locator("#id_member-role").select_option("annotator")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("colin is invited")
    audit(page)

    other.goto("/")
    audit(other)
    other.locator("li[id^=project-invitation-]").get_by_role("button", name="Accept").click()
    expect(other.get_by_role("status")).to_contain_text("You joined Tone.")
    other.goto("/")
    other.locator("section.annotation-work").get_by_role("link", name="Start annotating").click()
    for _ in range(4):
        expect(other.locator("#annotate-form")).to_be_visible()
        audit(other)
        other.locator("label[for=primary-warm]").click()
        other.locator("#submit-answer").click()
        expect(other.locator(".messages")).to_contain_text("Saved.")
    expect(other.get_by_role("heading", name="All done")).to_be_visible()
    audit(other)
    colleague.close()

    # --- 8. A dataset from the project, built and exported -------------------------------
    page.get_by_role("link", name="Values 2027").first.click()
    page.get_by_role("link", name="All datasets").click()
    audit(page)
    page.get_by_label("Name").fill("Tone benchmark")
    page.get_by_label("Categories").fill("warm, cold")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("h1")).to_have_text("Tone benchmark")
    target = page.get_by_label("Survey or annotation project")
    target.select_option(target.locator("option", has_text="Tone").get_attribute("value"))
    page.get_by_role("button", name="Add source").click()
    audit(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Build a new version").click()
    expect(page.locator(".job-progress")).to_contain_text("Succeeded")
    page.reload()
    page.get_by_role("link", name="v1").click()
    expect(page.locator("h1")).to_have_text("Tone benchmark v1")
    audit(page)
    with page.expect_navigation():
        page.get_by_role(
            "button", name="Export (CSV, JSONL, Parquet, Hugging Face, Croissant)"
        ).click()
    download_link = page.locator("a.export-download")
    page.reload()
    expect(download_link).to_be_visible()
    audit(page)
    with page.expect_download() as info:
        download_link.click()
    with zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes())) as zf:
        names = zf.namelist()
    assert any(name.startswith("data/") for name in names)
    researcher.close()

    assert audit.pages >= 25
    assert audit.found == {}
