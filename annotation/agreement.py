"""Agreement statistics over the vote table: Krippendorff's alpha, Fleiss' and Cohen's kappa.

Input is the *vote table*: one row per rating with columns

``item``
    key of the rated item (the *unit* in Krippendorff's terms);
``voter``
    pseudonymous key of the annotator (the *coder* or *observer*);
``label``
    the value given: a category, or a number on a rating scale;
``role`` (optional)
    ``"primary"`` or ``"secondary"``. Every function takes ``roles``: by default only rows whose
    role is ``"primary"`` count; ``roles=None`` keeps every row. A table without a ``role``
    column is all primary.

Other columns (``weight``, ``group``, ``created``, item metadata) are carried along and only the
functions that name them read them. Weights are *not* used: agreement is about what the raters
did, not about whom they represent.

A row whose ``label`` is missing (NaN/None) is a missing rating and is dropped. Items rated by
one rater only carry no information about agreement and drop out of alpha (they are not
*pairable*). Apart from :func:`per_label_alpha`, which is made for multi-label schemas, a rater
must give at most one label per item among the selected roles; a repeated ``(item, voter)`` pair
raises ``ValueError``.

Definitions (Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011). With
``n[u, c]`` the number of raters who gave value ``c`` to unit ``u`` and ``m[u] = sum_c n[u, c]``,
over the pairable units (``m[u] >= 2``):

* coincidences ``o[c, k] = sum_u (n[u, c] * n[u, k] - [c == k] * n[u, c]) / (m[u] - 1)``;
* pairable values ``n[c] = sum_k o[c, k] = sum_u n[u, c]`` and ``n = sum_c n[c]``;
* ``alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_{c,k} o[c, k] d[c, k] / sum_{c,k} n[c] n[k] d[c, k]``

with the squared difference ``d[c, k]`` of the level of measurement:

nominal
    ``0`` if ``c == k`` else ``1``;
ordinal
    ``(sum_{g=c..k} n[g] - (n[c] + n[k]) / 2) ** 2`` (ranks, through the pairable marginals);
interval
    ``(c - k) ** 2``;
ratio
    ``((c - k) / (c + k)) ** 2`` (non-negative values with a natural zero).

The level is always passed explicitly; it is never guessed from the labels. Alpha is ``NaN``
when it is undefined: no pairable unit, or no variation at all (``D_e = 0``).

Everything runs on integer codes with ``np.bincount`` and sparse products: the coincidences are
summed from per-unit value counts, never from a raters x units matrix, so a million ratings from
thousands of raters take well under a second. Randomness (the bootstrap) comes only from an
explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from sources.codes import CodedVotes, factorize

__all__ = [
    "DEFAULT_ROLES",
    "LEVELS",
    "AgreementReport",
    "AlphaResult",
    "Ratings",
    "agreement_report",
    "alpha_by",
    "alpha_over_time",
    "cohen_kappa_table",
    "coincidence_matrix",
    "encode_ratings",
    "fleiss_kappa",
    "krippendorff_alpha",
    "krippendorff_alpha_bootstrap",
    "pairwise_cohen_kappa",
    "pairwise_matrix",
    "per_category_agreement",
    "per_label_alpha",
    "rating_table",
    "select_votes",
]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")
DEFAULT_ROLES: tuple[str, ...] = ("primary",)
REQUIRED_COLUMNS: tuple[str, ...] = ("item", "voter", "label")

# Ordinal and ratio distances need the full values x values table; beyond this many distinct
# values it would not fit comfortably in memory (and such data is better treated as interval).
MAX_DISTANCE_VALUES = 2000
# Up to this many (unit, value) cells, per-unit counts come from one dense bincount.
_DENSE_CELLS = 1 << 25
# Cells of the replicate x unit weight matrix drawn at once by the bootstrap.
_BOOT_CELLS = 1 << 22


# --- validation and encoding ------------------------------------------------------------------


def _preview(values: Collection[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _as_roles(roles: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if roles is None:
        return None
    if isinstance(roles, str):
        return (roles,)
    out = tuple(roles)
    if not out:
        raise ValueError("roles: the list of roles is empty; pass roles=None to keep every row")
    return out


def select_votes(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    columns: Sequence[str] = REQUIRED_COLUMNS,
) -> pd.DataFrame:
    """Validate the vote table and return the rows that count.

    Keeps the rows whose ``role`` is in ``roles`` (all rows when ``roles`` is None or the table
    has no ``role`` column) and drops rows with a missing ``label`` (missing ratings).

    Raises ``ValueError`` naming the problem for: not a DataFrame, a missing column among
    ``columns``, an empty table, a missing ``item`` or ``voter``, or no row left after the role
    selection.
    """
    if not isinstance(votes, pd.DataFrame):
        raise ValueError(f"votes: expected a pandas DataFrame, got {type(votes).__name__}")
    missing = [c for c in columns if c not in votes.columns]
    if missing:
        raise ValueError(
            f"votes: missing column(s) {missing}; the vote table needs {list(columns)}"
        )
    if votes.empty:
        raise ValueError("votes: the vote table is empty (no rating to measure agreement on)")
    wanted = _as_roles(roles)
    rows = votes
    if wanted is not None and "role" in votes.columns:
        rows = votes[votes["role"].isin(list(wanted))]
        if rows.empty:
            present = sorted(map(str, votes["role"].dropna().unique()))
            raise ValueError(
                f"role: no row has a role in {list(wanted)} (roles present: {present}); "
                "pass roles=... to choose others"
            )
    for col in ("item", "voter"):
        if col in rows.columns:
            bad = int(rows[col].isna().sum())
            if bad:
                raise ValueError(f"{col}: {bad} row(s) have a missing {col} key")
    if "label" in columns:
        rows = rows[rows["label"].notna()]
        if rows.empty:
            raise ValueError("label: every selected rating has a missing label")
    return rows


def _unique(keys: NDArray[Any]) -> NDArray[Any]:
    """Sorted distinct keys (sort-based: much faster than hashing for large integer keys)."""
    ordered = np.sort(keys)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"level: unknown level of measurement {level!r}; use one of {LEVELS}")
    return level


@dataclass(frozen=True)
class Ratings(CodedVotes):
    """Selected ratings as integer codes.

    ``item``, ``voter`` and ``value`` are codes into ``items``, ``voters`` and ``values``.
    ``values`` is the value domain: sorted numbers for the ordinal (numeric labels), interval and
    ratio levels, the categories (sorted, or in ``value_order``) otherwise. ``numeric`` holds the
    number used by distance functions for each value: the value itself for interval and ratio,
    its rank for ordinal, ``None`` for nominal.
    """

    level: str
    item: NDArray[np.int64]
    voter: NDArray[np.int64]
    value: NDArray[np.int64]
    items: pd.Index
    voters: pd.Index
    values: pd.Index
    numeric: NDArray[np.float64] | None

    @property
    def n_values(self) -> int:
        return len(self.values)


def _encode_values(
    labels: pd.Series, level: str, value_order: Sequence[Hashable] | None
) -> tuple[NDArray[np.int64], pd.Index, NDArray[np.float64] | None]:
    if value_order is not None:
        if level in ("interval", "ratio"):
            raise ValueError(
                f"value_order: only for nominal and ordinal levels; {level} uses the numbers"
            )
        order = pd.Index(list(value_order))
        if order.has_duplicates:
            raise ValueError(f"value_order: duplicate values {_preview(order[order.duplicated()])}")
        codes = order.get_indexer(pd.Index(labels))
        if (codes < 0).any():
            unknown = pd.unique(labels[codes < 0])
            raise ValueError(f"label: value(s) not in value_order: {_preview(list(unknown))}")
        numeric = np.arange(len(order), dtype=float) if level == "ordinal" else None
        return codes.astype(np.int64), order, numeric
    # The category domain for the nominal level, the sorted distinct numbers otherwise.
    uniques: pd.Index | NDArray[np.float64]
    if level == "nominal":
        codes, uniques = factorize(labels)
        return codes, uniques, None
    numbers = pd.to_numeric(labels, errors="coerce")
    bad = numbers.isna().to_numpy()
    if bad.any():
        raise ValueError(
            f"label: level {level!r} needs numeric labels, found "
            f"{_preview(list(pd.unique(labels[bad])))}; for ordered categories pass value_order"
        )
    arr = numbers.to_numpy(dtype=float)
    if level == "ratio" and (arr < 0).any():
        raise ValueError("label: the ratio level needs non-negative values (a natural zero)")
    uniques, codes = np.unique(arr, return_inverse=True)
    numeric = np.arange(len(uniques), dtype=float) if level == "ordinal" else uniques
    return codes.astype(np.int64), pd.Index(uniques), numeric


def encode_ratings(
    votes: pd.DataFrame,
    *,
    level: Level,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
) -> Ratings:
    """Validate the vote table and encode the selected ratings (see :class:`Ratings`).

    ``value_order`` lists the categories in order: required for ordinal data with non-numeric
    labels (``["low", "mid", "high"]``), optional for nominal data (then it also rejects labels
    outside the list). Raises ``ValueError`` for an unknown level, non-numeric labels on a
    numeric level, or a rater who labels one item more than once.
    """
    _check_level(level)
    rows = select_votes(votes, roles=roles)
    item, items = factorize(rows["item"])
    voter, voters = factorize(rows["voter"])
    key = item * len(voters) + voter
    ordered = np.sort(key)
    dup = int((ordered[1:] == ordered[:-1]).sum())
    if dup:
        raise ValueError(
            f"voter: {dup} repeated (item, voter) rating(s) among roles {_as_roles(roles)}; "
            "alpha and kappa take one label per rater and item (use per_label_alpha for "
            "multi-label schemas, or choose roles)"
        )
    value, values, numeric = _encode_values(rows["label"], level, value_order)
    return Ratings(level, item, voter, value, items, voters, values, numeric)


# --- per-unit counts and Krippendorff's alpha ----------------------------------------------------


def _unit_counts(r: Ratings) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Non-zero ``n[u, c]`` as (unit, value, count), sorted by unit then value."""
    n_units, n_values = r.n_items, r.n_values
    key = r.item * n_values + r.value
    if n_units * n_values <= _DENSE_CELLS:
        counts = np.bincount(key, minlength=n_units * n_values)
        key = np.flatnonzero(counts)
        n = counts[key]
    else:
        key, n = np.unique(key, return_counts=True)
    return key // n_values, key % n_values, n.astype(np.int64)


