"""Aggregation rules: from a vote table to per-item labels, side by side.

Input is the *vote table* (see ``docs/benchmarks-rules.md``): one row per vote with columns

``item``
    key of the item voted on;
``voter``
    pseudonymous key of the person who voted;
``label``
    the category chosen; it must be one of ``categories``;
``weight`` (optional, default 1.0)
    non-negative weight of the vote (a survey weight, say);
``role`` (optional, default ``"primary"``)
    ``"primary"`` or ``"secondary"`` (the secondary emotions of a rating, say).

Every row is one vote. A voter who gives several primary labels to one item casts several votes,
and repeated ratings by one voter of one item count as separate observations (Dawid and Skene
1979 treat the repeated assessments of their observer 1 this way).

Unless a rule says otherwise, rules read the *primary* votes only. With ``n[i, c]`` the summed
weight of the primary votes for category ``c`` on item ``i`` and ``N[i] = sum_c n[i, c]``:

majority
    the category with ``n[i, c] > N[i] / 2``; otherwise no label (item dropped).
plurality
    the category with strictly the largest ``n[i, c]``; a tie between several top categories
    follows ``tie_policy`` (:data:`TIE_POLICIES`).
all_inclusive
    keeps every item with votes. Its distribution pools primary votes and, with
    ``secondary_weight > 0``, secondary votes weighted by ``secondary_weight``:
    ``q[i, c] = (n[i, c] + s * m[i, c]) / sum_c (n[i, c] + s * m[i, c])`` where ``m`` holds the
    secondary weights. The label set is ``{c : q[i, c] > 1 / C}`` (``all_inclusive_mode =
    "above_uniform"``) or ``{c : q[i, c] > 0}`` (``"any_vote"``, for training targets).
soft
    ``p[i, c] = n[i, c] / N[i]``, smoothed to ``(1 - eps) * p[i, c] + eps / C``.
dawid_skene
    posterior class probabilities from the EM algorithm of Dawid and Skene (1979) with one
    confusion matrix per voter; see :func:`dawid_skene`.

An item without primary weight (only secondary votes, or only zero weights) is dropped by every
rule and its distributions are missing (NaN).

Comparisons of weighted sums use a relative tolerance of ``1e-9`` of the item's total weight, so
that float rounding (``0.1 + 0.2`` against ``0.3``) neither creates nor hides a tie or a majority.

:func:`aggregate` computes any subset of the rules in one pass and returns one wide table with
flat, prefixed string columns (``majority.label``, ``soft.p.joy``, ...), a per-rule summary and
the Dawid-Skene extras. All kernels work on integer codes with ``np.bincount`` and sparse
products; no Python loop runs per item or per vote.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from pandas.api.extensions import ExtensionArray
from scipy import sparse

from sources.codes import CodedVotes, factorize

__all__ = [
    "RULES",
    "TIE_POLICIES",
    "AggregationResult",
    "Cooccurrence",
    "DawidSkeneResult",
    "EncodedVotes",
    "PluralityResult",
    "aggregate",
    "all_inclusive",
    "category_cooccurrence",
    "dawid_skene",
    "encode_votes",
    "item_statistics",
    "majority",
    "penalty_matrix",
    "plurality",
    "soft",
    "vote_counts",
]

RULES: tuple[str, ...] = ("majority", "plurality", "all_inclusive", "soft", "dawid_skene")
"""Rule names understood by :func:`aggregate`, in the order their columns appear."""

TIE_POLICIES: tuple[str, ...] = ("drop", "flag", "all", "random")
"""How :func:`plurality` treats a tie for the top count.

