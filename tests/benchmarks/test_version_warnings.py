"""Warnings on a version's page: a split that came out empty, and a build identical to the
version before it."""

from __future__ import annotations

import pytest

from benchmarks.selectors import version_warnings
from benchmarks.services import dataset_create, source_upload_create, version_build
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame

pytestmark = pytest.mark.django_db


def _dataset(study, researcher, n_items):
    dataset = dataset_create(
        study=study,
        user=researcher,
        name=f"Small {n_items}",
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 20},
    )
    source_upload_create(
        dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame(n_items=n_items))
    )
    return dataset


def test_a_six_item_dataset_warns_of_its_empty_test_split(client, study, researcher):
    dataset = _dataset(study, researcher, 6)
    version = version_build(dataset=dataset, user=researcher)
    sizes = {row["split"]: row["items"] for row in version.stats["splits"]}
    assert sum(sizes.values()) == 6
    empty = [name for name in dataset.split_fractions if not sizes.get(name)]
    assert empty  # with the default fractions 6 items leave a split empty
    warnings = version_warnings(version=version)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"Split {', '.join(empty)} has no item (")
    client.force_login(researcher)
    page = client.get(f"/benchmarks/datasets/{dataset.pk}/versions/1/").content.decode()
    assert 'id="version-warnings"' in page
    assert "too few items for these fractions" in page


def test_a_rebuild_with_nothing_changed_is_flagged(client, study, researcher):
    dataset = _dataset(study, researcher, 40)
    first = version_build(dataset=dataset, user=researcher)
    assert version_warnings(version=first) == []
    second = version_build(dataset=dataset, user=researcher)
    assert second.sha256 == first.sha256
    assert version_warnings(version=second) == [
        "This version is identical to v1 (same content hash): nothing changed since that build."
    ]
    client.force_login(researcher)
    first_page = client.get(f"/benchmarks/datasets/{dataset.pk}/versions/1/").content.decode()
    assert 'id="version-warnings"' not in first_page
    # A change (a new seed for the splits) makes the next build differ.
    dataset.split_seed = 99
    dataset.save(update_fields=["split_seed"])
    third = version_build(dataset=dataset, user=researcher)
    assert third.sha256 != second.sha256
    assert version_warnings(version=third) == []
