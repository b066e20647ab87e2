"""In a real browser: the annotate page sends its form's key, so the same form sent twice
(a retry after a timeout, a double submit) stores one rating and shows no error."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, Item
from tests.annotation.factories import emotion_project, raters, text_items
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def send_twice(sent: list[dict]):
    """A route handler that sends each form post twice and shows the browser the second
    answer, as a retrying client or proxy would."""

    def handle(route):
        if route.request.method != "POST":
            route.continue_()
            return
        first = route.fetch(max_redirects=0)
        second = route.fetch(max_redirects=0)
        sent.append(
            {
                "form": parse_qs(route.request.post_data or ""),
                "statuses": (first.status, second.status),
                "replayed": second.headers.get("idempotent-replayed"),
            }
        )
        route.fulfill(response=second)

    return handle


def test_the_annotate_form_sent_twice_stores_one_rating(page, study, researcher):
    project = emotion_project(study=study, user=researcher, k=2, scales=[])
    text_items(project, 2)
    (ana,) = raters(project, 1, prefix="ana")
    first_item = Item.objects.get(external_id="t00")
    browser_login(page, ana)
    page.goto(f"/annotation/projects/{project.id}/annotate/")
    form = page.locator("#annotate-form")
    expect(form).to_have_attribute("data-item", str(first_item.id))
    sent: list[dict] = []
    page.route("**/annotate/submit/", send_twice(sent))
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(form).not_to_have_attribute("data-item", str(first_item.id))
    expect(page.locator(".messages")).to_contain_text("Saved. Press U to undo.")
    expect(page.locator(".messages")).not_to_contain_text("already answered")
    assert len(sent) == 1
    (key,) = sent[0]["form"]["idempotency_key"]
    assert len(key) == 36
    assert sent[0]["statuses"] == (302, 302)
    assert sent[0]["replayed"] == "true"
    assert list(
        Annotation.objects.values_list("assignment__item__external_id", "labels__category__key")
    ) == [("t00", "joy")]
