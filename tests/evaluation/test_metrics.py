"""Evaluation metrics on hand-worked examples and against scikit-learn and scipy.

Sources: the alignment score is the share-of-people measure of national-values benchmarks
(worked by hand below); representativeness is the 1 - W1/(K-1) measure of Santurkar et al.
(2023), "Whose opinions do language models reflect?", checked against
``scipy.stats.wasserstein_distance``; multi-label F1, accuracy, Hamming loss and the
single-label scores are checked against scikit-learn; Jensen-Shannon against
``scipy.spatial.distance.jensenshannon``; ECE follows Guo et al. (2017), "On calibration of
modern neural networks", worked by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy, wasserstein_distance
from sklearn import metrics as skm

from evaluation import metrics

DIST = np.array(
    [
        [0.1, 0.2, 0.3, 0.4],
        [0.5, 0.25, 0.25, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ]
)


def test_alignment_score_is_the_mean_share_of_people_who_chose_the_models_option():
    # Shares of the chosen options: 0.4, 0.25, 0.0 -> mean 0.65 / 3.
    assert metrics.alignment_score(DIST, [3, 1, 0]) == pytest.approx(0.65 / 3)
    assert metrics.alignment_score(DIST, [3, 0, 2]) == pytest.approx((0.4 + 0.5 + 1.0) / 3)


def test_alignment_score_folds_an_agreement_scale_first():
    people = np.array([[0.1, 0.3, 0.2, 0.25, 0.15]])
    fold = [[0, 1], [2], [3, 4]]
    # Folded: disagree 0.4, neutral 0.2, agree 0.4; option 1 ("disagree") -> 0.4.
    assert metrics.alignment_score(people, [1], fold=fold) == pytest.approx(0.4)
    assert metrics.alignment_score(people, [4], fold=fold) == pytest.approx(0.4)
    assert metrics.alignment_score(people, [2], fold=fold) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="cover the options"):
        metrics.alignment_score(people, [1], fold=[[0, 1], [3, 4]])


def test_alignment_score_refuses_rows_that_do_not_sum_to_one_and_bad_choices():
    with pytest.raises(ValueError, match=r"row 0 sums to 0\.9"):
        metrics.alignment_score([[0.5, 0.4]], [0])
    with pytest.raises(ValueError, match=r"in 0\.\.1"):
        metrics.alignment_score([[0.5, 0.5]], [2])


def test_representativeness_matches_scipy_wasserstein_on_positions():
    rng = np.random.default_rng(3)
    model = rng.dirichlet(np.ones(5), size=40)
    people = rng.dirichlet(np.ones(5), size=40)
    positions = np.arange(5)
    expected = np.mean(
        [
            1 - wasserstein_distance(positions, positions, m, p) / 4
            for m, p in zip(model, people, strict=True)
        ]
    )
    assert metrics.representativeness(model, people) == pytest.approx(expected, abs=1e-12)


def test_representativeness_hand_worked():
    # All mass at opposite ends: W1 = K-1 -> 0; identical -> 1; one step apart on K=3 -> 0.5.
    assert metrics.representativeness([[1, 0, 0]], [[0, 0, 1]]) == pytest.approx(0.0)
    assert metrics.representativeness([[0.2, 0.3, 0.5]], [[0.2, 0.3, 0.5]]) == pytest.approx(1)
    assert metrics.representativeness([[1, 0, 0]], [[0, 1, 0]]) == pytest.approx(0.5)


def test_js_similarity_matches_scipy():
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    q = np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])
    m = (p[0] + q[0]) / 2
    jsd = entropy(m, base=2) - (entropy(p[0], base=2) + entropy(q[0], base=2)) / 2
    assert metrics.js_similarity(p, q) == pytest.approx(((1 - jsd) + 1.0) / 2)


def test_single_label_scores_match_scikit_learn():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 4, size=300)
    pred = np.where(rng.random(300) < 0.6, truth, rng.integers(0, 4, size=300))
    pred[pred == 3] = 2  # class 3 never predicted
    got = metrics.classification(truth, pred, 4)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(truth, pred))
    for average in ("macro", "micro", "weighted"):
        assert got[f"{average}_f1"] == pytest.approx(
            skm.f1_score(truth, pred, average=average, zero_division=0)
        )
    assert got["confusion"] == skm.confusion_matrix(truth, pred).tolist()
    # The vectorised kernel of the bootstrap gives the same numbers from the confusion matrix.
    fast = metrics.scores_from_confusion(np.array(got["confusion"]))
    for key in ("accuracy", "macro_f1", "micro_f1", "weighted_f1"):
        assert float(fast[key]) == pytest.approx(got[key])
    assert fast["precision"] == pytest.approx([c["precision"] for c in got["per_class"]])


def test_multilabel_f1_thresholds_above_uniform_and_matches_scikit_learn():
    truth = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]])
    scores = np.array([[0.6, 0.1, 0.3], [0.3, 0.34, 0.36], [0.2, 0.5, 0.3]])
    # 1/C = 1/3: truth on = [1,0,0], [0,0,1], [1,1,0]; scores on = [1,0,0], [0,1,1], [0,1,0].
    t = np.array([[1, 0, 0], [0, 0, 1], [1, 1, 0]])
    s = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 0]])
    got = metrics.multilabel_f1(truth, scores)
    assert got["per_label"] == pytest.approx([2 / 3, 2 / 3, 1.0])
    assert got["macro"] == pytest.approx(skm.f1_score(t, s, average="macro"))
    assert got["micro"] == pytest.approx(skm.f1_score(t, s, average="micro"))
    assert got["micro"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert got["subset_accuracy"] == pytest.approx(1 / 3)
    assert got["hamming_loss"] == pytest.approx(2 / 9)
    fixed = metrics.multilabel_f1(truth, scores, threshold=0.45)
    assert fixed["per_label"] == pytest.approx([1.0, 0.0, 0.0])


def test_soft_scores_hand_worked():
    t = np.array([[0.5, 0.5]])
    q = np.array([[0.25, 0.75]])
    got = metrics.soft_scores(t, q)
    ce = -(0.5 * np.log(0.25) + 0.5 * np.log(0.75))
    assert got["cross_entropy"] == pytest.approx(ce)
    assert got["kl"] == pytest.approx(ce - np.log(2))
    assert got["total_variation"] == pytest.approx(0.25)
    assert got["js"] == pytest.approx(
        entropy([0.375, 0.625], base=2) - (1 + entropy([0.25, 0.75], base=2)) / 2
    )


def test_expected_calibration_error_hand_worked():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45]])
    truth = np.array([0, 1, 1, 1])
    # Bins of width 1/15: 0.9 and 0.8 and 0.7 and 0.55 fall in different bins, one item each:
    # |1-0.9| + |0-0.8| + |1-0.7| + |0-0.55| = 0.1 + 0.8 + 0.3 + 0.55 -> / 4
    assert metrics.expected_calibration_error(probs, truth) == pytest.approx(1.75 / 4)
    # Two bins: (0, .5] is empty, (.5, 1] holds all: |acc 0.5 - mean conf 0.7375|.
    assert metrics.expected_calibration_error(probs, truth, n_bins=2) == pytest.approx(0.2375)


def test_accuracy_by_subject():
    got = metrics.accuracy_by_subject(
        ["a", "b", "c", "a"], ["a", "a", "c", "b"], ["geo", "geo", "his", "his"]
    )
    assert got == {"geo": {"accuracy": 0.5, "n": 2}, "his": {"accuracy": 0.5, "n": 2}}


def resampled_items(fn, n_items: int, *, n_boot: int, seed: int) -> metrics.Interval:
    """The plain bootstrap the fast ones must agree with: ``fn`` of resampled item indices,
    and the 2.5th and 97.5th percentiles of its values."""
    rng = np.random.default_rng(seed)
    values = [fn(rng.integers(0, n_items, size=n_items)) for _ in range(n_boot)]
    lo, hi = np.nanquantile(values, [0.025, 0.975])
    return metrics.Interval(float(fn(np.arange(n_items))), float(lo), float(hi), 0.95)


def test_bootstrap_of_macro_f1_agrees_with_resampling_item_indices():
    rng = np.random.default_rng(11)
    truth = rng.integers(0, 3, size=600)
    pred = np.where(rng.random(600) < 0.7, truth, rng.integers(0, 3, size=600))
    fast = metrics.bootstrap_classification(truth, pred, 3, n_boot=2000, seed=1)
    slow = resampled_items(
        lambda idx: float(skm.f1_score(truth[idx], pred[idx], average="macro")),
        600,
        n_boot=2000,
        seed=2,
    )
    assert fast.estimate == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    assert fast.low == pytest.approx(slow.low, abs=0.01)
    assert fast.high == pytest.approx(slow.high, abs=0.01)
    assert fast.low < fast.estimate < fast.high
    again = metrics.bootstrap_classification(truth, pred, 3, n_boot=2000, seed=1)
    assert again == fast


@pytest.mark.parametrize("n_categories", [4, 33])
def test_bootstrap_of_multilabel_f1_agrees_with_resampling_item_indices(n_categories):
    """Both ways of counting distinct (truth, prediction) rows: packed into one integer (up
    to 31 categories) and row by row (more). Reference: scikit-learn's F1 on item indices."""
    rng = np.random.default_rng(5)
    truth = rng.random((500, n_categories)) < 0.3
    pred = np.where(rng.random((500, n_categories)) < 0.8, truth, ~truth)
    for average in ("macro", "micro"):
        fast = metrics.bootstrap_multilabel(truth, pred, average=average, n_boot=1000, seed=1)
        slow = resampled_items(
            lambda idx, a=average: float(
                skm.f1_score(truth[idx], pred[idx], average=a, zero_division=0)
            ),
            500,
            n_boot=1000,
            seed=2,
        )
        expected = skm.f1_score(truth, pred, average=average, zero_division=0)
        assert fast.estimate == pytest.approx(expected)
        assert fast.low == pytest.approx(slow.low, abs=0.015)
        assert fast.high == pytest.approx(slow.high, abs=0.015)