``drop``: no label, the item is dropped. ``flag``: no label, the item is kept and marked for
review (``plurality.tie`` is true, ``plurality.candidates`` lists the tied labels). ``all``: the
label is every tied category, joined by ``"|"`` in category order. ``random``: one of the tied
categories, drawn uniformly with the given seeded generator.
"""

ALL_INCLUSIVE_MODES: tuple[str, ...] = ("above_uniform", "any_vote")
PENALTY_NORMALIZATIONS: tuple[str, ...] = ("max", "conditional")
COOCCURRENCE_SOURCES: tuple[str, ...] = ("both", "within", "across")

REQUIRED_COLUMNS: tuple[str, ...] = ("item", "voter", "label")
RELATIVE_TOLERANCE = 1e-9
LABEL_SEPARATOR = "|"

# Smallest positive double: log() of a zero probability becomes about -708 instead of -inf, so
# that sums of logs never produce NaN (-inf + inf) while a zero stays negligible.
_TINY = np.finfo(np.float64).tiny


# --------------------------------------------------------------------------------------------
# Encoding and validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedVotes(CodedVotes):
    """A validated vote table as integer codes.

    ``item``, ``voter`` and ``label`` are codes into ``items``, ``voters`` and ``categories``;
    ``weight`` is the vote weight and ``secondary`` marks secondary votes. Items and voters are
    numbered in sorted order of their keys (order of appearance when keys do not sort), so
    results do not depend on the row order of the table.
    """

    categories: tuple[Hashable, ...]
    items: pd.Index
    voters: pd.Index
    item: NDArray[np.int64]
    voter: NDArray[np.int64]
    label: NDArray[np.int64]
    weight: NDArray[np.float64]
    secondary: NDArray[np.bool_]
    weighted: bool
    has_secondary: bool

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def category_names(self) -> list[str]:
        """Categories as strings, as used in column names."""
        return [str(c) for c in self.categories]


def _is_arrow_string(dtype: Any) -> bool:
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _check_categories(categories: Sequence[Hashable]) -> tuple[Hashable, ...]:
    if isinstance(categories, str) or not isinstance(categories, Sequence | pd.Index | np.ndarray):
        raise ValueError("categories: expected an ordered list of categories")
    cats: tuple[Any, ...] = tuple(categories)
    if not cats:
        raise ValueError("categories: the list of categories is empty")
    if any(pd.isna(c) for c in cats):
        raise ValueError("categories: a category is missing (NaN/None)")
    names = [str(c) for c in cats]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"categories: duplicate categories {dup}")
    return cats


def _preview(values: Collection[Any] | ExtensionArray, limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return shown + (", ..." if len(values) > limit else "")


def encode_votes(votes: pd.DataFrame, categories: Sequence[Hashable]) -> EncodedVotes:
    """Validate a vote table and turn it into integer codes.

    Raises ``ValueError`` naming the column and the problem for: a table that is not a
    DataFrame or is empty, a missing required column, a missing item/voter/label, a label that
    is not one of ``categories``, a missing, infinite or negative weight, and a role other than
    ``"primary"``/``"secondary"``.
    """
    cats = _check_categories(categories)
    if not isinstance(votes, pd.DataFrame):
        raise ValueError("votes: expected a pandas DataFrame (the vote table)")
    missing = [c for c in REQUIRED_COLUMNS if c not in votes.columns]
    if missing:
        raise ValueError(f"votes: missing column(s) {', '.join(repr(c) for c in missing)}")
    if len(votes) == 0:
        raise ValueError("votes: the vote table is empty")

    for col in ("item", "voter", "label"):
        na = votes[col].isna().to_numpy()
        if na.any():
            raise ValueError(f"{col}: {int(na.sum())} row(s) have no value")

    item, items = factorize(votes["item"])
    voter, voters = factorize(votes["voter"])

    raw_label = votes["label"]
    if isinstance(raw_label.dtype, pd.CategoricalDtype):
        # Recode the column's own categories once instead of hashing every row.
        own = raw_label.cat.categories
        pos = pd.Index(cats).get_indexer(own)
        codes = raw_label.cat.codes.to_numpy()
        label = pos[codes]
    elif _is_arrow_string(raw_label.dtype) and all(isinstance(c, str) for c in cats):
        # Arrow looks every string up in the category set in one pass, without a detour
        # through Python objects.
        found = pc.index_in(pa.array(raw_label.array), value_set=pa.array(list(cats)))
        if found.null_count:
            found = pc.fill_null(found, -1)
        label = found.to_numpy()
    else:
        # Factorise first, then map the few distinct values onto the categories.
        codes, uniques = pd.factorize(raw_label, sort=False)
        label = pd.Index(cats).get_indexer(pd.Index(uniques))[codes]
    label = np.asarray(label, dtype=np.int64)
    bad = label < 0
    if bad.any():
        unknown = pd.unique(raw_label[bad].astype(object))
        word = "is" if len(unknown) == 1 else "are"
        raise ValueError(
            f"label: {_preview(unknown)} {word} not one of the categories {list(cats)} "
            f"({int(bad.sum())} row(s))"
        )

    if "weight" in votes.columns:
        try:
            weight = votes["weight"].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError("weight: values must be numbers") from exc
        if not np.isfinite(weight).all():
            n = int((~np.isfinite(weight)).sum())
            raise ValueError(f"weight: {n} row(s) have a missing or infinite weight")
        if (weight < 0).any():
            neg = weight[weight < 0]
            raise ValueError(
                f"weight: negative weight {float(neg.min())!r} ({len(neg)} row(s)); "
                "weights must be >= 0"
            )
        weighted = True
    else:
        weight = np.ones(len(votes), dtype=np.float64)
        weighted = False

    if "role" in votes.columns:
        role = votes["role"]
        secondary = (role == "secondary").to_numpy(dtype=bool, na_value=False)
        primary = (role == "primary").to_numpy(dtype=bool, na_value=False)
        bad = ~(secondary | primary)
        if bad.any():
            found = pd.unique(role[bad].astype(object))
            raise ValueError(
                f"role: {_preview(found)} is not 'primary' or 'secondary' ({int(bad.sum())} row(s))"
            )
    else:
        secondary = np.zeros(len(votes), dtype=bool)

    return EncodedVotes(
        categories=cats,
        items=items,
        voters=voters,
        item=item,
        voter=voter,
        label=label,
        weight=weight,
        secondary=secondary,
        weighted=weighted,
        has_secondary=bool(secondary.any()),
    )


# --------------------------------------------------------------------------------------------
# Counting kernels
# --------------------------------------------------------------------------------------------


def vote_counts(enc: EncodedVotes, *, secondary_weight: float = 0.0) -> NDArray[np.float64]:
    """Summed vote weight per item and category, shape ``(n_items, C)``.

    Primary votes count with their weight, secondary votes with ``weight * secondary_weight``
    (so ``secondary_weight=0`` counts primary votes only). One ``np.bincount`` over the flat
    index ``item * C + label``.
    """
    if secondary_weight < 0 or not np.isfinite(secondary_weight):
        raise ValueError("secondary_weight: must be a finite number >= 0")
    c, n = enc.n_categories, enc.n_items
    # Category-major layout: the (n_items, C) result is a Fortran-ordered view, so reductions
    # over categories (sum, max, compare) run over contiguous columns and are several times
    # faster than over rows of 8 values.
    flat = enc.label * n + enc.item
    size = n * c
    if enc.has_secondary:
        w = np.where(enc.secondary, enc.weight * secondary_weight, enc.weight)
        counts = np.bincount(flat, weights=w, minlength=size)
    elif enc.weighted:
        counts = np.bincount(flat, weights=enc.weight, minlength=size)
    else:
        counts = np.bincount(flat, minlength=size).astype(np.float64)
    return counts.reshape(c, n).T


def _totals(counts: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    total = counts.sum(axis=1)
    return total, RELATIVE_TOLERANCE * total


def _first_argmax(counts: NDArray[np.float64]) -> NDArray[np.intp]:
    """Row-wise argmax (first maximum on ties), column by column for Fortran-ordered counts."""
    if not counts.flags.f_contiguous or counts.shape[1] > 64:
        return counts.argmax(axis=1)
    best = counts[:, 0].copy()
    idx = np.zeros(counts.shape[0], dtype=np.int64)
    for j in range(1, counts.shape[1]):  # C columns, not items
        col = counts[:, j]
        idx[col > best] = j
        np.maximum(best, col, out=best)
    return idx


def majority(counts: NDArray[np.float64]) -> NDArray[np.intp]:
    """Majority label code per item, ``-1`` where no category has more than half the weight.

    ``label[i] = c`` iff ``n[i, c] > N[i] / 2``; exactly half is not a majority.
    """
    total, tol = _totals(counts)
    won = (2.0 * counts.max(axis=1) - total > tol) & (total > 0)
    return np.where(won, _first_argmax(counts), -1)


@dataclass(frozen=True)
class PluralityResult:
    """Output of :func:`plurality`.

    ``label``: code of the single chosen category, ``-1`` where none is chosen (for policy
    ``all`` with a tie, see ``chosen``). ``chosen``: boolean ``(n_items, C)`` of the categories
    the rule assigns. ``candidates``: boolean ``(n_items, C)`` of the top categories. ``tie``:
    more than one top category. ``kept``: whether the item stays in the dataset.
    """

    label: NDArray[np.intp]
    chosen: NDArray[np.bool_]
    candidates: NDArray[np.bool_]
    tie: NDArray[np.bool_]
    kept: NDArray[np.bool_]


def plurality(
    counts: NDArray[np.float64],
    *,
    tie_policy: str = "drop",
    rng: np.random.Generator | None = None,
) -> PluralityResult:
    """Plurality label per item: the category with strictly the largest (weighted) count.

    Categories within ``1e-9 * N[i]`` of the top count tie with it. Ties follow ``tie_policy``
    (:data:`TIE_POLICIES`); ``random`` needs ``rng`` and draws, for each tied item in item order,
    one tied category with equal probability, so one seed replays the same choice.
    """
    if tie_policy not in TIE_POLICIES:
        raise ValueError(
            f"tie_policy: unknown tie policy {tie_policy!r}; choose one of {list(TIE_POLICIES)}"
        )
    if tie_policy == "random" and rng is None:
        raise ValueError("seed: tie_policy 'random' needs a seed or a numpy Generator")
    total, tol = _totals(counts)
    has_votes = total > 0
    top_w = counts.max(axis=1)
    threshold = np.where(has_votes, top_w - tol, np.inf)
    candidates = counts >= threshold[:, None]
    n_top = candidates.sum(axis=1)
    tie = n_top > 1
    unique = n_top == 1
    label = np.where(unique, _first_argmax(counts), -1)
    chosen = candidates & unique[:, None]
    kept = unique.copy()
    if tie_policy == "flag":
        kept |= tie
    elif tie_policy == "all":
        chosen = candidates.copy()
        kept |= tie
    elif tie_policy == "random":
        assert rng is not None
        tied_rows = np.flatnonzero(tie)
        keys = rng.random((len(tied_rows), counts.shape[1]))
        keys[~candidates[tied_rows]] = -1.0
        pick = keys.argmax(axis=1)
        label[tied_rows] = pick
        chosen[tied_rows, pick] = True
        kept |= tie
    return PluralityResult(label=label, chosen=chosen, candidates=candidates, tie=tie, kept=kept)


def all_inclusive(
    counts: NDArray[np.float64], *, mode: str = "above_uniform"
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Pooled label distribution and multi-hot label set per item.

    ``counts`` should already pool the votes wanted (see :func:`vote_counts` and its
    ``secondary_weight``). Returns ``(q, y)``: ``q[i] = counts[i] / sum(counts[i])`` (NaN for an
    item without weight) and ``y[i, c] = q[i, c] > 1 / C`` (``mode="above_uniform"``) or
    ``q[i, c] > 0`` (``mode="any_vote"``). With votes spread evenly over all categories no
    share is above ``1 / C`` and the set is empty.
    """
    if mode not in ALL_INCLUSIVE_MODES:
        raise ValueError(
            f"all_inclusive_mode: unknown mode {mode!r}; choose one of {list(ALL_INCLUSIVE_MODES)}"
        )
    total = counts.sum(axis=1)
    c = counts.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        q = counts / total[:, None]
    # Compared on the weights rather than on q: q > 1/C  <=>  n > N / C. An item without weight
    # has n = 0 everywhere and gets an empty set.
    if mode == "above_uniform":
        threshold = total * (1.0 / c + RELATIVE_TOLERANCE)
    else:
        threshold = total * RELATIVE_TOLERANCE
    y = counts > threshold[:, None]
    return q, y


