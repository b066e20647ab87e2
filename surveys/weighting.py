"""Survey weights and design-based estimates: post-stratification, raking, trimming,
weighted proportions and means with Taylor-linearised standard errors.

Pure numpy/pandas/scipy; no Django. The variance estimators reproduce those of R's ``survey``
package (Lumley) for a stratified design of individuals, ``svydesign(id=~1, strata=~s,
weights=~w, fpc=~N)``, and for that design after ``postStratify`` or ``rake``.

Notation: respondent ``i`` has weight ``w_i`` and belongs to stratum ``h`` of ``H``, which
holds ``n_h`` respondents out of ``N_h`` people (``f_h = 1 - n_h / N_h``, or 1 without a finite
population correction). Every estimator here is linearised into *influence values* ``z_i``:

* total ``Ŷ = Σ w_i y_i``: ``z_i = w_i y_i``;
* mean / ratio ``ȳ = Σ w_i y_i / Σ w_i``: ``z_i = w_i (y_i - ȳ) / Σ w_i``;
* proportion of option ``k`` among those who answered (``m_i = 1`` when ``i`` answered,
  ``I_ik = 1`` when ``i`` chose ``k``): ``p_k = Σ w_i I_ik / Σ w_i m_i`` and
  ``z_i = w_i (I_ik - p_k m_i) / Σ w_i m_i``. People who did not answer stay in the design with
  ``z_i = 0`` (domain estimation, like R's ``na.rm=TRUE``).

The variance is the stratified with-replacement-of-PSU formula with finite population correction

    V = Σ_h f_h · n_h / (n_h - 1) · Σ_{i∈h} (z_i - z̄_h)²,

which is R's ``svyrecvar`` for one-stage designs. For calibrated weights the ``z_i`` are first
replaced by the residuals of the calibration model (see :func:`poststratify` and :func:`rake`).
Degrees of freedom are ``n - H``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse, stats

__all__ = [
    "CalibrationError",
    "LonelyPSU",
    "LonelyStratumError",
    "MeanEstimate",
    "ProportionsResult",
    "QuantileEstimate",
    "RakingConvergenceError",
    "SurveyDesign",
    "design_variance",
    "estimate_mean",
    "estimate_proportions",
    "estimate_proportions_many",
    "estimate_quantile",
    "estimate_total",
    "kish_design_effect",
    "kish_effective_n",
    "logit_interval",
    "poststratify",
    "rake",
    "survey_design",
    "trim_weights",
]

LonelyPSU = Literal["fail", "remove", "certainty", "adjust", "average"]
_LONELY_RULES = ("fail", "remove", "certainty", "adjust", "average")
# R's onestrat(): a stratum whose sampling fraction is (almost) 1 is a census: no variance.
_CENSUS_F = 1e-7
# Sweeps of alternating projections for raking residuals, as R's svyrecvar does.
_RAKING_SWEEPS = 10


class LonelyStratumError(ValueError):
    """A stratum has a single respondent and the lonely-PSU rule is ``"fail"``."""


class CalibrationError(ValueError):
    """Calibration targets cannot be met (e.g. a target category has no respondent)."""


class RakingConvergenceError(CalibrationError):
    """Raking did not reach the tolerance within the allowed iterations."""


@dataclass(frozen=True, eq=False)
class _PostStratum:
    """Post-stratification record: residuals from (old-weight) weighted cell means."""

    cells: NDArray[np.int64]  # int codes, one per respondent
    weights: NDArray[np.float64]  # weights after the adjustment
    old_weights: NDArray[np.float64]  # weights before it


@dataclass(frozen=True, eq=False)
class _Raking:
    """Raking record: one (cell codes, weights after that margin's step) pair per margin."""

    margins: tuple[tuple[NDArray[np.int64], NDArray[np.float64]], ...]


@dataclass(frozen=True, eq=False)
class SurveyDesign:
    """A stratified one-stage design of individuals, possibly calibrated.

    Build it with :func:`survey_design`; :func:`poststratify` and :func:`rake` return new
    designs whose weights are calibrated and which remember how, for the variance.
    """

    weights: NDArray[np.float64]
    strata: NDArray[np.int64]  # int codes 0..H-1
    stratum_labels: tuple[Hashable, ...]
    stratum_n: NDArray[np.float64]  # n_h
    stratum_population: NDArray[np.float64] | None  # N_h, or None without fpc
    lonely_psu: LonelyPSU = "fail"
    calibration: tuple[_PostStratum | _Raking, ...] = field(default=())

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_strata(self) -> int:
        return len(self.stratum_labels)

    @property
    def df(self) -> int:
        """Design degrees of freedom: respondents minus strata (R's ``degf``)."""
        return self.n - self.n_strata

    @property
    def fpc_factor(self) -> NDArray[np.float64]:
        """``f_h = 1 - n_h / N_h`` per stratum (1 without finite population correction)."""
        if self.stratum_population is None:
            return np.ones(self.n_strata)
        return 1.0 - self.stratum_n / self.stratum_population


def _check_lonely(rule: str) -> None:
    if rule not in _LONELY_RULES:
        raise ValueError(f"lonely_psu must be one of {', '.join(_LONELY_RULES)}; got {rule!r}")


def _vector(values: object, name: str, n: int | None = None) -> NDArray[Any]:
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} values, expected {n} (one per respondent)")
    return arr


