"""Acceptance in a real browser: keyboard-only annotation with undo, and adjudication."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from annotation.media import write_tone_wav
from annotation.models import Adjudication, Annotation, Item, MemberRole
from annotation.services import annotation_submit, assignment_next, items_import
from tests.annotation.factories import emotion_project, raters, text_items
from tests.conftest import axe_violations, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def answered(user):
    rows = Annotation.objects.filter(assignment__rater=user).order_by("assignment__item_id")
    return [
        (
            a.assignment.item.external_id,
            sorted(a.labels.values_list("category__key", "role")),
        )
        for a in rows
    ]


def test_annotator_rates_three_clips_with_the_keyboard_and_undoes_one(page, study, researcher):
    project = emotion_project(study=study, user=researcher, k=2, scales=[])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for i, hz in enumerate((220, 330, 440)):
            z.writestr(f"clip{i}.wav", write_tone_wav(frequency=hz, seconds=0.5))
    items_import(
        project=project,
        data=b"external_id,media\nclip-0,clip0.wav\nclip-1,clip1.wav\nclip-2,clip2.wav\n",
        filename="clips.csv",
        media_zip=archive.getvalue(),
    )
    (ana,) = raters(project, 1, prefix="ana")
    ids = {i.external_id: str(i.id) for i in Item.objects.all()}
    browser_login(page, ana)
    page.goto(f"/annotation/projects/{project.id}/annotate/")
    form = page.locator("#annotate-form")
    expect(form).to_have_attribute("data-item", ids["clip-0"])
    expect(page.locator("audio#clip")).to_have_count(1)
    assert axe_violations(page) == []

    # Clip 0: primary "anger" (1) and secondary "sadness" (Shift+3).
    page.keyboard.press("1")
    page.keyboard.press("Shift+Digit3")
    expect(page.locator("#primary-anger")).to_be_checked()
    expect(page.locator("#secondary-sadness")).to_be_checked()
    page.keyboard.press("Space")  # play, then pause: the page keeps the keyboard
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(form).to_have_attribute("data-item", ids["clip-1"])
    expect(page.locator("#progress")).to_contain_text("Answered: 1")

    # Clip 1: "joy" (2), then undo: clip 1 comes back.
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(form).to_have_attribute("data-item", ids["clip-2"])
    page.keyboard.press("u")
    expect(page.locator(".messages")).to_contain_text("Your last answer was taken back")
    expect(form).to_have_attribute("data-item", ids["clip-1"])
    # Answer it again differently: "fear" (4).
    page.keyboard.press("4")
    page.keyboard.press("Enter")
    expect(form).to_have_attribute("data-item", ids["clip-2"])

    # Clip 2: "joy" (2).
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done")).to_be_visible()

    assert answered(ana) == [
        ("clip-0", [("anger", "primary"), ("sadness", "secondary")]),
        ("clip-1", [("fear", "primary")]),
        ("clip-2", [("joy", "primary")]),
    ]
    times = list(Annotation.objects.values_list("time_ms", flat=True))
    assert all(t is not None and t > 0 for t in times)


def test_adjudicator_decides_a_disagreement(page, study, researcher):
    project = emotion_project(study=study, user=researcher, k=2, scales=[])
    text_items(project, 1)
    a, b = raters(project, 2)
    (judge,) = raters(project, 1, prefix="judge", role=MemberRole.ADJUDICATOR)
    for user, label, comment in ((a, "joy", "She laughs"), (b, "anger", "Shouting")):
        lease = assignment_next(project=project, user=user)
        annotation_submit(
            project=project,
            user=user,
            item_id=lease.item_id,
            labels=[{"category": label}],
            comment=comment,
        )
    browser_login(page, judge)
    page.goto(f"/annotation/projects/{project.id}/adjudication/")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Decide").click()
    answers = page.locator("#answers tbody tr")
    expect(answers).to_have_count(2)
    expect(answers.nth(0)).to_contain_text("Joy")
    expect(answers.nth(0)).to_contain_text("She laughs")
    expect(answers.nth(1)).to_contain_text("Anger")
    expect(answers.nth(1)).to_contain_text("Shouting")
    page.check("#final-joy")
    page.fill("#note", "Laughter is audible at the end.")
    page.get_by_role("button", name="Record decision").click()
    expect(page).to_have_url(re.compile(r"/adjudication/$"))
    expect(page.locator(".messages")).to_contain_text("Decision recorded")
    decision = Adjudication.objects.get()
    assert decision.labels == [{"category": "joy", "role": "primary"}]
    assert (decision.note, decision.decided_by_id) == ("Laughter is audible at the end.", judge.pk)
    assert sorted(d["category"] for d in decision.basis) == ["anger", "joy"]
