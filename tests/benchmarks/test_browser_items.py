"""A researcher uploads votes with their items, builds a version and reads the items beside
their labels; audio clips of an annotation project play from the frozen version."""

from __future__ import annotations

import io
import zipfile

import pytest
from playwright.sync_api import expect

from annotation.media import write_tone_wav
from annotation.services import items_import, ratings_import
from benchmarks.services import dataset_create, source_annotation_create, version_build
from tests.annotation.factories import EMOTIONS, emotion_project
from tests.benchmarks.factories import csv_bytes, jsonl_bytes, vote_frame
from tests.benchmarks.test_item_pages import items_frame
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_with_items_build_and_read_the_items(page, researcher, dataset, tmp_path):
    browser_login(page, researcher)
    page.goto(f"/benchmarks/datasets/{dataset.id}/")
    votes = tmp_path / "votes.csv"
    votes.write_bytes(csv_bytes(vote_frame()))
    items = tmp_path / "items.jsonl"
    items.write_bytes(jsonl_bytes(items_frame()))
    page.set_input_files("#id_file", str(votes))
    page.set_input_files("#id_items", str(items))
    page.get_by_role("button", name="Upload vote table").click()
    expect(page.locator("#sources")).to_contain_text("votes.csv (90 votes) · 30 items")

    with page.expect_navigation():
        page.get_by_role("button", name="Build a new version").click()
    expect(page.locator(".job-progress")).to_contain_text("Succeeded")
    page.goto(f"/benchmarks/datasets/{dataset.id}/versions/1/items/")
    rows = page.locator("#items > tbody > tr")
    expect(rows).to_have_count(30)
    first = rows.filter(has=page.get_by_role("cell", name="i00", exact=True))
    expect(first.locator(".item-text")).to_have_text("Passage number 0 says hello.")
    # The long text is clipped; opening it shows the whole passage.
    long = rows.filter(has=page.get_by_role("cell", name="i05", exact=True)).locator("details")
    expect(long.locator("p")).to_be_hidden()
    long.locator("summary").click()
    expect(long.locator("p")).to_be_visible()
    question = rows.filter(has=page.get_by_role("cell", name="i20", exact=True))
    expect(question.locator(".item-question")).to_have_text("How do you feel about topic 20?")
    expect(question.locator(".item-options li")).to_have_count(3)
    expect(question.locator(".item-options li").first).to_contain_text("Joyful")

    page.select_option("#kind-filter", "question")
    page.fill("#item-search", "topic 2")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(10)
    expect(page.locator("#item-count")).to_have_text("10 items")


def test_audio_items_play_from_the_frozen_version(page, study, researcher):
    project = emotion_project(study=study, user=researcher, k=2, scales=[])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for i, hz in enumerate((220, 330, 440)):
            z.writestr(f"clip{i}.wav", write_tone_wav(frequency=hz, seconds=0.3))
    report = items_import(
        project=project,
        data=b"external_id,media\nclip-0,clip0.wav\nclip-1,clip1.wav\nclip-2,clip2.wav\n",
        filename="clips.csv",
        media_zip=archive.getvalue(),
    )
    assert report.ok, report.rows
    ratings = "item,rater,label\n" + "".join(
        f"clip-{i},rater{r},{EMOTIONS[(i + r) % 2]}\n" for i in range(3) for r in range(2)
    )
    ratings_import(project=project, source=io.BytesIO(ratings.encode()))
    clips = dataset_create(
        study=study,
        user=researcher,
        name="Clips",
        categories=EMOTIONS,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
    )
    source_annotation_create(dataset=clips, project_id=project.id, name=project.name)
    version_build(dataset=clips, user=researcher)

    browser_login(page, researcher)
    page.goto(f"/benchmarks/datasets/{clips.id}/versions/1/items/")
    players = page.locator("#items audio")
    expect(players).to_have_count(3)
    expect(players.first).to_have_attribute("preload", "none")
    src = players.first.get_attribute("src")
    assert src.startswith(f"/benchmarks/datasets/{clips.id}/versions/1/media/")
    response = page.request.get(src)
    assert response.status == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.body()[:4] == b"RIFF"
