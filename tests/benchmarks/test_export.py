"""Exports: every format, the Hugging Face layout (loaded with ``datasets``), Croissant."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pandas as pd
import pytest
import yaml

from benchmarks.selectors import version_items, version_votes
from benchmarks.services import version_build, version_export

pytestmark = pytest.mark.django_db

EXPECTED_FILES = {
    "README.md", "croissant.json", "items.csv", "items.jsonl", "items.parquet",
    "votes.csv", "votes.jsonl", "votes.parquet", "data/train.parquet", "data/dev.parquet",
    "data/test.parquet", "matrices/cooccurrence_within.csv",
    "matrices/cooccurrence_across.csv", "matrices/penalty.csv",
}  # fmt: skip


@pytest.fixture
def exported(uploaded, researcher, tmp_path):
    version = version_build(dataset=uploaded, user=researcher)
    name, content = version_export(version=version)
    folder = tmp_path / "export"
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        names = zf.namelist()
        zf.extractall(folder)
    return version, name, names, folder


def card_header(folder) -> dict:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_export_zip_is_loadable_by_hugging_face_datasets(exported, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    version, name, names, folder = exported
    assert name == "emotions-v1.zip"
    assert names == sorted(names)
    assert set(names) == EXPECTED_FILES

    loaded = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))
    card = card_header(folder)
    promised_splits = {s["name"]: s["num_examples"] for s in card["dataset_info"]["splits"]}
    assert {k: v.num_rows for k, v in loaded.items()} == promised_splits
    assert promised_splits == {s["split"]: s["items"] for s in version.stats["splits"]}
    promised = datasets.Features._from_yaml_list(card["dataset_info"]["features"])
    for split in loaded.values():
        assert split.features == promised
    assert list(promised) == [
        "item", "kind", "speaker", "n_votes", "entropy", "majority", "plurality", "all_inclusive",
        "all_inclusive_p", "soft", "dawid_skene", "dawid_skene_p", "votes",
    ]  # fmt: skip

    items = version_items(version=version).set_index("item")
    row = loaded["train"][0]
    assert len(row["votes"]) == row["n_votes"] == 3
    assert row["majority"] == items.at[row["item"], "majority.label"]
    assert row["soft"] == pytest.approx(
        [items.at[row["item"], f"soft.p.{c}"] for c in version.categories]
    )
    assert sum(row["soft"]) == pytest.approx(1.0)


def test_every_format_holds_the_same_tables(exported):
    version, _, _, folder = exported
    votes = version_votes(version=version).to_pandas()
    items = version_items(version=version)
    csv_votes = pd.read_csv(folder / "votes.csv", dtype={"item": str})
    jsonl_votes = pd.read_json(folder / "votes.jsonl", lines=True, dtype={"item": str})
    parquet_votes = pd.read_parquet(folder / "votes.parquet")
    for frame in (csv_votes, jsonl_votes, parquet_votes):
        assert list(frame.columns) == list(votes.columns)
        assert frame["voter"].tolist() == votes["voter"].tolist()
        assert frame["label"].tolist() == votes["label"].tolist()
    jsonl_items = pd.read_json(folder / "items.jsonl", lines=True)
    assert len(jsonl_items) == len(items) == 30
    assert jsonl_items["soft.p.joy"].tolist() == pytest.approx(items["soft.p.joy"].tolist())
    penalty = pd.read_csv(folder / "matrices/penalty.csv", index_col="category")
    assert list(penalty.index) == list(penalty.columns) == version.categories
    assert (penalty.to_numpy().diagonal() == 0).all()


def test_card_methodology_and_croissant(exported):
    version, _, names, folder = exported
    text = (folder / "README.md").read_text()
    for heading in ("### Sampling design", "### Weighting", "### Rules", "### Tie policy",
                    "### Agreement", "### Votes per item", "### Splits"):  # fmt: skip
        assert heading in text
    alpha = version.stats["agreement"]
    assert f"Krippendorff's alpha (nominal) = {alpha['alpha']:.3f}" in text
    assert "| 3 | 30 |" in text
    assert version.sha256 in text
    croissant = json.loads((folder / "croissant.json").read_text())
    assert croissant["@type"] == "sc:Dataset"
    assert croissant["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    files = {d["name"]: d["sha256"] for d in croissant["distribution"]}
    assert set(files) == set(names) - {"croissant.json"}
    for file_name, digest in files.items():
        assert hashlib.sha256((folder / file_name).read_bytes()).hexdigest() == digest
    assert [r["name"] for r in croissant["recordSet"]] == ["votes", "items"]


def test_jsonl_writer_escapes_text_and_writes_null_for_missing_numbers():
    import pyarrow as pa

    from benchmarks.services.exports import _jsonl_bytes

    table = pa.table(
        {
            "a": ["x", 'q"u\\o\nte\x01', None, "한국"],
            "b": [1.5, float("nan"), None, 1e-300],
            "c": [True, False, None, True],
            "d": [1, 2, None, 4],
            "e": pa.array(["p", "q", "p", None]).dictionary_encode(),
        }
    )
    text = _jsonl_bytes(table).decode()
    assert text.endswith("}\n")
    assert [json.loads(line) for line in text.splitlines()] == [
        {"a": "x", "b": 1.5, "c": True, "d": 1, "e": "p"},
        {"a": 'q"u\\o\nte\x01', "b": None, "c": False, "d": 2, "e": "q"},
        {"a": None, "b": None, "c": None, "d": None, "e": "p"},
        {"a": "한국", "b": 1e-300, "c": True, "d": 4, "e": None},
    ]
