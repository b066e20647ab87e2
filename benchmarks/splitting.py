"""Seeded train/dev/test splits, stratified by label and respecting groups.

:func:`split_items` assigns every item (row of a DataFrame indexed by item) to one split:

1. **Units.** Without a group column each item is a unit. With ``group`` (speaker, document,
   country, ...) all items of one group form one unit, so a group never straddles two splits.
2. **Strata.** A unit's *label signature* is the set of labels found on its items (one label for
   single-label data, the multi-hot pattern for multi-label data). Units with the same signature
   form a stratum. A signature shared by fewer than ``min_stratum`` units falls back to the
   unit's rarest label alone (rarest over the whole table); a unit still in too small a stratum
   joins one shared remainder stratum, as do units without labels.
3. **Allocation.** Within a stratum the units are put in random order and laid end to end on a
   circle of circumference 1, each taking an arc proportional to its item count; the circle is
   turned by a random offset and cut into arcs of the requested fractions. A unit goes to the
   split that holds the midpoint of its arc. This is systematic sampling with a random start:
   every stratum is shared out in proportion to the fractions (a stratum of 10 single items
   with fractions 0.8/0.1/0.1 gives exactly 8/1/1), and small strata are shared out at random
   rather than always landing in the first split.

Everything is vectorised over units; randomness comes only from the seeded generator, so one
seed replays one split. :func:`split_statistics` describes a split: items, groups and label
distribution per split.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["DEFAULT_FRACTIONS", "label_matrix", "split_items", "split_statistics"]

DEFAULT_FRACTIONS: dict[str, float] = {"train": 0.8, "dev": 0.1, "test": 0.1}


def _check_fractions(fractions: Mapping[str, float]) -> tuple[list[str], NDArray[np.float64]]:
    if not isinstance(fractions, Mapping) or not fractions:
        raise ValueError("fractions: expected a non-empty mapping of split name to fraction")
    names = [str(k) for k in fractions]
    if len(set(names)) != len(names):
        raise ValueError("fractions: split names must be distinct")
    try:
        f = np.array([float(v) for v in fractions.values()])
    except (TypeError, ValueError) as exc:
        raise ValueError("fractions: values must be numbers") from exc
    if not np.isfinite(f).all() or (f < 0).any():
        raise ValueError(f"fractions: every fraction must be a number >= 0, got {dict(fractions)}")
    if not math.isclose(float(f.sum()), 1.0, abs_tol=1e-9):
        raise ValueError(f"fractions: must sum to 1, got {float(f.sum())!r}")
    return names, f


def label_matrix(
    items: pd.DataFrame, labels: str | Sequence[str] | None
) -> tuple[NDArray[np.bool_], list[str]]:
    """Boolean ``(n_items, L)`` label matrix and the label names.

    ``labels`` is one column holding a single label per item (missing = no label), or a list
    of multi-hot columns (booleans or 0/1, such as the ``all_inclusive.y.*`` columns of an
    aggregation table), or ``None`` (no stratification).
    """
    if labels is None:
        return np.zeros((len(items), 0), dtype=bool), []
    if isinstance(labels, str):
        if labels not in items.columns:
            raise ValueError(f"labels: missing column {labels!r}")
        codes, uniques = pd.factorize(items[labels], sort=True)
        y = np.zeros((len(items), len(uniques)), dtype=bool)
        has = codes >= 0
        y[np.flatnonzero(has), codes[has]] = True
        return y, [str(u) for u in uniques]
    cols = list(labels)
    missing = [c for c in cols if c not in items.columns]
    if missing:
        raise ValueError(f"labels: missing column(s) {', '.join(repr(c) for c in missing)}")
    block = items[cols]
    values = block.to_numpy()
    try:
        numeric = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("labels: multi-hot columns must hold booleans or 0/1") from exc
    if not np.isin(numeric, (0.0, 1.0)).all():
        raise ValueError("labels: multi-hot columns must hold booleans or 0/1")
    return numeric.astype(bool), [str(c) for c in cols]


def _signature_codes(bits: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Dense integer code per distinct boolean row."""
    if bits.shape[1] == 0:
        return np.zeros(len(bits), dtype=np.int64)
    if bits.shape[1] <= 62:
        key = bits.astype(np.int64) @ (np.int64(1) << np.arange(bits.shape[1], dtype=np.int64))
        return pd.factorize(key)[0].astype(np.int64)
    return np.unique(bits, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def split_items(
    items: pd.DataFrame,
    *,
    seed: int | np.random.Generator,
    fractions: Mapping[str, float] | None = None,
    labels: str | Sequence[str] | None = None,
    group: str | None = None,
    min_stratum: int | None = None,
) -> pd.Series:
    """Assign each row of ``items`` to a split; see the module docstring for the method.

    ``fractions`` maps split names to fractions summing to 1 (default train/dev/test
    0.8/0.1/0.1); sizes are met in items, not groups. ``min_stratum`` defaults to
    ``ceil(1 / smallest positive fraction)``, the fewest units for which every split can get
    one. Returns a categorical Series (categories in the order of ``fractions``) aligned with
    ``items.index`` and named ``split``.
    """
    names, frac = _check_fractions(DEFAULT_FRACTIONS if fractions is None else fractions)
    if not isinstance(items, pd.DataFrame):
        raise ValueError("items: expected a pandas DataFrame with one row per item")
    if len(items) == 0:
        raise ValueError("items: the item table is empty")
    if seed is None:
        raise ValueError("seed: a seed or numpy Generator is required so the split replays")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    y, _ = label_matrix(items, labels)

    if group is not None:
        if group not in items.columns:
            raise ValueError(f"group: missing column {group!r}")
        na = items[group].isna().to_numpy()
        if na.any():
            raise ValueError(f"group: {int(na.sum())} row(s) have no group")
        unit, _ = pd.factorize(items[group])
        unit = unit.astype(np.int64)
    else:
        unit = np.arange(len(items), dtype=np.int64)
    n_units = int(unit.max()) + 1
    size = np.bincount(unit, minlength=n_units).astype(np.float64)

    # Labels present in each unit.
    n_labels = y.shape[1]
    if n_labels:
        rows, cols = np.nonzero(y)
        per_unit = np.bincount(unit[rows] * n_labels + cols, minlength=n_units * n_labels)
        unit_bits = per_unit.reshape(n_units, n_labels) > 0
    else:
        unit_bits = np.zeros((n_units, 0), dtype=bool)

    positive = frac[frac > 0]
    if min_stratum is None:
        min_stratum = math.ceil(1.0 / positive.min() - 1e-9)
    if min_stratum < 1:
        raise ValueError(f"min_stratum: must be >= 1, got {min_stratum!r}")

    stratum = _signature_codes(unit_bits)
    has_label = unit_bits.any(axis=1) if n_labels else np.zeros(n_units, dtype=bool)
    rare = np.bincount(stratum)[stratum] < min_stratum
    if n_labels and rare.any():
        # Fall back to the unit's rarest label (fewest units carrying it overall).
        label_units = unit_bits.sum(axis=0)
        score = np.where(unit_bits, label_units[None, :], np.iinfo(np.int64).max)
        rarest = score.argmin(axis=1)
        base = int(stratum.max()) + 1
        stratum = np.where(rare & has_label, base + rarest, stratum)
        stratum = pd.factorize(stratum)[0].astype(np.int64)
        rare = np.bincount(stratum)[stratum] < min_stratum
    # Units still in a too-small stratum, and units without labels, share one remainder stratum.
    remainder = rare | ~has_label
    stratum = np.where(remainder, -1, stratum)
    stratum = pd.factorize(stratum)[0].astype(np.int64)
    n_strata = int(stratum.max()) + 1

    # Random order within strata, then each unit's arc midpoint on its stratum's circle.
    order = np.lexsort((rng.random(n_units), stratum))
    s_sorted = stratum[order]
    w_sorted = size[order]
    cum = np.cumsum(w_sorted)
    stratum_total = np.bincount(stratum, weights=size, minlength=n_strata)
    stratum_end = np.cumsum(stratum_total)
    start = stratum_end[s_sorted] - stratum_total[s_sorted]
    midpoint = (cum - w_sorted / 2.0 - start) / stratum_total[s_sorted]
    offset = rng.random(n_strata)
    position = np.mod(midpoint + offset[s_sorted], 1.0)
    bounds = np.cumsum(frac)[:-1]
    split_sorted = np.searchsorted(bounds, position, side="right")

    unit_split = np.empty(n_units, dtype=np.int64)
    unit_split[order] = split_sorted
    codes = unit_split[unit]
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(names)),
        index=items.index,
        name="split",
    )


