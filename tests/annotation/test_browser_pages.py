"""Annotation pages in a real browser: a tablet by touch, the dashboard, guidelines, axe audits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, AnnotationLabel, Exclusion, Item
from annotation.services import (
    agreement_job_start,
    annotation_submit,
    assignment_next,
    assignment_skip,
    member_add,
)
from tests.annotation.factories import emotion_project, policy_project, raters, text_items
from tests.conftest import axe_violations as audit
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def answer(project, user, labels_by_item: dict[str, list[dict]], time_ms: int) -> None:
    """Answer every item of ``labels_by_item`` as ``user``, in the order they are served."""
    for _ in labels_by_item:
        lease = assignment_next(project=project, user=user)
        annotation_submit(
            project=project,
            user=user,
            item_id=lease.item_id,
            labels=labels_by_item[lease.item.external_id],
            time_ms=time_ms,
        )


# --- 1. a tablet, touch only -------------------------------------------------------------------


def test_annotator_rates_two_texts_on_a_tablet_by_tapping(tablet_page, study, researcher):
    page = tablet_page
    project = emotion_project(study=study, user=researcher, k=1, scales=[])
    text_items(project, 2)
    (ana,) = raters(project, 1, prefix="ana")
    ids = {i.external_id: str(i.id) for i in Item.objects.filter(project=project)}
    browser_login(page, ana)
    page.goto(f"/annotation/projects/{project.id}/annotate/")

    form = page.locator("#annotate-form")
    expect(form).to_have_attribute("data-item", ids["t00"])
    expect(page.locator("blockquote.item-text")).to_have_text("Passage 0")
    # "Left for you" counts the item on screen (leased to ana) and the one after it.
    expect(page.locator("#progress")).to_have_text(re.compile(r"Answered: 0 · left for you: 2"))
    assert page.evaluate("window.matchMedia('(pointer: coarse)').matches") is True
    assert overflow(page) <= 0
    # Every label is a tap target at least 44 px high, the primary one filling most of its row.
    for li in page.locator("li.category").all():
        row = li.bounding_box()
        labels = [label.bounding_box() for label in li.locator("label").all()]
        assert row is not None and all(box is not None for box in labels)
        assert min(box["height"] for box in labels) >= 44
        assert labels[0]["width"] >= 0.5 * row["width"]
    assert page.locator("li.category").count() == 4

    # Item 0: primary "joy", secondary "fear", by tapping their labels.
    page.tap("label[for=primary-joy]")
    page.tap("label[for=secondary-fear]")
    expect(page.locator("#primary-joy")).to_be_checked()
    expect(page.locator("#secondary-fear")).to_be_checked()
    expect(page.locator("#primary-fear")).not_to_be_checked()
    # A second tap on the secondary box toggles it off and on again.
    page.tap("#secondary-fear")
    expect(page.locator("#secondary-fear")).not_to_be_checked()
    page.tap("#secondary-fear")
    expect(page.locator("#secondary-fear")).to_be_checked()
    with page.expect_request(lambda r: r.method == "POST" and "/submit/" in r.url) as sent:
        page.tap("#submit-answer")
    # The page's script fills in the time on item (without it the view reads the lease).
    assert re.search(r"(^|&)time_ms=[1-9]\d*(&|$)", sent.value.post_data)
    expect(form).to_have_attribute("data-item", ids["t01"])
    expect(page.locator(".messages")).to_contain_text("Saved.")
    expect(page.locator("#progress")).to_have_text(re.compile(r"Answered: 1 · left for you: 1"))
    expect(page.locator("blockquote.item-text")).to_have_text("Passage 1")
    # The answer of item 0 is not carried over to item 1.
    expect(page.locator("input[data-role=primary]:checked")).to_have_count(0)
    expect(page.locator("input[data-role=secondary]:checked")).to_have_count(0)
    assert overflow(page) <= 0

    # Item 1: primary "anger" only.
    page.tap("label[for=primary-anger]")
    expect(page.locator("#primary-anger")).to_be_checked()
    page.tap("#submit-answer")
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    expect(page.locator("#progress")).to_have_text(re.compile(r"Answered: 2 · left for you: 0"))
    assert overflow(page) <= 0

    rows = Annotation.objects.filter(assignment__rater=ana).order_by("assignment__item_id")
    assert [
        (a.assignment.item.external_id, sorted(a.labels.values_list("category__key", "role")))
        for a in rows
    ] == [
        ("t00", [("fear", "secondary"), ("joy", "primary")]),
        ("t01", [("anger", "primary")]),
    ]
    assert AnnotationLabel.objects.filter(annotation__assignment__rater=ana).count() == 3
    assert all(t is not None and t > 0 for t in rows.values_list("time_ms", flat=True))


# --- 2. the researcher's dashboard -------------------------------------------------------------


@pytest.fixture
def rated_project(study, researcher):
    """k = 3 on four texts: two raters agree on t00..t02, a third says "sadness" every time.

    Then t03 comes in: rater0 holds an open lease on it and rater1 skipped it.
    """
    project = emotion_project(study=study, user=researcher, k=3, scales=[])
    text_items(project, 3)
    r0, r1, r2 = raters(project, 3)
    agreed = {
        "t00": [{"category": "joy"}],
        "t01": [{"category": "anger"}],
        "t02": [{"category": "joy"}],
    }
    answer(project, r0, agreed, time_ms=2000)
    answer(project, r1, agreed, time_ms=3000)
    sad = {key: [{"category": "sadness"}] for key in agreed}
    sad["t00"] = [{"category": "sadness"}, {"category": "fear", "role": "secondary"}]
    answer(project, r2, sad, time_ms=4000)
    text_items(project, 4)  # t00..t02 unchanged, t03 new
    assert assignment_next(project=project, user=r0).item.external_id == "t03"
    lease = assignment_next(project=project, user=r1)
    assignment_skip(project=project, user=r1, item_id=lease.item_id, reason="I am not sure")
    # The dashboard shows the last agreement job's report (jobs run at once in tests).
    agreement_job_start(project=project, user=researcher)
    return project


def test_dashboard_shows_the_figures_and_excludes_and_readmits_an_annotator(
    page, rated_project, researcher
):
    project = rated_project
    browser_login(page, researcher)
    page.goto(f"/annotation/projects/{project.id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Speech emotions")

    # Progress: 4 items, 9 of 12 ratings, 3 items complete, 1 open lease, 1 skip.
    expect(page.locator(".stat strong")).to_have_text(["4", "9 / 12", "3", "1", "1"])
    expect(page.locator("progress")).to_have_attribute("value", "75")
    expect(page.locator("#progress-title + .stat-grid + p")).to_contain_text("75%")
    expect(page.get_by_role("link", name="Adjudication (0)")).to_be_visible()

    # Label distribution: joy 4, sadness 3, anger 2, fear once as a secondary label.
    dist = page.locator("section[aria-labelledby=dist-title] .chart-row")
    expect(dist.locator("> span:first-child")).to_have_text(["Anger", "Joy", "Sadness", "Fear"])
    expect(dist.locator(".num")).to_have_text(["2", "4", "3", "0 + 1"])
    expect(dist.nth(1).locator(".bar")).to_have_attribute("style", "width: 100%")
    expect(dist.nth(0).locator(".bar")).to_have_attribute("style", "width: 50%")
    expect(dist.nth(3).locator(".bar.secondary")).to_have_attribute("style", "width: 25%")

    # Agreement: nominal alpha 1 - (6/9) / (52/72) = 0.077, Fleiss' kappa -0.038.
    agreement = page.locator("section[aria-labelledby=agreement-title]")
    expect(page.locator("#alpha")).to_have_text("0.077")
    expect(agreement).to_contain_text("Fleiss' kappa: -0.038")
    expect(agreement.locator(".chart-row")).to_have_count(1)  # one week of answers
    expect(agreement.locator(".chart-row .num")).to_have_text("0.08")

    # Annotators: done, median seconds, no gold, agreement with the others' plurality.
    rows = page.locator("#annotators tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator("td:nth-child(1)")).to_have_text(["Rater0", "Rater1", "Rater2"])
    expect(rows.locator("td:nth-child(3)")).to_have_text(["3", "3", "3"])
    expect(rows.locator("td:nth-child(4)")).to_have_text(["2.0", "3.0", "4.0"])
    expect(rows.locator("td:nth-child(5)")).to_have_text(["—", "—", "—"])
    expect(rows.locator("td:nth-child(6)")).to_have_text(["0.50", "0.50", "0.00"])

    # Exclude rater2 through the page.
    odd = rows.filter(has_text="Rater2")
    odd.get_by_role("textbox", name="Reason").fill("Answers sadness to everything")
    odd.get_by_role("button", name="Exclude").click()
    expect(page).to_have_url(re.compile(rf"/annotation/projects/{project.id}/$"))
    odd = page.locator("#annotators tbody tr").filter(has_text="Rater2")
    expect(odd.locator(".flag")).to_have_text("excluded")
    expect(odd).to_contain_text("Answers sadness to everything")
    expect(odd.get_by_role("button", name="Include again")).to_be_visible()
    expect(page.get_by_role("button", name="Exclude")).to_have_count(2)
    exclusion = Exclusion.objects.get()
    assert (exclusion.project_id, exclusion.rater.username) == (project.id, "rater2")
    assert (exclusion.reason, exclusion.created_by_id) == (
        "Answers sadness to everything",
        researcher.pk,
    )
    assert exclusion.active is True
    # Without rater2 the other two agree on every item.
    expect(page.locator("#alpha")).to_have_text("1.000")
    expect(agreement).to_contain_text("Fleiss' kappa: 1.000")
    # The distribution still counts every answer given.
    expect(dist.locator(".num")).to_have_text(["2", "4", "3", "0 + 1"])

    # Lift it again: the row is kept, marked lifted, and the page offers to exclude again.
    odd.get_by_role("button", name="Include again").click()
    odd = page.locator("#annotators tbody tr").filter(has_text="Rater2")
    expect(odd.get_by_role("button", name="Exclude")).to_be_visible()
    expect(odd.locator(".flag")).to_have_count(0)
    expect(page.locator("#alpha")).to_have_text("0.077")
    exclusion.refresh_from_db()
    assert exclusion.active is False
    assert exclusion.lifted_by_id == researcher.pk
    assert exclusion.lifted_at is not None
    assert Exclusion.objects.count() == 1


# --- 3. guidelines -----------------------------------------------------------------------------

GUIDELINES = """# Listening rules