def survey_design(
    *,
    weights: Sequence[float] | NDArray[Any] | pd.Series,
    strata: Sequence[Hashable] | NDArray[Any] | pd.Series | None = None,
    fpc: Sequence[float] | NDArray[Any] | pd.Series | Mapping[Hashable, float] | None = None,
    lonely_psu: LonelyPSU = "fail",
) -> SurveyDesign:
    """Describe a stratified sample of individuals: R's ``svydesign(id=~1, strata=, weights=,
    fpc=)``.

    ``weights`` are the sampling weights (inverse inclusion probabilities). ``strata`` gives
    each respondent's stratum (one stratum if omitted). ``fpc`` gives the stratum population
    sizes ``N_h``, either one value per respondent (constant within a stratum, as in R) or a
    mapping stratum -> ``N_h``; omit it for sampling with replacement (``f_h = 1``).
    ``lonely_psu`` says what a stratum with a single respondent contributes to variances:

    * ``"fail"``: raise :class:`LonelyStratumError` (R's default);
    * ``"remove"`` / ``"certainty"``: it contributes zero (the stratum is treated as taken with
      certainty);
    * ``"adjust"``: its influence value is centred at the grand mean of all influence values
      instead of its stratum mean (conservative);
    * ``"average"``: the variance summed over the other strata is scaled by ``H / (H - L)``,
      ``L`` being the number of lonely strata, i.e. each lonely stratum gets the average
      contribution.

    A stratum whose population is entirely sampled (``n_h = N_h``) contributes zero whatever the
    rule.
    """
    _check_lonely(lonely_psu)
    w = _vector(weights, "weights").astype(float)
    n = w.shape[0]
    if n == 0:
        raise ValueError("weights is empty: a design needs at least one respondent")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if strata is None:
        codes = np.zeros(n, dtype=np.int64)
        labels: tuple[Hashable, ...] = ("all",)
    else:
        s = _vector(strata, "strata", n)
        codes_, uniques = pd.factorize(pd.Series(s), sort=True)
        if (codes_ < 0).any():
            raise ValueError("strata has missing values")
        codes = codes_.astype(np.int64)
        labels = tuple(uniques.tolist())
    n_h = np.bincount(codes, minlength=len(labels)).astype(float)
    pop: NDArray[np.float64] | None = None
    if fpc is not None:
        if isinstance(fpc, Mapping):
            missing = [h for h in labels if h not in fpc]
            if missing:
                raise ValueError(f"fpc has no population size for strata {missing[:5]}")
            pop = np.array([float(fpc[h]) for h in labels])
        else:
            f = _vector(fpc, "fpc", n).astype(float)
            pop = np.full(len(labels), np.nan)
            pop[codes] = f
            if not np.allclose(f, pop[codes]):
                raise ValueError("fpc must be constant within each stratum")
        if np.any(~np.isfinite(pop)) or np.any(pop < n_h):
            bad = [labels[i] for i in np.flatnonzero(~(pop >= n_h))][:5]
            raise ValueError(f"fpc is smaller than the number of respondents in strata {bad}")
    return SurveyDesign(
        weights=w,
        strata=codes,
        stratum_labels=labels,
        stratum_n=n_h,
        stratum_population=pop,
        lonely_psu=lonely_psu,
    )


