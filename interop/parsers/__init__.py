"""Parsers of the files other annotation tools export: pure functions from files to a vote
table, an item table and a report (see :mod:`interop.parsers.common`). They import nothing of
Chorus but :mod:`sources.schema`."""

from __future__ import annotations

import gc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused: a parse makes millions of small objects, none in a
    cycle, and each collection would walk all of them again (about a third of a Label Studio
    parse). Reference counting still frees everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
        with without_cycle_collection():
            parsed = TOOLS[tool](found, limits=limits, field=field or None)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ParseError(f"file: a damaged zip ({exc})") from None
    if not len(parsed.votes):
        raise ParseError(
            f"file: no vote in {len(parsed.report)} record(s) of this {TOOL_NAMES[tool]} export"
        )
    return parsed


__all__ = ["TOOLS", "TOOL_NAMES", "Input", "Limits", "ParseError", "Parsed", "parse"]