Listen *twice* before you answer.

- Rate the **voice**, not the words
- Skip clips you cannot hear

<b>raw html</b> stays text.
"""


def test_guidelines_render_the_projects_markdown_for_an_annotator(page, study, researcher):
    project = emotion_project(study=study, user=researcher, guidelines=GUIDELINES)
    text_items(project, 1)
    (ana,) = raters(project, 1, prefix="ana")
    browser_login(page, ana)
    page.goto(f"/annotation/projects/{project.id}/annotate/")
    page.get_by_role("link", name="Guidelines").click()
    expect(page).to_have_url(re.compile(rf"/annotation/projects/{project.id}/guidelines/$"))

    expect(page.locator("main > h1")).to_have_text("Guidelines: Speech emotions")
    article = page.locator("article")
    expect(article.locator("h2").first).to_have_text("Listening rules")
    expect(page.locator("h1")).to_have_count(1)
    expect(article.locator("p em")).to_have_text("twice")
    expect(article.locator("ul > li")).to_have_text(
        ["Rate the voice, not the words", "Skip clips you cannot hear"]
    )
    expect(article.locator("li strong")).to_have_text("voice")
    # Raw HTML in the guidelines is shown as text, never as markup.
    expect(article).to_contain_text("<b>raw html</b> stays text.")
    expect(article.locator("b")).to_have_count(0)
    # The categories with their keys.
    expect(page.locator("main dt")).to_have_text(
        ["1 Anger anger", "2 Joy joy", "3 Sadness sadness", "4 Fear fear"]
    )


# --- 4. accessibility --------------------------------------------------------------------------


def test_dashboard_and_annotate_pages_pass_axe(page, rated_project, study, researcher):
    browser_login(page, researcher)
    page.goto(f"/annotation/projects/{rated_project.id}/")
    expect(page.locator("#alpha")).to_have_text("0.077")
    assert audit(page) == []

    # A multi-label project's work page (checkboxes), as an annotator.
    project = policy_project(study=study, user=researcher)
    text_items(project, 1)
    (ana,) = raters(project, 1, prefix="ana")
    page.context.clear_cookies()
    browser_login(page, ana)
    page.goto(f"/annotation/projects/{project.id}/annotate/")
    expect(page.locator("input[data-role=label]")).to_have_count(4)  # with "None of these"
    assert audit(page) == []
    # And the primary + secondary work page (radios and secondary boxes).
    member_add(project=rated_project, user=ana)
    page.goto(f"/annotation/projects/{rated_project.id}/annotate/")
    expect(page.locator("blockquote.item-text")).to_have_text("Passage 3")
    expect(page.locator("input[data-role=secondary]")).to_have_count(4)
    assert audit(page) == []


# --- 5. setting a project up -------------------------------------------------------------------


def test_researcher_sets_up_a_project_in_the_browser(page, study, researcher, tmp_path):
    """New project with its schema, items, a member and existing ratings, all through forms."""
    from django.db import connection

    from annotation.models import ImportedRating, Project, ProjectMember
    from tests.accounts.factories import UserFactory

    UserFactory(username="ana")
    browser_login(page, researcher)
    page.goto("/")
    page.get_by_role("link", name="New annotation project").first.click()
    expect(page.locator("h1")).to_have_text("New annotation project")
    assert audit(page) == []
    page.locator("#id_name").fill("Street interviews")
    page.locator("#id_mode").select_option("primary_secondary")
    page.locator("#id_categories").fill("anger | Anger\njoy | Joy | j\ncalm")
    page.locator("#id_raters_per_item").fill("2")
    # A bad scale line is reported on its field and the rest of the form is kept.
    page.locator("#id_scales").fill("arousal | Arousal | 7")
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("#field-scales .errorlist")).to_contain_text("Line 1: write key")
    expect(page.locator("#id_name")).to_have_value("Street interviews")
    page.locator("#id_scales").fill("arousal | Arousal | 1 | 7")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/annotation/projects/\d+/$"))
    project = Project.objects.get(name="Street interviews")
    expect(page).to_have_url(re.compile(rf"/annotation/projects/{project.pk}/$"))
    assert list(project.categories.values_list("key", "keyboard_key")) == [
        ("anger", "1"),
        ("joy", "j"),
        ("calm", "2"),
    ]

    items = tmp_path / "items.csv"
    items.write_text("external_id,text\nt00,First\nt01,Second\n")
    page.locator("#id_file").set_input_files(str(items))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Imported: 2 new")

    page.locator("#id_member-username").fill("ana")
    page.locator("#id_member-role").select_option("annotator")
    page.locator("#id_member-group").fill("native")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("ana is invited")
    expect(page.locator("#pending-invitations")).to_contain_text("ana, as Annotator")
    assert not ProjectMember.objects.filter(project=project, user__username="ana").exists()

    if connection.vendor == "postgresql":
        ratings = tmp_path / "ratings.csv"
        ratings.write_text("item,rater,label,role\nt00,old-1,joy,\nt00,old-1,calm,secondary\n")
        page.locator("#id_ratings-file").set_input_files(str(ratings))
        page.get_by_role("button", name="Import ratings").click()
        expect(page.locator(".messages")).to_contain_text("Imported 2 labels in 1 answers")
        expect(page.locator("#ratings-imported")).to_have_text("(1 imported)")
        assert ImportedRating.objects.filter(item__project=project).count() == 2

        # The vote table as a file: the job runs (eagerly here) and offers the download.
        page.locator("#id_export-format").select_option("csv")
        page.get_by_role("button", name="Export", exact=True).click()
        link = page.locator("#export-title ~ .job-progress a[download]")
        expect(link).to_have_text("Download")
        with page.expect_download() as download:
            link.click()
        text = download.value.path().read_bytes().decode("utf-8-sig")
        assert text.splitlines()[0].startswith("item,voter,label,weight,role,group,created")
        assert len(text.splitlines()) == 3
    assert audit(page) == []


def test_researcher_changes_the_settings_of_a_running_project(page, study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    browser_login(page, researcher)
    page.goto(f"/annotation/projects/{project.pk}/")
    page.get_by_role("link", name="Settings").click()
    expect(page.locator("h1")).to_have_text("Settings")
    expect(page.get_by_label("Raters per item (k)")).to_have_value("2")
    assert audit(page) == []

    page.get_by_label("Raters per item (k)").fill("0")
    page.get_by_role("button", name="Save settings").click()
    # The browser's own check stops a value under the minimum before it is sent.
    assert page.evaluate("document.querySelector('#id_raters_per_item').validity.valid") is False
    page.get_by_label("Raters per item (k)").fill("4")
    page.get_by_label("Guidelines (Markdown)").fill("## Anger\nA raised voice counts.")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    expect(page.locator("main")).to_contain_text("k = 4")
    assert set(Item.objects.values_list("slots_total", flat=True)) == {4}
    page.get_by_role("link", name="Guidelines").first.click()
    expect(page.get_by_role("heading", name="Anger")).to_be_visible()

    # The expert sample: two experts on half the items of each speaker (text_items has two
    # items, of speakers spk0 and spk1, so one each).
    page.goto(f"/annotation/projects/{project.pk}/settings/")
    experts = page.locator("#experts")
    experts.get_by_label("Experts per sampled item").fill("2")
    experts.get_by_label("Share of items experts see").fill("0.5")
    experts.get_by_label("Stratify by").select_option("speaker")
    experts.get_by_role("button", name="Draw the expert sample").click()
    expect(page.get_by_role("status")).to_contain_text("2 items are in the expert sample.")
    expect(page.locator("#experts")).to_contain_text("2 items are in the expert sample now.")
    assert audit(page) == []

    # The codebook: a boundary example for anger, and a new category in the first empty row.
    codebook = page.locator("#categories")
    anger = codebook.locator("fieldset", has=page.locator("legend", has_text="anger"))
    anger.get_by_label("Boundary examples").fill("'Not again!' is anger, not sadness.")
    new = codebook.locator("fieldset", has=page.locator("legend", has_text="New category")).first
    new.locator("input[name$='-key']").fill("awe")
    new.get_by_label("Name").fill("Awe")
    codebook.get_by_role("button", name="Save categories").click()
    expect(page.get_by_role("status")).to_contain_text("Categories saved.")
    assert audit(page) == []
    assert project.categories.get(key="anger").examples == "'Not again!' is anger, not sadness."
    assert project.categories.order_by("order").last().key == "awe"