def soft(counts: NDArray[np.float64], *, epsilon: float = 0.0) -> NDArray[np.float64]:
    """Soft label: ``(1 - eps) * n[i] / N[i] + eps / C``; NaN rows for items without weight."""
    if not (0.0 <= epsilon <= 1.0):
        raise ValueError(f"epsilon: label smoothing must lie in [0, 1], got {epsilon!r}")
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts / total[:, None]
    if epsilon:
        p = (1.0 - epsilon) * p + epsilon / counts.shape[1]
    return p


def item_statistics(enc: EncodedVotes, counts: NDArray[np.float64] | None = None) -> pd.DataFrame:
    """Per-item description of the primary votes.

    Columns: ``n_votes`` (primary rows), ``n_secondary`` (secondary rows), ``weight``
    (``N[i]``), ``entropy`` ``H[i] = -sum_c p[i, c] ln p[i, c]`` of ``p = n / N`` in nats
    (natural log, ``0 ln 0 = 0``; divide by ``ln 2`` for bits) and ``top_share``
    (``max_c p[i, c]``, the share of the winning label). Indexed by item. ``counts`` must be
    ``vote_counts(enc)`` when given.
    """
    if counts is None:
        counts = vote_counts(enc)
    n = enc.n_items
    if enc.has_secondary:
        n_votes = np.bincount(enc.item[~enc.secondary], minlength=n)
        n_secondary = np.bincount(enc.item[enc.secondary], minlength=n)
    else:
        n_votes = np.bincount(enc.item, minlength=n)
        n_secondary = np.zeros(n, dtype=np.int64)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if enc.weighted:
            # H = -sum p ln p over the non-zero cells only: the logarithm is the costly part.
            layout = np.ascontiguousarray(counts.T).ravel()
            cell = np.flatnonzero(layout)
            cell_item = cell % n
            share = layout[cell] / total[cell_item]
            entropy = -np.bincount(cell_item, weights=share * np.log(share), minlength=n)
        else:
            # Integer counts: H = ln N - sum_c n_c ln n_c / N with n ln n from a lookup table.
            k = counts.astype(np.int64)
            table = np.arange(int(k.max()) + 1, dtype=np.float64)
            table[1:] *= np.log(table[1:])
            entropy = np.log(total) - table[k].sum(axis=1) / total
        top_share = counts.max(axis=1) / total
    # Rounding can leave -1e-16 (or -0.0) for a unanimous item; entropy is never negative.
    entropy = np.maximum(entropy, 0.0)
    entropy[~(total > 0)] = np.nan
    return pd.DataFrame(
        {
            "n_votes": n_votes,
            "n_secondary": n_secondary,
            "weight": total,
            "entropy": entropy,
            "top_share": top_share,
        },
        index=enc.items.rename("item"),
    )


