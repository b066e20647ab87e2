"""The ``Source`` protocol and the registry of providers.

An app that collects judgements registers one provider per kind of source in its
``AppConfig.ready()``::

    from sources import registry
    registry.register(SurveySource())

and ``benchmarks`` finds it again with ``registry.get("survey")``. A provider is stateless: every
call names what it reads through a :class:`SourceRef` (the kind, the study the dataset belongs
to, the id of the survey, project or table, and options such as a question or item filter), and
fetches it afresh. The registry is filled at start-up, the same in every process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, runtime_checkable

import pandas as pd


class SourceUnavailable(Exception):
    """A source names an app or an object that is not there; the message says which."""


@dataclass(frozen=True)
class SourceRef:
    kind: str
    study_id: int
    object_id: int | None
    options: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    #: the kind this provider serves: ``survey``, ``annotation``, ``upload``...
    kind: str

    def choices(self, *, study_id: int) -> list[tuple[int, str]]:
        """What a dataset of this study can link: ``(object id, title)`` pairs."""
        ...

    def choices_by_study(self, *, study_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
        """:meth:`choices` of several studies at once (one query however many): the pairs
        by study id, for the studies that have any."""
        ...

    def check(self, *, ref: SourceRef) -> None:
        """Raise :class:`SourceUnavailable` unless ``ref`` names an object of the study."""
        ...

    def vote_table(self, *, ref: SourceRef) -> pd.DataFrame:
        """The votes, in the columns of :data:`sources.schema.VOTE_COLUMNS` plus metadata."""
        ...

    def item_table(self, *, ref: SourceRef) -> pd.DataFrame:
        """One row per item of the vote table, in the columns of :mod:`sources.schema`."""
        ...

    def open_media(self, *, ref: SourceRef, name: str) -> IO[bytes]:
        """Open a media file named in the item table's ``audio`` column."""
        ...

    def describe(self, *, ref: SourceRef) -> dict[str, Any]:
        """``name``, ``kind`` and ``design`` (how the votes were collected, for the card)."""
        ...


_providers: dict[str, Source] = {}
# Statistics lent by an app to the others (for example agreement of a vote table), by name.
_measures: dict[str, Callable[..., Any]] = {}


def register(provider: Source) -> None:
    """Register a provider for its kind; registering the same kind again replaces it."""
    if not isinstance(provider, Source):
        raise TypeError(f"{provider!r} does not implement sources.registry.Source")
    _providers[provider.kind] = provider


def get(kind: str) -> Source:
    try:
        return _providers[kind]
    except KeyError:
        raise SourceUnavailable(
            f"{kind}: no source of this kind is installed (known: {sorted(_providers)})"
        ) from None


def kinds() -> list[str]:
    return sorted(_providers)


def register_measure(name: str, fn: Callable[..., Any]) -> None:
    _measures[name] = fn


def measure(name: str) -> Callable[..., Any] | None:
    """A statistic registered by an installed app, or None when none is."""
    return _measures.get(name)


def vote_table(ref: SourceRef) -> pd.DataFrame:
    return get(ref.kind).vote_table(ref=ref)


def item_table(ref: SourceRef) -> pd.DataFrame:
    return get(ref.kind).item_table(ref=ref)