def _pairs_within(unit: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indices (a, b) of every ordered pair of entries in the same unit (a == b included).

    ``unit`` must be sorted. The number of pairs is ``sum_u L[u] ** 2`` for ``L[u]`` entries of
    unit ``u``.
    """
    n_entries = len(unit)
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]]) if n_entries else np.array([], int)
    lengths = np.diff(np.r_[starts, n_entries])
    reps = np.repeat(lengths, lengths)
    first = np.repeat(starts, lengths)
    a = np.repeat(np.arange(n_entries), reps)
    block = np.cumsum(reps) - reps
    b = np.repeat(first, reps) + np.arange(len(a)) - np.repeat(block, reps)
    return a, b


# A distance function on value codes: d(c, k) for arrays of codes c and k.
_Distance = Callable[[NDArray[np.intp], NDArray[np.intp]], NDArray[np.float64]]


def _distance(
    level: str, numeric: NDArray[np.float64] | None, marginals: NDArray[np.float64]
) -> _Distance:
    """Squared difference function ``d(c, k)`` on value codes for the level of measurement."""
    if level == "nominal":
        return lambda c, k: (c != k).astype(float)
    assert numeric is not None
    if level == "interval":
        return lambda c, k: (numeric[c] - numeric[k]) ** 2
    if level == "ratio":

        def ratio(c: NDArray[np.intp], k: NDArray[np.intp]) -> NDArray[np.float64]:
            total = numeric[c] + numeric[k]
            diff = numeric[c] - numeric[k]
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(total == 0, 0.0, (diff / np.where(total == 0, 1, total)) ** 2)

        return ratio
    # ordinal: ranks through the cumulative pairable marginals (value codes are in order)
    cum: NDArray[np.float64] = np.r_[0.0, np.cumsum(marginals, dtype=float)]

    def ordinal(c: NDArray[np.intp], k: NDArray[np.intp]) -> NDArray[np.float64]:
        lo, hi = np.minimum(c, k), np.maximum(c, k)
        span: NDArray[np.float64] = cum[hi + 1] - cum[lo] - (marginals[lo] + marginals[hi]) / 2.0
        return span**2

    return ordinal


@dataclass(frozen=True)
class _UnitStats:
    """Sufficient statistics of alpha per pairable unit, for the estimate and the bootstrap."""

    level: str
    disagreement: NDArray[np.float64]  # sum_{c,k} n[u,c] n[u,k] d[c,k] / (m[u] - 1)
    m: NDArray[np.float64]  # pairable values per unit
    counts: sparse.csr_matrix  # units x values, n[u, c]
    center: NDArray[np.float64] | None  # interval: centred values
    delta: NDArray[np.float64] | None  # ordinal / ratio: values x values distances
    n_voters: int

    def expected_sum(self, marginals: NDArray[np.float64]) -> NDArray[np.float64]:
        """``sum_{c,k} n[c] n[k] d[c,k]`` for marginals of shape (V,) or (B, V)."""
        mc = np.atleast_2d(np.asarray(marginals, dtype=float))
        total = mc.sum(axis=1)
        out: NDArray[np.float64]
        if self.level == "nominal":
            out = total**2 - (mc**2).sum(axis=1)
        elif self.level == "interval":
            assert self.center is not None
            s1 = mc @ self.center
            s2 = mc @ self.center**2
            out = 2.0 * (total * s2 - s1**2)
        else:
            assert self.delta is not None
            out = ((mc @ self.delta) * mc).sum(axis=1)
        return np.maximum(out, 0.0)


def _unit_stats(r: Ratings) -> _UnitStats:
    unit, value, n = _unit_counts(r)
    m_all = np.bincount(unit, weights=n, minlength=r.n_items)
    keep = m_all[unit] >= 2
    unit, value, n = unit[keep], value[keep], n[keep]
    pairable = np.flatnonzero(m_all >= 2)
    # Renumber the pairable units 0..U-1 (unit codes are sorted, so searchsorted is exact).
    unit = np.searchsorted(pairable, unit)
    m = m_all[pairable]
    n_units = len(pairable)
    counts = sparse.csr_matrix(
        (n.astype(float), (unit, value)), shape=(n_units, r.n_values), dtype=float
    )
    marginals = np.bincount(value, weights=n, minlength=r.n_values)
    center = delta = None
    nf = n.astype(float)
    if r.level == "nominal":
        sq = np.bincount(unit, weights=nf**2, minlength=n_units)
        within = m**2 - sq
    elif r.level == "interval":
        assert r.numeric is not None
        total = marginals.sum()
        mean = float(marginals @ r.numeric / total) if total else 0.0
        center = r.numeric - mean
        s1 = np.bincount(unit, weights=nf * center[value], minlength=n_units)
        s2 = np.bincount(unit, weights=nf * center[value] ** 2, minlength=n_units)
        within = np.maximum(2.0 * (m * s2 - s1**2), 0.0)
    else:
        if r.n_values > MAX_DISTANCE_VALUES:
            raise ValueError(
                f"label: {r.n_values} distinct values is too many for the {r.level} level "
                f"(at most {MAX_DISTANCE_VALUES}); round the values or use level='interval'"
            )
        dist = _distance(r.level, r.numeric, marginals)
        codes = np.arange(r.n_values)
        delta = dist(codes[:, None], codes[None, :])
        a, b = _pairs_within(unit)
        other = a != b
        a, b = a[other], b[other]
        within = np.bincount(unit[a], weights=nf[a] * nf[b] * delta[value[a], value[b]],
                             minlength=n_units)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        disagreement = np.where(m > 1, within / (m - 1), 0.0)
    n_voters = int((np.bincount(r.voter[m_all[r.item] >= 2], minlength=r.n_voters) > 0).sum())
    return _UnitStats(r.level, disagreement, m.astype(float), counts, center, delta, n_voters)


def _alpha_from(
    observed_sum: NDArray[np.float64], n: NDArray[np.float64], expected_sum: NDArray[np.float64]
) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        # Relative tolerance: float rounding must not turn "no variation" into a huge alpha.
        undefined = (expected_sum <= 1e-12 * np.maximum(n, 1) ** 2) | (n < 2)
        alpha = 1.0 - (n - 1.0) * observed_sum / np.where(undefined, 1.0, expected_sum)
    return np.where(undefined, np.nan, alpha)


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha with its ingredients and, when bootstrapped, a percentile interval.

    ``n_items`` counts the pairable items (two or more ratings), ``n_values`` the pairable values
    ``n``, ``n_voters`` the raters with at least one pairable value. ``observed`` and ``expected``
    are ``D_o`` and ``D_e``. ``replicates`` holds the bootstrap alphas (undefined replicates
    dropped); ``ci_low``/``ci_high`` are their ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles.
    """

    alpha: float
    level: str
    n_items: int
    n_values: int
    n_voters: int
    observed: float
    expected: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    confidence: float = float("nan")
    n_boot: int = 0
    replicates: NDArray[np.float64] = field(default_factory=lambda: np.empty(0), repr=False)

    def probability_below(self, minimum: float) -> float:
        """Share of bootstrap replicates with alpha below ``minimum`` (Hayes & Krippendorff's
        "probability of failure to achieve" a minimum such as 0.667 or 0.800)."""
        if not len(self.replicates):
            raise ValueError("probability_below: no bootstrap replicates (n_boot was 0)")
        return float(np.mean(self.replicates < minimum))

    def as_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "level": self.level,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "n_boot": self.n_boot,
            "n_items": self.n_items,
            "n_values": self.n_values,
            "n_voters": self.n_voters,
            "observed_disagreement": self.observed,
            "expected_disagreement": self.expected,
        }


