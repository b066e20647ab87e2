"""Scores of model answers against a frozen benchmark: pure functions over numpy arrays.

Conventions: ``n`` items, ``C`` categories (or ``K`` ordered options); a *distribution* is a
row of non-negative numbers summing to 1; a *label index* is an integer in ``0..C-1``; a
multi-label truth or prediction is a 0/1 (or probability) matrix ``n x C``. Every function
states its formula; where scikit-learn or scipy compute the same thing they are used, and the
tests check the rest against them.

Three functions are called by scripts outside the project with exactly these names and
arguments: :func:`alignment_score`, :func:`multilabel_f1` and :func:`representativeness`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import jensenshannon
from sklearn import metrics as skm

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

ECE_BINS = 15


def _matrix(values: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a table of items x options, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise ValueError(f"{name}: values must be finite and non-negative")
    return arr


def _distributions(values: ArrayLike, name: str, tol: float = 1e-6) -> FloatArray:
    arr = _matrix(values, name)
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > tol)
    if len(bad):
        raise ValueError(f"{name}: row {int(bad[0])} sums to {sums[bad[0]]:.6g}, not 1")
    return arr


def _labels(values: ArrayLike, n_classes: int, name: str) -> IntArray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected one label index per item")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: label indices must be integers")
    if len(arr) and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(f"{name}: label indices must be in 0..{n_classes - 1}")
    return arr.astype(np.int64)


def _fold_matrix(fold: Sequence[Sequence[int]], k: int) -> FloatArray:
    """A ``k x g`` 0/1 matrix sending each option to its group; every option in one group."""
    seen = [i for group in fold for i in group]
    if sorted(seen) != list(range(k)):
        raise ValueError(f"fold: the groups must cover the options 0..{k - 1} once each")
    out = np.zeros((k, len(fold)))
    for g, group in enumerate(fold):
        out[list(group), g] = 1.0
    return out


# --- survey distributions -------------------------------------------------------------------


def alignment_per_item(
    distributions: ArrayLike, choices: ArrayLike, fold: Sequence[Sequence[int]] | None = None
) -> FloatArray:
    """Per item, the share of people who chose the model's option (after folding)."""
    dist = _distributions(distributions, "distributions")
    chosen = _labels(choices, dist.shape[1], "choices")
    if len(chosen) != len(dist):
        raise ValueError("choices: one choice per item of distributions")
    if fold is not None:
        m = _fold_matrix(fold, dist.shape[1])
        dist = dist @ m
        chosen = m[chosen].argmax(axis=1).astype(np.int64)
    result: FloatArray = dist[np.arange(len(dist)), chosen]
    return result


def alignment_score(
    distributions: ArrayLike, choices: ArrayLike, fold: Sequence[Sequence[int]] | None = None
) -> float:
    """Mean share of people who chose the model's option.

    ``score = (1/n) * sum_i P_i[c_i]`` where ``P_i`` is item ``i``'s answer distribution over
    its options and ``c_i`` the model's option. With ``fold`` (groups of option indices, e.g.
    ``[[0, 1], [2], [3, 4]]`` for disagree / neutral / agree on a 5-point scale) the shares are
    summed within each group and the model's option replaced by its group first. A model that
    always picks the most popular option reaches the mean of the rows' maxima; one that picks
    at random the mean of 1/K.
    """
    per_item = alignment_per_item(distributions, choices, fold)
    return float(per_item.mean()) if len(per_item) else float("nan")


def wasserstein_ordinal(p: ArrayLike, q: ArrayLike) -> FloatArray:
    """Per row, the 1-Wasserstein distance of two distributions on the positions 0..K-1:
    ``W1 = sum_{k<K-1} |F_p(k) - F_q(k)|`` with ``F`` the cumulative distribution."""
    a = _distributions(p, "model")
    b = _distributions(q, "people")
    if a.shape != b.shape:
        raise ValueError(f"model and people: shapes {a.shape} and {b.shape} differ")
    result: FloatArray = np.abs(np.cumsum(a - b, axis=1)[:, :-1]).sum(axis=1)
    return result


def representativeness_per_item(model: ArrayLike, people: ArrayLike) -> FloatArray:
    a = np.asarray(model, dtype=np.float64)
    k = a.shape[1] if a.ndim == 2 else 0
    if k < 2:
        raise ValueError("model: questions need at least two ordered options")
    result: FloatArray = 1.0 - wasserstein_ordinal(model, people) / (k - 1)
    return result