# --------------------------------------------------------------------------------------------
# Dawid-Skene
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DawidSkeneResult:
    """Output of :func:`dawid_skene`.

    ``posteriors``: ``(n_items, C)`` posterior class probabilities (NaN rows for items without
    primary weight). ``priors``: class prevalences ``p_j``. ``confusion``: ``(n_voters, C, C)``
    with ``confusion[r, j, l]`` the probability that voter ``r`` says ``l`` when the true class
    is ``j``. ``reliability``: per voter ``n_votes``, ``weight`` and ``accuracy =
    sum_j p_j * confusion[r, j, j]``. ``log_likelihood``: the marginal (incomplete-data)
    log-likelihood after each iteration, non-decreasing by the EM property.
    """

    posteriors: NDArray[np.float64]
    priors: NDArray[np.float64]
    confusion: NDArray[np.float64]
    reliability: pd.DataFrame
    log_likelihood: NDArray[np.float64]
    n_iter: int
    converged: bool
    categories: tuple[Hashable, ...]
    items: pd.Index
    voters: pd.Index

    @property
    def labels(self) -> NDArray[np.intp]:
        """MAP class code per item (first category on a tie), ``-1`` for items without votes."""
        post = np.nan_to_num(self.posteriors, nan=-1.0)
        lab = post.argmax(axis=1)
        lab[np.isnan(self.posteriors).any(axis=1)] = -1
        return lab

    def confusion_frame(self, voter: Hashable) -> pd.DataFrame:
        """Confusion matrix of one voter: rows true class, columns observed label."""
        r = self.voters.get_loc(voter)
        names = [str(c) for c in self.categories]
        return pd.DataFrame(
            self.confusion[r],
            index=pd.Index(names, name="true"),
            columns=pd.Index(names, name="observed"),
        )


