"""The annotation source: what benchmarks read through ``sources.registry`` (votes and items),
and the agreement statistic the app lends to dataset cards.

Agreement values: Krippendorff, K. (2011), "Computing Krippendorff's Alpha-Reliability"
(4 observers x 12 units, nominal alpha = 0.743), as in ``test_agreement.py``.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from annotation import agreement, selectors
from annotation.media import write_tone_wav
from annotation.models import Item
from annotation.services import (
    annotation_submit,
    assignment_next,
    expert_sample_draw,
    items_import,
)
from annotation.sources import AnnotationSource, dataset_agreement
from sources import pseudonyms, registry, schema
from sources.registry import SourceRef, SourceUnavailable
from tests.annotation.factories import emotion_project, raters, text_items
from tests.annotation.test_agreement import K2011

pytestmark = pytest.mark.django_db

TONE = write_tone_wav(frequency=440.0, seconds=1.0)


def import_items(project, rows, media: dict[str, bytes] | None = None) -> None:
    archive = None
    if media:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in media.items():
                zf.writestr(name, data)
        archive = buf.getvalue()
    data = "\n".join(json.dumps(r) for r in rows).encode()
    report = items_import(project=project, data=data, filename="items.jsonl", media_zip=archive)
    assert report.ok, report.rows


@pytest.fixture
def project(study, researcher):
    """Two text items, an audio clip and a gold item; two raters rate the three non-gold."""
    project = emotion_project(study=study, user=researcher, k=2)
    import_items(
        project,
        [
            {"external_id": "t00", "text": "Passage 0",
             "metadata": {"speaker": "spk0", "year": 2020}},
            {"external_id": "t01", "text": "Passage 1",
             "metadata": {"speaker": "spk1", "year": 2021}},
            {"external_id": "clip", "media": "tone.wav",
             "metadata": {"speaker": "spk0", "year": 2021}},
            {"external_id": "g00", "text": "Gold passage", "gold_label": "joy",
             "metadata": {"year": 2020}},
        ],
        media={"tone.wav": TONE},
    )  # fmt: skip
    first, second = raters(project, 2)
    joy_and_fear = [
        {"category": "joy", "role": "primary"},
        {"category": "fear", "role": "secondary"},
    ]
    for user, labels in (
        (first, joy_and_fear),
        (second, [{"category": "anger", "role": "primary"}]),
    ):
        for _ in range(3):
            lease = assignment_next(project=project, user=user)
            annotation_submit(project=project, user=user, item_id=lease.item_id, labels=labels)
    return project


def ref(project, study_id=None, **options):
    return SourceRef(
        kind="annotation",
        study_id=project.study_id if study_id is None else study_id,
        object_id=project.pk,
        options=options,
    )


def test_the_registry_serves_the_provider_and_the_agreement_measure():
    provider = registry.get("annotation")
    assert isinstance(provider, AnnotationSource)
    assert provider.kind == "annotation"
    assert registry.measure("agreement") is dataset_agreement


def test_choices_are_the_studys_projects_and_check_refuses_others(study, researcher, outsider):
    from accounts.services import study_create

    first = emotion_project(study=study, user=researcher, name="First")
    second = emotion_project(study=study, user=researcher, name="Second")
    elsewhere = study_create(user=outsider, name="Elsewhere")
    foreign = emotion_project(study=elsewhere, user=outsider, name="Foreign")
    provider = registry.get("annotation")
    assert provider.choices(study_id=study.pk) == [(first.pk, "First"), (second.pk, "Second")]
    provider.check(ref=ref(first))
    for bad in (ref(foreign, study_id=study.pk), ref(first, study_id=elsewhere.pk)):
        with pytest.raises(SourceUnavailable) as info:
            provider.check(ref=bad)
        assert str(info.value) == "No such annotation project in this study."
    with pytest.raises(SourceUnavailable, match=r"^No such annotation project in this study\.$"):
        provider.item_table(ref=ref(foreign, study_id=study.pk))


def test_vote_table_columns_and_filters(project):
    provider = registry.get("annotation")
    votes = provider.vote_table(ref=ref(project))
    assert list(votes.columns) == [
        "item", "voter", "label", "weight", "role", "group", "created", "speaker", "year",
    ]  # fmt: skip
    assert all(votes[c].dtype == schema.TEXT for c in votes.columns if c != "weight")
    rows = sorted(votes[["item", "label", "role", "speaker", "year"]].itertuples(index=False))
    assert [tuple(r) for r in rows] == [
        ("clip", "anger", "primary", "spk0", "2021"),
        ("clip", "fear", "secondary", "spk0", "2021"),
        ("clip", "joy", "primary", "spk0", "2021"),
        ("t00", "anger", "primary", "spk0", "2020"),
        ("t00", "fear", "secondary", "spk0", "2020"),
        ("t00", "joy", "primary", "spk0", "2020"),
        ("t01", "anger", "primary", "spk1", "2021"),
        ("t01", "fear", "secondary", "spk1", "2021"),
        ("t01", "joy", "primary", "spk1", "2021"),
    ]
    assert set(votes["weight"]) == {1.0}

    by_speaker = provider.vote_table(ref=ref(project, item_filter={"speaker": "spk0"}))
    assert sorted(set(by_speaker["item"])) == ["clip", "t00"]
    by_year = provider.vote_table(ref=ref(project, item_filter={"year": [2021, "2020"]}))
    assert len(by_year) == 9
    both = provider.vote_table(
        ref=ref(project, item_filter={"speaker": ["spk0", "spk1"], "year": 2021})
    )
    assert sorted(set(both["item"])) == ["clip", "t01"]
    primary = provider.vote_table(ref=ref(project, roles=["primary"]))
    assert (len(primary), set(primary["role"])) == (6, {"primary"})
    secondary = provider.vote_table(ref=ref(project, roles=["secondary"], item_filter={}))
    assert sorted(secondary["label"]) == ["fear", "fear", "fear"]
    with pytest.raises(SourceUnavailable) as info:
        provider.vote_table(ref=ref(project, item_filter={"accent": "north"}))
    assert str(info.value) == "filter: the vote table has no column 'accent'"


def test_item_table_has_text_audio_gold_and_metadata(project):
    provider = registry.get("annotation")
    items = provider.item_table(ref=ref(project))
    clip = Item.objects.get(project=project, external_id="clip")
    assert clip.media.name.startswith("annotation/media/")
    assert list(items.columns) == [
        "item", "kind", "text", "audio", "audio_type", "duration", "gold", "speaker", "year",
    ]  # fmt: skip
    assert list(items["item"]) == ["t00", "t01", "clip", "g00"]
    assert list(items["kind"]) == ["text", "text", "audio", "text"]
    assert items["text"].tolist() == ["Passage 0", "Passage 1", pd.NA, "Gold passage"]
    assert items["audio"].tolist() == [pd.NA, pd.NA, clip.media.name, pd.NA]
    assert items["audio_type"].tolist() == [pd.NA, pd.NA, "audio/wav", pd.NA]
    assert items["duration"].tolist()[2] == 1.0
    assert items["duration"].isna().tolist() == [True, True, False, True]
    assert items["gold"].tolist() == [pd.NA, pd.NA, pd.NA, "joy"]
    assert items["speaker"].tolist() == ["spk0", "spk1", "spk0", pd.NA]
    assert items["year"].tolist() == ["2020", "2021", "2021", "2020"]
    assert all(items[c].dtype == schema.TEXT for c in ("speaker", "year"))

    spk0 = provider.item_table(ref=ref(project, item_filter={"speaker": "spk0"}))
    assert list(spk0["item"]) == ["t00", "clip"]
    y2020 = provider.item_table(ref=ref(project, item_filter={"year": [2020]}))
    assert list(y2020["item"]) == ["t00", "g00"]
    # A rater's column narrows votes, not items.
    assert len(provider.item_table(ref=ref(project, item_filter={"group": "annotator"}))) == 4
    with pytest.raises(SourceUnavailable, match="no column 'accent'"):
        provider.item_table(ref=ref(project, item_filter={"accent": "north"}))
    # Every voted item is described.
    assert set(provider.vote_table(ref=ref(project))["item"]) <= set(items["item"])


def test_item_table_reads_the_items_in_two_queries(project, django_assert_num_queries):
    provider = registry.get("annotation")
    # The project, the items, the categories.
    with django_assert_num_queries(3):
        provider.item_table(ref=ref(project))


def test_open_media_serves_only_this_projects_files(project, study, researcher):
    provider = registry.get("annotation")
    clip = Item.objects.get(project=project, external_id="clip")
    with provider.open_media(ref=ref(project), name=clip.media.name) as fh:
        assert fh.read() == TONE
    other = emotion_project(study=study, user=researcher, name="Other")
    import_items(
        other,
        [{"external_id": "beep", "media": "beep.wav"}],
        media={"beep.wav": write_tone_wav(frequency=880.0)},
    )
    foreign = Item.objects.get(project=other).media.name
    with provider.open_media(ref=ref(other), name=foreign) as fh:
        assert fh.read()[:4] == b"RIFF"
    for name in (foreign, "", "annotation/media/none.wav", "../settings.py"):
        with pytest.raises(SourceUnavailable, match="is not a media file of this project"):
            provider.open_media(ref=ref(project), name=name)


def test_describe_gives_raters_mode_items_and_expert_sample(project, study, researcher):
    provider = registry.get("annotation")
    assert provider.describe(ref=ref(project)) == {
        "kind": "annotation",
        "name": "Speech emotions",
        "design": (
            "Annotation project: 2 raters per item, a primary label and optional secondary "
            "labels per rating; 4 items (1 gold item among them, to check the raters)."
        ),
    }
    experts = emotion_project(
        study=study,
        user=researcher,
        name="With experts",
        mode="single",
        k=1,
        expert_raters_per_item=2,
        expert_sample_rate=0.5,
    )
    text_items(experts, 6)
    assert expert_sample_draw(project=experts, seed=0) == 3
    assert provider.describe(ref=ref(experts))["design"] == (
        "Annotation project: 1 rater per item, one label per rating (single-label); 6 items. "
        "Experts rate a sample of 3 items drawn at 50% of each stratum (2 experts per item)."
    )


def test_agreement_measure_reproduces_the_published_alpha():
    """Krippendorff (2011): nominal alpha 0.743; labels are codes into the categories."""
    rows = [
        {"item": u, "voter": i, "label": int(v) - 1}
        for i, row in enumerate(K2011)
        for u, v in enumerate(row)
        if not np.isnan(v)
    ]
    votes = pd.DataFrame(rows)
    categories = ["a", "b", "c", "d", "e"]
    result = dataset_agreement(votes, boot=0, seed=0, categories=categories)
    assert result["measure"] == "krippendorff_alpha"
    assert round(result["alpha"], 3) == 0.743
    assert result["n_items"] == 11  # unit 12 has a single value
    booted = dataset_agreement(votes, boot=50, seed=7, categories=categories)
    again = dataset_agreement(votes, boot=50, seed=7, categories=categories)
    assert booted == again
    assert booted["ci_low"] <= booted["alpha"] <= booted["ci_high"]
    # No pairable value: alpha is undefined; no vote at all: the card says why.
    single = dataset_agreement(votes.iloc[:1], boot=0, seed=0, categories=categories)
    assert (np.isnan(single["alpha"]), single["n_items"]) == (True, 0)
    assert dataset_agreement(votes.iloc[:0], boot=0, seed=0, categories=categories) == {
        "error": "votes: the vote table is empty (no rating to measure agreement on)"
    }


def test_agreement_measure_is_per_label_for_multi_label_votes():
    votes = pd.DataFrame(
        {
            "item": [0, 0, 0, 1, 1, 2, 2, 2],
            "voter": [0, 0, 1, 0, 1, 0, 1, 1],
            "label": [0, 1, 0, 2, 2, 1, 1, 0],
            "role": ["primary"] * 8,
        }
    )
    result = dataset_agreement(votes, boot=0, seed=0, categories=["x", "y", "z"])
    table = agreement.per_label_alpha(votes).sort_values("label")
    assert result["measure"] == "per_label_alpha"
    assert result["n_items"] == int(table["n_items"].iloc[0])
    assert [e["label"] for e in result["per_label"]] == ["x", "y", "z"]
    for entry, row in zip(result["per_label"], table.itertuples(), strict=True):
        expected = None if pd.isna(row.alpha) else round(float(row.alpha), 6)
        assert entry["alpha"] == expected
        assert entry["prevalence"] == round(float(row.prevalence), 6)


def test_voter_keys_are_32_hex_and_survive_a_new_secret_key(settings, project):
    settings.PSEUDONYM_KEY = "pseudonyms-for-tests"
    key = selectors.voter_key(42)
    assert key == pseudonyms.voter_key("annotation-rater", 42)
    assert len(key) == 32 and set(key) <= set("0123456789abcdef")
    votes = registry.get("annotation").vote_table(ref=ref(project))
    settings.SECRET_KEY = "a-rotated-secret-key-that-signs-sessions-0123456789"
    assert selectors.voter_key(42) == key
    again = registry.get("annotation").vote_table(ref=ref(project))
    assert sorted(again["voter"]) == sorted(votes["voter"])
    assert all(len(v) == 32 for v in votes["voter"])
    settings.PSEUDONYM_KEY = "another-pseudonym-key"
    assert selectors.voter_key(42) != key
