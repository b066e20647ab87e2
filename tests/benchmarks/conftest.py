from __future__ import annotations

import pytest

from benchmarks.services import dataset_create, source_upload_create
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def dataset(study, researcher):
    return dataset_create(
        study=study,
        user=researcher,
        name="Emotions",
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 50},
        split_group="speaker",
    )


@pytest.fixture
def uploaded(dataset):
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame()))
    return dataset
