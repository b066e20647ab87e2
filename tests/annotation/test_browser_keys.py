"""The annotator's keys in a real browser, in English and Korean: U brings the last answer
back selected, S opens the skip reasons with the first chosen (one Enter skips), the legend
lists only the keys that apply (Esc for text boxes, Space only for clips), and selecting
words of the passage fills the evidence span."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, Assignment, AssignmentStatus, Item, MemberRole
from annotation.services import expert_sample_draw, items_import
from tests.annotation.factories import emotion_project, raters
from tests.conftest import axe_violations, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSAGES = [
    ("p1", "The river rose quickly after the storm broke over the hills."),
    ("p2", "Nobody answered the door, so she left the parcel outside."),
    ("p3", "He laughed until the tears ran down his face."),
]

TEXT = {
    "en": {
        "taken_back": "Your last answer was taken back",
        "skipped": "Skipped.",
        "esc": "leave a text box",
        "play": "play/pause",
        "first_reason": "I cannot hear or read it properly",
    },
    "ko": {
        "taken_back": "마지막 응답을 취소했습니다",
        "skipped": "건너뛰었습니다.",
        "esc": "텍스트 상자에서 나가기",
        "play": "재생/정지",
        "first_reason": "잘 들리지 않거나 읽을 수 없습니다",
    },
}


@pytest.fixture
def expert_on_text(study, researcher):
    """A text project whose every item is in the expert sample, rated by one expert."""
    project = emotion_project(
        study=study,
        user=researcher,
        k=1,
        allow_evidence=True,
        allow_comment=True,
        expert_raters_per_item=1,
        expert_sample_rate=1.0,
    )
    lines = ["external_id,text"] + [f'{key},"{text}"' for key, text in PASSAGES]
    items_import(project=project, data="\n".join(lines).encode(), filename="items.csv")
    assert expert_sample_draw(project=project) == 3
    (expert,) = raters(project, 1, prefix="expert", role=MemberRole.EXPERT)
    return project, expert


def select_in_passage(page, start: int, end: int) -> None:
    """Select characters start..end of the passage's text, as a mouse drag would, and let go."""
    page.evaluate(
        """([start, end]) => {
            const quote = document.querySelector('.item-text');
            const node = quote.firstChild;
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, end);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
            quote.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }""",
        [start, end],
    )


