"""Vote keys as integer codes: the one encoder the agreement and aggregation kernels share.

Pure (numpy and pandas). Items, voters and labels are numbered in sorted order, so that every
statistic computed on the codes lists them in the same order whichever kernel computed it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray


def factorize(values: pd.Series) -> tuple[NDArray[np.int64], pd.Index]:
    """Codes numbering the distinct ``values`` in sorted order, and those values.

    Dense integer keys (ids) are numbered with a presence table, without hashing; other keys
    through ``pd.factorize``. Keys of mixed types, which do not sort, keep their order of first
    appearance.
    """
    arr = values.to_numpy() if values.dtype.kind in "iu" else None
    if arr is not None and len(arr):
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo <= 4 * len(arr):
            shifted = arr - lo
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            uniques = np.flatnonzero(present) + lo
            if len(uniques) == len(present):  # keys already 0..n-1 up to an offset
                return shifted.astype(np.int64, copy=False), pd.Index(uniques.astype(arr.dtype))
            rank = np.cumsum(present) - 1
            return rank[shifted].astype(np.int64, copy=False), pd.Index(uniques.astype(arr.dtype))
    try:
        codes, distinct = pd.factorize(values, sort=True)
    except TypeError:  # keys of mixed types do not sort
        codes, distinct = pd.factorize(values, sort=False)
    return codes.astype(np.int64, copy=False), pd.Index(distinct)


class CodedVotes:
    """What both kernels' coded vote tables have: items and voters numbered by
    :func:`factorize`, the codes indexing ``items`` and ``voters``."""

    items: pd.Index
    voters: pd.Index

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_voters(self) -> int:
        return len(self.voters)
