"""The items page shows each item's content next to its labels; frozen audio is served only
to the dataset's researchers, and only the files of that version."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from annotation.media import write_tone_wav
from benchmarks.models import DatasetSource
from benchmarks.selectors import version_items
from benchmarks.services import (
    dataset_create,
    source_annotation_create,
    source_upload_create,
    version_build,
)
from tests.annotation.factories import EMOTIONS, audio_items, emotion_project, tones
from tests.benchmarks.factories import CATEGORIES, csv_bytes, jsonl_bytes, vote_frame
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

LONG = "A long passage about the weather. " * 12  # 408 characters


def items_frame(n_items: int = 30) -> pd.DataFrame:
    """Items i00..i19 are texts (i05 a long one), i20..i29 survey-like questions."""
    rows = []
    for i in range(n_items):
        if i < 20:
            text = LONG.strip() if i == 5 else f"Passage number {i} says hello."
            rows.append({"item": f"i{i:02d}", "text": text, "meta.source": "news"})
        else:
            rows.append(
                {
                    "item": f"i{i:02d}",
                    "question": f"How do you feel about topic {i}?",
                    "question_en": f"How do you feel about topic {i}?",
                    "question_ko": f"주제 {i}에 대해 어떻게 느끼십니까?",
                    "options": CATEGORIES,
                    "option_texts_en": ["Joyful", "Angry", "Sad"],
                    "option_texts_ko": ["기쁨", "분노", "슬픔"],
                    "distribution": [0.5, 0.3, 0.2],
                    "distribution_low": [0.45, 0.25, 0.15],
                    "distribution_high": [0.55, 0.35, 0.25],
                    "meta.source": "panel",
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def with_items(dataset):
    source_upload_create(
        dataset=dataset,
        file_name="votes.csv",
        content=csv_bytes(vote_frame()),
        items_name="items.jsonl",
        items_content=jsonl_bytes(items_frame()),
    )
    return dataset


@pytest.fixture
def version(with_items, researcher):
    return version_build(dataset=with_items, user=researcher)


def items_url(dataset, number: int = 1) -> str:
    return f"/benchmarks/datasets/{dataset.id}/versions/{number}/items/"


def shown_items(body: str) -> list[str]:
    import re

    return re.findall(r"<tr><td>(i\d\d)</td>", body)


def test_items_page_shows_texts_questions_and_shares(client, researcher, with_items, version):
    client.force_login(researcher)
    body = client.get(items_url(with_items)).content.decode()
    assert shown_items(body) == [f"i{i:02d}" for i in range(30)]
    assert "<th>Content</th>" in body
    assert '<p class="item-text">Passage number 0 says hello.</p>' in body
    # A long text is clipped, and shown whole in a <details>.
    clipped = LONG[:240].rstrip() + "…"
    assert f'<details class="item-text"><summary>{clipped}</summary>' in body
    assert f"<p>{LONG.strip()}</p></details>" in body
    # Questions in English (the interface language), options with their texts, shares as bars.
    assert '<p class="item-question" lang="en">How do you feel about topic 20?</p>' in body
    assert "<code>joy</code> Joyful" in body
    assert body.count('<span class="bar" style="width: 50.0%">') == 10
    assert "50.0%" in body and "[45.0–55.0]" in body
    assert "source: news" in body and "source: panel" in body
    assert "<audio" not in body


def test_items_page_in_korean_shows_the_korean_wording(client, researcher, with_items, version):
    client.force_login(researcher)
    body = client.get(items_url(with_items), headers={"accept-language": "ko"}).content.decode()
    assert '<p class="item-question" lang="ko">주제 20에 대해 어떻게 느끼십니까?</p>' in body
    assert "<code>joy</code> 기쁨" in body
    assert "How do you feel" not in body
    assert "<th>내용</th>" in body


def test_split_kind_and_text_filters(client, researcher, with_items, version):
    client.force_login(researcher)
    everything = version_items(version=version)
    split = str(everything["split"].iloc[0])
    in_split = everything.loc[everything["split"] == split, "item"].tolist()

    body = client.get(items_url(with_items), {"split": split}).content.decode()
    assert shown_items(body) == in_split

    body = client.get(items_url(with_items), {"kind": "question"}).content.decode()
    assert shown_items(body) == [f"i{i}" for i in range(20, 30)]
    assert "10 items" in body
    body = client.get(items_url(with_items), {"kind": "text", "split": split}).content.decode()
    assert shown_items(body) == [i for i in in_split if int(i[1:]) < 20]

    # The search matches texts (ignoring case), questions and keys.
    body = client.get(items_url(with_items), {"q": "NUMBER 1"}).content.decode()
    assert shown_items(body) == ["i01"] + [f"i{i}" for i in range(10, 20)]
    body = client.get(items_url(with_items), {"q": "topic 2"}).content.decode()
    assert shown_items(body) == [f"i{i}" for i in range(20, 30)]
    body = client.get(items_url(with_items), {"q": "i2"}).content.decode()
    assert shown_items(body) == [f"i{i}" for i in range(20, 30)]
    body = client.get(items_url(with_items), {"q": "weather", "kind": "question"}).content.decode()
    assert shown_items(body) == []
    assert "No item matches." in body
    # An unknown kind is ignored.
    body = client.get(items_url(with_items), {"kind": "video"}).content.decode()
    assert len(shown_items(body)) == 30


def test_pages_keep_the_filters(client, researcher, with_items, version, monkeypatch):
    monkeypatch.setattr("benchmarks.views.ITEMS_PER_PAGE", 4)
    client.force_login(researcher)
    body = client.get(items_url(with_items), {"kind": "question", "page": 2}).content.decode()
    assert shown_items(body) == ["i24", "i25", "i26", "i27"]
    assert "Page 2 of 3" in body
    assert 'href="?kind=question&amp;page=3"' in body
    assert 'href="?kind=question&amp;page=1"' in body
    # Past the end: the last page, as before.
    body = client.get(items_url(with_items), {"kind": "question", "page": 9}).content.decode()
    assert shown_items(body) == ["i28", "i29"]
    assert "Page 3 of 3" in body


def test_only_the_pages_contents_are_read(client, researcher, with_items, version, monkeypatch):
    import benchmarks.views

    asked = []
    real = benchmarks.views.version_contents

    def spy(*, version, items=None):
        asked.append(items)
        return real(version=version, items=items)

    monkeypatch.setattr("benchmarks.views.version_contents", spy)
    monkeypatch.setattr("benchmarks.views.ITEMS_PER_PAGE", 5)
    client.force_login(researcher)
    client.get(items_url(with_items), {"page": 2})
    assert asked == [["i05", "i06", "i07", "i08", "i09"]]


def test_a_version_without_frozen_contents_shows_keys_only(client, researcher, with_items,
                                                           version):  # fmt: skip
    # Versions are immutable through the ORM; this is what the migration left on old ones.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE benchmarks_version SET contents_file = '' WHERE id = %s", [version.pk]
        )
    client.force_login(researcher)
    body = client.get(items_url(with_items), {"kind": "question", "q": "i0"}).content.decode()
    assert shown_items(body) == [f"i0{i}" for i in range(10)]
    assert "only the keys are shown" in body
    assert 'name="kind"' not in body
    assert "<th>Content</th>" not in body


def test_upload_form_with_an_items_file(client, researcher, dataset):
    client.force_login(researcher)
    votes = io.BytesIO(csv_bytes(vote_frame()))
    votes.name = "votes.csv"
    items = io.BytesIO(jsonl_bytes(items_frame()))
    items.name = "items.jsonl"
    response = client.post(
        f"/benchmarks/datasets/{dataset.id}/sources/", {"file": votes, "items": items}
    )
    assert response.status_code == 302
    source = DatasetSource.objects.get()
    assert (source.n_votes, source.n_items) == (90, 30)
    body = client.get(response.url).content.decode()
    assert "votes.csv (90 votes) · 30 items</li>" in body


def test_upload_form_shows_a_bad_items_file_on_its_field_and_stores_nothing(
    client, researcher, dataset, settings
):
    client.force_login(researcher)
    votes = io.BytesIO(csv_bytes(vote_frame()))
    votes.name = "votes.csv"
    items = io.BytesIO(b"item,txt\ni00,hello\n")
    items.name = "items.csv"
    response = post_refused(
        client, f"/benchmarks/datasets/{dataset.id}/sources/", {"file": votes, "items": items}
    )
    form = response.context["form"]
    assert list(form.errors) == ["items"]
    assert form.errors["items"][0].startswith("Unknown column 'txt' in the items file")
    assert "Unknown column &#x27;txt&#x27; in the items file" in response.content.decode()
    assert DatasetSource.objects.count() == 0
    stored = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert stored == []


def test_upload_form_names_missing_items(client, researcher, dataset):
    client.force_login(researcher)
    votes = io.BytesIO(csv_bytes(vote_frame()))
    votes.name = "votes.csv"
    items = io.BytesIO(jsonl_bytes(items_frame().iloc[:28]))
    items.name = "items.jsonl"
    response = post_refused(
        client, f"/benchmarks/datasets/{dataset.id}/sources/", {"file": votes, "items": items}
    )
    assert response.context["form"].errors["items"] == [
        "item: the items file misses 2 item(s) of the vote table ('i28', 'i29')."
    ]
    assert DatasetSource.objects.count() == 0


# --- audio ------------------------------------------------------------------------------------

TONES = tones()


@pytest.fixture
def audio_version(study, researcher):
    """A version of a real annotation project with six audio clips rated by three raters."""
    project = emotion_project(study=study, user=researcher, k=3, scales=[])
    audio_items(project, TONES)
    clips = dataset_create(
        study=study,
        user=researcher,
        name="Clips",
        categories=EMOTIONS,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
    )
    source_annotation_create(dataset=clips, project_id=project.pk, name="Clips")
    return version_build(dataset=clips, user=researcher)


def media_name(data: bytes) -> str:
    return f"{hashlib.sha256(data).hexdigest()}.wav"


def test_audio_items_have_a_player_and_the_owner_gets_the_bytes(client, researcher,
                                                                audio_version):  # fmt: skip
    client.force_login(researcher)
    dataset_id = audio_version.dataset_id
    body = client.get(items_url(audio_version.dataset)).content.decode()
    url = f"/benchmarks/datasets/{dataset_id}/versions/1/media/{media_name(TONES['a0.wav'])}"
    assert f'<audio controls preload="none" src="{url}"></audio>' in body
    assert body.count("<audio controls") == 6
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert b"".join(response.streaming_content) == TONES["a0.wav"]


def test_media_of_a_version_only_for_its_researchers(client, colleague, outsider,
                                                     audio_version):  # fmt: skip
    url = (
        f"/benchmarks/datasets/{audio_version.dataset_id}/versions/1/media/"
        f"{media_name(TONES['a3.wav'])}"
    )
    client.force_login(colleague)
    assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_media_not_in_the_version_is_404(client, researcher, audio_version, with_items,
                                         version):  # fmt: skip
    # A frozen file of storage that is not this version's audio: not served, though it exists.
    other = write_tone_wav(frequency=1000, seconds=0.1)
    default_storage.save(f"benchmarks/media/{media_name(other)}", ContentFile(other))
    client.force_login(researcher)
    base = f"/benchmarks/datasets/{audio_version.dataset_id}/versions/1/media"
    assert client.get(f"{base}/{media_name(other)}").status_code == 404
    assert client.get(f"{base}/..%2F..%2Fsettings.py").status_code == 404
    assert client.get(f"{base}/{'0' * 64}.wav").status_code == 404
    # Another dataset's version (it has no audio) does not serve this dataset's files.
    clip = media_name(TONES["a0.wav"])
    elsewhere = f"/benchmarks/datasets/{with_items.id}/versions/1/media/{clip}"
    assert client.get(elsewhere).status_code == 404
    assert client.get(f"{base}/{clip}%0A").status_code == 404
    assert client.get(f"{base}/{clip}").status_code == 200


def test_items_without_content_show_a_dash(client, researcher, uploaded):
    version_build(dataset=uploaded, user=researcher)
    client.force_login(researcher)
    body = client.get(items_url(uploaded)).content.decode()
    assert len(shown_items(body)) == 30
    assert body.count('<td class="item-content"><span class="muted">—</span></td>') == 30
