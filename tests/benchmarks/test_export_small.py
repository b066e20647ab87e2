"""An export with an empty split loads with ``datasets``: the empty split is left out."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from benchmarks.services import dataset_create, source_upload_create, version_build, version_export
from tests.benchmarks.factories import csv_bytes

pytestmark = pytest.mark.django_db


def test_an_empty_split_loads_as_an_empty_split(study, researcher, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    dataset = dataset_create(study=study, user=researcher, name="Tiny", categories=["a", "b"])
    votes = pd.DataFrame(
        {"item": ["x", "x", "y"], "voter": ["p", "q", "p"], "label": ["a", "a", "b"]}
    )
    source_upload_create(dataset=dataset, file_name="t.csv", content=csv_bytes(votes))
    version = version_build(dataset=dataset, user=researcher)
    sizes = {s["split"]: s["items"] for s in version.stats["splits"]}
    assert sum(sizes.values()) == 2
    assert 0 in sizes.values()
    _, content = version_export(version=version)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        zf.extractall(tmp_path / "tiny")
    loaded = datasets.load_dataset(str(tmp_path / "tiny"), cache_dir=str(tmp_path / "cache"))
    assert {k: v.num_rows for k, v in loaded.items()} == {k: n for k, n in sizes.items() if n}
