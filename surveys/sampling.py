"""Sample sizes, stratum allocation and seeded draws for survey samples.

Pure functions over numpy/pandas; no Django. Randomness only comes from an explicit
``numpy.random.Generator`` (or a seed that builds one), so every draw can be replayed.

Definitions used throughout:

* A *stratum* (or *cell*) is a key of the population mapping, e.g. ``("Seoul", "F", "30-39")``.
* ``N_h`` is the census count of stratum ``h``; ``n`` the total sample size; ``n_h`` its quota.
* A stratum's *capacity* is the largest quota it can take: its census count, or the number of
  panelists available in it when a ``capacity`` mapping is given.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "AllocationMethod",
    "allocate",
    "draw",
    "draw_replacements",
    "sample_size",
]

AllocationMethod = Literal["proportional", "neyman", "equal"]

# Float noise guard: 384.0000000001 must round up to 384, not 385.
_ROUND_EPS = 1e-9


def sample_size(
    margin: float,
    confidence: float = 0.95,
    p: float = 0.5,
    population: int | None = None,
    deff: float = 1.0,
    response_rate: float = 1.0,
) -> int:
    """Number of people to invite so that a proportion is estimated within ``margin``.

    Cochran's formula for a proportion (Cochran, *Sampling Techniques*, 3rd ed., §4.4):

    * ``z`` is the standard normal quantile ``Φ⁻¹(1 - (1 - confidence) / 2)``
      (1.959964 for 95 %);
    * ``n0 = z² · p · (1 - p) / margin²``, multiplied by the design effect ``deff``;
    * with a finite population of size ``N`` the correction ``n = n0 / (1 + (n0 - 1) / N)``
      is applied;
    * the result is divided by the expected ``response_rate`` (invitations needed so that
      ``n`` people answer) and rounded up to a whole person.

    Rounding happens once, at the end (values within 1e-9 of an integer count as that integer).
    Example: ``margin=0.05`` at 95 % with ``p=0.5`` gives 385; with ``population=2000``, 323.
    """
    if not 0 < margin < 1:
        raise ValueError(f"margin must be between 0 and 1 (exclusive), got {margin!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1 (exclusive), got {p!r}")
    if not deff > 0:
        raise ValueError(f"deff must be positive, got {deff!r}")
    if not 0 < response_rate <= 1:
        raise ValueError(f"response_rate must be in (0, 1], got {response_rate!r}")
    if population is not None and population < 1:
        raise ValueError(f"population must be a positive count, got {population!r}")
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    n = z * z * p * (1 - p) / (margin * margin) * deff
    if population is not None:
        n = n / (1 + (n - 1) / population)
    n = n / response_rate
    return max(1, math.ceil(n - _ROUND_EPS))


def _as_series(values: Mapping[Hashable, float] | pd.Series, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        s = values.copy()
    elif isinstance(values, Mapping):
        s = pd.Series(
            list(values.values()), index=pd.Index(list(values.keys()), tupleize_cols=False)
        )
    else:
        raise ValueError(f"{name} must be a mapping or a pandas Series of stratum -> value")
    if s.index.has_duplicates:
        dup = s.index[s.index.duplicated()].tolist()
        raise ValueError(f"{name} has duplicate strata: {dup[:5]}")
    try:
        s = s.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers") from exc
    if s.isna().any():
        raise ValueError(f"{name} has missing values for strata {s.index[s.isna()].tolist()[:5]}")
    if (s < 0).any():
        raise ValueError(f"{name} has negative values for strata {s.index[s < 0].tolist()[:5]}")
    return s


def _aligned(
    values: Mapping[Hashable, float] | pd.Series, index: pd.Index, name: str
) -> NDArray[np.float64]:
    s = _as_series(values, name)
    missing = index.difference(s.index, sort=False)
    if len(missing):
        raise ValueError(f"{name} lacks strata {missing.tolist()[:5]} of population")
    extra = s.index.difference(index, sort=False)
    if len(extra):
        raise ValueError(f"{name} has strata {extra.tolist()[:5]} that are not in population")
    return s.reindex(index).to_numpy(dtype=float)


def _largest_remainder(exact: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """Round non-negative reals summing to ``total`` into integers summing to ``total``.

    Each value is floored; the units still missing go to the largest fractional parts, ties
    going to the stratum that comes first (stable sort on the given order).
    """
    base = np.floor(exact + _ROUND_EPS)
    base = np.minimum(base, np.ceil(exact - _ROUND_EPS))
    frac = np.clip(exact - base, 0.0, None)
    short = int(total - base.sum())
    if short > 0:
        # Round fractions so float noise (0.3333333 vs 0.33333334) cannot break a true tie.
        order = np.argsort(-np.round(frac, 9), kind="stable")
        base[order[:short]] += 1
    return base.astype(np.int64)


def allocate(
    population: Mapping[Hashable, float] | pd.Series,
    n: int,
    method: AllocationMethod = "proportional",
    sd: Mapping[Hashable, float] | pd.Series | None = None,
    minimum: int = 0,
    capacity: Mapping[Hashable, float] | pd.Series | None = None,
) -> dict[Hashable, int]:
    """Split a sample of ``n`` into whole-number quotas per stratum that sum exactly to ``n``.

    ``population`` maps each stratum to its census count ``N_h``. Shares ``a_h`` are

    * ``proportional``: ``a_h ∝ N_h``;
    * ``neyman``: ``a_h ∝ N_h · S_h`` with ``sd`` giving the standard deviation ``S_h`` of the
      study variable in each stratum (Neyman's optimal allocation);
    * ``equal``: ``a_h ∝ 1`` for every stratum with ``N_h > 0``.

    With ``minimum > 0`` every stratum first receives ``min(minimum, capacity_h)`` and the rest,
    ``n - Σ minima``, is then shared by the chosen method ("minimum per cell, then
    proportional").

    Capacities (``capacity`` mapping, else the census counts) are respected exactly: the
    real-valued shares are computed, every stratum whose share exceeds its capacity is fixed at
    its capacity, and the excess is shared again among the other strata in proportion to
    their ``a_h``, until no share exceeds its capacity. The real-valued shares are then rounded
    by the largest remainder (Hamilton) method: floors first, the missing units to the largest
    fractional parts, ties broken by the order of the strata in ``population`` (earlier
    first). Strata with ``a_h = 0`` receive nothing unless no other stratum has room left, in
    which case the remainder is shared equally among the strata that still have room.

    Raises ``ValueError`` when ``n`` exceeds the total capacity, when ``n`` cannot cover the
    minima, or on malformed input. Returns ``{stratum: quota}`` in the order of ``population``.
    """
    pop = _as_series(population, "population")
    index = pop.index
    if len(index) == 0:
        raise ValueError("population has no strata")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(minimum, bool) or not isinstance(minimum, (int, np.integer)) or minimum < 0:
        raise ValueError(f"minimum must be a non-negative integer, got {minimum!r}")
    counts = pop.to_numpy(dtype=float)
    if method == "proportional":
        share = counts.copy()
    elif method == "neyman":
        if sd is None:
            raise ValueError("sd is required for method='neyman' (standard deviation per stratum)")
        share = counts * _aligned(sd, index, "sd")
    elif method == "equal":
        share = (counts > 0).astype(float)
    else:
        raise ValueError(f"method must be 'proportional', 'neyman' or 'equal', got {method!r}")
    cap = counts if capacity is None else _aligned(capacity, index, "capacity")
    if np.any(cap != np.floor(cap)):
        raise ValueError("capacity (or population counts) must be whole numbers")
    total_cap = cap.sum()
    if n > total_cap:
        raise ValueError(f"n={n} exceeds the total capacity of the strata ({int(total_cap)})")

    base = np.minimum(float(minimum), cap)
    rest = n - base.sum()
    if rest < 0:
        raise ValueError(
            f"n={n} is smaller than the minimum per stratum times the strata "
            f"({int(base.sum())} needed)"
        )
    room = cap - base
    exact = np.zeros_like(counts)
    fixed = room <= 0
    remaining = float(rest)
    # Water-filling: at most one pass per stratum, each pass fixes at least one stratum.
    for _ in range(len(counts) + 1):
        if remaining <= _ROUND_EPS:
            break
        open_ = ~fixed
        weights = np.where(open_, share, 0.0)
        if weights.sum() <= 0:
            weights = open_.astype(float)
        target = remaining * weights / weights.sum()
        over = open_ & (target >= room - _ROUND_EPS) & (weights > 0)
        if not over.any():
            exact[open_] += target[open_]
            remaining = 0.0
            break
        exact[over] = room[over]
        remaining -= room[over].sum()
        fixed |= over
    quotas = base.astype(np.int64) + _largest_remainder(exact, int(rest))
    return dict(zip(index.tolist(), (int(q) for q in quotas), strict=True))


def _rng(rng: np.random.Generator | None, seed: int | None) -> np.random.Generator:
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator")
        return rng
    if seed is None:
        raise ValueError("a seed or a numpy.random.Generator (rng) is required for a draw")
    return np.random.default_rng(seed)


def _select_within_strata(
    strata: pd.Series, quotas: Mapping[Hashable, int], gen: np.random.Generator
) -> NDArray[np.bool_]:
    """Boolean mask selecting ``quotas[h]`` rows of each stratum, uniformly without replacement.

    Every row gets an independent uniform key; within each stratum the rows with the smallest
    keys are taken (equivalent to a random permutation). One sort, no loop over strata.
    """
    q = pd.Series(dict(quotas), dtype="float64") if quotas else pd.Series(dtype="float64")
    if q.isna().any() or (q < 0).any() or np.any(q != np.floor(q)):
        raise ValueError("quotas must be non-negative whole numbers")
    codes, uniques = pd.factorize(strata, sort=False)
    if (codes < 0).any():
        raise ValueError("stratum column has missing values")
    available = np.bincount(codes, minlength=len(uniques))
    wanted = q.reindex(uniques).fillna(0).to_numpy(dtype=np.int64)
    absent: pd.Index | list[Any] = q.index.difference(pd.Index(uniques), sort=False)
    absent = [h for h in absent if q[h] > 0]
    if absent:
        raise ValueError(f"quotas name strata absent from the frame: {absent[:5]}")
    short = wanted > available
    if short.any():
        bad = [
            f"{uniques[i]!r} (quota {wanted[i]}, available {available[i]})"
            for i in np.flatnonzero(short)[:5]
        ]
        raise ValueError(f"quota exceeds the people available in stratum {', '.join(bad)}")
    keys = gen.random(len(codes))
    order = np.lexsort((keys, codes))
    sorted_codes = codes[order]
    starts = np.searchsorted(sorted_codes, np.arange(len(uniques)))
    rank = np.arange(len(order)) - starts[sorted_codes]
    mask = np.zeros(len(codes), dtype=bool)
    mask[order[rank < wanted[sorted_codes]]] = True
    return mask


def _check_frame(frame: pd.DataFrame, stratum_col: str, id_col: str | None) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("frame must be a pandas DataFrame")
    if stratum_col not in frame.columns:
        raise ValueError(f"frame has no stratum column {stratum_col!r}")
    if id_col is not None:
        if id_col not in frame.columns:
            raise ValueError(f"frame has no id column {id_col!r}")
        if frame[id_col].duplicated().any():
            raise ValueError(f"id column {id_col!r} has duplicate values")
        # Sorting by the id makes the draw independent of the frame's row order.
        frame = frame.sort_values(id_col, kind="stable")
    return frame


def draw(
    frame: pd.DataFrame,
    quotas: Mapping[Hashable, int],
    *,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    stratum_col: str = "stratum",
    id_col: str | None = None,
) -> pd.DataFrame:
    """Stratified simple random sample without replacement: ``quotas[h]`` rows per stratum.

    The same seed (or a generator in the same state) and the same frame give the same sample.
    With ``id_col`` the frame is first sorted by that (unique) column, so the result no longer
    depends on the row order of ``frame``. Strata missing from ``quotas`` get no one.
    Returns the selected rows (original index kept) in frame order (or ``id_col`` order).
    Raises ``ValueError`` if a quota exceeds the rows of its stratum.
    """
    gen = _rng(rng, seed)
    frame = _check_frame(frame, stratum_col, id_col)
    mask = _select_within_strata(frame[stratum_col], quotas, gen)
    return frame.loc[mask] if frame.index.is_unique else frame.iloc[np.flatnonzero(mask)]


def draw_replacements(
    frame: pd.DataFrame,
    already_selected: Iterable[Hashable],
    stratum_counts: Mapping[Hashable, int],
    seed: int | None = None,
    *,
    rng: np.random.Generator | None = None,
    stratum_col: str = "stratum",
    id_col: str | None = None,
) -> pd.DataFrame:
    """Draw ``stratum_counts[h]`` replacements per stratum among people not yet drawn.

    ``already_selected`` holds the ids (values of ``id_col``) or, without ``id_col``, the index
    labels of everyone drawn so far (respondents and non-respondents alike), so no one is
    invited twice. Replacements come from the same stratum as the people they replace: pass
    the count of non-respondents per stratum. Raises ``ValueError`` when a stratum has fewer
    people left than asked for.
    """
    gen = _rng(rng, seed)
    frame = _check_frame(frame, stratum_col, id_col)
    taken = pd.Index(list(already_selected))
    keys = frame[id_col] if id_col is not None else frame.index.to_series(index=frame.index)
    unknown = taken.difference(pd.Index(keys), sort=False)
    if len(unknown):
        what = f"values of {id_col!r}" if id_col else "index labels of frame"
        raise ValueError(
            f"already_selected has entries that are not {what}: {unknown[:5].tolist()}"
        )
    left = frame.loc[~keys.isin(taken).to_numpy()]
    mask = _select_within_strata(left[stratum_col], stratum_counts, gen)
    return left.iloc[np.flatnonzero(mask)]
