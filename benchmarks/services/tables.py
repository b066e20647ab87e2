"""Shared pieces of the build and the exports: errors, progress, deterministic Arrow/Parquet."""

from __future__ import annotations

import functools
import importlib.metadata
import io
import math
import subprocess
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from jobs.messages import JobMessage
from jobs.services import ProgressFn as ProgressFn  # what build and export steps report to


class BuildError(ValueError):
    """Bad input for a build; the message names the column or setting at fault.

    ``BuildError(gettext_noop("%(col)s: ..."), {"col": ...})`` keeps its English message id
    and parameters, so a job page can show it in the reader's language
    (:meth:`as_validation_error`); a plain text (a kernel's message) stays as it is.
    """

    def __init__(self, message: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message % params if params else message)
        self.message_id = message
        self.params = dict(params or {})

    def as_validation_error(self) -> ValidationError:
        return ValidationError(self.message_id, params=self.params or None)


def noop(percent: int, message: str | JobMessage = "") -> None:
    return None


@functools.cache
def code_version() -> str:
    """``git describe`` of the working tree, else the installed package version."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--tags", "--dirty"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0 and out.stdout.strip():
            return f"git {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"chorus {importlib.metadata.version('chorus')}"
    except importlib.metadata.PackageNotFoundError:
        return "chorus unknown"


def json_safe(value: Any) -> Any:
    """``value`` as JSON holds it: string keys, lists for tuples, numpy scalars as Python
    numbers, and ``None`` for NaN and infinities (which JSON cannot write)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def arrow_strings(values: Any) -> pa.Array:
    """A pandas column as one Arrow string array (zero-copy for Arrow-backed strings)."""
    arr = pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def plain_table(df: pd.DataFrame) -> pa.Table:
    """Arrow table without pandas metadata and with dictionary columns decoded."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names)


def parquet_bytes(table: pa.Table) -> bytes:
    """Deterministic Parquet: fixed writer options, no pandas metadata, no statistics."""
    buf = io.BytesIO()
    # Dictionary pages only for text: trying them on float columns costs time and saves nothing.
    text = [
        f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)
    ]
    pq.write_table(
        table.replace_schema_metadata(None),
        buf,
        compression="snappy",
        row_group_size=1 << 20,
        store_schema=False,
        use_dictionary=text,
        write_statistics=False,
    )
    return buf.getvalue()


def sorted_codes(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Integer codes numbering the distinct values in sorted order, and those values."""
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(dictionary), dtype=np.int64)
    rank[order] = np.arange(len(dictionary))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    return codes, dictionary.take(pa.array(order))


def check_weights(df: pd.DataFrame) -> None:
    """Raise ``BuildError`` when a vote has a negative weight."""
    if "weight" not in df.columns or not len(df):
        return
    weight = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=np.float64)
    negative = weight < 0
    if negative.any():
        raise BuildError(
            _("weight: negative weight %(min)r (%(n)s row(s)); weights must be >= 0")
            % {"min": float(weight[negative].min()), "n": int(negative.sum())}
        )