def representativeness(model: ArrayLike, people: ArrayLike) -> float:
    """How closely a model's answer distributions match a group's (Santurkar et al. 2023).

    Both arguments are ``questions x K`` distributions over the same ordered options. Per
    question ``R = 1 - W1(model, people) / (K - 1)``, with ``W1`` the 1-Wasserstein distance
    with the options at positions ``0..K-1`` (so ``R`` is 1 for identical distributions and 0
    when all mass sits at opposite ends); the score is the mean of ``R`` over questions.
    """
    per_item = representativeness_per_item(model, people)
    return float(per_item.mean()) if len(per_item) else float("nan")


def js_similarity_per_item(model: ArrayLike, people: ArrayLike) -> FloatArray:
    a = _distributions(model, "model")
    b = _distributions(people, "people")
    if a.shape != b.shape:
        raise ValueError(f"model and people: shapes {a.shape} and {b.shape} differ")
    distance = jensenshannon(a, b, axis=1, base=2)
    result: FloatArray = 1.0 - np.asarray(distance, dtype=np.float64) ** 2
    return result


def js_similarity(model: ArrayLike, people: ArrayLike) -> float:
    """For unordered options: ``1 - JSD(model, people)`` with the Jensen-Shannon divergence in
    bits (``JSD = H(M) - (H(P) + H(Q)) / 2``, ``M = (P + Q) / 2``, between 0 and 1), averaged
    over questions."""
    per_item = js_similarity_per_item(model, people)
    return float(per_item.mean()) if len(per_item) else float("nan")


# --- single-label classification ------------------------------------------------------------


