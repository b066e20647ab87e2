"""sources.csv_escape: OWASP's CSV-injection advice, on pandas frames and Arrow tables."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow as pa

from sources.csv_escape import escape_cell, escape_frame, escape_table

CELLS = ["=1+1", "+1+cmd", "-1+cmd", "@SUM(A1)", "\tx", "\rx", "-1.5", "+3", "-", "ok", "'=a"]
# Text that is only a number ("-1.5", "+3") is read as that number, never as a formula.
ESCAPED = [
    "'=1+1", "'+1+cmd", "'-1+cmd", "'@SUM(A1)", "'\tx", "'\rx", "-1.5", "+3", "'-", "ok", "'=a"
]  # fmt: skip


def test_escape_cell():
    assert [escape_cell(c) for c in CELLS] == ESCAPED
    assert escape_cell("-1\n") == "'-1\n"  # a number followed by a line break is not a number


def test_frame_text_columns_and_names_are_escaped_numbers_and_others_not():
    frame = pd.DataFrame(
        {
            "text": CELLS,
            "number": [-1.5] * len(CELLS),
            "mixed": [Decimal("-2"), -3, None, [1], b"=x", "=y", *["-4"] * 5],
            "=name": pd.Categorical(["=c", "d"] * 5 + ["=c"]),
        }
    )
    out = escape_frame(frame)
    assert list(out.columns) == ["text", "number", "mixed", "'=name"]
    assert out["text"].tolist() == ESCAPED
    assert out["number"].tolist() == [-1.5] * len(CELLS)
    assert out["mixed"].tolist() == [Decimal("-2"), -3, None, [1], b"=x", "'=y", *["-4"] * 5]
    assert out["'=name"].tolist() == ["'=c", "d"] * 5 + ["'=c"]
    assert frame["text"].tolist() == CELLS  # the input is left as it was


def test_table_string_and_dictionary_columns_are_escaped_numbers_and_lists_not():
    table = pa.table(
        {
            "text": pa.array([*CELLS, None], pa.string()),
            "large": pa.array([*CELLS, None], pa.large_string()),
            "coded": pa.array([*CELLS, None]).dictionary_encode(),
            "number": pa.array([-1.5] * (len(CELLS) + 1)),
            "list": pa.array([["=x"]] * (len(CELLS) + 1), pa.list_(pa.string())),
            "@name": pa.array(range(len(CELLS) + 1)),
        }
    )
    out = escape_table(table)
    assert out.column_names == ["text", "large", "coded", "number", "list", "'@name"]
    for name in ("text", "large", "coded"):
        assert out.column(name).to_pylist() == [*ESCAPED, None]
        assert out.column(name).type == table.column(name).type
    assert out.column("number").to_pylist() == [-1.5] * (len(CELLS) + 1)
    assert out.column("list").to_pylist() == [["=x"]] * (len(CELLS) + 1)
