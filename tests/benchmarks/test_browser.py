"""A researcher uploads votes, builds a version, watches it, browses it and downloads the zip."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.benchmarks.factories import csv_bytes, vote_frame
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_build_browse_and_export(page, researcher, dataset, tmp_path):
    browser_login(page, researcher)
    page.goto(f"/benchmarks/studies/{dataset.study_id}/datasets/")
    page.get_by_role("link", name="Emotions").click()
    expect(page.locator("h1")).to_have_text("Emotions")

    votes = tmp_path / "votes.csv"
    votes.write_bytes(csv_bytes(vote_frame()))
    page.set_input_files("#id_file", str(votes))
    page.get_by_role("button", name="Upload vote table").click()
    expect(page.locator("#sources")).to_contain_text("votes.csv (90 votes)")

    with page.expect_navigation():
        page.get_by_role("button", name="Build a new version").click()
    expect(page.locator(".job-progress")).to_contain_text("Succeeded")
    page.reload()
    page.get_by_role("link", name="v1").click()
    expect(page.locator("h1")).to_have_text("Emotions v1")
    expect(page.locator("#data-loss tbody tr")).to_have_count(5)

    page.get_by_role("link", name="Browse items").click()
    expect(page.locator("#items tbody tr")).to_have_count(30)
    page.go_back()

    # The export posts and redirects back; reload only once that page has loaded, or the
    # reload races the navigation.
    with page.expect_navigation():
        page.get_by_role(
            "button", name="Export (CSV, JSONL, Parquet, Hugging Face, Croissant)"
        ).click()
    download_link = page.locator("a.export-download")
    page.reload()
    expect(download_link).to_be_visible()
    with page.expect_download() as info:
        download_link.click()
    content = Path(info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        assert "data/train.parquet" in zf.namelist()
    assert info.value.suggested_filename == "emotions-v1.zip"