@pytest.mark.parametrize("language", ["en", "ko"])
def test_undo_skip_legend_and_evidence(page, expert_on_text, language):
    project, expert = expert_on_text
    words = TEXT[language]
    ids = {i.external_id: str(i.id) for i in Item.objects.all()}
    browser_login(page, expert)
    if language == "ko":
        page.context.add_cookies([{"name": "django_language", "value": "ko", "url": page.url}])
    page.goto(f"/annotation/projects/{project.id}/annotate/")
    form = page.locator("#annotate-form")
    expect(form).to_have_attribute("data-item", ids["p1"])

    legend = page.locator("#keys-help")
    expect(legend).to_contain_text(words["esc"])
    expect(legend).not_to_contain_text(words["play"])
    expect(legend).not_to_contain_text("Space")
    expect(legend.locator("kbd").first).to_have_text("1")
    expect(legend.locator("kbd").nth(1)).to_have_text("4")

    # "rose quic" (mid-word) becomes the whole words "rose quickly".
    select_in_passage(page, 10, 19)
    expect(page.locator("#evidence")).to_have_value("rose quickly")
    page.locator("#evidence").click()
    page.keyboard.type(" after")
    page.keyboard.press("Escape")  # leaves the text box: number keys choose labels again
    page.keyboard.press("2")
    page.keyboard.press("Shift+Digit3")
    page.select_option("#rating-arousal", "5")
    page.locator("#comment").fill("Calm but worried")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(form).to_have_attribute("data-item", ids["p2"])

    # U: the answer comes back as it was given.
    page.keyboard.press("u")
    expect(page.locator(".messages")).to_contain_text(words["taken_back"])
    expect(form).to_have_attribute("data-item", ids["p1"])
    expect(page.locator("#primary-joy")).to_be_checked()
    expect(page.locator("#secondary-sadness")).to_be_checked()
    expect(page.locator("#primary-anger")).not_to_be_checked()
    expect(page.locator("#rating-arousal")).to_have_value("5")
    expect(page.locator("#evidence")).to_have_value("rose quickly after")
    expect(page.locator("#comment")).to_have_value("Calm but worried")
    assert Annotation.objects.count() == 0
    # Corrected and sent again.
    page.keyboard.press("4")
    page.keyboard.press("Enter")
    expect(form).to_have_attribute("data-item", ids["p2"])
    saved = Annotation.objects.get()
    assert sorted(saved.labels.values_list("category__key", "role")) == [
        ("fear", "primary"),
        ("sadness", "secondary"),
    ]
    assert (saved.evidence, saved.comment) == ("rose quickly after", "Calm but worried")

    # S: the reasons open with the first one chosen and focused; one Enter skips.
    page.keyboard.press("s")
    first = page.locator("#skip-form input[name=reason]").first
    expect(first).to_be_focused()
    expect(first).to_be_checked()
    assert axe_violations(page) == []
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text(words["skipped"])
    expect(form).to_have_attribute("data-item", ids["p3"])
    skipped = Assignment.objects.get(status=AssignmentStatus.SKIPPED)
    # The reason is kept as the annotator read it.
    assert (skipped.item.external_id, skipped.skip_reason) == ("p2", words["first_reason"])

    # Esc closes the reasons without skipping; arrows choose another reason.
    page.keyboard.press("s")
    page.keyboard.press("Escape")
    expect(page.locator("#skip-details")).not_to_have_attribute("open", "")
    page.keyboard.press("s")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#skip-form input[name=reason]").nth(1)).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2).first).to_be_visible()
    assert Assignment.objects.filter(status=AssignmentStatus.SKIPPED).count() == 2


@pytest.mark.parametrize("language", ["en", "ko"])
def test_researcher_searches_the_item_list(page, study, researcher, language):
    from tests.annotation.factories import text_items

    project = emotion_project(study=study, user=researcher, k=2, scales=[])
    text_items(project, 30)
    browser_login(page, researcher)
    if language == "ko":
        page.context.add_cookies([{"name": "django_language", "value": "ko", "url": page.url}])
    page.goto(f"/annotation/projects/{project.id}/")
    page.get_by_role("link", name="Items" if language == "en" else "항목", exact=True).click()
    expect(page.locator("#items tbody tr")).to_have_count(25)
    next_page = "Next" if language == "en" else "다음"
    page.locator("#items .pager").get_by_role("link", name=next_page).click()
    expect(page.locator("#items tbody tr")).to_have_count(5)
    label = "Search ids and texts" if language == "en" else "ID와 텍스트 검색"
    page.get_by_label(label).fill("Passage 2")
    page.get_by_label(label).press("Enter")
    expect(page.locator("#items tbody tr")).to_have_count(11)  # 2 and 20-29
    assert axe_violations(page) == []


def test_legend_of_an_audio_project_has_play_and_no_esc(page, study, researcher):
    import io
    import zipfile

    from annotation.media import write_tone_wav

    project = emotion_project(study=study, user=researcher, k=1, scales=[], allow_comment=False)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("clip.wav", write_tone_wav(frequency=330, seconds=0.5))
    items_import(
        project=project,
        data=b"external_id,media\nclip,clip.wav\n",
        filename="clips.csv",
        media_zip=archive.getvalue(),
    )
    (rater,) = raters(project, 1, prefix="listener")
    browser_login(page, rater)
    page.goto(f"/annotation/projects/{project.id}/annotate/")
    legend = page.locator("#keys-help")
    expect(legend).to_contain_text("play/pause")
    expect(legend).not_to_contain_text("Esc")