def _alpha_result(stats: _UnitStats) -> AlphaResult:
    marginals = np.asarray(stats.counts.sum(axis=0)).ravel()
    n = float(stats.m.sum())
    observed_sum = float(stats.disagreement.sum())
    expected_sum = float(stats.expected_sum(marginals)[0])
    alpha = float(_alpha_from(np.array(observed_sum), np.array(n), np.array(expected_sum)))
    return AlphaResult(
        alpha=alpha,
        level=stats.level,
        n_items=len(stats.m),
        n_values=int(n),
        n_voters=stats.n_voters,
        observed=observed_sum / n if n else float("nan"),
        expected=expected_sum / (n * (n - 1)) if n > 1 else float("nan"),
    )


def krippendorff_alpha(
    votes: pd.DataFrame,
    *,
    level: Level,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
) -> float:
    """Krippendorff's alpha of the selected ratings at the given level of measurement.

    ``level`` is one of :data:`LEVELS` and has no default: nominal for categories, ordinal for
    ordered categories or ranks, interval for scales with equal steps, ratio for non-negative
    quantities with a natural zero. Missing ratings are allowed. Returns ``NaN`` when alpha is
    undefined (no item with two ratings, or no variation in the values).
    """
    return krippendorff_alpha_bootstrap(
        votes, level=level, roles=roles, value_order=value_order, rng=None, n_boot=0
    ).alpha


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng: the bootstrap needs an explicit seeded numpy Generator "
            "(numpy.random.default_rng(seed))"
        )
    return rng