# --------------------------------------------------------------------------------------------
# Weighting
# --------------------------------------------------------------------------------------------


def _cells(values: object, name: str, n: int) -> tuple[NDArray[np.int64], pd.Index]:
    v = _vector(values, name, n)
    codes, uniques = pd.factorize(pd.Series(v), sort=False)
    if (codes < 0).any():
        raise ValueError(f"{name} has missing values")
    return codes.astype(np.int64), pd.Index(uniques)


def _targets(
    totals: Mapping[Hashable, float] | pd.Series, uniques: pd.Index, name: str
) -> NDArray[np.float64]:
    t = pd.Series(totals, dtype="float64") if isinstance(totals, Mapping) else totals
    if not isinstance(t, pd.Series):
        raise ValueError(f"population totals for {name} must be a mapping or a Series")
    t = t.astype(float)
    unknown = uniques.difference(t.index, sort=False)
    if len(unknown):
        raise CalibrationError(
            f"{name}: respondents in categories without a population total: {unknown.tolist()[:5]}"
        )
    empty: pd.Index | list[Any] = t.index.difference(uniques, sort=False)
    empty = [c for c in empty if t[c] > 0]
    if empty:
        raise CalibrationError(
            f"{name}: target categories with no respondent: {empty[:5]} "
            "(collapse them with a neighbouring category)"
        )
    # ``t`` holds float64 after ``astype(float)``, so does the array.
    out = cast("NDArray[np.float64]", t.reindex(uniques).to_numpy())
    if np.any(~np.isfinite(out)) or np.any(out <= 0):
        bad = uniques[~(out > 0)].tolist()[:5]
        raise CalibrationError(f"{name}: population totals must be positive, not for {bad}")
    return out


def poststratify(
    design: SurveyDesign,
    cells: Sequence[Hashable] | NDArray[Any] | pd.Series,
    totals: Mapping[Hashable, float] | pd.Series,
) -> SurveyDesign:
    """Post-stratify: scale weights within each cell so weighted cell totals equal ``totals``.

    ``w*_i = w_i · N_c / Σ_{j∈c} w_j`` for respondent ``i`` in cell ``c`` (``cells`` gives each
    respondent's cell; build combined cells, e.g. ``region + "|" + sex``, for crossed cells).

    Variance (R's ``postStratify`` design): the influence values are replaced by the residuals
    from their cell means, ``r_i = w*_i (e_i - ē_c)`` with ``e_i = z_i / w*_i`` and ``ē_c`` the
    mean of ``e`` over cell ``c`` weighted by the pre-adjustment weights.

    Raises :class:`CalibrationError` when a cell with a positive total has no respondent, or a
    respondent's cell has no total.
    """
    codes, uniques = _cells(cells, "cells", design.n)
    target = _targets(totals, uniques, "cells")
    old = design.weights
    current = np.bincount(codes, weights=old, minlength=len(uniques))
    if np.any(current <= 0):
        bad = uniques[current <= 0].tolist()[:5]
        raise CalibrationError(f"cells {bad} have respondents but zero total weight")
    new = old * (target / current)[codes]
    record = _PostStratum(cells=codes, weights=new, old_weights=old)
    return replace(design, weights=new, calibration=(*design.calibration, record))


