"""Bounds on untrusted input, shared by the forms, serializers and imports of every app.

* Whole numbers are bounded by their database column, so that a value the column cannot hold
  is refused as a 400 naming the field instead of failing in the database as a 500.
* Seeds feed ``numpy.random.default_rng``, which takes any whole number >= 0; they are kept to
  0..2^32-1, the range every common tool (numpy's legacy ``RandomState``, scikit-learn) takes,
  so a seed written down here replays anywhere.
* CSV files are read with a field limit of our own (``IMPORT_CSV_FIELD_MAX_CHARS``), reported
  with the row and column beyond it, instead of the csv module's bare ``csv.Error``.
* JSON (API bodies, JSONL files, JSON held in a CSV cell) is refused when nested deeper than
  ``JSON_MAX_DEPTH``: Python's parser raises ``RecursionError`` at about 1,000 levels, and
  deep values break every later ``json.dumps`` or recursive walk.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Column bounds (PostgreSQL; SQLite's integers are wider).
SMALLINT_MAX = 2**15 - 1  # PositiveSmallIntegerField
INT_MAX = 2**31 - 1  # IntegerField, PositiveIntegerField
BIGINT_MAX = 2**63 - 1  # BigIntegerField, PositiveBigIntegerField
SEED_MAX = 2**32 - 1
# Limits a researcher sets on numbers (a number question's lowest and highest answer): a
# double holds every whole number up to 2^53 (about 9 * 10^15), so 10^15 keeps them exact
# and far beyond any count, amount or score a question asks for.
NUMBER_LIMIT_MAX = 10**15

# The csv module's own limit, raised once and for all: the whole file is in memory already,
# so the module's limit guards nothing; ours (a setting) is checked per field, with its row.
_CSV_MODULE_LIMIT = 2**31 - 1


def csv_field_max() -> int:
    return int(settings.IMPORT_CSV_FIELD_MAX_CHARS)


def csv_rows(
    text: str, *, field: str = "file"
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of ``(line number, cells)`` of a CSV text.

    A cell longer than ``IMPORT_CSV_FIELD_MAX_CHARS`` raises ``ValidationError`` under
    ``field``, naming the line and the column; so does a file the csv module cannot parse.
    """
    csv.field_size_limit(_CSV_MODULE_LIMIT)
    limit = csv_field_max()
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise ValidationError(
            {field: [_("Line 1: not valid CSV (%(exc)s).") % {"exc": exc}]}
        ) from None
    _check_cells(header, header, 1, limit, field)

    def rows() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ValidationError(
                    {
                        field: [
                            _("Line %(line_num)s: not valid CSV (%(exc)s).")
                            % {"line_num": reader.line_num, "exc": exc}
                        ]
                    }
                ) from None
            _check_cells(cells, header, reader.line_num, limit, field)
            yield reader.line_num, cells

    return header, rows()


def _check_cells(cells: list[str], header: list[str], line: int, limit: int, field: str) -> None:
    for i, cell in enumerate(cells):
        if len(cell) > limit:
            column = header[i] if i < len(header) else f"#{i + 1}"
            raise ValidationError(
                {
                    field: [
                        _(
                            "Line %(line)s, column %(column)r: a value of %(n)s characters; "
                            "the limit is %(limit)s."
                        )
                        % {
                            "line": line,
                            "column": column[:40],
                            "n": f"{len(cell):,}",
                            "limit": f"{limit:,}",
                        }
                    ]
                }
            )


def csv_dict_rows(
    text: str, *, field: str = "file"
) -> tuple[list[str], list[tuple[int, dict[Any, Any]]]]:
    """Like :class:`csv.DictReader` (extra cells under the key ``None``, missing ones None),
    with the field limit of :func:`csv_rows`. Returns the header and ``(line, row)`` pairs."""
    header, rows = csv_rows(text, field=field)
    out: list[tuple[int, dict[Any, Any]]] = []
    for line, cells in rows:
        if not cells:
            continue
        row: dict[Any, Any] = dict(zip(header, cells, strict=False))
        if len(cells) > len(header):
            row[None] = cells[len(header) :]
        for name in header[len(cells) :]:
            row[name] = None
        out.append((line, row))
    return header, out


def json_max_depth() -> int:
    return int(settings.JSON_MAX_DEPTH)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether lists and objects nest deeper than ``limit`` (a scalar has depth 0, ``[]`` 1).

    Iterative, so that it cannot itself hit the recursion limit.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        depth += 1
        if depth > limit:
            return True
        stack.extend((child, depth) for child in children)
    return False


class JSONTooDeep(ValueError):
    pass


def json_loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses values nested deeper than ``JSON_MAX_DEPTH`` with
    :class:`JSONTooDeep` (a ``ValueError``), never a ``RecursionError``."""
    limit = json_max_depth()
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONTooDeep(_too_deep(limit)) from None
    if json_depth_exceeds(value, limit):
        raise JSONTooDeep(_too_deep(limit))
    return value


def _too_deep(limit: int) -> str:
    return _("nested more than %(limit)s levels deep") % {"limit": limit}