def confusion(truth: ArrayLike, pred: ArrayLike, n_classes: int) -> IntArray:
    """``M[t, p]``: items of true class ``t`` predicted as ``p``."""
    t = _labels(truth, n_classes, "truth")
    p = _labels(pred, n_classes, "pred")
    if len(t) != len(p):
        raise ValueError("truth and pred: one label per item each")
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def scores_from_confusion(matrix: ArrayLike) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1 and their macro, micro and weighted means.

    ``precision_c = M[c,c] / sum_t M[t,c]``, ``recall_c = M[c,c] / sum_p M[c,p]``,
    ``F1_c = 2 P R / (P + R)`` (0 where undefined, as scikit-learn's ``zero_division=0``);
    macro = unweighted mean over classes present in truth or predictions, weighted = mean
    weighted by support, micro F1 = accuracy for single-label data.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim == 2:
        m = m[None]
    tp = np.diagonal(m, axis1=1, axis2=2)
    predicted = m.sum(axis=1)
    support = m.sum(axis=2)
    total = m.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        accuracy = np.where(total > 0, tp.sum(axis=1) / total, np.nan)
    present = (support + predicted) > 0
    macro = np.where(present.any(axis=1), (f1 * present).sum(axis=1) / present.sum(axis=1), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.where(total > 0, (f1 * support).sum(axis=1) / total, np.nan)
    squeeze = np.asarray(matrix).ndim == 2

    def out(x: Any) -> Any:
        return x[0] if squeeze else x

    return {
        "accuracy": out(accuracy),
        "macro_f1": out(macro),
        "micro_f1": out(accuracy),
        "weighted_f1": out(weighted),
        "precision": out(precision),
        "recall": out(recall),
        "f1": out(f1),
        "support": out(support),
    }


def classification(truth: ArrayLike, pred: ArrayLike, n_classes: int) -> dict[str, Any]:
    """Single-label scores by scikit-learn: accuracy, macro/micro/weighted F1 (over the classes
    present in truth or predictions, ``zero_division=0``), per-class precision, recall, F1 and
    support, and the confusion matrix ``M[t, p]``."""
    t = _labels(truth, n_classes, "truth")
    p = _labels(pred, n_classes, "pred")
    if len(t) != len(p):
        raise ValueError("truth and pred: one label per item each")
    labels = list(range(n_classes))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        t, p, labels=labels, zero_division=0
    )
    return {
        "accuracy": float(skm.accuracy_score(t, p)),
        "macro_f1": float(skm.f1_score(t, p, average="macro", zero_division=0)),
        "micro_f1": float(skm.f1_score(t, p, average="micro", zero_division=0)),
        "weighted_f1": float(skm.f1_score(t, p, average="weighted", zero_division=0)),
        "per_class": [
            {
                "precision": float(precision[c]),
                "recall": float(recall[c]),
                "f1": float(f1[c]),
                "support": int(support[c]),
            }
            for c in labels
        ],
        "confusion": skm.confusion_matrix(t, p, labels=labels).tolist(),
    }


def accuracy_by_subject(
    choices: ArrayLike, keys: ArrayLike, subjects: Sequence[str]
) -> dict[str, dict[str, float]]:
    """For knowledge questions: per subject, the share of questions whose chosen option is the
    key (``correct / n``), and ``n``."""
    c = np.asarray(choices)
    k = np.asarray(keys)
    s = np.asarray(subjects, dtype=object)
    if not len(c) == len(k) == len(s):
        raise ValueError("choices, keys and subjects: one per question each")
    out: dict[str, dict[str, float]] = {}
    for subject in sorted({str(x) for x in s}):
        mask = s == subject
        out[subject] = {"accuracy": float((c[mask] == k[mask]).mean()), "n": int(mask.sum())}
    return out


# --- multi-label ----------------------------------------------------------------------------


def _on(values: FloatArray, threshold: str | float) -> NDArray[np.bool_]:
    on: NDArray[np.bool_]
    if threshold == "above_uniform":
        on = values > 1.0 / values.shape[1]
        return on
    if isinstance(threshold, int | float) and not isinstance(threshold, bool):
        on = values > float(threshold)
        return on
    raise ValueError("threshold: 'above_uniform' or a number")


def multilabel_f1(
    truth: ArrayLike, scores: ArrayLike, threshold: str | float = "above_uniform"
) -> dict[str, Any]:
    """Multi-label F1 after thresholding both tables the same way.

    ``truth`` and ``scores`` are ``items x C`` (probabilities, shares or 0/1). With
    ``"above_uniform"`` a category is on where its value is strictly above ``1/C`` (the
    speech-emotion convention of deriving labels at a share above chance); a number ``t`` turns
    on values strictly above ``t``. Then per category ``F1_c = 2 TP / (2 TP + FP + FN)`` (0
    where a category is never on in either table); ``macro`` = mean of ``F1_c`` over all C
    categories, ``micro`` = the same formula on the pooled counts; also subset accuracy (rows
    equal) and Hamming loss (share of cells that differ). Computed by scikit-learn.
    """
    t_arr = _matrix(truth, "truth")
    s_arr = _matrix(scores, "scores")
    if t_arr.shape != s_arr.shape:
        raise ValueError(f"truth and scores: shapes {t_arr.shape} and {s_arr.shape} differ")
    t = _on(t_arr, threshold)
    s = _on(s_arr, threshold)
    if not len(t):
        raise ValueError("truth: no items")
    per_label = skm.f1_score(t, s, average=None, zero_division=0)
    return {
        "macro": float(np.mean(per_label)),
        "micro": float(skm.f1_score(t, s, average="micro", zero_division=0)),
        "per_label": [float(x) for x in per_label],
        "subset_accuracy": float(skm.accuracy_score(t, s)),
        "hamming_loss": float(skm.hamming_loss(t, s)),
    }


# --- soft labels ----------------------------------------------------------------------------


def soft_scores(truth: ArrayLike, pred: ArrayLike, eps: float = 1e-12) -> dict[str, float]:
    """Distances of predicted distributions from soft labels, averaged over items.

    ``cross_entropy = -sum_c t_c log q_c``; ``kl = sum_c t_c log(t_c / q_c)`` (nats, with
    ``0 log 0 = 0`` and ``q`` clipped at ``eps``); ``js`` = Jensen-Shannon divergence in bits;
    ``total_variation = (1/2) sum_c |t_c - q_c|``.
    """
    t = _distributions(truth, "truth")
    q = _distributions(pred, "pred")
    if t.shape != q.shape:
        raise ValueError(f"truth and pred: shapes {t.shape} and {q.shape} differ")
    logq = np.log(np.clip(q, eps, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        tlogt = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)
    ce = -(t * logq).sum(axis=1)
    kl = tlogt.sum(axis=1) + ce
    js = np.asarray(jensenshannon(t, q, axis=1, base=2), dtype=np.float64) ** 2
    tv = 0.5 * np.abs(t - q).sum(axis=1)
    return {
        "cross_entropy": float(ce.mean()),
        "kl": float(kl.mean()),
        "js": float(js.mean()),
        "total_variation": float(tv.mean()),
    }


def expected_calibration_error(probs: ArrayLike, truth: ArrayLike, n_bins: int = ECE_BINS) -> float:
    """ECE with equal-width confidence bins (Guo et al. 2017): the model's confidence is its
    top probability and its answer the arg max; ``ECE = sum_b (n_b / n) |acc_b - conf_b|`` over
    ``n_bins`` bins ``((b-1)/B, b/B]``."""
    p = _distributions(probs, "probs", tol=1e-4)
    t = _labels(truth, p.shape[1], "truth")
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == t).astype(np.float64)
    bins = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    acc = np.bincount(bins, weights=correct, minlength=n_bins)
    cf = np.bincount(bins, weights=conf, minlength=n_bins)
    return float(np.abs(acc - cf).sum() / len(p)) if len(p) else float("nan")


# --- uncertainty ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    confidence: float = 0.95

    def as_dict(self) -> dict[str, float]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
        }


