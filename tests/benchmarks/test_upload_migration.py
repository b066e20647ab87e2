"""The migration that freezes uploaded votes as Parquet keeps every vote and its metadata."""

from __future__ import annotations

import pandas as pd
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("benchmarks", "0002_version_contents_and_upload_items")]
AFTER = [("benchmarks", "0003_upload_votes_frozen_as_parquet")]


def test_rows_of_an_earlier_upload_become_its_frozen_vote_table(media_root, researcher, study):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    dataset = old.get_model("benchmarks", "Dataset").objects.create(
        study_id=study.pk, name="old upload", categories=["a", "b"], created_by_id=researcher.pk
    )
    source = old.get_model("benchmarks", "DatasetSource").objects.create(
        dataset=dataset, kind="upload", name="votes.csv", columns=["country"], n_votes=3
    )
    vote = old.get_model("benchmarks", "UploadedVote")
    vote.objects.create(source=source, item="i1", voter="v1", label="a", meta={"country": "KR"})
    vote.objects.create(source=source, item="i1", voter="v2", label="b", weight=0.5, meta={})
    vote.objects.create(
        source=source, item="i2", voter="v1", label="a", role="secondary", meta={"country": "DE"}
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    from benchmarks.models import DatasetSource
    from benchmarks.selectors import upload_vote_table

    frozen = upload_vote_table(source=DatasetSource.objects.get(pk=source.pk))
    assert frozen.astype(object).where(frozen.notna(), None).to_dict("records") == [
        {
            "item": "i1",
            "voter": "v1",
            "label": "a",
            "weight": 1.0,
            "role": "primary",
            "country": "KR",
        },
        {
            "item": "i1",
            "voter": "v2",
            "label": "b",
            "weight": 0.5,
            "role": "primary",
            "country": None,
        },
        {
            "item": "i2",
            "voter": "v1",
            "label": "a",
            "weight": 1.0,
            "role": "secondary",
            "country": "DE",
        },
    ]
    assert isinstance(frozen, pd.DataFrame)