def rake(
    design: SurveyDesign,
    margins: Mapping[
        str,
        tuple[Sequence[Hashable] | NDArray[Any] | pd.Series, Mapping[Hashable, float] | pd.Series],
    ],
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> SurveyDesign:
    """Rake (iterative proportional fitting) weights to the marginal totals of several variables.

    ``margins`` maps a variable name to ``(values, totals)``: each respondent's category and
    the population total per category. One iteration post-stratifies on each margin in turn;
    iterations stop once every weighted margin total is within ``tol`` (relative) of its
    target, i.e. ``max |Σ_{i∈c} w_i - T_c| / T_c ≤ tol``. The margins must agree on the
    overall total (within ``tol``), or raking cannot converge.

    Variance (R's ``rake`` design): the influence values are replaced by their residuals after
    10 sweeps of alternating projections, one per margin in turn,
    ``z ← z - w^(m) · ave_m(z / w^(m))`` where ``ave_m`` is the plain mean within the margin's
    categories and ``w^(m)`` the weights after that margin's last adjustment, the residuals
    of the regression on the margin indicators that R's ``svyrecvar`` computes.

    Raises :class:`CalibrationError` (empty target category, unknown category, inconsistent
    totals) or :class:`RakingConvergenceError` (not converged after ``max_iter`` iterations).
    """
    if not margins:
        raise ValueError("margins is empty: give at least one variable to rake on")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter!r}")
    prepared: list[tuple[str, NDArray[np.int64], NDArray[np.float64]]] = []
    for name, spec in margins.items():
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise ValueError(f"margin {name!r} must be a (values, totals) pair")
        codes, uniques = _cells(spec[0], f"margin {name!r}", design.n)
        prepared.append((name, codes, _targets(spec[1], uniques, f"margin {name!r}")))
    grand = [t.sum() for _, _, t in prepared]
    if max(grand) - min(grand) > tol * max(grand) * 10:
        raise CalibrationError(
            "margins disagree on the population total: "
            + ", ".join(f"{name}={g:g}" for (name, _, _), g in zip(prepared, grand, strict=True))
        )
    w = design.weights.copy()
    if np.any(w <= 0):
        raise CalibrationError("raking needs positive weights for every respondent")
    steps: list[tuple[NDArray[np.int64], NDArray[np.float64]]] = []
    worst = np.inf
    for _ in range(max_iter):
        steps = []
        for _name, codes, target in prepared:
            current = np.bincount(codes, weights=w, minlength=len(target))
            w = w * (target / current)[codes]
            steps.append((codes, w))
        worst = max(
            float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) - t) / t))
            for _n, c, t in prepared
        )
        if worst <= tol:
            break
    else:
        raise RakingConvergenceError(
            f"raking did not converge in {max_iter} iterations "
            f"(largest relative margin gap {worst:.3g} > tol {tol:g})"
        )
    record = _Raking(margins=tuple(steps))
    return replace(design, weights=w, calibration=(*design.calibration, record))


def trim_weights(
    weights: Sequence[float] | NDArray[Any] | pd.Series,
    *,
    lower: float | None = None,
    upper: float | None = None,
    relative: bool = False,
    max_iter: int = 100,
) -> NDArray[np.float64]:
    """Trim weights into ``[lower, upper]`` keeping their sum, redistributing the excess.

    Weights above ``upper`` are set to ``upper`` (below ``lower`` to ``lower``) and the amount
    removed (added) is spread over the untrimmed weights in proportion to their size; this is
    repeated until every weight lies within the bounds. With ``relative=True`` the bounds are
    multiples of the mean weight (``upper=3`` means three times the mean). Raises ``ValueError``
    when the bounds cannot hold the total (``n · upper < Σ w`` or ``n · lower > Σ w``).
    Trimmed weights no longer satisfy calibration totals exactly; rake again if needed.
    """
    w = _vector(weights, "weights").astype(float)
    if w.size == 0:
        return w
    total = w.sum()
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if relative:
        mean = total / w.size
        lo, hi = lo * mean, hi * mean
    if lo > hi:
        raise ValueError(f"lower bound {lo:g} is above upper bound {hi:g}")
    if w.size * hi < total * (1 - 1e-12) or w.size * lo > total * (1 + 1e-12):
        raise ValueError(
            f"bounds [{lo:g}, {hi:g}] cannot hold the total weight {total:g} "
            f"over {w.size} respondents"
        )
    free = np.ones(w.size, dtype=bool)
    for _ in range(max_iter):
        over, under = w > hi * (1 + 1e-12), w < lo * (1 - 1e-12)
        if not (over.any() or under.any()):
            return w
        w = np.clip(w, lo, hi)
        free &= ~(over | under) & (w > lo) & (w < hi)
        gap = total - w.sum()
        base = w[free].sum()
        if base <= 0:
            break
        w[free] *= 1 + gap / base
    raise ValueError(f"weight trimming did not settle within {max_iter} rounds")


