"""Bulk loading of existing ratings: the CSV read into arrays, and PostgreSQL binary COPY data.

Pure functions without database access, used by ``services.ratings_import``. The CSV is read by
Arrow's multithreaded reader and every column is dictionary-encoded, so a million rows become
a few integer arrays plus the short lists of distinct items, raters, labels and roles; all
checks and groupings then run on integers.

The COPY data follows PostgreSQL's binary format ("COPY", File Formats): a signature and
header, then per row a 16-bit field count and, per field, a 32-bit length (-1 for NULL)
followed by the value in network byte order; a 16-bit -1 ends the data. Rows that share their
text values and their pattern of NULLs have the same layout, so each such group is one numpy
structured array written in one go.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

RATING_COLUMNS = ("item", "rater", "label", "role", "created", "time_ms")
REQUIRED_RATING_COLUMNS = ("item", "rater", "label")
MAX_TIME_MS = 2**31 - 1
# Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch for binary timestamps.
PG_EPOCH_US = 946_684_800_000_000
MISSING = -1


@dataclass(frozen=True)
class Coded:
    """A dictionary-encoded column: ``codes`` index into ``values``."""

    codes: np.ndarray
    values: list[str]


@dataclass(frozen=True)
class RatingRows:
    """The rows of a ratings CSV; times in microseconds since 1970 (UTC), MISSING if empty."""

    n: int
    item: Coded
    rater: Coded
    label: Coded
    role: Coded
    created_us: np.ndarray
    time_ms: np.ndarray


def _examples(values: Iterable[object], limit: int = 5) -> str:
    return ", ".join(str(v) for v in list(dict.fromkeys(values))[:limit])


def _rows(rows: np.ndarray) -> str:
    """The first of some rows (0-based, below the header) as a spreadsheet numbers them."""
    return _examples((rows + 2).tolist())


def read_ratings_csv(data: bytes) -> RatingRows:
    """Read a ratings CSV (header required); raise ValidationError naming the column."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    end = data.find(b"\n")
    first_line = data[: end if end >= 0 else len(data)].decode("utf-8", errors="replace").strip()
    columns = [c.strip() for c in first_line.split(",")] if first_line else []
    unknown = [c for c in columns if c not in RATING_COLUMNS]
    if unknown:
        raise ValidationError(
            {"file": [_("Unknown column(s): %(names)s.") % {"names": ", ".join(unknown)}]}
        )
    repeated = [c for c in dict.fromkeys(columns) if columns.count(c) > 1]
    if repeated:
        raise ValidationError(
            {"file": [_("Repeated column(s): %(names)s.") % {"names": ", ".join(repeated)}]}
        )
    missing = [c for c in REQUIRED_RATING_COLUMNS if c not in columns]
    if missing:
        raise ValidationError(
            {"file": [_("Missing column(s): %(names)s.") % {"names": ", ".join(missing)}]}
        )
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ValidationError(
            {"file": [_("The CSV could not be read: %(exc)s") % {"exc": exc}]}
        ) from None
    n = table.num_rows
    if not n:
        raise ValidationError({"file": [_("The file has no rows.")]})

    def coded(name: str) -> Coded:
        if name not in columns:
            return Coded(np.zeros(n, dtype=np.int32), [""])
        encoded = table.column(name).combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        values = [str(v).strip() for v in encoded.dictionary.to_pylist()]
        if len(set(values)) < len(values):
            # Values equal once trimmed ("joy", " joy") share one code.
            distinct, remap = np.unique(np.array(values, dtype=object), return_inverse=True)
            return Coded(remap[codes], [str(v) for v in distinct])
        return Coded(codes, values)

    return RatingRows(
        n=n,
        item=coded("item"),
        rater=coded("rater"),
        label=coded("label"),
        role=coded("role"),
        created_us=_times(table.column("created") if "created" in columns else None, n),
        time_ms=_durations(table.column("time_ms") if "time_ms" in columns else None, n),
    )


def _coded_column(values: Any) -> Coded:
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), sort=False)
    return Coded(codes.astype(np.int64), [str(v) for v in distinct])


def rating_rows(*, item: Any, rater: Any, label: Any) -> RatingRows:
    """Ratings given as three text columns (sequences of equal length, no empty value), as a
    ratings CSV with only those columns would read: primary role, created now, no time."""
    n = len(item)
    if not n:
        raise ValidationError({"file": [_("The file has no rows.")]})
    return RatingRows(
        n=n,
        item=_coded_column(item),
        rater=_coded_column(rater),
        label=_coded_column(label),
        role=Coded(np.zeros(n, dtype=np.int64), [""]),
        created_us=_times(None, n),
        time_ms=_durations(None, n),
    )


