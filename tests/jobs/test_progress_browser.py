"""The job page's progress bar follows the job row live, without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from jobs.services import job_claim, job_create, job_progress, job_succeed
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_progress_bar_updates_until_the_job_succeeds(page, researcher):
    job = job_create(kind="selftest", user=researcher)
    job_claim(job_id=job.id)
    job_progress(job_id=job.id, progress=10, message="step 1/10")
    browser_login(page, researcher)
    page.goto(f"/jobs/{job.id}/")
    bar = page.locator("progress")
    expect(bar).to_have_attribute("value", "10")

    job_progress(job_id=job.id, progress=60, message="step 6/10")
    expect(page.locator(".job-message")).to_have_text("step 6/10")
    expect(page.locator("progress")).to_have_attribute("value", "60")

    job_succeed(job_id=job.id, result={"steps": 10})
    expect(page.locator(".job-progress")).to_have_attribute("data-finished", "1")
    expect(page.locator(".job-percent")).to_have_text("100%")
    page_url = page.url
    assert page_url.endswith(f"/jobs/{job.id}/")  # never reloaded
