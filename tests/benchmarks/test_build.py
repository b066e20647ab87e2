"""Building versions: frozen tables, same data -> same SHA-256, immutability, bad input."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from benchmarks.models import DatasetSource, Version
from benchmarks.selectors import version_items, version_votes
from benchmarks.services import (
    BuildError,
    dataset_create,
    source_upload_create,
    version_build,
    version_diff,
    version_export,
)
from sources import pseudonyms
from tests.benchmarks.factories import (
    CATEGORIES,
    csv_bytes,
    jsonl_bytes,
    parquet_bytes,
    vote_frame,
)

pytestmark = pytest.mark.django_db


def stored_files(media_root) -> list[str]:
    if not media_root.exists():
        return []
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def test_build_freezes_votes_rules_and_splits(uploaded, researcher):
    version = version_build(dataset=uploaded, user=researcher)
    assert (version.number, version.built_by, version.rules) == (
        1,
        researcher,
        ["majority", "plurality", "all_inclusive", "soft", "dawid_skene"],
    )
    assert version.categories == CATEGORIES
    assert len(version.sha256) == 64
    assert version.code_version
    stats = version.stats
    assert (stats["n_votes"], stats["n_items"], stats["n_voters"]) == (90, 30, 6)
    assert stats["votes_per_item"] == {"3": 30}
    assert [s["rule"] for s in stats["summary"]] == version.rules
    assert sum(s["items"] for s in stats["splits"]) == 30

    items = version_items(version=version)
    assert list(items["item"]) == [f"i{i:02d}" for i in range(30)]
    assert list(items.columns[:3]) == ["item", "speaker", "split"]
    # A speaker never straddles two splits.
    assert (items.groupby("speaker")["split"].nunique() == 1).all()

    votes = version_votes(version=version).to_pandas()
    assert list(votes.columns) == ["item", "voter", "label", "weight", "role", "split", "speaker"]
    assert len(votes) == 90
    # Voters are pseudonymised in the upload namespace, then with the dataset's key (the
    # scheme of sources.pseudonyms); no original key survives.
    raw = vote_frame()
    source_keys = pseudonyms.voter_keys("upload", sorted(raw["voter"].unique()))
    expected = set(pseudonyms.dataset_keys(source_keys, secret=bytes(uploaded.pseudonym_key)))
    assert set(votes["voter"]) == expected
    assert not set(votes["voter"]) & set(raw["voter"])
    assert votes["voter"].str.len().eq(32).all()
    # The split of each vote is its item's split.
    merged = votes.merge(items[["item", "split"]], on="item", suffixes=("", "_item"))
    assert (merged["split"] == merged["split_item"]).all()


def test_rebuilding_the_same_data_gives_the_same_sha_and_export_bytes(uploaded, researcher):
    first = version_build(dataset=uploaded, user=researcher)
    second = version_build(dataset=uploaded, user=researcher)
    assert (first.number, second.number) == (1, 2)
    assert first.sha256 == second.sha256
    with first.votes_file.open("rb") as a, second.votes_file.open("rb") as b:
        assert a.read() == b.read()
    name1, zip1 = version_export(version=first)
    name2, zip2 = version_export(version=second)
    assert (name1, name2) == ("emotions-v1.zip", "emotions-v2.zip")
    assert zip1 == zip2
    assert version_export(version=first)[1] == zip1
    with zipfile.ZipFile(io.BytesIO(zip1)) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    diff = version_diff(old=first, new=second)
    assert diff["same_content"] is True
    assert (diff["added"]["count"], diff["removed"]["count"], diff["common"]) == (0, 0, 30)
    assert {rule: c["count"] for rule, c in diff["changed"].items()} == dict.fromkeys(
        first.rules, 0
    )


def test_the_three_upload_formats_give_the_same_content(study, researcher):
    shas = []
    for i, (name, encode) in enumerate(
        [("v.csv", csv_bytes), ("v.jsonl", jsonl_bytes), ("v.parquet", parquet_bytes)]
    ):
        dataset = dataset_create(study=study, user=researcher, name=f"D{i}", categories=CATEGORIES)
        dataset.pseudonym_key = b"k" * 32
        dataset.save()
        source_upload_create(dataset=dataset, file_name=name, content=encode(vote_frame()))
        shas.append(version_build(dataset=dataset, user=researcher).sha256)
    assert shas[0] == shas[1] == shas[2]


def test_diff_names_added_items_and_changed_labels(uploaded, researcher):
    old = version_build(dataset=uploaded, user=researcher)
    extra = pd.DataFrame(
        {
            "item": ["i00", "i00", "i00", "new1"],
            "voter": ["x1", "x2", "x3", "x1"],
            "label": ["sadness", "sadness", "sadness", "joy"],
            "speaker": ["s0", "s0", "s0", "s9"],
        }
    )
    source_upload_create(dataset=uploaded, file_name="more.csv", content=csv_bytes(extra))
    new = version_build(dataset=uploaded, user=researcher)
    diff = version_diff(old=old, new=new)
    assert diff["added"] == {"count": 1, "items": ["new1"]}
    assert diff["removed"] == {"count": 0, "items": []}
    assert diff["same_content"] is False
    old_label = version_items(version=old).set_index("item").at["i00", "majority.label"]
    assert old_label == "joy"
    assert diff["changed"]["majority"]["count"] == 1
    assert diff["changed"]["majority"]["examples"] == [
        {"item": "i00", "old": "joy", "new": "sadness"}
    ]


def test_versions_are_immutable(uploaded, researcher):
    version = version_build(dataset=uploaded, user=researcher)
    version.sha256 = "0" * 64
    with pytest.raises(TypeError, match="immutable"):
        version.save()
    with pytest.raises(TypeError, match="immutable"):
        Version.objects.filter(pk=version.pk).update(sha256="0" * 64)
    version.refresh_from_db()
    assert version.sha256 != "0" * 64


BAD_UPLOADS = [
    (
        pd.DataFrame({"item": ["a"], "voter": ["v"], "label": ["fear"]}),
        "label: 'fear' is not one of the categories ['joy', 'anger', 'sadness'] (1 row(s))",
    ),
    (
        pd.DataFrame({"item": ["a"], "voter": ["v"], "label": ["joy"], "weight": [-1.5]}),
        "weight: negative weight -1.5 (1 row(s)); weights must be >= 0",
    ),
    (
        pd.DataFrame({"item": ["a"], "label": ["joy"]}),
        "votes: missing column(s) 'voter'",
    ),
    (
        pd.DataFrame({"item": [], "voter": [], "label": []}),
        "votes: the vote table is empty",
    ),
]


@pytest.mark.parametrize(("frame", "message"), BAD_UPLOADS)
def test_bad_upload_is_named_and_nothing_is_written(dataset, media_root, frame, message):
    with pytest.raises(ValidationError) as info:
        source_upload_create(dataset=dataset, file_name="bad.csv", content=csv_bytes(frame))
    assert info.value.message_dict == {"upload": [message]}
    assert DatasetSource.objects.count() == 0
    assert stored_files(media_root) == []


def test_unknown_upload_format_is_refused(dataset):
    with pytest.raises(ValidationError) as info:
        source_upload_create(dataset=dataset, file_name="votes.xlsx", content=b"x")
    assert info.value.message_dict == {"upload": ["Upload a .csv, .jsonl or .parquet vote table."]}


def test_build_with_bad_votes_writes_nothing(uploaded, researcher, media_root):
    before = stored_files(media_root)
    # The categories changed after the upload: the stored votes now hold an unknown label.
    uploaded.categories = ["joy", "anger"]
    uploaded.save()
    with pytest.raises(BuildError, match=r"label: 'sadness' is not one of the categories"):
        version_build(dataset=uploaded, user=researcher)
    assert Version.objects.count() == 0
    assert stored_files(media_root) == before


def test_build_without_sources_or_with_a_bad_group_is_refused(dataset, researcher, media_root):
    with pytest.raises(BuildError, match="sources: the dataset has no sources"):
        version_build(dataset=dataset, user=researcher)
    source_upload_create(dataset=dataset, file_name="v.csv", content=csv_bytes(vote_frame()))
    dataset.split_group = "country"
    dataset.save()
    with pytest.raises(BuildError, match="split_group: 'country' is not a column"):
        version_build(dataset=dataset, user=researcher)
    assert Version.objects.count() == 0
    assert not (media_root / "benchmarks" / "versions").exists()


def test_dataset_settings_are_checked(study, researcher):
    with pytest.raises(ValidationError) as info:
        dataset_create(
            study=study,
            user=researcher,
            name="Bad",
            categories=["a", "a"],
            rules=["majority", "vote"],
            split_fractions={"train": 0.5, "test": 0.2},
            split_stratify="dawid_skene",
        )
    assert info.value.message_dict == {
        "categories": ["Categories must be distinct."],
        "rules": ["Unknown rule 'vote'; choose from ['majority', 'plurality', 'all_inclusive', "
                  "'soft', 'dawid_skene']."],
        "split_fractions": ["Give split fractions (>= 0) that sum to 1."],
        "split_stratify": ["The rule 'dawid_skene' is not among the rules."],
    }  # fmt: skip


def test_multi_label_votes_get_per_label_agreement_in_the_card(study, researcher):
    """Each label as a present/absent variable; expected alphas worked out by hand from
    Krippendorff's binary nominal alpha, alpha = 1 - (n - 1) * sum_u 2 x_u (m_u - x_u) / (m_u - 1)
    / (2 x (n - x)), with n = 8 pairable values (4 items x 2 raters)."""
    a, b, c = CATEGORIES[:3]
    rows = [
        ("i1", "r1", a), ("i1", "r1", b), ("i1", "r2", a),
        ("i2", "r1", b), ("i2", "r2", b), ("i2", "r2", c),
        ("i3", "r1", a), ("i3", "r2", a),
        ("i4", "r1", c), ("i4", "r2", b),
    ]  # fmt: skip
    votes = pd.DataFrame(rows, columns=["item", "voter", "label"])
    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Targets",
        categories=CATEGORIES,
        rules=["all_inclusive", "soft"],
        parameters={"seed": 1},
        split_stratify="all_inclusive",
    )
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(votes))
    version = version_build(dataset=dataset, user=researcher)

    agreement = version.stats["agreement"]
    assert agreement["measure"] == "per_label_alpha"
    assert agreement["n_items"] == 4
    by_label = {e["label"]: (e["alpha"], e["prevalence"]) for e in agreement["per_label"]}
    assert by_label[a] == (1.0, 0.5)  # both raters agree on A everywhere
    assert by_label[b] == (0.125, 0.5)  # 1 - 7 * 4 / (2 * 4 * 4)
    assert by_label[c] == (round(1 - 28 / 24, 6), 0.25)  # 1 - 7 * 4 / (2 * 2 * 6)

    _, content = version_export(version=version)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        card = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("README.md"))
    assert f"| {b} | 0.125 | 0.500 |" in card
