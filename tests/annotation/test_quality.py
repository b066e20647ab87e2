"""Tests of annotation.quality: gold accuracy, leave-one-out consensus, speed outliers.

The expected values are worked by hand from the definitions in the module docstring; the
modified z-score follows Iglewicz, B. and Hoaglin, D. C. (1993), "How to Detect and Handle
Outliers", ASQC Quality Press: ``M = 0.6745 (x - median) / MAD``, outliers at ``|M| > 3.5``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotation import quality as q


def table(rows, **extra) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["item", "voter", "label"])
    for name, values in extra.items():
        out[name] = values
    return out


# Item 1: A, A, B (the A raters tie with B when left out; the B rater faces A, A).
# Item 2: A, A, A, B. Item 3: A, B (each faces the other). Item 4: one rating only.
VOTES = table(
    [
        (1, "ann", "A"), (1, "bo", "A"), (1, "cy", "B"),
        (2, "ann", "A"), (2, "bo", "A"), (2, "cy", "A"), (2, "di", "B"),
        (3, "ann", "A"), (3, "di", "B"),
        (4, "bo", "C"),
    ]
)  # fmt: skip


def test_consensus_scores_follow_the_tie_rule():
    scores = q.consensus_scores(VOTES)
    keys = zip(scores["item"], scores["voter"], strict=True)
    got = dict(zip(keys, scores["score"], strict=True))
    # Item 1: without ann, the others say A, B: a two-way tie containing A -> 1/2.
    assert got[(1, "ann")] == 0.5 and got[(1, "bo")] == 0.5
    assert got[(1, "cy")] == 0.0
    assert got[(2, "ann")] == 1.0 and got[(2, "di")] == 0.0
    assert got[(3, "ann")] == 0.0 and got[(3, "di")] == 0.0
    assert np.isnan(got[(4, "bo")])


def test_consensus_agreement_per_annotator():
    out = q.consensus_agreement(VOTES).set_index("voter")
    assert out.loc["ann"].tolist() == [3, 3, pytest.approx((0.5 + 1 + 0) / 3)]
    assert out.loc["bo", "n_ratings"] == 3 and out.loc["bo", "n_scored"] == 2
    assert out.loc["bo", "consensus_agreement"] == pytest.approx(0.75)
    assert out.loc["cy", "consensus_agreement"] == pytest.approx(0.5)
    assert out.loc["di", "consensus_agreement"] == 0.0


def test_consensus_scores_equal_a_direct_leave_one_out_count():
    """Vectorised scores against a plain per-rating recount on seeded random data."""
    rng = np.random.default_rng(8)
    rows = []
    for item in range(300):
        raters = rng.choice(12, size=rng.integers(1, 7), replace=False)
        rows += [(item, f"v{r}", f"c{rng.integers(0, 3)}") for r in raters]
    votes = table(rows)
    scores = q.consensus_scores(votes)["score"].to_numpy()
    expected = []
    for item, voter, label in rows:
        others = [lab for (i, v, lab) in rows if i == item and v != voter]
        if not others:
            expected.append(np.nan)
            continue
        counts = pd.Series(others).value_counts()
        top = counts[counts == counts.max()].index
        expected.append(1.0 / len(top) if label in top else 0.0)
    np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_gold_accuracy_counts_ratings_on_gold_items():
    gold = pd.DataFrame({"item": [1, 2, 9], "label": ["A", "B", "A"]})
    out = q.gold_accuracy(VOTES, gold).set_index("voter")
    assert out.loc["ann"].tolist() == [2, 1, 0.5]
    assert out.loc["di"].tolist() == [1, 1, 1.0]
    assert out.loc["cy"].tolist() == [2, 0, 0.0]
    assert out.loc["bo", "n_gold"] == 2
    as_dict = q.gold_accuracy(VOTES, {1: "A", 2: "B"}).set_index("voter")
    assert as_dict.equals(q.gold_accuracy(VOTES, gold.iloc[:2]).set_index("voter"))
    only_item_4 = q.gold_accuracy(VOTES, {4: "C"}).set_index("voter")
    assert np.isnan(only_item_4.loc["ann", "gold_accuracy"])
    assert only_item_4.loc["bo", "gold_accuracy"] == 1.0


def test_gold_table_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"gold: missing column\(s\) \['label'\]"):
        q.gold_accuracy(VOTES, pd.DataFrame({"item": [1]}))
    with pytest.raises(ValueError, match="more than one gold label"):
        q.gold_accuracy(VOTES, pd.DataFrame({"item": [1, 1], "label": ["A", "B"]}))
    with pytest.raises(ValueError, match="gold table is empty"):
        q.gold_accuracy(VOTES, {})


def test_robust_z_matches_the_iglewicz_hoaglin_definition():
    """x = 1, 2, 3, 4, 100: median 3, MAD = median(2, 1, 0, 1, 97) = 1, so M(100) = 0.6745 * 97."""
    z = q.robust_z([1, 2, 3, 4, 100])
    np.testing.assert_allclose(z, [-1.349, -0.6745, 0.0, 0.6745, 65.4265])
    # MAD = 0: scale by 1.253314 * mean absolute deviation (0.8 here).
    z0 = q.robust_z([5, 5, 5, 5, 9])
    assert z0[-1] == pytest.approx(4 / (1.253314 * 0.8))
    assert q.robust_z([2, 2, 2]).tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(q.robust_z([1.0, np.nan, 3.0])[1])


def test_speed_outliers_flag_the_fast_annotator():
    rng = np.random.default_rng(2)
    voters = [f"v{i}" for i in range(12)]
    rows, seconds = [], []
    for item in range(40):
        for voter in voters:
            rows.append((item, voter, "A"))
            base = 2.0 if voter == "v0" else 30.0
            seconds.append(base * np.exp(rng.normal(0, 0.15)))
    votes = table(rows, seconds=seconds)
    out = q.speed_outliers(votes).set_index("voter")
    assert out.loc["v0", "speed_flag"] == "fast"
    assert (out.drop(index="v0")["speed_flag"] == "").all()
    assert out.loc["v0", "share_fast"] == 1.0
    assert out.loc["v1", "share_fast"] == 0.0
    assert out.loc["v0", "n_timed"] == 40
    assert out.loc["v0", "median_seconds"] == pytest.approx(2.0, rel=0.1)


def test_speed_outliers_reject_bad_durations():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['seconds'\]"):
        q.speed_outliers(VOTES)
    with pytest.raises(ValueError, match="seconds: durations must not be negative"):
        q.speed_outliers(VOTES.assign(seconds=-1.0))
    with pytest.raises(ValueError, match="seconds: durations must be numbers"):
        q.speed_outliers(VOTES.assign(seconds="fast"))


def test_annotator_quality_is_one_tidy_row_per_annotator():
    votes = VOTES.assign(seconds=[10, 12, 11, 9, 10, 13, 12, 11, 10, 9])
    out = q.annotator_quality(votes, gold={1: "A"}, duration_column="seconds")
    assert out["voter"].tolist() == ["ann", "bo", "cy", "di"]
    assert list(out.columns) == [
        "voter", "n_ratings", "n_scored", "consensus_agreement", "n_gold", "n_correct",
        "gold_accuracy", "n_timed", "median_seconds", "speed_z", "share_fast", "speed_flag",
    ]  # fmt: skip
    assert out.set_index("voter").loc["cy", "n_correct"] == 0


def test_quality_uses_primary_rows_by_default():
    votes = pd.concat(
        [VOTES.assign(role="primary"), VOTES.assign(role="secondary", label="Z")],
        ignore_index=True,
    )
    assert q.consensus_agreement(votes).equals(q.consensus_agreement(VOTES))