def test_bootstrap_of_a_gap_between_two_item_sets_agrees_with_resampling_each_set():
    """Reference: scikit-learn's macro-F1 on item indices drawn separately from each set."""
    rng = np.random.default_rng(21)
    ta = rng.integers(0, 3, size=300)
    pa = np.where(rng.random(300) < 0.8, ta, rng.integers(0, 3, size=300))
    tb = rng.integers(0, 3, size=200)
    pb = np.where(rng.random(200) < 0.5, tb, rng.integers(0, 3, size=200))
    fast = metrics.bootstrap_difference_classification(ta, pa, tb, pb, 3, n_boot=1000, seed=1)
    f1 = lambda t, p: skm.f1_score(t, p, average="macro")  # noqa: E731
    assert fast.estimate == pytest.approx(f1(ta, pa) - f1(tb, pb))
    slow_rng = np.random.default_rng(2)
    diffs = []
    for _ in range(1000):
        ia = slow_rng.integers(0, 300, size=300)
        ib = slow_rng.integers(0, 200, size=200)
        diffs.append(f1(ta[ia], pa[ia]) - f1(tb[ib], pb[ib]))
    low, high = np.quantile(diffs, [0.025, 0.975])
    assert fast.low == pytest.approx(low, abs=0.015)
    assert fast.high == pytest.approx(high, abs=0.015)
    assert 0 < fast.low < fast.estimate < fast.high