def split_statistics(
    items: pd.DataFrame,
    assignment: pd.Series,
    *,
    labels: str | Sequence[str] | None = None,
    group: str | None = None,
) -> pd.DataFrame:
    """Items and label distribution per split.

    One row per split (in the order of ``assignment``'s categories when it is categorical)
    with ``items``, ``share`` (of all items), ``groups`` (distinct values of ``group``, when
    given), and per label ``n.<label>`` (items carrying it) and ``p.<label>`` (that count over
    the split's items; for multi-label data the ``p`` values of a split can sum to more than 1).
    """
    if len(assignment) != len(items) or not assignment.index.equals(items.index):
        raise ValueError("assignment: must be aligned with the rows of items")
    y, names = label_matrix(items, labels)
    if isinstance(assignment.dtype, pd.CategoricalDtype):
        splits: list[Hashable] = list(assignment.cat.categories)
        codes = assignment.cat.codes.to_numpy().astype(np.int64)
    else:
        codes, uniques = pd.factorize(assignment, sort=True)
        splits = list(uniques)
    if (codes < 0).any():
        raise ValueError("assignment: some items have no split")
    k = len(splits)
    n = np.bincount(codes, minlength=k)
    out: dict[str, NDArray[Any]] = {"items": n, "share": n / len(items)}
    if group is not None:
        if group not in items.columns:
            raise ValueError(f"group: missing column {group!r}")
        g, _ = pd.factorize(items[group])
        pairs = np.unique(codes.astype(np.int64) * (int(g.max()) + 1) + g)
        out["groups"] = np.bincount(pairs // (int(g.max()) + 1), minlength=k)
    if names:
        rows, cols = np.nonzero(y)
        per = np.bincount(codes[rows] * len(names) + cols, minlength=k * len(names)).reshape(
            k, len(names)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            share = per / n[:, None]
        for j, name in enumerate(names):
            out[f"n.{name}"] = per[:, j].astype(np.int64)
        for j, name in enumerate(names):
            out[f"p.{name}"] = share[:, j]
    return pd.DataFrame(out, index=pd.Index([str(s) for s in splits], name="split"))
