"""How closely a sample's composition matches the population's, variable by variable.

Pure pandas/scipy; no Django. For each variable (age band, region, sex...) the achieved shares
of the sample (optionally weighted) are set beside the population shares, and Pearson's
chi-square goodness-of-fit test (``scipy.stats.chisquare``) compares the *unweighted* counts
with the counts expected from the population shares: ``X² = Σ_c (O_c - E_c)² / E_c`` with
``E_c = n · P_c`` on ``C - 1`` degrees of freedom. The test answers "could a simple random
sample from this population have this composition?"; weights cannot be tested that way, so
the weighted shares are reported for reading only.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

__all__ = ["ShareComparison", "compare_shares", "representativeness"]


@dataclass(frozen=True, eq=False)
class ShareComparison:
    """Achieved vs population shares of one variable, with the goodness-of-fit test.

    ``table`` has one row per category: ``count``, ``expected`` (``n · population_share``),
    ``achieved_share`` (weighted when weights were given), ``population_share``,
    ``difference`` (achieved - population) and ``ratio`` (achieved / population).
    """

    variable: str
    table: pd.DataFrame
    n: int
    chi2: float
    df: int
    p_value: float
    max_abs_difference: float


def _population_shares(population: Mapping[Hashable, float] | pd.Series, name: str) -> pd.Series:
    pop = pd.Series(population, dtype="float64") if isinstance(population, Mapping) else population
    if not isinstance(pop, pd.Series) or pop.empty:
        raise ValueError(f"population for {name!r} must be a non-empty mapping of category -> size")
    pop = pop.astype(float)
    if pop.isna().any() or (pop < 0).any() or pop.sum() <= 0:
        raise ValueError(
            f"population for {name!r} must hold non-negative sizes with a positive sum"
        )
    return pop / pop.sum()


def compare_shares(
    values: pd.Series,
    population: Mapping[Hashable, float] | pd.Series,
    *,
    weights: pd.Series | NDArray[Any] | None = None,
    name: str | None = None,
) -> ShareComparison:
    """Compare one variable's sample composition with the population's.

    ``values`` holds each respondent's category (missing values are left out); ``population``
    maps category -> population count or share (normalised to shares). Raises ``ValueError``
    when the sample has a category the population lacks or one whose population share is 0.
    """
    label = name or (str(values.name) if getattr(values, "name", None) is not None else "values")
    values = pd.Series(values).reset_index(drop=True)
    shares = _population_shares(population, label)
    present = values.notna().to_numpy()
    if weights is None:
        w = np.ones(len(values))
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(values),):
            raise ValueError(f"weights for {label!r} must have one value per respondent")
        if np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights for {label!r} must be finite and non-negative")
    observed = values[present]
    unknown = pd.Index(observed.unique()).difference(shares.index, sort=False)
    if len(unknown):
        raise ValueError(
            f"{label!r} has categories absent from the population: {unknown.tolist()[:5]}"
        )
    zero = [c for c in observed.unique() if shares[c] == 0]
    if zero:
        raise ValueError(
            f"{label!r} has respondents in categories of population share 0: {zero[:5]}"
        )
    n = int(present.sum())
    if n == 0:
        raise ValueError(f"{label!r} has no non-missing value")
    counts = observed.value_counts().reindex(shares.index, fill_value=0).astype(int)
    weighted = (
        pd.Series(w[present], index=observed.index)
        .groupby(observed.to_numpy())
        .sum()
        .reindex(shares.index, fill_value=0.0)
    )
    total_w = weighted.sum()
    if total_w <= 0:
        raise ValueError(f"weights for {label!r} sum to zero")
    achieved = weighted / total_w
    expected = shares * n
    # Categories with population share 0 (and no respondent) carry no information.
    keep = shares > 0
    chi2, p_value = stats.chisquare(counts[keep].to_numpy(), expected[keep].to_numpy())
    table = pd.DataFrame(
        {
            "count": counts,
            "expected": expected,
            "achieved_share": achieved,
            "population_share": shares,
            "difference": achieved - shares,
            "ratio": np.where(shares > 0, achieved / shares.where(shares > 0, 1.0), np.nan),
        }
    )
    table.index.name = label
    return ShareComparison(
        variable=label,
        table=table,
        n=n,
        chi2=float(chi2),
        df=int(keep.sum()) - 1,
        p_value=float(p_value),
        max_abs_difference=float(np.abs(table["difference"]).max()),
    )


def representativeness(
    sample: pd.DataFrame,
    population: Mapping[str, Mapping[Hashable, float] | pd.Series],
    *,
    weights: str | pd.Series | NDArray[Any] | None = None,
) -> pd.DataFrame:
    """One summary row per variable of ``population`` (column of ``sample``): ``n``, ``chi2``,
    ``df``, ``p_value`` and the largest absolute share difference. ``weights`` may name a
    column of ``sample``. Per-category detail: :func:`compare_shares`.
    """
    if isinstance(weights, str):
        if weights not in sample.columns:
            raise ValueError(f"sample has no weights column {weights!r}")
        weights = sample[weights].to_numpy()
    rows = []
    for variable, pop in population.items():
        if variable not in sample.columns:
            raise ValueError(f"sample has no column {variable!r}")
        res = compare_shares(sample[variable], pop, weights=weights, name=variable)
        rows.append(
            {
                "variable": variable,
                "n": res.n,
                "chi2": res.chi2,
                "df": res.df,
                "p_value": res.p_value,
                "max_abs_difference": res.max_abs_difference,
            }
        )
    return pd.DataFrame(
        rows, columns=["variable", "n", "chi2", "df", "p_value", "max_abs_difference"]
    )