def dawid_skene(
    enc: EncodedVotes,
    *,
    max_iter: int = 100,
    tol: float | None = 1e-7,
    initial: NDArray[Any] | None = None,
) -> DawidSkeneResult:
    """Dawid-Skene (1979) maximum-likelihood class posteriors and voter confusion matrices.

    Model: item ``i`` has a latent class ``j`` with prior ``p_j``; voter ``r`` reports label
    ``l`` with probability ``pi[r, j, l]``, independently across votes. Every primary vote is
    one observation; its weight multiplies its log-likelihood term (weight 1 gives the paper's
    model, and repeated ratings of one item by one voter are separate observations).

    EM, started from the (weighted) vote proportions ``T[i, j] = n[i, j] / N[i]`` (or
    ``initial``):

    * M-step: ``p_j = mean_i T[i, j]``;
      ``pi[r, j, l] = sum_{votes (i, r, l)} w * T[i, j]``, each row ``(r, j)`` normalised over
      ``l`` (uniform where it has no mass).
    * E-step: ``log T[i, j] = log p_j + sum_{votes (i, r, l)} w * log pi[r, j, l] - log Z_i``
      and the log-likelihood is ``sum_i log Z_i``.

    Both steps are one sparse product each: with ``A[i, (r, l)]`` the summed weight of voter
    ``r``'s votes ``l`` on item ``i``, the M-step needs ``A.T @ T`` and the E-step
    ``A @ log(pi)``.

    Stops after ``max_iter`` iterations, or earlier when the log-likelihood gained less than
    ``tol`` per unit of vote weight (``tol=None``: always run ``max_iter`` iterations).
    Items with no primary weight take no part and get NaN posteriors.
    """
    if not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"max_iter: must be a positive integer, got {max_iter!r}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"tol: must be >= 0 or None, got {tol!r}")
    c = enc.n_categories
    n_items, n_voters = enc.n_items, enc.n_voters

    use = ~enc.secondary & (enc.weight > 0)
    item, voter, label, w = enc.item[use], enc.voter[use], enc.label[use], enc.weight[use]
    active = np.bincount(item, minlength=n_items) > 0
    # Renumber the active items densely so that priors average over them only.
    new_code = np.cumsum(active) - 1
    it = new_code[item]
    n_act = int(active.sum())
    if n_act == 0:
        raise ValueError("votes: Dawid-Skene needs at least one primary vote with weight > 0")
    total_weight = float(w.sum())

    # at[i, (r, l)] = summed weight of voter r's votes l on item i. The E-step reads it row by
    # row (at @ log_pi); the M-step uses its transpose as a CSC view (at.T @ T), which walks T
    # in order and scatters into the small (voter, label) table, instead of gathering rows of T
    # at random as a (voter, label)-major CSR product would.
    at = sparse.csr_matrix((w, (it, voter * c + label)), shape=(n_act, n_voters * c))
    at.sum_duplicates()
    a = at.T

    if initial is None:
        counts = np.bincount(it * c + label, weights=w, minlength=n_act * c).reshape(n_act, c)
        t = counts / counts.sum(axis=1, keepdims=True)
    else:
        init = np.asarray(initial, dtype=np.float64)
        if init.shape != (n_items, c):
            raise ValueError(f"initial: expected shape {(n_items, c)}, got {init.shape}")
        t = init[active]
        t = t / t.sum(axis=1, keepdims=True)

    lls: list[float] = []
    converged = False
    priors = np.full(c, 1.0 / c)
    confusion = np.full((n_voters, c, c), 1.0 / c)
    for _ in range(max_iter):
        # M-step
        priors = t.mean(axis=0)
        mass = np.asarray(a @ t).reshape(n_voters, c, c)  # [r, l, j]
        confusion = mass.transpose(0, 2, 1)  # [r, j, l]
        row = confusion.sum(axis=2, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            confusion = np.where(row > 0, confusion / row, 1.0 / c)
        # E-step
        log_pi = np.log(np.maximum(confusion, _TINY)).transpose(0, 2, 1).reshape(-1, c)
        log_t = np.asarray(at @ log_pi) + np.log(np.maximum(priors, _TINY))
        top = log_t.max(axis=1, keepdims=True)
        scaled = np.exp(log_t - top)
        z = scaled.sum(axis=1, keepdims=True)
        t = scaled / z
        ll = float((np.log(z) + top).sum())
        if tol is not None and lls and ll - lls[-1] < tol * total_weight:
            lls.append(ll)
            converged = True
            break
        lls.append(ll)

    posteriors = np.full((n_items, c), np.nan)
    posteriors[active] = t
    n_votes = np.bincount(voter, minlength=n_voters)
    vote_w = np.bincount(voter, weights=w, minlength=n_voters)
    accuracy = np.einsum("j,rjj->r", priors, confusion)
    accuracy[n_votes == 0] = np.nan
    reliability = pd.DataFrame(
        {"n_votes": n_votes, "weight": vote_w, "accuracy": accuracy},
        index=enc.voters.rename("voter"),
    )
    return DawidSkeneResult(
        posteriors=posteriors,
        priors=priors,
        confusion=confusion,
        reliability=reliability,
        log_likelihood=np.asarray(lls),
        n_iter=len(lls),
        converged=converged,
        categories=enc.categories,
        items=enc.items,
        voters=enc.voters,
    )


# --------------------------------------------------------------------------------------------
# Co-occurrence and penalty matrices
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cooccurrence:
    """Category co-occurrence counts and the penalty matrix derived from them.

    ``within[a, b]``: number of (item, voter) pairs whose primary labels include ``a`` and
    secondary labels include ``b`` (not symmetric). ``across[a, b]``: number of unordered pairs
    of distinct voters of one item where one chose ``a`` and the other ``b`` as a primary label,
    summed over items (symmetric; the diagonal counts pairs that agree on ``a``). ``penalty``:
    see :func:`penalty_matrix`; computed from ``source``.
    """

    within: pd.DataFrame
    across: pd.DataFrame
    penalty: pd.DataFrame
    source: str
    normalization: str


def _presence(
    rows: NDArray[np.integer[Any]], labels: NDArray[np.integer[Any]], n_rows: int, c: int
) -> sparse.csr_matrix:
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, labels)), shape=(n_rows, c))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def penalty_matrix(cooc: NDArray[Any], *, normalization: str = "max") -> NDArray[np.float64]:
    """Penalty for predicting two categories together, from a co-occurrence count matrix.

    The counts are first symmetrised, ``S = (M + M.T) / 2``. Then, off the diagonal:

    * ``"max"``: ``P[a, b] = 1 - S[a, b] / max_{x != y} S[x, y]`` (all ones if no pair occurs);
    * ``"conditional"``: with ``P(b | a) = S[a, b] / sum_{x != a} S[a, x]`` (0 for a category
      that co-occurs with nothing), ``P[a, b] = 1 - (P(b | a) + P(a | b)) / 2``.

    The diagonal is 0. Values lie in ``[0, 1]``; pairs that rarely occur together get values
    near 1, so a loss term ``sum_{a, b} P[a, b] * y_a * y_b`` discourages unlikely combinations.
    """
    if normalization not in PENALTY_NORMALIZATIONS:
        raise ValueError(
            f"normalization: unknown normalization {normalization!r}; "
            f"choose one of {list(PENALTY_NORMALIZATIONS)}"
        )
    m = np.asarray(cooc, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"cooc: expected a square matrix, got shape {m.shape}")
    s = (m + m.T) / 2.0
    off = ~np.eye(len(s), dtype=bool)
    s_off = np.where(off, s, 0.0)
    if normalization == "max":
        top = s_off.max() if s_off.size else 0.0
        p = 1.0 - s_off / top if top > 0 else np.ones_like(s)
    else:
        row = s_off.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            cond = np.where(row > 0, s_off / row, 0.0)
        p = 1.0 - (cond + cond.T) / 2.0
    p = np.clip(p, 0.0, 1.0)
    p[~off] = 0.0
    return p


