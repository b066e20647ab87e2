"""Dataset pages read the same however many datasets, sources, versions, exports and items
there are; the dataset and version pages read each table once."""

from __future__ import annotations

import pytest

from benchmarks.services import (
    dataset_create,
    source_upload_create,
    version_build,
    version_build_start,
    version_export_start,
)
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame

pytestmark = pytest.mark.django_db


def _dataset(study, researcher, name: str, *, n_items: int = 30, versions: int = 1):
    dataset = dataset_create(
        study=study,
        user=researcher,
        name=name,
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
        split_group="speaker",
    )
    source_upload_create(
        dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame(n_items=n_items))
    )
    for _ in range(versions):
        version_build(dataset=dataset, user=researcher)
    return dataset


def test_dataset_list(client, researcher, study, flat_page):
    _dataset(study, researcher, "First")
    client.force_login(researcher)

    def grow():
        for i in range(3):
            _dataset(study, researcher, f"More {i}", versions=2)

    flat_page(client, f"/benchmarks/studies/{study.id}/datasets/", grow, pinned=6,
              read_once=True)  # fmt: skip


def test_dataset_page(client, researcher, study, flat_page, django_capture_on_commit_callbacks):
    dataset = _dataset(study, researcher, "Emotions")
    client.force_login(researcher)

    def grow():
        for i in range(3):
            source_upload_create(
                dataset=dataset, file_name=f"more{i}.csv", content=csv_bytes(vote_frame(seed=i))
            )
            with django_capture_on_commit_callbacks(execute=True):
                version_build_start(dataset=dataset, user=researcher)

    flat_page(client, f"/benchmarks/datasets/{dataset.id}/", grow, pinned=11, read_once=True)


def test_version_page(client, researcher, study, flat_page, django_capture_on_commit_callbacks):
    dataset = _dataset(study, researcher, "Emotions", versions=2)
    client.force_login(researcher)

    def grow():
        for _ in range(3):
            version_build(dataset=dataset, user=researcher)
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(3):
                version_export_start(version=dataset.versions.get(number=2), user=researcher)

    allowed = {
        "benchmarks_version": "the access check fetches the version asked for; the page lists "
        "the dataset's versions (to compare with, and the one before for the warnings)",
    }
    flat_page(client, f"/benchmarks/datasets/{dataset.id}/versions/2/", grow, pinned=9,
              read_once=allowed)  # fmt: skip


def test_version_items_page(client, researcher, study, flat_page):
    small = _dataset(study, researcher, "Small", n_items=5)
    client.force_login(researcher)

    def grow():
        large = _dataset(study, researcher, "Large", n_items=80)
        return f"/benchmarks/datasets/{large.id}/versions/1/items/"

    flat_page(client, f"/benchmarks/datasets/{small.id}/versions/1/items/", grow, pinned=7)