def test_bootstrap_of_a_mean_difference_paired_and_not():
    """Hand-checkable cases: a constant difference has a zero-width paired interval; the same
    values unpaired have an interval as wide as resampling each set gives (numpy reference)."""
    rng = np.random.default_rng(4)
    a = rng.random(80)
    b = a - 0.1
    paired = metrics.bootstrap_mean_difference(a, b, paired=True, n_boot=500, seed=0)
    assert (paired.estimate, paired.low, paired.high) == pytest.approx((0.1, 0.1, 0.1))
    apart = metrics.bootstrap_mean_difference(a, b, paired=False, n_boot=2000, seed=0)
    ref_rng = np.random.default_rng(9)
    ref = [
        a[ref_rng.integers(0, 80, 80)].mean() - b[ref_rng.integers(0, 80, 80)].mean()
        for _ in range(2000)
    ]
    low, high = np.quantile(ref, [0.025, 0.975])
    assert apart.low == pytest.approx(low, abs=0.02)
    assert apart.high == pytest.approx(high, abs=0.02)
    with pytest.raises(ValueError, match="paired"):
        metrics.bootstrap_mean_difference(a, b[:10], paired=True)


def test_paired_bootstrap_tells_a_better_model_apart():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 3, size=500)
    good = np.where(rng.random(500) < 0.8, truth, rng.integers(0, 3, size=500))
    bad = np.where(rng.random(500) < 0.5, truth, rng.integers(0, 3, size=500))
    result = metrics.paired_bootstrap(truth, good, bad, 3, n_boot=1000, seed=0)
    expected = skm.f1_score(truth, good, average="macro") - skm.f1_score(
        truth, bad, average="macro"
    )
    assert result["difference"] == pytest.approx(expected)
    assert result["low"] > 0 and result["p_value"] < 0.01
    same = metrics.paired_bootstrap(truth, good, good, 3, n_boot=200, seed=0)
    assert same["difference"] == 0 and same["p_value"] == 1.0


def test_bootstrap_mean_interval_covers_the_mean():
    x = np.linspace(0, 1, 101)
    ci = metrics.bootstrap_mean(x, n_boot=500, seed=0)
    assert ci.estimate == pytest.approx(0.5)
    assert ci.low < 0.5 < ci.high
    assert ci.high - ci.low == pytest.approx(2 * 1.96 * x.std() / np.sqrt(101), rel=0.15)
