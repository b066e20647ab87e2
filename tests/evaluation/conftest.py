from __future__ import annotations

import pytest

from benchmarks.services import dataset_create, source_upload_create, version_build
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings.MEDIA_ROOT


@pytest.fixture
def version(study, researcher):
    """30 items i00..i29 rated by 3 of 6 voters (joy / anger / sadness), one version."""
    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Emotions",
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
        split_group="speaker",
    )
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame()))
    return version_build(dataset=dataset, user=researcher)
