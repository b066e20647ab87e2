"""Annotator quality over the vote table: gold accuracy, agreement with the others, speed.

Input is the vote table of :mod:`annotation.agreement` (``item``, ``voter``, ``label``, optional
``role``; by default only primary rows count, ``roles=None`` keeps all). Every function returns
a tidy DataFrame with one row per annotator (``voter``), sorted by voter, and is vectorised over
integer codes (no Python loop per rating or per item).

gold accuracy
    on the items of a gold table (``item`` -> ``label``), the share of the annotator's ratings
    that equal the gold label.
agreement with the leave-one-out consensus
    for each rating, the consensus is the plurality label among the *other* raters of the item
    (the rating itself left out, so an annotator cannot agree with themself). A rating scores 1
    when its label is the single plurality of the others, 0 when another label leads, and
    ``1 / t`` when its label is one of ``t`` labels tied at the top: the chance of agreeing under
    a random tie break, so ties neither reward nor punish. Ratings on items nobody else rated
    are not scored. The annotator's figure is the mean score over scored ratings.
speed outliers
    time on item is read from a duration column in seconds. Times are compared on the log
    scale (they are skewed) with the modified z-score of Iglewicz and Hoaglin (1993),
    ``z = 0.6745 (x - median) / MAD`` with ``MAD = median |x - median|``; when the MAD is 0 the
    scale is ``1.253314 * mean |x - median|`` instead, and ``z = 0`` when that is 0 too. An
    annotator whose median log time has ``z < -threshold`` among all annotators is ``"fast"``,
    ``z > threshold`` is ``"slow"``; ``share_fast`` is the share of their ratings whose own
    ``z`` among all ratings is below ``-threshold``. The customary threshold is 3.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from annotation.agreement import DEFAULT_ROLES, encode_ratings, select_votes

__all__ = [
    "MAD_SCALE",
    "MEAN_AD_SCALE",
    "annotator_quality",
    "consensus_agreement",
    "consensus_scores",
    "gold_accuracy",
    "robust_z",
    "speed_outliers",
]

# Iglewicz & Hoaglin (1993): 0.6745 is the 0.75 quantile of the standard normal, so the MAD is
# scaled to the standard deviation under normality; 1.253314 = sqrt(pi / 2) does the same for
# the mean absolute deviation.
MAD_SCALE = 0.6745
MEAN_AD_SCALE = 1.253314


def robust_z(values: Any) -> NDArray[np.float64]:
    """Modified z-scores ``0.6745 (x - median) / MAD`` of the finite values (NaN stays NaN)."""
    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    if not finite.any():
        return out
    xs = x[finite]
    center = np.median(xs)
    deviation = np.abs(xs - center)
    mad = np.median(deviation)
    if mad > 0:
        out[finite] = MAD_SCALE * (xs - center) / mad
        return out
    mean_ad = deviation.mean()
    out[finite] = (xs - center) / (MEAN_AD_SCALE * mean_ad) if mean_ad > 0 else 0.0
    return out


def _gold_series(gold: pd.DataFrame | pd.Series | Mapping[Any, Any]) -> pd.Series:
    if isinstance(gold, pd.DataFrame):
        missing = [c for c in ("item", "label") if c not in gold.columns]
        if missing:
            raise ValueError(f"gold: missing column(s) {missing}; the gold table needs item, label")
        table = gold[["item", "label"]].dropna()
    elif isinstance(gold, pd.Series):
        table = gold.dropna().rename("label").rename_axis("item").reset_index()
    elif isinstance(gold, Mapping):
        table = pd.DataFrame({"item": list(gold.keys()), "label": list(gold.values())}).dropna()
    else:
        raise ValueError(
            f"gold: expected a DataFrame, Series or mapping, got {type(gold).__name__}"
        )
    if table.empty:
        raise ValueError("gold: the gold table is empty")
    clash = table.drop_duplicates().duplicated("item")
    if clash.any():
        items = list(table.loc[clash, "item"].unique()[:5])
        raise ValueError(f"gold: item(s) with more than one gold label: {items}")
    return table.drop_duplicates("item").set_index("item")["label"]


def gold_accuracy(
    votes: pd.DataFrame,
    gold: pd.DataFrame | pd.Series | Mapping[Any, Any],
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> pd.DataFrame:
    """Per-annotator accuracy on gold items.

    ``gold`` maps item -> gold label (a DataFrame with ``item`` and ``label``, a Series indexed
    by item, or a dict). Returns ``voter``, ``n_gold`` (the annotator's ratings on gold items),
    ``n_correct`` and ``gold_accuracy`` (``n_correct / n_gold``; NaN without gold ratings).
    Every annotator of the selected ratings gets a row.
    """
    truth = _gold_series(gold)
    rows = select_votes(votes, roles=roles)
    expected = rows["item"].map(truth)
    on_gold = expected.notna().to_numpy()
    correct = on_gold & (rows["label"].to_numpy(dtype=object) == expected.to_numpy(dtype=object))
    table = pd.DataFrame(
        {"voter": rows["voter"].to_numpy(), "n_gold": on_gold, "n_correct": correct}
    )
    out = table.groupby("voter", sort=True).sum().astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["gold_accuracy"] = np.where(
            out["n_gold"] > 0, out["n_correct"] / out["n_gold"].clip(lower=1), np.nan
        )
    return out.reset_index()


def consensus_scores(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> pd.DataFrame:
    """Each rating's agreement with the leave-one-out plurality of the item's other raters.

    Returns the selected ratings (``item``, ``voter``, ``label``) with ``score`` in [0, 1]
    (see the module docstring for ties) and ``NaN`` for ratings on items nobody else rated.
    """
    r = encode_ratings(votes, level="nominal", roles=roles)
    size = r.n_values
    key = r.item * size + r.value
    keys = np.sort(key)
    first = np.r_[True, keys[1:] != keys[:-1]]
    ukey = keys[first]
    count = np.diff(np.r_[np.flatnonzero(first), len(keys)])
    unit = ukey // size
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    # Per entry: its unit's position in ``starts``.
    pos = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(unit)]))
    top = np.maximum.reduceat(count, starts)
    n_top = np.add.reduceat((count == top[pos]).astype(np.int64), starts)
    below = np.where(count < top[pos], count, 0)
    second = np.maximum.reduceat(below, starts)
    n_second = np.add.reduceat(((count == second[pos]) & (count < top[pos])).astype(np.int64),
                               starts)  # fmt: skip
    total = np.add.reduceat(count, starts)
    # Per rating: the counts of its item and label.
    entry = np.searchsorted(ukey, key)
    p = pos[entry]
    own = count[entry]
    lead, n_lead, runner, n_runner, m = top[p], n_top[p], second[p], n_second[p], total[p]
    score = np.zeros(len(key))
    single = (own == lead) & (n_lead == 1)
    # Left out, the rating's label has ``lead - 1`` votes among the others; the best other label
    # has ``runner`` votes shared by ``n_runner`` labels.
    score[single & (lead - 1 > runner)] = 1.0
    tie = single & (lead - 1 == runner) & (runner > 0)
    score[tie] = 1.0 / (1.0 + n_runner[tie])
    score[m < 2] = np.nan
    rows = select_votes(votes, roles=roles)
    return pd.DataFrame(
        {
            "item": rows["item"].to_numpy(),
            "voter": rows["voter"].to_numpy(),
            "label": rows["label"].to_numpy(),
            "score": score,
        }
    )


def consensus_agreement(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> pd.DataFrame:
    """Per-annotator agreement with the leave-one-out plurality of the other raters.

    Returns ``voter``, ``n_ratings``, ``n_scored`` (ratings on items with another rater) and
    ``consensus_agreement`` (mean score, NaN when nothing was scored).
    """
    scores = consensus_scores(votes, roles=roles)
    grouped = scores.groupby("voter", sort=True)["score"]
    out = pd.DataFrame(
        {
            "n_ratings": grouped.size().astype(np.int64),
            "n_scored": grouped.count().astype(np.int64),
            "consensus_agreement": grouped.mean(),
        }
    )
    return out.reset_index()


def speed_outliers(
    votes: pd.DataFrame,
    *,
    duration_column: str = "seconds",
    threshold: float = 3.5,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> pd.DataFrame:
    """Annotators who are unusually fast or slow (robust z-scores of log time on item).

    Reads ``duration_column`` (seconds spent on the item; missing values are ignored, a time
    of 0 counts as 1 ms). Returns ``voter``, ``n_timed``, ``median_seconds``, ``speed_z``
    (modified z of the annotator's median log time among annotators), ``share_fast`` (share of
    their timed ratings with a per-rating z below ``-threshold``) and ``speed_flag``
    (``"fast"``, ``"slow"`` or ``""``).
    """
    if threshold <= 0:
        raise ValueError(f"threshold: must be positive, got {threshold}")
    rows = select_votes(votes, roles=roles, columns=("item", "voter", duration_column))
    try:
        seconds = pd.to_numeric(rows[duration_column], errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{duration_column}: durations must be numbers of seconds") from exc
    if (seconds[np.isfinite(seconds)] < 0).any():
        raise ValueError(f"{duration_column}: durations must not be negative")
    log_t = np.log(np.maximum(seconds, 1e-3))
    per_rating = robust_z(log_t)
    table = pd.DataFrame(
        {
            "voter": rows["voter"].to_numpy(),
            "log_t": log_t,
            "fast": np.where(np.isfinite(per_rating), per_rating < -threshold, np.nan),
        }
    )
    grouped = table.groupby("voter", sort=True)
    out = pd.DataFrame(
        {
            "n_timed": grouped["log_t"].count().astype(np.int64),
            "median_seconds": np.exp(grouped["log_t"].median()),
            "share_fast": grouped["fast"].mean(),
        }
    )
    z = robust_z(np.log(out["median_seconds"].to_numpy()))
    out.insert(2, "speed_z", z)
    out["speed_flag"] = np.where(z < -threshold, "fast", np.where(z > threshold, "slow", ""))
    return out.reset_index()


def annotator_quality(
    votes: pd.DataFrame,
    *,
    gold: pd.DataFrame | pd.Series | Mapping[Any, Any] | None = None,
    duration_column: str | None = None,
    threshold: float = 3.5,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> pd.DataFrame:
    """One tidy row per annotator: consensus agreement, and gold accuracy and speed when asked.

    Always includes :func:`consensus_agreement`; adds :func:`gold_accuracy` when ``gold`` is
    given and :func:`speed_outliers` when ``duration_column`` is given.
    """
    out = consensus_agreement(votes, roles=roles)
    if gold is not None:
        out = out.merge(gold_accuracy(votes, gold, roles=roles), on="voter", how="left")
    if duration_column is not None:
        speed = speed_outliers(
            votes, duration_column=duration_column, threshold=threshold, roles=roles
        )
        out = out.merge(speed, on="voter", how="left")
    return out
