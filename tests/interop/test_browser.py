"""A researcher uploads a Label Studio export in the browser, follows its import and opens the
project it became; a doccano merged file is refused with the reason; the page reads in Korean."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotation.models import Project
from tests.conftest import _opened_page, browser_login
from tests.interop.test_parsers import FIXTURES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_researcher_imports_a_label_studio_export(page, study, researcher):
    browser_login(page, researcher)
    page.get_by_role("link", name="Import labels").click()
    expect(page.get_by_role("heading", name="Import labels from another tool")).to_be_visible()
    page.get_by_label("Study").select_option(label=study.name)
    page.get_by_label("Tool").select_option(label="Label Studio")
    page.get_by_label("Export file").set_input_files(str(FIXTURES / "label-studio.json"))
    page.get_by_label("Project name").fill("Restaurant reviews")
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Import from Label Studio")).to_be_visible()
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("Votes")
    expect(summary).to_contain_text("5")
    expect(summary).to_contain_text("Negative, Neutral, Positive")
    expect(summary).to_contain_text("skipped: 1")
    expect(summary).to_contain_text("read: 4")
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    page.locator("#project-link").click()
    expect(page.get_by_role("heading", name="Restaurant reviews")).to_be_visible()
    assert Project.objects.filter(study=study, name="Restaurant reviews").count() == 1
    # ... and sends the labels back out in doccano's format.
    page.goto("/interop/")
    page.get_by_label("Annotation project").select_option(
        label=f"{study.name} · Restaurant reviews"
    )
    page.get_by_label("Format").select_option(label="doccano")
    with page.expect_navigation():
        page.locator("#export-form").get_by_role("button", name="Download").click()
    expect(page.locator(".job-progress")).to_contain_text("Succeeded")
    expect(page.locator(".job-progress").get_by_role("link", name="Download")).to_be_visible()


def test_a_merged_doccano_file_is_refused_with_the_reason(page, study, researcher):
    browser_login(page, researcher)
    page.goto("/interop/")
    page.get_by_label("Study").select_option(label=study.name)
    page.get_by_label("Tool").select_option(label="doccano")
    page.get_by_label("Export file").set_input_files(str(FIXTURES / "doccano" / "all.jsonl"))
    page.get_by_label("Project name").fill("Merged")
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing imported: all.jsonl")
    expect(alert).to_contain_text("collaborative")
    assert not Project.objects.filter(study=study).exists()


def test_the_import_page_in_korean(browser, live_server, study, researcher):
    context, page = _opened_page(browser, live_server, locale="ko-KR")
    try:
        browser_login(page, researcher)
        page.goto("/interop/")
        expect(page.get_by_role("heading", name="다른 도구에서 레이블 가져오기")).to_be_visible()
        expect(page.get_by_label("내보낸 파일")).to_be_visible()
        expect(page.get_by_role("link", name="레이블 가져오기")).to_be_visible()
    finally:
        context.close()