def _percentiles(values: FloatArray, confidence: float) -> tuple[float, float]:
    alpha = (1 - confidence) / 2
    lo, hi = np.nanquantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_mean(
    per_item: ArrayLike,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    chunk: int = 64,
) -> Interval:
    """Percentile interval of a mean over items, resampling items with replacement."""
    x = np.asarray(per_item, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        idx = rng.integers(0, len(x), size=(size, len(x)))
        means[start : start + size] = x[idx].mean(axis=1)
    lo, hi = _percentiles(means, confidence)
    return Interval(float(x.mean()), lo, hi, confidence)


def bootstrap_classification(
    truth: ArrayLike,
    pred: ArrayLike,
    n_classes: int,
    *,
    metric: str = "macro_f1",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile interval of a single-label score, resampling items with replacement.

    A single-label score depends on the items only through the confusion matrix, and a
    resample of ``n`` items draws the matrix from ``Multinomial(n, M / n)``; so each replicate
    costs ``C^2`` numbers whatever ``n`` is (the same distribution as drawing item indices).
    """
    matrix = confusion(truth, pred, n_classes)
    n = int(matrix.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, matrix.ravel() / n, size=n_boot).reshape(n_boot, *matrix.shape)
    values = np.asarray(scores_from_confusion(draws)[metric], dtype=np.float64)
    lo, hi = _percentiles(values, confidence)
    return Interval(float(scores_from_confusion(matrix)[metric]), lo, hi, confidence)


def paired_bootstrap(
    truth: ArrayLike,
    pred_a: ArrayLike,
    pred_b: ArrayLike,
    n_classes: int,
    *,
    metric: str = "macro_f1",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Paired bootstrap of ``metric(a) - metric(b)`` on the same items.

    Items are resampled jointly: the cell ``(truth, a, b)`` of each item is drawn from the
    observed ``C^3`` table. Returns the observed difference, its percentile interval and a
    two-sided p-value ``2 * min(P*(d <= 0), P*(d >= 0))`` from the replicates (capped at 1).
    """
    t = _labels(truth, n_classes, "truth")
    a = _labels(pred_a, n_classes, "pred_a")
    b = _labels(pred_b, n_classes, "pred_b")
    c = n_classes
    cells = np.bincount((t * c + a) * c + b, minlength=c**3).astype(np.float64)
    n = int(cells.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cells / n, size=n_boot).reshape(n_boot, c, c, c)
    ma = draws.sum(axis=3)  # truth x a
    mb = draws.sum(axis=2)  # truth x b
    diff = np.asarray(scores_from_confusion(ma)[metric]) - np.asarray(
        scores_from_confusion(mb)[metric]
    )
    table = cells.reshape(c, c, c)
    observed = float(scores_from_confusion(table.sum(axis=2))[metric]) - float(
        scores_from_confusion(table.sum(axis=1))[metric]
    )
    lo, hi = _percentiles(diff, confidence)
    p = min(1.0, 2 * min(float((diff <= 0).mean()), float((diff >= 0).mean())))
    return {"difference": observed, "low": lo, "high": hi, "p_value": p, "n_boot": n_boot}


def bootstrap_multilabel(
    truth_on: ArrayLike,
    pred_on: ArrayLike,
    *,
    average: str = "macro",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile interval of multi-label macro or micro F1 over resampled items.

    Items with the same (truth, prediction) rows are interchangeable, so a resample draws how
    many of each distinct pair it holds from a multinomial; each replicate's per-label counts
    are then a matrix product, whatever the number of items.
    """
    t = np.asarray(truth_on, dtype=bool)
    s = np.asarray(pred_on, dtype=bool)
    n, c = t.shape
    both = np.hstack([t, s])
    if 2 * c <= 62:
        # Each (truth, prediction) row as the bits of one integer: a 1-D unique is a plain
        # sort of n integers, where ``unique(axis=0)`` sorts n rows of 2C bytes (20x slower).
        bits = np.left_shift(np.int64(1), np.arange(2 * c, dtype=np.int64))
        codes, counts = np.unique(both.astype(np.int64) @ bits, return_counts=True)
        patterns = ((codes[:, None] & bits) != 0).astype(bool)
    else:
        patterns, counts = np.unique(both, axis=0, return_counts=True)
    pt, ps = patterns[:, :c], patterns[:, c:]
    tp_p = (pt & ps).astype(np.float64)
    fp_p = (~pt & ps).astype(np.float64)
    fn_p = (pt & ~ps).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=n_boot).astype(np.float64)

    def f1(w: FloatArray) -> FloatArray:
        tp, fp, fn = w @ tp_p, w @ fp_p, w @ fn_p
        if average == "micro":
            tp, fp, fn = tp.sum(axis=-1), fp.sum(axis=-1), fn.sum(axis=-1)
            den = 2 * tp + fp + fn
            return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 0.0)
        den = 2 * tp + fp + fn
        per = np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 0.0)
        result: FloatArray = per.mean(axis=-1)
        return result

    values = f1(draws)
    lo, hi = _percentiles(values, confidence)
    return Interval(float(f1(counts.astype(np.float64))), lo, hi, confidence)


def bootstrap_difference_classification(
    truth_a: ArrayLike,
    pred_a: ArrayLike,
    truth_b: ArrayLike,
    pred_b: ArrayLike,
    n_classes: int,
    *,
    metric: str = "macro_f1",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile interval of ``metric(a) - metric(b)`` for two separate sets of items (two
    values of an item attribute, say), each resampled on its own: every replicate draws each
    set's confusion matrix from its multinomial, as :func:`bootstrap_classification` does."""
    rng = np.random.default_rng(seed)

    def replicates(truth: ArrayLike, pred: ArrayLike) -> tuple[FloatArray, float]:
        matrix = confusion(truth, pred, n_classes)
        n = int(matrix.sum())
        if n == 0:
            raise ValueError("truth and pred: no items")
        draws = rng.multinomial(n, matrix.ravel() / n, size=n_boot)
        values = np.asarray(
            scores_from_confusion(draws.reshape(n_boot, n_classes, n_classes))[metric],
            dtype=np.float64,
        )
        return values, float(scores_from_confusion(matrix)[metric])

    values_a, estimate_a = replicates(truth_a, pred_a)
    values_b, estimate_b = replicates(truth_b, pred_b)
    lo, hi = _percentiles(values_a - values_b, confidence)
    return Interval(estimate_a - estimate_b, lo, hi, confidence)


def bootstrap_mean_difference(
    a: ArrayLike,
    b: ArrayLike,
    *,
    paired: bool,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile interval of ``mean(a) - mean(b)``. ``paired``: ``a`` and ``b`` are values on
    the same items in the same order (two groups of respondents on the same questions), and
    the items are resampled jointly; otherwise each is resampled on its own."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if paired and len(x) != len(y):
        raise ValueError("a and b: paired values need one of each per item")
    if not len(x) or not len(y):
        raise ValueError("a and b: no items")
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    chunk = 64  # replicates at a time, so memory stays small whatever the number of items
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        idx = rng.integers(0, len(x), size=(size, len(x)))
        idy = idx if paired else rng.integers(0, len(y), size=(size, len(y)))
        diffs[start : start + size] = x[idx].mean(axis=1) - y[idy].mean(axis=1)
    lo, hi = _percentiles(diffs, confidence)
    return Interval(float(x.mean() - y.mean()), lo, hi, confidence)
