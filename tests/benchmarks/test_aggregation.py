"""Tests of the pure aggregation kernels (benchmarks/aggregation.py).

Unless a test names another source, its expected values are worked by hand from the rule
definitions in docs/benchmarks-rules.md (the worked example there is the ``VOTES`` table below),
so each number can be checked with pencil and paper.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.aggregation import (
    aggregate,
    category_cooccurrence,
    dawid_skene,
    encode_votes,
    penalty_matrix,
    plurality,
    vote_counts,
)

CATS = ["anger", "joy", "sadness"]

# item, voter, label, weight, role
VOTES = pd.DataFrame(
    [
        ("unanimous", "a", "joy", 1.0, "primary"),
        ("unanimous", "b", "joy", 1.0, "primary"),
        ("unanimous", "c", "joy", 1.0, "primary"),
        ("two_one", "a", "joy", 1.0, "primary"),
        ("two_one", "b", "joy", 1.0, "primary"),
        ("two_one", "c", "anger", 1.0, "primary"),
        ("split", "a", "anger", 1.0, "primary"),
        ("split", "b", "anger", 1.0, "primary"),
        ("split", "c", "joy", 1.0, "primary"),
        ("split", "d", "joy", 1.0, "primary"),
        ("even", "a", "anger", 1.0, "primary"),
        ("even", "b", "joy", 1.0, "primary"),
        ("even", "c", "sadness", 1.0, "primary"),
        ("single", "a", "sadness", 1.0, "primary"),
        ("weighted", "a", "anger", 3.0, "primary"),
        ("weighted", "b", "joy", 1.0, "primary"),
        ("weighted", "c", "joy", 1.0, "primary"),
        ("secondary", "a", "joy", 1.0, "primary"),
        ("secondary", "a", "sadness", 1.0, "secondary"),
        ("secondary", "b", "joy", 1.0, "primary"),
        ("secondary", "b", "anger", 1.0, "secondary"),
        ("secondary", "c", "anger", 1.0, "primary"),
    ],
    columns=["item", "voter", "label", "weight", "role"],
)

# The published table of the 1979 paper, kept beside the tests (see data/README.md).
REFERENCE = Path(__file__).resolve().parent / "data" / "dawid_skene_1979_anesthesia.csv"


def labels(table: pd.DataFrame, column: str) -> dict[str, str | None]:
    """Label column as a plain dict, missing labels as None."""
    col = table[column].astype(object)
    return {k: (None if pd.isna(v) else v) for k, v in col.items()}


@pytest.fixture(scope="module")
def result():
    return aggregate(VOTES, CATS, secondary_weight=0.5)


# ------------------------------------------------------------------------------------------
# Per-rule worked examples
# ------------------------------------------------------------------------------------------


def test_majority_needs_more_than_half(result):
    # two_one: joy 2 of 3 > 1/2. split: anger 2 of 4 is exactly half -> none. even: 1 of 3
    # each -> none. weighted: anger 3 of 5 (unweighted it would be joy 2 of 3).
    assert labels(result.table, "majority.label") == {
        "even": None,
        "secondary": "joy",
        "single": "sadness",
        "split": None,
        "two_one": "joy",
        "unanimous": "joy",
        "weighted": "anger",
    }
    assert result.table["majority.kept"].to_dict() == {
        "even": False,
        "secondary": True,
        "single": True,
        "split": False,
        "two_one": True,
        "unanimous": True,
        "weighted": True,
    }


def test_plurality_drop_policy(result):
    table = result.table
    assert labels(table, "plurality.label") == {
        "even": None,
        "secondary": "joy",
        "single": "sadness",
        "split": None,
        "two_one": "joy",
        "unanimous": "joy",
        "weighted": "anger",
    }
    assert table["plurality.tie"].to_dict() == {
        "even": True,
        "secondary": False,
        "single": False,
        "split": True,
        "two_one": False,
        "unanimous": False,
        "weighted": False,
    }
    assert labels(table, "plurality.candidates")["split"] == "anger|joy"
    assert labels(table, "plurality.candidates")["even"] == "anger|joy|sadness"
    assert not table.loc["split", "plurality.kept"]
    assert not table.loc["even", "plurality.kept"]


def test_plurality_flag_policy_keeps_ties_without_label():
    table = aggregate(VOTES, CATS, rules=["plurality"], tie_policy="flag").table
    assert labels(table, "plurality.label")["split"] is None
    assert table.loc["split", "plurality.kept"]
    assert table.loc["split", "plurality.tie"]
    assert table["plurality.kept"].all()


def test_plurality_all_policy_lists_every_tied_label():
    table = aggregate(VOTES, CATS, rules=["plurality"], tie_policy="all").table
    got = labels(table, "plurality.label")
    assert got["split"] == "anger|joy"
    assert got["even"] == "anger|joy|sadness"
    assert got["two_one"] == "joy"
    assert table["plurality.kept"].all()


def test_plurality_random_policy_is_seeded_and_picks_only_tied_labels():
    # 200 items, each tied anger/joy 1-1 and no sadness vote.
    items = np.repeat(np.arange(200), 2)
    votes = pd.DataFrame(
        {"item": items, "voter": np.tile(["u", "v"], 200), "label": np.tile(["anger", "joy"], 200)}
    )
    first = aggregate(votes, CATS, rules=["plurality"], tie_policy="random", seed=7).table
    again = aggregate(votes, CATS, rules=["plurality"], tie_policy="random", seed=7).table
    other = aggregate(votes, CATS, rules=["plurality"], tie_policy="random", seed=8).table
    picked = first["plurality.label"].astype(object)
    assert picked.equals(again["plurality.label"].astype(object))
    assert not picked.equals(other["plurality.label"].astype(object))
    assert set(picked) == {"anger", "joy"}
    assert first["plurality.kept"].all()
    assert first["plurality.tie"].all()


def test_plurality_kernel_random_uses_given_generator():
    counts = np.array([[1.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    out = plurality(counts, tie_policy="random", rng=np.random.default_rng(0))
    assert out.label[1] == 0
    assert out.label[0] in (0, 1)
    assert out.chosen.sum(axis=1).tolist() == [1, 1]


def test_all_inclusive_above_uniform_and_secondary_pooling(result):
    table = result.table
    y = table[["all_inclusive.y.anger", "all_inclusive.y.joy", "all_inclusive.y.sadness"]]
    # two_one: q = (1/3, 2/3, 0); 1/3 is not > 1/3 -> {joy}. even: all 1/3 -> empty set.
    assert y.loc["two_one"].tolist() == [False, True, False]
    assert y.loc["even"].tolist() == [False, False, False]
    assert y.loc["split"].tolist() == [True, True, False]
    # secondary: primary anger 1, joy 2; secondary anger 1, sadness 1 at weight 0.5
    # -> (1.5, 2, 0.5) / 4 = (0.375, 0.5, 0.125); above 1/3: anger and joy.
    p = table.loc[
        "secondary", ["all_inclusive.p.anger", "all_inclusive.p.joy", "all_inclusive.p.sadness"]
    ]
    assert p.tolist() == [0.375, 0.5, 0.125]
    assert y.loc["secondary"].tolist() == [True, True, False]
    assert table["all_inclusive.kept"].all()


def test_all_inclusive_without_secondary_and_any_vote():
    table = aggregate(VOTES, CATS, rules=["all_inclusive"]).table
    assert table.loc["secondary", "all_inclusive.p.joy"] == pytest.approx(2 / 3, abs=1e-15)
    assert table.loc["secondary", "all_inclusive.y.anger"] == np.False_
    anyv = aggregate(VOTES, CATS, rules=["all_inclusive"], all_inclusive_mode="any_vote").table
    assert anyv.loc[
        "two_one", ["all_inclusive.y.anger", "all_inclusive.y.joy", "all_inclusive.y.sadness"]
    ].tolist() == [True, True, False]
    assert anyv.loc[
        "even", ["all_inclusive.y.anger", "all_inclusive.y.joy", "all_inclusive.y.sadness"]
    ].tolist() == [True, True, True]


def test_soft_distribution_and_smoothing(result):
    table = result.table
    cols = ["soft.p.anger", "soft.p.joy", "soft.p.sadness"]
    assert table.loc["weighted", cols].tolist() == [0.6, 0.4, 0.0]
    assert table.loc["single", cols].tolist() == [0.0, 0.0, 1.0]
    # secondary votes are not in soft: (1, 2, 0) / 3
    assert table.loc["secondary", cols].tolist() == pytest.approx([1 / 3, 2 / 3, 0.0], abs=1e-15)
    smoothed = aggregate(VOTES, CATS, rules=["soft"], epsilon=0.3).table
    # (1 - 0.3) * (0, 0, 1) + 0.3 / 3 = (0.1, 0.1, 0.8)
    assert smoothed.loc["single", cols].tolist() == pytest.approx([0.1, 0.1, 0.8], abs=1e-15)
    assert smoothed[cols].sum(axis=1).tolist() == pytest.approx([1.0] * 7, abs=1e-12)


def test_item_statistics(result):
    table = result.table
    assert table["stats.n_votes"].to_dict() == {
        "even": 3,
        "secondary": 3,
        "single": 1,
        "split": 4,
        "two_one": 3,
        "unanimous": 3,
        "weighted": 3,
    }
    assert table.loc["secondary", "stats.n_secondary"] == 2
    assert table.loc["weighted", "stats.weight"] == 5.0
    # Natural-log entropies: ln 3, ln 2, 0 and ln 3 - (2/3) ln 2 for a 2-1 split.
    assert table.loc["even", "stats.entropy"] == pytest.approx(math.log(3), rel=1e-14)
    assert table.loc["split", "stats.entropy"] == pytest.approx(math.log(2), rel=1e-14)
    assert table.loc["single", "stats.entropy"] == 0.0
    assert table.loc["unanimous", "stats.entropy"] == 0.0
    assert table.loc["two_one", "stats.entropy"] == pytest.approx(
        math.log(3) - 2 / 3 * math.log(2), rel=1e-14
    )
    # weighted: p = (0.6, 0.4)
    assert table.loc["weighted", "stats.entropy"] == pytest.approx(
        -(0.6 * math.log(0.6) + 0.4 * math.log(0.4)), rel=1e-14
    )
    assert table["stats.top_share"].to_dict() == pytest.approx(
        {
            "even": 1 / 3,
            "secondary": 2 / 3,
            "single": 1.0,
            "split": 0.5,
            "two_one": 2 / 3,
            "unanimous": 1.0,
            "weighted": 0.6,
        },
        rel=1e-14,
    )


def test_summary_data_loss(result):
    s = result.summary
    assert s.loc["majority", ["items", "kept", "dropped"]].tolist() == [7, 5, 2]
    assert s.loc["majority", "data_loss"] == pytest.approx(2 / 7, rel=1e-15)
    assert s.loc["plurality", "ties"] == 2
    assert s.loc["all_inclusive", "data_loss"] == 0.0
    assert list(s.index) == ["majority", "plurality", "all_inclusive", "soft", "dawid_skene"]


def test_subset_of_rules_and_flat_string_columns(tmp_path):
    res = aggregate(VOTES, CATS, rules=["soft", "majority"])
    assert res.rules == ("majority", "soft")
    assert list(res.table.columns) == [
        "stats.n_votes",
        "stats.n_secondary",
        "stats.weight",
        "stats.entropy",
        "stats.top_share",
        "majority.label",
        "majority.kept",
        "soft.p.anger",
        "soft.p.joy",
        "soft.p.sadness",
        "soft.kept",
    ]
    assert res.dawid_skene is None
    # The wide table exports as it is.
    res.table.to_csv(tmp_path / "t.csv")
    res.table.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back.loc["weighted", "majority.label"] == "anger"
    assert pd.isna(back.loc["split", "majority.label"])
    assert back["soft.p.joy"].tolist() == res.table["soft.p.joy"].tolist()
    csv = pd.read_csv(tmp_path / "t.csv", index_col="item")
    assert csv.loc["weighted", "majority.label"] == "anger"
    assert pd.isna(csv.loc["split", "majority.label"])


def test_result_does_not_depend_on_row_order(result):
    shuffled = VOTES.sample(frac=1.0, random_state=3)
    again = aggregate(shuffled, CATS, secondary_weight=0.5)
    pd.testing.assert_frame_equal(again.table, result.table)


def test_integer_categories_and_zero_weight_item():
    votes = pd.DataFrame(
        {"item": [1, 1, 2], "voter": [1, 2, 1], "label": [3, 3, 1], "weight": [1.0, 1.0, 0.0]}
    )
    table = aggregate(votes, [1, 2, 3], rules=["majority", "soft", "all_inclusive"]).table
    assert labels(table, "majority.label") == {1: "3", 2: None}
    assert table.loc[1, "soft.p.3"] == 1.0
    # An item whose only vote has weight 0 has no distribution and is dropped everywhere.
    assert np.isnan(table.loc[2, "soft.p.1"])
    assert not table.loc[2, "soft.kept"]
    assert not table.loc[2, "all_inclusive.kept"]


def test_vote_counts_weights_secondary():
    enc = encode_votes(VOTES, CATS)
    counts = vote_counts(enc, secondary_weight=0.5)
    row = list(enc.items).index("secondary")
    assert counts[row].tolist() == [1.5, 2.0, 0.5]


# ------------------------------------------------------------------------------------------
# Co-occurrence and penalties
# ------------------------------------------------------------------------------------------

COOC_VOTES = pd.DataFrame(
    [
        (1, "u", "joy", "primary"),
        (1, "u", "sadness", "secondary"),
        (1, "v", "joy", "primary"),
        (1, "w", "anger", "primary"),
        (2, "u", "anger", "primary"),
        (2, "u", "joy", "secondary"),
        (2, "v", "sadness", "primary"),
    ],
    columns=["item", "voter", "label", "role"],
)


def test_cooccurrence_within_and_across():
    co = category_cooccurrence(encode_votes(COOC_VOTES, CATS))
    # within: (1, u) joy with sadness; (2, u) anger with joy.
    assert co.within.to_numpy().tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    # across, item 1: u joy, v joy, w anger -> joy-joy 1 pair, anger-joy 2 pairs;
    # item 2: u anger, v sadness -> anger-sadness 1 pair.
    assert co.across.to_numpy().tolist() == [[0, 2, 1], [2, 1, 0], [1, 0, 0]]
    # both: anger-joy 1 + 2 = 3, anger-sadness 0 + 1, joy-sadness 1 + 0; max off-diagonal 3.
    expected = [[0, 0, 2 / 3], [0, 0, 2 / 3], [2 / 3, 2 / 3, 0]]
    assert co.penalty.to_numpy() == pytest.approx(np.array(expected), abs=1e-15)


def test_penalty_conditional_normalisation():
    s = np.array([[5.0, 3.0, 1.0], [3.0, 9.0, 1.0], [1.0, 1.0, 0.0]])
    p = penalty_matrix(s, normalization="conditional")
    # rows off-diagonal: anger 4, joy 4, sadness 2. P(joy|anger) = P(anger|joy) = 3/4 -> 1/4.
    # P(sadness|anger) = 1/4, P(anger|sadness) = 1/2 -> 1 - 3/8 = 5/8; same for joy-sadness.
    expected = [[0, 1 / 4, 5 / 8], [1 / 4, 0, 5 / 8], [5 / 8, 5 / 8, 0]]
    assert p == pytest.approx(np.array(expected), abs=1e-15)
    assert penalty_matrix(np.zeros((2, 2))).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_aggregate_returns_cooccurrence_when_asked():
    res = aggregate(
        COOC_VOTES, CATS, rules=["soft"], cooccurrence=True, cooccurrence_source="within"
    )
    assert res.cooccurrence is not None
    # within + within.T: anger-joy 1, joy-sadness 1, anger-sadness 0 -> 1 - 0 / 1 = 1.
    assert res.cooccurrence.penalty.loc["anger", "sadness"] == 1.0
    assert res.cooccurrence.penalty.loc["anger", "joy"] == 0.0


# ------------------------------------------------------------------------------------------
# Dawid-Skene
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anesthesia() -> pd.DataFrame:
    data = pd.read_csv(REFERENCE)
    return data.rename(columns={"rater": "voter", "rating": "label"})


def test_dawid_skene_reproduces_the_1979_anaesthesia_estimates(anesthesia):
    """Dawid & Skene (1979), Applied Statistics 28(1):20-28, anaesthesia data (45 patients,
    5 observers, observer 1 three times): class priors about (0.40, 0.42, 0.11, 0.07) and
    MAP class counts 18 / 19 / 5 / 3 (figures as quoted in shared/reference/README.md)."""
    assert len(anesthesia) == 315
    enc = encode_votes(anesthesia, [1, 2, 3, 4])
    ds = dawid_skene(enc, max_iter=500, tol=1e-10)
    assert ds.converged
    assert ds.priors.round(2).tolist() == [0.40, 0.42, 0.11, 0.07]
    assert np.bincount(ds.labels, minlength=4).tolist() == [18, 19, 5, 3]
    assert np.all(np.diff(ds.log_likelihood) >= -1e-9)
    assert ds.posteriors.sum(axis=1) == pytest.approx(np.ones(45), abs=1e-12)
    # Observer 1's three ratings of a patient count as three observations.
    assert ds.reliability.loc[1, "n_votes"] == 135
    assert ds.reliability.loc[2, "n_votes"] == 45
    assert ds.confusion.sum(axis=2) == pytest.approx(np.ones((5, 4)), abs=1e-12)


def test_dawid_skene_through_aggregate(anesthesia):
    res = aggregate(anesthesia, [1, 2, 3, 4], rules=["dawid_skene"], ds_tol=1e-10, ds_max_iter=500)
    counts = res.table["dawid_skene.label"].value_counts().reindex(["1", "2", "3", "4"])
    assert counts.tolist() == [18, 19, 5, 3]
    assert res.dawid_skene is not None
    assert res.dawid_skene.confusion_frame(1).shape == (4, 4)


def test_dawid_skene_fixed_iterations_and_items_without_votes():
    votes = pd.DataFrame(
        {
            "item": [1, 1, 2, 2, 3],
            "voter": ["a", "b", "a", "b", "a"],
            "label": ["joy", "joy", "anger", "joy", "sadness"],
            "weight": [1, 1, 1, 1, 0],
        }
    )
    ds = dawid_skene(encode_votes(votes, CATS), max_iter=4, tol=None)
    assert ds.n_iter == 4 and not ds.converged
    assert np.isnan(ds.posteriors[2]).all()
    assert ds.labels[2] == -1
    assert np.all(np.diff(ds.log_likelihood) >= -1e-12)


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("votes", "kwargs", "message"),
    [
        (
            VOTES.assign(label=VOTES["label"].replace("sadness", "grief")),
            {},
            r"label: 'grief' is not one of the categories \['anger', 'joy', 'sadness'\]",
        ),
        (VOTES.iloc[:0], {}, r"votes: the vote table is empty"),
        (
            VOTES.assign(weight=-VOTES["weight"]),
            {},
            r"weight: negative weight -3\.0 \(22 row\(s\)\)",
        ),
        (VOTES.drop(columns="voter"), {}, r"votes: missing column\(s\) 'voter'"),
        (VOTES, {"rules": ["median"]}, r"rules: unknown rule 'median'"),
        (VOTES, {"tie_policy": "coin"}, r"tie_policy: unknown tie policy 'coin'"),
        (VOTES, {"tie_policy": "random"}, r"seed: tie_policy 'random' needs a seed"),
        (VOTES.assign(role="tertiary"), {}, r"role: 'tertiary' is not 'primary' or 'secondary'"),
        (VOTES.assign(weight=np.nan), {}, r"weight: 22 row\(s\) have a missing"),
        (VOTES.assign(item=None), {}, r"item: 22 row\(s\) have no value"),
        (VOTES, {"epsilon": 1.5}, r"epsilon: label smoothing must lie in \[0, 1\]"),
        (VOTES, {"secondary_weight": -1.0}, r"secondary_weight: must be a finite number >= 0"),
        (VOTES, {"all_inclusive_mode": "some"}, r"all_inclusive_mode: unknown mode 'some'"),
    ],
)
def test_bad_input_raises_clear_value_error(votes, kwargs, message):
    with pytest.raises(ValueError, match=message):
        aggregate(votes, CATS, **kwargs)


def test_bad_categories():
    with pytest.raises(ValueError, match=r"categories: duplicate categories \['joy'\]"):
        aggregate(VOTES, ["joy", "joy", "anger", "sadness"])
    with pytest.raises(ValueError, match="categories: the list of categories is empty"):
        aggregate(VOTES, [])
    with pytest.raises(ValueError, match="categories: expected an ordered list"):
        aggregate(VOTES, "joy")


def test_unknown_label_in_arrow_and_categorical_columns():
    for dtype in ("str", "category"):
        votes = VOTES.assign(label=VOTES["label"].replace("joy", "glee").astype(dtype))
        with pytest.raises(ValueError, match="label: 'glee' is not one of the categories"):
            aggregate(votes, CATS)


def test_dawid_skene_without_any_usable_vote():
    votes = pd.DataFrame({"item": [1], "voter": ["a"], "label": ["joy"], "weight": [0.0]})
    with pytest.raises(ValueError, match="votes: Dawid-Skene needs at least one primary vote"):
        aggregate(votes, CATS, rules=["dawid_skene"])
