"""The leaderboard and a run's page read the same however many runs and endpoints there are;
the leaderboard reads each table once."""

from __future__ import annotations

import pytest

from evaluation.services import reference_set, run_upload
from evaluation.services.endpoints import endpoint_create
from tests.evaluation.test_pages_api import answers

pytestmark = pytest.mark.django_db


def _run(version, researcher, name: str, wrong: int):
    return run_upload(
        dataset=version.dataset,
        version=version,
        user=researcher,
        name=name,
        raw=answers(version, wrong).encode(),
        file_name="p.csv",
    )


def _grow(version, researcher):
    def grow():
        for i in range(4):
            _run(version, researcher, f"model-{i}", 2 + i)
            endpoint_create(
                study=version.dataset.study, user=researcher, name=f"endpoint-{i}",
                url="http://127.0.0.1:9/v1", model=f"m{i}", api_key="secret",
            )  # fmt: skip

    return grow


def test_leaderboard(client, researcher, version, flat_page):
    _run(version, researcher, "first", 3)
    reference_set(dataset=version.dataset, metric="macro_f1", value=0.5)
    client.force_login(researcher)
    flat_page(client, f"/evaluation/datasets/{version.dataset_id}/", _grow(version, researcher),
              pinned=9, read_once=True)  # fmt: skip


def test_run_page(client, researcher, version, flat_page):
    run = _run(version, researcher, "first", 3)
    client.force_login(researcher)
    flat_page(client, f"/evaluation/runs/{run.pk}/", _grow(version, researcher), pinned=7)