def category_cooccurrence(
    enc: EncodedVotes, *, source: str = "both", normalization: str = "max"
) -> Cooccurrence:
    """Co-occurrence of categories within a voter (primary with secondary) and across voters.

    With ``V`` the (item, voter) x C presence matrix of primary labels, ``Sec`` the same for
    secondary labels and ``N[i, a]`` the number of voters of item ``i`` choosing ``a``:
    ``within = V.T @ Sec`` and ``across = (N.T @ N - V.T @ V)`` with its diagonal halved (each
    unordered pair of distinct voters counted once). The penalty uses ``within + within.T``
    (``source="within"``), ``across`` (``"across"``) or their sum (``"both"``), normalised by
    :func:`penalty_matrix`.
    """
    if source not in COOCCURRENCE_SOURCES:
        raise ValueError(
            f"source: unknown co-occurrence source {source!r}; "
            f"choose one of {list(COOCCURRENCE_SOURCES)}"
        )
    c = enc.n_categories
    pair_key = enc.item * enc.n_voters + enc.voter
    pair_codes, pair_keys = pd.factorize(pair_key, sort=False)
    n_pairs = len(pair_keys)
    pair_item = pair_keys // enc.n_voters
    prim = ~enc.secondary
    v = _presence(pair_codes[prim], enc.label[prim], n_pairs, c)
    sec = _presence(pair_codes[enc.secondary], enc.label[enc.secondary], n_pairs, c)
    within = np.asarray((v.T @ sec).todense())
    to_item = sparse.csr_matrix(
        (np.ones(n_pairs), (pair_item, np.arange(n_pairs))), shape=(enc.n_items, n_pairs)
    )
    n = to_item @ v
    across = np.asarray((n.T @ n).todense()) - np.asarray((v.T @ v).todense())
    across[np.diag_indices(c)] /= 2.0
    if source == "within":
        basis = within + within.T
    elif source == "across":
        basis = across
    else:
        basis = within + within.T + across
    penalty = penalty_matrix(basis, normalization=normalization)
    names = pd.Index(enc.category_names, name="category")

    def frame(x: NDArray[Any]) -> pd.DataFrame:
        return pd.DataFrame(x, index=names, columns=names.copy())

    return Cooccurrence(
        within=frame(within.astype(np.int64)),
        across=frame(np.rint(across).astype(np.int64)),
        penalty=frame(penalty),
        source=source,
        normalization=normalization,
    )


