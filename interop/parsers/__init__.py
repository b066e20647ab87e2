"""Parsers of the files other annotation tools export: pure functions from files to a vote
table, an item table and a report (see :mod:`interop.parsers.common`). They import nothing of
Chorus but :mod:`sources.schema`."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable

from interop.parsers import argilla, doccano, label_studio, potato, prodigy
from interop.parsers.common import Input, Limits, Parsed, ParseError, expand

TOOLS: dict[str, Callable[..., Parsed]] = {
    "label-studio": label_studio.parse,
    "doccano": doccano.parse,
    "argilla": argilla.parse,
    "potato": potato.parse,
    "prodigy": prodigy.parse,
}
TOOL_NAMES = {
    "label-studio": "Label Studio",
    "doccano": "doccano",
    "argilla": "Argilla",
    "potato": "POTATO",
    "prodigy": "Prodigy",
}


def parse(
    tool: str, files: list[Input], *, field: str | None = None, limits: Limits | None = None
) -> Parsed:
    """Read ``files`` as ``tool``'s export; :class:`ParseError` names what is wrong."""
    if tool not in TOOLS:
        raise ParseError(f"tool: {tool!r} is not one of {', '.join(TOOLS)}")
    if not files:
        raise ParseError("file: no file given")
    limits = limits or Limits()
    found = expand(files, limits)
    if not found:
        raise ParseError("file: the zip holds no file")
    try:
        parsed = TOOLS[tool](found, limits=limits, field=field or None)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ParseError(f"file: a damaged zip ({exc})") from None
    if not len(parsed.votes):
        raise ParseError(
            f"file: no vote in {len(parsed.report)} record(s) of this {TOOL_NAMES[tool]} export"
        )
    return parsed


__all__ = ["TOOLS", "TOOL_NAMES", "Input", "Limits", "ParseError", "Parsed", "parse"]