def _bootstrap(stats: _UnitStats, rng: np.random.Generator, n_boot: int) -> NDArray[np.float64]:
    n_units = len(stats.m)
    scalars = np.column_stack([stats.disagreement, stats.m])
    counts_t = stats.counts.T.tocsr()
    out = np.empty(n_boot)
    per_chunk = max(1, min(n_boot, _BOOT_CELLS // max(n_units, 1)))
    for start in range(0, n_boot, per_chunk):
        k = min(per_chunk, n_boot - start)
        draws = rng.integers(0, n_units, size=(k, n_units))
        draws += (np.arange(k) * n_units)[:, None]
        weights = np.bincount(draws.ravel(), minlength=k * n_units).reshape(k, n_units)
        weights = weights.astype(float)
        sums = weights @ scalars  # (k, 2): resampled observed sum and n
        marginals = (counts_t @ weights.T).T  # (k, V)
        out[start : start + k] = _alpha_from(sums[:, 0], sums[:, 1], stats.expected_sum(marginals))
    return out


def krippendorff_alpha_bootstrap(
    votes: pd.DataFrame,
    *,
    level: Level,
    rng: np.random.Generator | None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
) -> AlphaResult:
    """Krippendorff's alpha with a percentile bootstrap interval over items.

    Bootstrap scheme (the *unit bootstrap*): each replicate draws as many pairable items as there
    are, uniformly with replacement; an item drawn ``f`` times counts ``f`` times in both the
    observed coincidences and the pairable-value marginals, so ``D_o`` and ``D_e`` are both
    recomputed. Items are the sampling units because raters' values within an item are not
    independent. This differs from Hayes & Krippendorff (2007), who resample pairable values and
    keep ``D_e`` fixed; the unit bootstrap is the usual choice when items are a sample from a
    larger pool. For the ordinal level the rank distances stay those of the full data.
    Replicates where alpha is undefined are dropped. Each replicate costs a sparse product over
    the per-item counts, so 200 replicates over a million ratings take about a second.

    ``rng`` must be a seeded ``numpy.random.Generator`` when ``n_boot > 0``; with ``n_boot=0``
    only the point estimate is computed.
    """
    if n_boot < 0:
        raise ValueError(f"n_boot: must be >= 0, got {n_boot}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must be between 0 and 1, got {confidence}")
    if n_boot:
        _check_rng(rng)
    stats = _unit_stats(encode_ratings(votes, level=level, roles=roles, value_order=value_order))
    result = _alpha_result(stats)
    if not n_boot or result.n_items == 0:
        return result
    assert rng is not None
    reps = _bootstrap(stats, rng, n_boot)
    reps = reps[np.isfinite(reps)]
    low, high = (
        np.quantile(reps, [(1 - confidence) / 2, (1 + confidence) / 2])
        if len(reps)
        else (np.nan, np.nan)
    )
    return AlphaResult(
        **{
            **result.__dict__,
            "ci_low": float(low),
            "ci_high": float(high),
            "confidence": confidence,
            "n_boot": n_boot,
            "replicates": reps,
        }
    )


# --- coincidences, tables and kappas ---------------------------------------------------------


def coincidence_matrix(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Krippendorff's coincidence matrix ``o[c, k]`` of the selected ratings (values x values).

    Each pairable item contributes ``n[u, c] * (n[u, k] - [c == k]) / (m[u] - 1)``: every ordered
    pair of values from different raters, weighted so the item adds ``m[u]`` in total. Row sums
    are the pairable values ``n[c]``; the grand total is ``n``.
    """
    r = encode_ratings(votes, level="nominal", roles=roles, value_order=value_order)
    if r.n_values > MAX_DISTANCE_VALUES:
        raise ValueError(f"label: {r.n_values} distinct values is too many for a table")
    unit, value, n = _unit_counts(r)
    m = np.bincount(unit, weights=n, minlength=r.n_items)
    keep = m[unit] >= 2
    unit, value, n = unit[keep], value[keep], n[keep].astype(float)
    a, b = _pairs_within(unit)
    weight = n[a] * (n[b] - (a == b)) / (m[unit[a]] - 1)
    size = r.n_values
    cells = np.bincount(value[a] * size + value[b], weights=weight, minlength=size * size)
    return pd.DataFrame(cells.reshape(size, size), index=r.values, columns=r.values)


def rating_table(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Items x categories table of rating counts ``n[u, c]`` (the input of Fleiss' kappa)."""
    r = encode_ratings(votes, level="nominal", roles=roles, value_order=value_order)
    if r.n_items * r.n_values > _DENSE_CELLS:
        raise ValueError("votes: too many items x categories for a dense rating table")
    table = np.bincount(r.item * r.n_values + r.value, minlength=r.n_items * r.n_values)
    return pd.DataFrame(table.reshape(r.n_items, r.n_values), index=r.items, columns=r.values)


def fleiss_kappa(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> float:
    """Fleiss' kappa (Fleiss 1971) for nominal ratings, every item rated the same number of times.

    With ``m`` ratings per item, ``N`` items and ``n[i, j]`` raters giving category ``j`` to item
    ``i``: ``P[i] = (sum_j n[i, j] ** 2 - m) / (m (m - 1))``, ``P_bar = mean_i P[i]``,
    ``p[j] = sum_i n[i, j] / (N m)``, ``P_e = sum_j p[j] ** 2`` and
    ``kappa = (P_bar - P_e) / (1 - P_e)``. The raters of one item need not be those of another.

    Raises ``ValueError`` when items have different numbers of ratings (use
    :func:`krippendorff_alpha`, which allows missing ratings) or fewer than two. Returns ``NaN``
    when every rating falls in one category (``P_e = 1``).
    """
    r = encode_ratings(votes, level="nominal", roles=roles)
    per_item = np.bincount(r.item, minlength=r.n_items)
    low, high = int(per_item.min()), int(per_item.max())
    if low != high:
        short = int((per_item < high).sum())
        raise ValueError(
            f"item: Fleiss' kappa needs the same number of ratings on every item; found between "
            f"{low} and {high} ({short} item(s) have fewer than {high}). Use krippendorff_alpha, "
            "which allows missing ratings"
        )
    if high < 2:
        raise ValueError("item: Fleiss' kappa needs at least two ratings per item")
    _, value, n = _unit_counts(r)
    m, n_items = float(high), r.n_items
    nf = n.astype(float)
    p_bar = ((nf**2).sum() - n_items * m) / (n_items * m * (m - 1))
    p_j = np.bincount(value, weights=nf, minlength=r.n_values) / (n_items * m)
    p_e = float((p_j**2).sum())
    if p_e >= 1.0 - 1e-15:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def cohen_kappa_table(table: Any) -> float:
    """Cohen's kappa (Cohen 1960) from a square confusion table of two raters' counts.

    ``p_o = trace(T) / n``, ``p_e = sum_c (row_c / n) (col_c / n)`` and
    ``kappa = (p_o - p_e) / (1 - p_e)``; ``NaN`` when ``p_e = 1`` (both raters used one and the
    same category only).
    """
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.size == 0:
        raise ValueError(f"table: expected a square 2-D table of counts, got shape {arr.shape}")
    if (arr < 0).any() or not np.isfinite(arr).all():
        raise ValueError("table: counts must be finite and non-negative")
    total = arr.sum()
    if total <= 0:
        raise ValueError("table: the table holds no rating")
    p = arr / total
    p_o = float(np.trace(p))
    p_e = float(p.sum(axis=1) @ p.sum(axis=0))
    if p_e >= 1.0 - 1e-15:
        return float("nan")
    return (p_o - p_e) / (1.0 - p_e)


def pairwise_cohen_kappa(
    votes: pd.DataFrame,
    *,
    min_shared: int = 10,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> pd.DataFrame:
    """Cohen's kappa for every pair of raters on the items both rated.

    Returns one row per pair (``voter_a < voter_b`` in code order) that shares at least
    ``min_shared`` items, with columns ``voter_a``, ``voter_b``, ``n_shared``,
    ``observed_agreement`` (``p_o``), ``expected_agreement`` (``p_e``, from each rater's own
    category shares on the shared items) and ``kappa`` (``NaN`` when ``p_e = 1``). Pairs with
    fewer shared items are left out: kappa on a handful of items is mostly noise.
    :func:`pairwise_matrix` turns the result into a rater x rater matrix.
    """
    if min_shared < 1:
        raise ValueError(f"min_shared: must be >= 1, got {min_shared}")
    r = encode_ratings(votes, level="nominal", roles=roles)
    order = np.lexsort((r.voter, r.item))
    item, voter, value = r.item[order], r.voter[order], r.value[order]
    a, b = _pairs_within(item)
    keep = a < b  # voters are sorted within an item, so this is voter_a < voter_b
    a, b = a[keep], b[keep]
    columns = ["voter_a", "voter_b", "n_shared", "observed_agreement", "expected_agreement"]
    if not len(a):
        return pd.DataFrame({c: [] for c in [*columns, "kappa"]})
    pair_key = voter[a] * r.n_voters + voter[b]
    keys, pid = np.unique(pair_key, return_inverse=True)
    shared = np.bincount(pid)
    enough = shared[pid] >= min_shared
    kept_pairs = np.flatnonzero(shared >= min_shared)
    pid = np.searchsorted(kept_pairs, pid[enough])
    va, vb = value[a][enough], value[b][enough]
    keys, shared = keys[kept_pairs], shared[kept_pairs].astype(float)
    n_pairs, size = len(kept_pairs), r.n_values
    agree = np.bincount(pid, weights=(va == vb).astype(float), minlength=n_pairs)
    ka, ca = np.unique(pid * size + va, return_counts=True)
    kb, cb = np.unique(pid * size + vb, return_counts=True)
    common, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    chance = np.bincount(common // size, weights=ca[ia].astype(float) * cb[ib], minlength=n_pairs)
    p_o = agree / np.maximum(shared, 1)
    p_e = chance / np.maximum(shared, 1) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(p_e >= 1.0 - 1e-15, np.nan, (p_o - p_e) / (1.0 - p_e))
    return pd.DataFrame(
        {
            "voter_a": r.voters[keys // r.n_voters],
            "voter_b": r.voters[keys % r.n_voters],
            "n_shared": shared.astype(np.int64),
            "observed_agreement": p_o,
            "expected_agreement": p_e,
            "kappa": kappa,
        }
    )


def pairwise_matrix(pairs: pd.DataFrame, *, value: str = "kappa") -> pd.DataFrame:
    """Rater x rater symmetric matrix of one column of :func:`pairwise_cohen_kappa`.

    The diagonal and pairs left out are ``NaN`` (``0`` for ``value="n_shared"``).
    """
    for col in ("voter_a", "voter_b", value):
        if col not in pairs.columns:
            raise ValueError(f"pairs: missing column {col!r}")
    both = pd.concat(
        [
            pairs[["voter_a", "voter_b", value]],
            pairs[["voter_b", "voter_a", value]].set_axis(["voter_a", "voter_b", value], axis=1),
        ],
        ignore_index=True,
    )
    matrix = both.pivot(index="voter_a", columns="voter_b", values=value)
    voters = matrix.index.union(matrix.columns)
    matrix = matrix.reindex(index=voters, columns=voters)
    matrix.index.name, matrix.columns.name = "voter", "voter"
    if value == "n_shared":
        matrix = matrix.fillna(0).astype(np.int64)
    return matrix


# --- breakdowns --------------------------------------------------------------------------------


def per_label_alpha(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
) -> pd.DataFrame:
    """Nominal alpha of each label of a multi-label schema, as a present/absent variable.

    A rater *rated* an item when the rater has any selected row on it. For label ``L`` each
    (item, rater) pair becomes ``1`` when that rater chose ``L`` for the item and ``0`` otherwise,
    and binary nominal alpha is computed over those values. With ``m[u]`` raters of item ``u``
    and ``x[u]`` of them choosing ``L`` (``n = sum_u m[u]``, ``x = sum_u x[u]`` over pairable
    items): ``alpha_L = 1 - (n - 1) sum_u 2 x[u] (m[u] - x[u]) / (m[u] - 1) / (2 x (n - x))``.

    Returns one row per label: ``label``, ``alpha`` (``NaN`` when no or every pairable rating
    carries the label), ``n_items`` (pairable items), ``n_present`` and ``prevalence``
    (``x / n``). Repeated rows of one label by one rater on one item count once.
    """
    rows = select_votes(votes, roles=roles)
    item, _ = factorize(rows["item"])
    voter, voters = factorize(rows["voter"])
    label, labels = factorize(rows["label"])
    n_voters, n_labels = len(voters), len(labels)
    raters = _unique(item * n_voters + voter)
    m = np.bincount(raters // n_voters).astype(float)
    present = _unique((item * n_voters + voter) * n_labels + label)
    pres_item = present // n_labels // n_voters
    pres_label = present % n_labels
    key, x = np.unique(pres_item * n_labels + pres_label, return_counts=True)
    k_item, k_label = key // n_labels, key % n_labels
    pairable = m >= 2
    keep = pairable[k_item]
    k_item, k_label, xf = k_item[keep], k_label[keep], x[keep].astype(float)
    mu = m[k_item]
    observed = np.bincount(k_label, weights=2 * xf * (mu - xf) / (mu - 1), minlength=n_labels)
    x_tot = np.bincount(k_label, weights=xf, minlength=n_labels)
    n = float(m[pairable].sum())
    alpha = _alpha_from(observed, np.full(n_labels, n), 2.0 * x_tot * (n - x_tot))
    return pd.DataFrame(
        {
            "label": labels,
            "alpha": alpha,
            "n_items": int(pairable.sum()),
            "n_present": x_tot.astype(np.int64),
            "prevalence": x_tot / n if n else np.nan,
        }
    )


def per_category_agreement(
    votes: pd.DataFrame,
    *,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """How well raters agree on each category of a single-label nominal schema.

    From the coincidence matrix ``o`` (pairable values ``n[c]``, total ``n``):

    ``specific_agreement = o[c, c] / n[c]``
        the share of the pairable values ``c`` whose partner value from another rater of the
        same item is also ``c`` (specific agreement; with the same number of raters on every
        item it equals ``sum_u n[u,c] (n[u,c] - 1) / sum_u n[u,c] (m[u] - 1)``);
    ``alpha_one_vs_rest = 1 - (n - 1) (n[c] - o[c, c]) / (n[c] (n - n[c]))``
        nominal alpha after recoding every value to "c" or "not c".

    Returns one row per category with ``category``, ``n_values`` (``n[c]``), ``share``
    (``n[c] / n``), ``specific_agreement`` and ``alpha_one_vs_rest``.
    """
    r = encode_ratings(votes, level="nominal", roles=roles, value_order=value_order)
    unit, value, n = _unit_counts(r)
    m = np.bincount(unit, weights=n, minlength=r.n_items)
    keep = m[unit] >= 2
    unit, value, nf = unit[keep], value[keep], n[keep].astype(float)
    n_c = np.bincount(value, weights=nf, minlength=r.n_values)
    o_cc = np.bincount(value, weights=nf * (nf - 1) / (m[unit] - 1), minlength=r.n_values)
    total = float(n_c.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        specific = np.where(n_c > 0, o_cc / n_c, np.nan)
    alpha = _alpha_from(n_c - o_cc, np.full(r.n_values, total), n_c * (total - n_c))
    return pd.DataFrame(
        {
            "category": r.values,
            "n_values": n_c.astype(np.int64),
            "share": n_c / total if total else np.nan,
            "specific_agreement": specific,
            "alpha_one_vs_rest": alpha,
        }
    )


def _alpha_table(
    groups: Sequence[tuple[Hashable, pd.DataFrame]],
    name: str,
    *,
    rng: np.random.Generator | None,
    params: dict[str, Any],
) -> pd.DataFrame:
    rows = []
    for key, part in groups:
        res = krippendorff_alpha_bootstrap(part, rng=rng, **params)
        rows.append({name: key, **res.as_dict()})
    columns = [name, "alpha", "n_items", "n_values", "n_voters"]
    if params["n_boot"]:
        columns += ["ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)


def alpha_by(
    votes: pd.DataFrame,
    *,
    by: str,
    level: Level,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
    rng: np.random.Generator | None = None,
    n_boot: int = 0,
) -> pd.DataFrame:
    """Alpha within each group of ratings, e.g. ``by="group"`` (the annotator group).

    Each group's alpha uses only the ratings in that group, so it measures how well the raters
    of the group agree among themselves; an item rated by one member of the group only is not
    pairable there. Ratings with a missing group are left out. Returns one row per group with
    ``alpha``, ``n_items``, ``n_values``, ``n_voters`` (and ``ci_low``/``ci_high`` when
    ``n_boot > 0``, drawn from ``rng``).
    """
    rows = select_votes(votes, roles=roles, columns=(*REQUIRED_COLUMNS, by))
    params = {"level": level, "roles": None, "value_order": value_order, "n_boot": n_boot}
    _check_level(level)
    if n_boot:
        _check_rng(rng)
    groups = [(key, part) for key, part in rows.groupby(by, sort=True, observed=True)]
    return _alpha_table(groups, by, rng=rng, params=params)


def alpha_over_time(
    votes: pd.DataFrame,
    *,
    level: Level,
    time_column: str = "created",
    freq: str = "W",
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
    rng: np.random.Generator | None = None,
    n_boot: int = 0,
) -> pd.DataFrame:
    """Alpha per period (``freq``: a pandas period alias, ``"W"`` for weeks ending Sunday).

    An item belongs to the period of its *latest* selected rating, the moment it had all its
    ratings, so none of its pairs is split across periods. Times are read as UTC. Returns one
    row per period with ``period`` (the period's start as a timestamp), ``alpha``, ``n_items``,
    ``n_values``, ``n_voters``.
    """
    rows = select_votes(votes, roles=roles, columns=(*REQUIRED_COLUMNS, time_column))
    _check_level(level)
    try:
        stamps = pd.to_datetime(rows[time_column], utc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{time_column}: cannot read the column as timestamps ({exc})") from exc
    if stamps.isna().any():
        raise ValueError(f"{time_column}: {int(stamps.isna().sum())} rating(s) have no time")
    latest = stamps.groupby(rows["item"]).transform("max")
    period = latest.dt.tz_localize(None).dt.to_period(freq).dt.start_time
    rows = rows.assign(period=period.to_numpy())
    if n_boot:
        _check_rng(rng)
    params = {"level": level, "roles": None, "value_order": value_order, "n_boot": n_boot}
    groups = [(key, part) for key, part in rows.groupby("period", sort=True)]
    return _alpha_table(groups, "period", rng=rng, params=params)


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementReport:
    """Everything :func:`agreement_report` computed; parts that did not apply are ``None``.

    ``fleiss_kappa_note`` says why Fleiss' kappa is missing when it is.
    """

    alpha: AlphaResult
    fleiss_kappa: float | None
    fleiss_kappa_note: str
    per_category: pd.DataFrame | None
    by_group: pd.DataFrame | None
    over_time: pd.DataFrame | None
    pairwise: pd.DataFrame | None

    def included(self) -> list[str]:
        """Names of the parts that were computed."""
        parts = ["alpha", "alpha_interval" if self.alpha.n_boot else None]
        for name in ("fleiss_kappa", "per_category", "by_group", "over_time", "pairwise"):
            parts.append(name if getattr(self, name) is not None else None)
        return [p for p in parts if p]


def agreement_report(
    votes: pd.DataFrame,
    *,
    level: Level,
    rng: np.random.Generator,
    n_boot: int = 200,
    confidence: float = 0.95,
    roles: str | Sequence[str] | None = DEFAULT_ROLES,
    value_order: Sequence[Hashable] | None = None,
    group_column: str | None = "group",
    time_column: str | None = "created",
    freq: str = "W",
    pairwise_min_shared: int | None = None,
) -> AgreementReport:
    """The agreement report of a project: alpha with its bootstrap interval and the breakdowns.

    Always: alpha at ``level`` with an ``n_boot``-replicate interval. Nominal level only: Fleiss'
    kappa (when every item has the same number of ratings) and per-category agreement. When the
    table has them: alpha per ``group_column`` and per ``freq`` period of ``time_column`` (point
    estimates). Pairwise Cohen's kappa only when ``pairwise_min_shared`` is given.
    """
    _check_rng(rng)
    alpha = krippendorff_alpha_bootstrap(
        votes, level=level, rng=rng, n_boot=n_boot, confidence=confidence, roles=roles,
        value_order=value_order,
    )  # fmt: skip
    fleiss: float | None = None
    note = "nominal level only"
    per_category = pairwise = by_group = over_time = None
    if level == "nominal":
        try:
            fleiss, note = fleiss_kappa(votes, roles=roles), ""
        except ValueError as exc:
            note = str(exc)
        per_category = per_category_agreement(votes, roles=roles, value_order=value_order)
        if pairwise_min_shared is not None:
            pairwise = pairwise_cohen_kappa(votes, roles=roles, min_shared=pairwise_min_shared)
    if group_column is not None and group_column in votes.columns:
        by_group = alpha_by(votes, by=group_column, level=level, roles=roles,
                            value_order=value_order)  # fmt: skip
    if time_column is not None and time_column in votes.columns:
        over_time = alpha_over_time(
            votes, level=level, time_column=time_column, freq=freq, roles=roles,
            value_order=value_order,
        )  # fmt: skip
    return AgreementReport(alpha, fleiss, note, per_category, by_group, over_time, pairwise)