# --------------------------------------------------------------------------------------------
# One call for every rule
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AggregationResult:
    """Output of :func:`aggregate`.

    ``table``: one row per item (index ``item``), flat string columns ``stats.*`` then one
    group per rule (see :func:`aggregate`). ``summary``: one row per rule with ``items``,
    ``kept``, ``dropped`` and ``data_loss = dropped / items``, plus ``ties`` for plurality.
    ``dawid_skene`` and ``cooccurrence`` hold the extras when asked for. ``options`` records
    the parameters used, so a dataset version can store them.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    categories: tuple[Hashable, ...]
    rules: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    dawid_skene: DawidSkeneResult | None = None
    cooccurrence: Cooccurrence | None = None


def _label_column(codes: NDArray[np.integer[Any]], names: list[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(names))


def _label_sets(mask: NDArray[np.bool_], names: list[str]) -> pd.Categorical[str]:
    """Encode boolean rows as labels joined by ``|``; all-false rows become missing."""
    c = mask.shape[1]
    if c <= 20:
        # Each row as a bit pattern; a presence table over the 2**C patterns numbers them.
        key = mask.astype(np.int64) @ (np.int64(1) << np.arange(c, dtype=np.int64))
        present = np.bincount(key, minlength=1 << c) > 0
        uniq = np.flatnonzero(present)
        inv = (np.cumsum(present) - 1)[key]
        bits = ((uniq[:, None] >> np.arange(c)) & 1).astype(bool)
    else:
        bits, inv = np.unique(mask, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
    joined = [LABEL_SEPARATOR.join(n for n, b in zip(names, row, strict=True) if b) for row in bits]
    nonempty = np.array([j != "" for j in joined], dtype=bool)
    remap = np.full(len(joined), -1, dtype=np.int64)
    remap[nonempty] = np.arange(int(nonempty.sum()))
    return pd.Categorical.from_codes(remap[inv], categories=pd.Index([j for j in joined if j]))


def _as_generator(seed: int | np.random.Generator | None) -> np.random.Generator | None:
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _wanted_rules(rules: Sequence[str] | str | None) -> tuple[str, ...]:
    """The rules asked for, in the order of :data:`RULES` (every rule for ``None``)."""
    if rules is None:
        return RULES
    if isinstance(rules, str):
        rules = [rules]
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ValueError(f"rules: unknown rule {_preview(unknown)}; choose from {list(RULES)}")
    if not rules:
        raise ValueError("rules: no rule given")
    return tuple(r for r in RULES if r in rules)


def _rule_summary(
    wanted: tuple[str, ...],
    kept: dict[str, NDArray[np.bool_]],
    extra: dict[str, dict[str, int]],
    n_items: int,
) -> pd.DataFrame:
    """One row per rule: the items it labels, those it drops (data loss) and its extras."""
    rows = []
    for rule in wanted:
        k = int(kept[rule].sum())
        row: dict[str, Any] = {
            "rule": rule,
            "items": n_items,
            "kept": k,
            "dropped": n_items - k,
            "data_loss": (n_items - k) / n_items,
        }
        row.update(extra.get(rule, {}))
        rows.append(row)
    return pd.DataFrame(rows).set_index("rule")


def aggregate(
    votes: pd.DataFrame,
    categories: Sequence[Hashable],
    rules: Sequence[str] | None = None,
    *,
    tie_policy: str = "drop",
    seed: int | np.random.Generator | None = None,
    secondary_weight: float = 0.0,
    all_inclusive_mode: str = "above_uniform",
    epsilon: float = 0.0,
    ds_max_iter: int = 100,
    ds_tol: float | None = 1e-7,
    cooccurrence: bool = False,
    cooccurrence_source: str = "both",
    penalty_normalization: str = "max",
) -> AggregationResult:
    """Aggregate a vote table by any subset of :data:`RULES` into one wide table.

    Columns of ``table`` (``<c>`` is each category as a string, in category order):

    * ``stats.n_votes``, ``stats.n_secondary``, ``stats.weight``,
      ``stats.entropy`` (nats), ``stats.top_share`` (see :func:`item_statistics`);
    * ``majority.label``, ``majority.kept``;
    * ``plurality.label`` (with ``tie_policy="all"`` a tie gives the tied labels joined by
      ``|``), ``plurality.candidates`` (the top labels joined by ``|``), ``plurality.tie``,
      ``plurality.kept``;
    * ``all_inclusive.p.<c>``, ``all_inclusive.y.<c>`` (multi-hot), ``all_inclusive.kept``;
    * ``soft.p.<c>``, ``soft.kept``;
    * ``dawid_skene.label``, ``dawid_skene.p.<c>``, ``dawid_skene.kept``.

    Label columns are pandas categoricals (missing = no label); they write as plain strings to
    CSV and JSON and as dictionary columns to Parquet.

    Options: ``tie_policy`` and ``seed`` (plurality), ``secondary_weight`` and
    ``all_inclusive_mode`` (all-inclusive), ``epsilon`` (soft smoothing), ``ds_max_iter`` and
    ``ds_tol`` (Dawid-Skene), ``cooccurrence`` with ``cooccurrence_source`` and
    ``penalty_normalization`` (co-occurrence extras). ``rules=None`` computes every rule.
    """
    wanted = _wanted_rules(rules)
    # Validate every option up front so a bad one fails before any work is done.
    if tie_policy not in TIE_POLICIES:
        raise ValueError(
            f"tie_policy: unknown tie policy {tie_policy!r}; choose one of {list(TIE_POLICIES)}"
        )
    if all_inclusive_mode not in ALL_INCLUSIVE_MODES:
        raise ValueError(
            f"all_inclusive_mode: unknown mode {all_inclusive_mode!r}; "
            f"choose one of {list(ALL_INCLUSIVE_MODES)}"
        )
    if not (0.0 <= epsilon <= 1.0):
        raise ValueError(f"epsilon: label smoothing must lie in [0, 1], got {epsilon!r}")
    if secondary_weight < 0 or not np.isfinite(secondary_weight):
        raise ValueError(
            f"secondary_weight: must be a finite number >= 0, got {secondary_weight!r}"
        )
    rng = _as_generator(seed)
    if tie_policy == "random" and "plurality" in wanted and rng is None:
        raise ValueError("seed: tie_policy 'random' needs a seed or a numpy Generator")

    enc = encode_votes(votes, categories)
    names = enc.category_names
    counts = vote_counts(enc)
    has_votes = counts.sum(axis=1) > 0

    cols: dict[str, Any] = {}
    stats = item_statistics(enc, counts)
    for name in stats.columns:
        cols[f"stats.{name}"] = stats[name].to_numpy()

    kept: dict[str, NDArray[np.bool_]] = {}
    extra: dict[str, dict[str, int]] = {}
    ds_result: DawidSkeneResult | None = None

    if "majority" in wanted:
        lab = majority(counts)
        cols["majority.label"] = _label_column(lab, names)
        cols["majority.kept"] = kept["majority"] = lab >= 0

    if "plurality" in wanted:
        pr = plurality(counts, tie_policy=tie_policy, rng=rng)
        if tie_policy == "all":
            cols["plurality.label"] = _label_sets(pr.chosen, names)
        else:
            cols["plurality.label"] = _label_column(pr.label, names)
        cols["plurality.candidates"] = _label_sets(pr.candidates, names)
        cols["plurality.tie"] = pr.tie
        cols["plurality.kept"] = kept["plurality"] = pr.kept
        extra["plurality"] = {"ties": int(pr.tie.sum())}

    if "all_inclusive" in wanted:
        pooled = (
            vote_counts(enc, secondary_weight=secondary_weight)
            if secondary_weight > 0 and enc.has_secondary
            else counts
        )
        q, y = all_inclusive(pooled, mode=all_inclusive_mode)
        for j, n in enumerate(names):
            cols[f"all_inclusive.p.{n}"] = q[:, j]
        for j, n in enumerate(names):
            cols[f"all_inclusive.y.{n}"] = y[:, j]
        cols["all_inclusive.kept"] = kept["all_inclusive"] = pooled.sum(axis=1) > 0

    if "soft" in wanted:
        p = soft(counts, epsilon=epsilon)
        for j, n in enumerate(names):
            cols[f"soft.p.{n}"] = p[:, j]
        cols["soft.kept"] = kept["soft"] = has_votes.copy()

    if "dawid_skene" in wanted:
        ds_result = dawid_skene(enc, max_iter=ds_max_iter, tol=ds_tol)
        cols["dawid_skene.label"] = _label_column(ds_result.labels, names)
        for j, n in enumerate(names):
            cols[f"dawid_skene.p.{n}"] = ds_result.posteriors[:, j]
        cols["dawid_skene.kept"] = kept["dawid_skene"] = ds_result.labels >= 0

    # copy=False: the columns are fresh arrays owned by nobody else, and consolidating them
    # into 2-D blocks would copy the whole table for nothing.
    table = pd.DataFrame(cols, index=enc.items.rename("item"), copy=False)

    summary = _rule_summary(wanted, kept, extra, enc.n_items)
    cooc = (
        category_cooccurrence(enc, source=cooccurrence_source, normalization=penalty_normalization)
        if cooccurrence
        else None
    )
    options: dict[str, Any] = {
        "tie_policy": tie_policy,
        "seed": seed if not isinstance(seed, np.random.Generator) else "generator",
        "secondary_weight": secondary_weight,
        "all_inclusive_mode": all_inclusive_mode,
        "epsilon": epsilon,
        "ds_max_iter": ds_max_iter,
        "ds_tol": ds_tol,
    }
    return AggregationResult(
        table=table,
        summary=summary,
        categories=enc.categories,
        rules=wanted,
        options=options,
        dawid_skene=ds_result,
        cooccurrence=cooc,
    )