def _non_empty(column: Any) -> tuple[np.ndarray, Any]:
    """Where a text column has a value once trimmed, and those values (an Arrow array)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pc.utf8_trim_whitespace(column.combine_chunks())
    present = pc.not_equal(strings, "").to_numpy(zero_copy_only=False)
    return present, strings.filter(pa.array(present))


def _times(column: Any, n: int) -> np.ndarray:
    """ISO 8601 times to microseconds since 1970 (UTC); a time without an offset is UTC."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(n, MISSING, dtype=np.int64)
    if column is None:
        return out
    present, values = _non_empty(column)
    if not len(values):
        return out
    try:
        parsed = pc.cast(values, pa.timestamp("us", tz="UTC")).to_numpy(zero_copy_only=False)
        out[present] = parsed.astype("datetime64[us]").astype(np.int64)
        return out
    except pa.ArrowInvalid:
        pass
    # Offsets missing on some values, or unreadable values: pandas reads every ISO 8601 form.
    text = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
    stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(present)[bad]
        raise ValidationError(
            {"created": [_("Not an ISO 8601 time on row(s) %(rows)s.") % {"rows": _rows(rows)}]}
        )
    utc = stamps.dt.tz_convert("UTC").dt.tz_localize(None)  # naive UTC: numpy has no zones
    out[present] = utc.to_numpy().astype("datetime64[us]").astype(np.int64)
    return out


def _durations(column: Any, n: int) -> np.ndarray:
    """Whole milliseconds, MISSING where empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(n, MISSING, dtype=np.int64)
    if column is None:
        return out
    present, values = _non_empty(column)
    try:
        numbers = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
        bad = (numbers < 0) | (numbers > MAX_TIME_MS)
    except pa.ArrowInvalid:
        # Some value is not an integer: find which (decimals such as "12.0" are fine).
        parsed = pd.to_numeric(
            pd.Series(values.to_numpy(zero_copy_only=False), dtype=object), errors="coerce"
        ).to_numpy(dtype=np.float64)
        bad = ~np.isfinite(parsed) | (parsed != np.round(parsed))
        bad |= (parsed < 0) | (parsed > MAX_TIME_MS)
        numbers = np.where(bad, 0, parsed).astype(np.int64)
    if bad.any():
        rows = np.flatnonzero(present)[bad]
        raise ValidationError(
            {
                "time_ms": [
                    _(
                        "Not a whole number of milliseconds between 0 and %(max)s on row(s) "
                        "%(rows)s."
                    )
                    % {"max": MAX_TIME_MS, "rows": _rows(rows)}
                ]
            }
        )
    out[present] = numbers
    return out


# --- PostgreSQL binary COPY ---------------------------------------------------------------------

COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def rating_copy_data(
    *,
    item_id: np.ndarray,
    rater_id: np.ndarray,
    category_id: np.ndarray,
    role: np.ndarray,
    roles: list[str],
    created_us: np.ndarray,
    time_ms: np.ndarray,
) -> list[bytes]:
    """Binary COPY data for ``(item_id, rater_id, category_id, role, created_at, time_ms)``.

    ``role`` holds codes into ``roles``; ``created_us`` is microseconds since 1970 (UTC);
    ``time_ms`` is MISSING for NULL. Returns the pieces to send in order (signature, one block
    per layout, trailer); the rows keep their order within a layout.
    """
    pieces = [COPY_SIGNATURE]
    timed = time_ms != MISSING
    for code, name in enumerate(roles):
        text = name.encode()
        of_role = role == code
        for with_time in (True, False):
            rows = np.flatnonzero(of_role & (timed == with_time))
            if not len(rows):
                continue
            layout = [
                ("fields", ">i2"),
                ("item_len", ">i4"),
                ("item", ">i8"),
                ("rater_len", ">i4"),
                ("rater", ">i8"),
                ("category_len", ">i4"),
                ("category", ">i8"),
                ("role_len", ">i4"),
                ("role", f"S{len(text)}"),
                ("created_len", ">i4"),
                ("created", ">i8"),
                ("time_len", ">i4"),
            ]
            if with_time:
                layout.append(("time", ">i4"))
            block = np.empty(len(rows), dtype=layout)
            block["fields"] = 6
            block["item_len"] = block["rater_len"] = block["category_len"] = 8
            block["created_len"] = 8
            block["role_len"] = len(text)
            block["item"] = item_id[rows]
            block["rater"] = rater_id[rows]
            block["category"] = category_id[rows]
            block["role"] = text
            block["created"] = created_us[rows] - PG_EPOCH_US
            if with_time:
                block["time_len"] = 4
                block["time"] = time_ms[rows]
            else:
                block["time_len"] = -1
            pieces.append(block.tobytes())
    pieces.append(COPY_TRAILER)
    return pieces
