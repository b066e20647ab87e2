"""CSV files read as records (one dict per row), within the shared cell limit."""

from __future__ import annotations

import csv
import io
from typing import Any

from interop.parsers.common import Input, Limits, ParseError


def read_csv_records(files: list[Input], limits: Limits) -> list[tuple[str, int, dict[str, Any]]]:
    """``(file, row number as a spreadsheet counts it, record)`` of CSV files with a header."""
    csv.field_size_limit(2**31 - 1)
    out: list[tuple[str, int, dict[str, Any]]] = []
    for f in files:
        with f.open() as fh:
            try:
                text = fh.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ParseError(f"{f.name}: not UTF-8 text") from None
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader, [])
            for number, cells in enumerate(reader, start=2):
                if len(out) >= limits.max_records:
                    raise ParseError(
                        f"{f.name}, row {number}: more than {limits.max_records:,} rows"
                    )
                if not any(c.strip() for c in cells):
                    continue
                long = next((c for c in cells if len(c) > limits.cell_chars), None)
                if long is not None:
                    raise ParseError(
                        f"{f.name}, row {number}: a cell of {len(long):,} characters; at most "
                        f"{limits.cell_chars:,}"
                    )
                if len(cells) != len(header):
                    raise ParseError(
                        f"{f.name}, row {number}: {len(cells)} cells for {len(header)} columns "
                        "(truncated?)"
                    )
                out.append((f.name, number, dict(zip(header, cells, strict=True))))
        except csv.Error as exc:
            raise ParseError(f"{f.name}: not valid CSV ({exc})") from None
    return out
