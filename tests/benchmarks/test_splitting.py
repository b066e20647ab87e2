"""Tests of the seeded, stratified, group-aware splits (benchmarks/splitting.py).

Exact expectations follow from the allocation rule documented in the module and in
docs/benchmarks-rules.md: systematic allocation with a random start gives a stratum of ``n``
equal units exactly ``n * f`` units per split whenever those are whole numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.splitting import label_matrix, split_items, split_statistics

FRACTIONS = {"train": 0.8, "dev": 0.1, "test": 0.1}


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 5000
    label = rng.choice(["anger", "joy", "sadness", "fear"], size=n, p=[0.5, 0.3, 0.15, 0.05])
    # ~500 speakers of about 10 items each plus 5 large ones of about 50 items (1% each).
    speaker = np.where(
        rng.random(n) < 0.05, rng.integers(1000, 1005, size=n), rng.integers(0, 500, size=n)
    )
    multi = pd.DataFrame(
        {
            "y.anger": label == "anger",
            "y.joy": (label == "joy") | (rng.random(n) < 0.2),
            "y.sadness": label == "sadness",
            "y.fear": label == "fear",
        }
    )
    return pd.concat([pd.DataFrame({"label": label, "speaker": speaker}), multi], axis=1).set_index(
        pd.Index([f"i{k}" for k in range(n)], name="item")
    )


def test_exact_shares_for_one_stratum_of_ten():
    items = pd.DataFrame({"label": ["joy"] * 10})
    for seed in range(20):
        split = split_items(items, seed=seed, fractions=FRACTIONS, labels="label")
        assert split.value_counts().to_dict() == {"train": 8, "dev": 1, "test": 1}


def test_each_stratum_is_shared_out_exactly():
    # 20 anger and 10 sadness items: 16/2/2 and 8/1/1 whatever the seed.
    items = pd.DataFrame({"label": ["anger"] * 20 + ["sadness"] * 10})
    split = split_items(items, seed=3, fractions=FRACTIONS, labels="label")
    table = pd.crosstab(items["label"], split.astype(str))
    assert table.loc["anger"].to_dict() == {"dev": 2, "test": 2, "train": 16}
    assert table.loc["sadness"].to_dict() == {"dev": 1, "test": 1, "train": 8}


def test_same_seed_same_split_and_other_seed_differs(items):
    a = split_items(items, seed=11, labels="label", group="speaker")
    b = split_items(items, seed=11, labels="label", group="speaker")
    c = split_items(items, seed=12, labels="label", group="speaker")
    assert a.equals(b)
    assert not a.equals(c)
    assert a.index.equals(items.index)
    assert list(a.cat.categories) == ["train", "dev", "test"]


def test_group_never_straddles_two_splits(items):
    split = split_items(items, seed=5, labels="label", group="speaker")
    per_group = split.astype(str).groupby(items["speaker"]).nunique()
    assert per_group.max() == 1
    assert per_group.size == items["speaker"].nunique()


def test_sizes_within_tolerance(items):
    split = split_items(items, seed=1, labels="label")
    share = split.value_counts(normalize=True)
    for name, f in FRACTIONS.items():
        assert abs(share[name] - f) <= 0.002
    grouped = split_items(items, seed=1, labels="label", group="speaker")
    share = grouped.value_counts(normalize=True)
    for name, f in FRACTIONS.items():
        # Groups make item counts lumpy; the largest group here holds ~1% of items.
        assert abs(share[name] - f) <= 0.015


def test_label_proportions_close_single_label(items):
    split = split_items(items, seed=2, labels="label")
    stats = split_statistics(items, split, labels="label")
    overall = items["label"].value_counts(normalize=True)
    for lab in ["anger", "joy", "sadness", "fear"]:
        assert (stats[f"p.{lab}"] - overall[lab]).abs().max() <= 0.005


def test_label_proportions_close_multi_label(items):
    cols = ["y.anger", "y.joy", "y.sadness", "y.fear"]
    split = split_items(items, seed=4, labels=cols)
    stats = split_statistics(items, split, labels=cols)
    overall = items[cols].mean()
    for c in cols:
        assert (stats[f"p.{c}"] - overall[c]).abs().max() <= 0.01


def test_rare_signatures_fall_back_and_every_item_gets_a_split():
    # 'fear' appears on 2 items only: below min_stratum (10) it falls back to the remainder.
    items = pd.DataFrame({"label": ["joy"] * 40 + ["fear"] * 2 + [None] * 3})
    split = split_items(items, seed=0, labels="label")
    assert split.notna().all()
    assert len(split) == 45


def test_split_statistics_counts():
    items = pd.DataFrame(
        {"label": ["a", "a", "b", "b"], "g": [1, 1, 2, 3]}, index=["w", "x", "y", "z"]
    )
    split = pd.Series(
        pd.Categorical(["train", "train", "test", "train"], categories=["train", "test"]),
        index=items.index,
    )
    stats = split_statistics(items, split, labels="label", group="g")
    assert stats["items"].tolist() == [3, 1]
    assert stats["groups"].tolist() == [2, 1]
    assert stats["n.a"].tolist() == [2, 0]
    assert stats["p.b"].tolist() == [1 / 3, 1.0]
    assert stats["share"].tolist() == [0.75, 0.25]


def test_label_matrix_forms():
    items = pd.DataFrame({"l": ["b", None, "a"], "x": [1, 0, 1], "y": [True, False, True]})
    y, names = label_matrix(items, "l")
    assert names == ["a", "b"]
    assert y.tolist() == [[False, True], [False, False], [True, False]]
    y, names = label_matrix(items, ["x", "y"])
    assert y.tolist() == [[True, True], [False, False], [True, True]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fractions": {"train": 0.7, "test": 0.2}}, r"fractions: must sum to 1"),
        ({"fractions": {"train": 1.2, "test": -0.2}}, r"fractions: every fraction must be"),
        ({"labels": "nope"}, r"labels: missing column 'nope'"),
        ({"group": "nope"}, r"group: missing column 'nope'"),
        ({"labels": ["label"]}, r"labels: multi-hot columns must hold booleans or 0/1"),
        ({"seed": None}, r"seed: a seed or numpy Generator is required"),
    ],
)
def test_bad_input_raises_clear_value_error(kwargs, message):
    items = pd.DataFrame({"label": ["a", "b"], "speaker": [1, 2]})
    with pytest.raises(ValueError, match=message):
        split_items(items, **{"seed": 0, **kwargs})


def test_missing_group_value_and_empty_table():
    with pytest.raises(ValueError, match=r"group: 1 row\(s\) have no group"):
        split_items(pd.DataFrame({"g": [1.0, None]}), seed=0, group="g")
    with pytest.raises(ValueError, match="items: the item table is empty"):
        split_items(pd.DataFrame({"g": []}), seed=0)