def kish_effective_n(weights: NDArray[Any]) -> float:
    """Kish's effective sample size ``(Σ w)² / Σ w²``."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.square(w).sum())


def kish_design_effect(weights: NDArray[Any]) -> float:
    """Kish's design effect due to weighting ``n Σ w² / (Σ w)² = 1 + CV²(w)``."""
    w = np.asarray(weights, dtype=float)
    return float(w.size * np.square(w).sum() / w.sum() ** 2)


# --------------------------------------------------------------------------------------------
# Variance
# --------------------------------------------------------------------------------------------


def _residualise(design: SurveyDesign, z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Replace influence values by calibration-model residuals (R's ``svyrecvar`` prelude)."""
    for record in design.calibration:
        if isinstance(record, _PostStratum):
            psw = np.where(record.weights == 0, 1.0, record.weights)
            k = int(record.cells.max()) + 1
            g = sparse.csr_matrix(
                (record.old_weights, (record.cells, np.arange(design.n))), shape=(k, design.n)
            )
            denom = np.bincount(record.cells, weights=record.old_weights, minlength=k)
            means = (g @ (z / psw[:, None])) / np.where(denom == 0, 1.0, denom)[:, None]
            z = z - means[record.cells] * psw[:, None]
        else:
            prepared = []
            for codes, psw in record.margins:
                k = int(codes.max()) + 1
                g = sparse.csr_matrix(
                    (np.ones(design.n), (codes, np.arange(design.n))), shape=(k, design.n)
                )
                size = np.bincount(codes, minlength=k).astype(float)
                prepared.append((codes, psw[:, None], g, size[:, None]))
            for _ in range(_RAKING_SWEEPS):
                for codes, psw, g, size in prepared:
                    e = z / psw
                    z = z - ((g @ e) / size)[codes] * psw
    return z


def design_variance(design: SurveyDesign, z: NDArray[Any]) -> NDArray[np.float64] | np.float64:
    """Variance of linearised estimators with influence values ``z`` (n, or n x m columns).

    Applies the calibration residuals, then ``Σ_h f_h n_h/(n_h-1) Σ_{i∈h} (z_i - z̄_h)²`` with
    the design's lonely-stratum rule. Returns one variance per column.
    """
    z2 = np.asarray(z, dtype=float)
    one = z2.ndim == 1
    if one:
        z2 = z2[:, None]
    if z2.shape[0] != design.n:
        raise ValueError(f"z has {z2.shape[0]} rows, expected {design.n}")
    z2 = _residualise(design, z2)
    h_count = design.n_strata
    s = sparse.csr_matrix(
        (np.ones(design.n), (design.strata, np.arange(design.n))), shape=(h_count, design.n)
    )
    sums = np.asarray(s @ z2)
    sumsq = np.asarray(s @ (z2 * z2))
    n_h = design.stratum_n[:, None]
    f = design.fpc_factor[:, None]
    census = (f < _CENSUS_F).ravel()
    lonely = (design.stratum_n == 1) & ~census
    with np.errstate(divide="ignore", invalid="ignore"):
        contrib = f * n_h / (n_h - 1) * (sumsq - sums * sums / n_h)
    contrib[census] = 0.0
    scale = 1.0
    if lonely.any():
        rule = design.lonely_psu
        names = [design.stratum_labels[i] for i in np.flatnonzero(lonely)]
        if rule == "fail":
            raise LonelyStratumError(
                f"strata {names[:5]} have a single respondent; choose a lonely_psu rule "
                "('remove', 'certainty', 'adjust', 'average') or merge strata"
            )
        if rule in ("remove", "certainty"):
            contrib[lonely] = 0.0
        elif rule == "adjust":
            grand = z2.sum(axis=0, keepdims=True) / design.n
            contrib[lonely] = f[lonely] * np.square(sums[lonely] - grand)
        else:  # average
            ok = h_count - int(lonely.sum())
            if ok == 0:
                raise LonelyStratumError(
                    "every stratum has a single respondent: lonely_psu='average' has no "
                    "stratum to average over"
                )
            contrib[lonely] = 0.0
            scale = h_count / ok
    var = contrib.sum(axis=0) * scale
    return var[0] if one else var


# --------------------------------------------------------------------------------------------
# Estimates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeanEstimate:
    """A mean or total with its Taylor-linearised standard error.

    ``ci_low``/``ci_high`` are ``estimate ± t_{df, 1-α/2} · se``. ``n`` counts respondents with a
    value; ``effective_n`` and ``kish_deff`` describe their weights.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    n: int
    effective_n: float
    kish_deff: float


def _values(
    design: SurveyDesign, y: object, name: str
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    v = _vector(y, name, design.n)
    try:
        v = v.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    present = ~np.isnan(v)
    if not present.any():
        raise ValueError(f"{name} has no non-missing value")
    return np.where(present, v, 0.0), present


def _interval(est: float, se: float, df: int, alpha: float) -> tuple[float, float]:
    t = float(stats.t.ppf(1 - alpha / 2, df)) if df > 0 else np.nan
    return est - t * se, est + t * se


def estimate_mean(
    y: Sequence[float] | NDArray[Any] | pd.Series, design: SurveyDesign, *, alpha: float = 0.05
) -> MeanEstimate:
    """Weighted mean ``Σ w y / Σ w`` over respondents with a value (NaN = missing, treated as
    a domain), with R's ``svymean`` standard error."""
    v, present = _values(design, y, "y")
    w = design.weights * present
    total_w = w.sum()
    if total_w <= 0:
        raise ValueError("y: respondents with a value have zero total weight")
    mean = float((w * v).sum() / total_w)
    return _linearised(mean, w * (v - mean) / total_w, present, design, alpha)


def estimate_total(
    y: Sequence[float] | NDArray[Any] | pd.Series, design: SurveyDesign, *, alpha: float = 0.05
) -> MeanEstimate:
    """Weighted total ``Σ w y`` (missing values count as 0), with R's ``svytotal`` SE."""
    v, present = _values(design, y, "y")
    z = design.weights * v
    return _linearised(float(z.sum()), z, present, design, alpha)


def _linearised(
    estimate: float,
    z: NDArray[np.float64],
    present: NDArray[np.bool_],
    design: SurveyDesign,
    alpha: float,
) -> MeanEstimate:
    """An estimate whose variance is that of its linearisation ``z`` under the design."""
    se = float(np.sqrt(design_variance(design, z)))
    lo, hi = _interval(estimate, se, design.df, alpha)
    wp = design.weights[present]
    return MeanEstimate(
        estimate,
        se,
        lo,
        hi,
        design.df,
        int(present.sum()),
        kish_effective_n(wp),
        kish_design_effect(wp),
    )


@dataclass(frozen=True)
class QuantileEstimate:
    """A quantile (the median for ``p = 0.5``) with Woodruff's confidence interval.

    ``se_share`` is the standard error of the estimated share of respondents at or below the
    quantile; ``n`` counts respondents with a value. ``ci_low``/``ci_high`` are NaN when the
    design has no degrees of freedom.
    """

    estimate: float
    ci_low: float
    ci_high: float
    se_share: float
    p: float
    df: int
    n: int


def _weighted_quantile(
    values: NDArray[np.float64], weights: NDArray[np.float64], p: float
) -> float:
    """The smallest value whose weighted share at or below it reaches ``p`` (the inverse of the
    weighted distribution function: R's ``qrule="math"``, numpy's ``inverted_cdf``)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cdf = np.cumsum(w) / w.sum()
    # Cumulative sums carry rounding: a share meant to equal p may fall a hair short of it.
    index = int(np.searchsorted(cdf, p * (1 - 1e-12), side="left"))
    return float(v[min(index, v.size - 1)])


def estimate_quantile(
    y: Sequence[float] | NDArray[Any] | pd.Series,
    design: SurveyDesign,
    *,
    p: float = 0.5,
    alpha: float = 0.05,
) -> QuantileEstimate:
    """Weighted ``p``-quantile over respondents with a value (NaN = missing, a domain) with
    Woodruff's (1952) interval.

    The estimate is the inverse of the weighted distribution function (R's ``svyquantile``
    with ``qrule="math"``). For the interval, the share ``F̂(q̂)`` of respondents at or below
    the estimate ``q̂`` gets its design-based standard error (:func:`estimate_mean` of the
    indicator ``y ≤ q̂``, calibration included), and the interval's ends are the quantiles at
    ``p ∓ t_{df,1-α/2} · SE`` (clipped to [0, 1]): an interval on the probability scale carried
    back through the distribution function, as Woodruff proposed.
    """
    if not 0 < p < 1:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p!r}")
    v, present = _values(design, y, "y")
    w = design.weights[present]
    if w.sum() <= 0:
        raise ValueError("y: respondents with a value have zero total weight")
    values = v[present]
    q = _weighted_quantile(values, w, p)
    below = np.where(present, (v <= q).astype(float), np.nan)
    se = estimate_mean(below, design, alpha=alpha).se if design.df > 0 else np.nan
    if design.df > 0 and np.isfinite(se):
        t = float(stats.t.ppf(1 - alpha / 2, design.df))
        lo_p = min(max(p - t * se, 0.0), 1.0)
        hi_p = min(max(p + t * se, 0.0), 1.0)
        lo = _weighted_quantile(values, w, lo_p) if lo_p > 0 else float(values.min())
        hi = _weighted_quantile(values, w, hi_p) if hi_p < 1 else float(values.max())
    else:
        lo = hi = np.nan
    return QuantileEstimate(q, lo, hi, float(se), p, design.df, int(present.sum()))


@dataclass(frozen=True, eq=False)
class ProportionsResult:
    """Option shares of many questions, each array shaped (questions, options).

    ``estimate[q, k]`` is the weighted share of option ``k`` among respondents who answered
    question ``q``; ``se`` its linearised standard error; ``ci_low``/``ci_high`` the logit
    interval; ``deff`` the design effect of the estimate ``se² / (p(1-p)/n_q)`` (against
    simple random sampling with replacement of the same size). Per question: ``n`` answering
    respondents, Kish ``effective_n`` and ``kish_deff`` of their weights. ``df`` is the design's.
    """

    estimate: NDArray[np.float64]
    se: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    deff: NDArray[np.float64]
    n: NDArray[np.int64]
    effective_n: NDArray[np.float64]
    kish_deff: NDArray[np.float64]
    df: int
    options: tuple[Hashable, ...] = ()
    questions: tuple[Hashable, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (question, option)."""
        q, k = self.estimate.shape
        questions = list(self.questions) if self.questions else list(range(q))
        options = list(self.options) if self.options else list(range(k))
        return pd.DataFrame(
            {
                "question": np.repeat(np.asarray(questions, dtype=object), k),
                "option": np.tile(np.asarray(options, dtype=object), q),
                "estimate": self.estimate.ravel(),
                "se": self.se.ravel(),
                "ci_low": self.ci_low.ravel(),
                "ci_high": self.ci_high.ravel(),
                "deff": self.deff.ravel(),
                "n": np.repeat(self.n, k),
                "effective_n": np.repeat(self.effective_n, k),
                "kish_deff": np.repeat(self.kish_deff, k),
            }
        )


def logit_interval(
    p: NDArray[Any], se: NDArray[Any], df: int, alpha: float = 0.05
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """R's ``svyciprop(method="logit")``: ``expit(logit p ± t_{df,1-α/2} · se / (p (1-p)))``.

    At ``p = 0`` or ``p = 1`` the interval degenerates to the point ``[p, p]``.
    """
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    t = float(stats.t.ppf(1 - alpha / 2, df)) if df > 0 else np.nan
    inner = (p > 0) & (p < 1)
    safe = np.where(inner, p, 0.5)
    half = t * se / (safe * (1 - safe))
    centre = np.log(safe / (1 - safe))
    lo = np.where(inner, 1 / (1 + np.exp(-(centre - half))), p)
    hi = np.where(inner, 1 / (1 + np.exp(-(centre + half))), p)
    return lo, hi


def estimate_proportions_many(
    answers: NDArray[Any],
    design: SurveyDesign,
    *,
    n_options: int | None = None,
    missing: int = -1,
    alpha: float = 0.05,
    chunk_cells: int = 4_000_000,
    questions: Sequence[Hashable] = (),
    options: Sequence[Hashable] = (),
) -> ProportionsResult:
    """Option shares with standard errors for many single-choice questions at once.

    ``answers`` is an integer array (respondents x questions) of option codes ``0..K-1``, with
    ``missing`` (default -1) where a respondent did not answer. ``K`` is ``n_options`` or the
    largest code + 1. For each question ``q`` and option ``k``:
    ``p_qk = Σ w_i I_iqk / Σ w_i m_iq`` and the influence values
    ``z_i = w_i (I_iqk - p_qk m_iq) / Σ w_i m_iq`` go through :func:`design_variance`
    (calibration residuals included), all options of a block of questions as columns of one
    matrix, so that the work is a handful of array operations per block.
    Matches R's ``svymean(~factor(q), design, na.rm=TRUE)`` and ``svyciprop(method="logit")``.
    """
    a = np.asarray(answers)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] != design.n:
        raise ValueError(
            f"answers must be a respondents x questions array with {design.n} rows, "
            f"got shape {a.shape}"
        )
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError("answers must hold integer option codes")
    answered = a != missing
    if np.any(a[answered] < 0):
        raise ValueError(f"answers has negative codes other than the missing code {missing}")
    top = int(a[answered].max()) + 1 if answered.any() else 0
    k = top if n_options is None else int(n_options)
    if k < top:
        raise ValueError(f"answers has option code {top - 1} but n_options is {n_options}")
    n_r, n_q = a.shape
    w = design.weights
    out = {name: np.zeros((n_q, k)) for name in ("estimate", "se")}
    wm = answered * w[:, None]
    den = wm.sum(axis=0)  # Σ w m per question
    n_ans = answered.sum(axis=0)
    step = max(1, chunk_cells // max(1, n_r * k))
    codes = np.arange(k)
    for start in range(0, n_q, step):
        block = a[:, start : start + step]
        q = block.shape[1]
        onehot = block[:, :, None] == codes  # (n, q, k); missing code never matches
        wi = onehot * w[:, None, None]
        d = den[start : start + q]
        d_safe = np.where(d > 0, d, 1.0)
        p = wi.sum(axis=0) / d_safe[:, None]
        z = (wi - wm[:, start : start + q, None] * p) / d_safe[None, :, None]
        var = design_variance(design, z.reshape(n_r, q * k)).reshape(q, k)
        out["estimate"][start : start + q] = p
        out["se"][start : start + q] = np.sqrt(np.clip(var, 0.0, None))
    p, se = out["estimate"], out["se"]
    lo, hi = logit_interval(p, se, design.df, alpha)
    nq = n_ans[:, None].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        srs = p * (1 - p) / nq
        deff = np.where(srs > 0, se * se / srs, np.nan)
        sw2 = (answered * np.square(w)[:, None]).sum(axis=0)
        eff_n = np.where(sw2 > 0, den * den / sw2, 0.0)
        kish = np.where(den > 0, n_ans * sw2 / (den * den), np.nan)
    return ProportionsResult(
        estimate=p,
        se=se,
        ci_low=lo,
        ci_high=hi,
        deff=deff,
        n=n_ans,
        effective_n=eff_n,
        kish_deff=kish,
        df=design.df,
        options=tuple(options),
        questions=tuple(questions),
    )


def estimate_proportions(
    values: Sequence[Hashable] | NDArray[Any] | pd.Series,
    design: SurveyDesign,
    *,
    categories: Sequence[Hashable] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Weighted shares of the categories of one variable (missing values form no category).

    Returns one row per category (``categories`` order, else sorted) with ``estimate``, ``se``,
    logit ``ci_low``/``ci_high``, ``deff``, ``n``, ``effective_n``, ``kish_deff``, ``df``.
    """
    v = pd.Series(_vector(values, "values", design.n))
    cats = pd.Index(sorted(v.dropna().unique().tolist()) if categories is None else categories)
    unknown = pd.Index(v.dropna().unique()).difference(cats, sort=False)
    if len(unknown):
        raise ValueError(f"values has categories not in categories: {unknown.tolist()[:5]}")
    codes = cats.get_indexer(pd.Index(v))
    codes[v.isna().to_numpy()] = -1
    res = estimate_proportions_many(
        codes[:, None].astype(np.int64),
        design,
        n_options=len(cats),
        alpha=alpha,
        options=tuple(cats.tolist()),
    )
    frame = res.to_frame().drop(columns="question").rename(columns={"option": "category"})
    frame["df"] = res.df
    return frame
