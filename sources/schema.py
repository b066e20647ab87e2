"""The two tables every source hands over: the vote table and the item table.

**Vote table**, one row per vote:

| column | meaning |
| --- | --- |
| ``item`` | the item's key, stable across versions |
| ``voter`` | the voter's pseudonym (:mod:`sources.pseudonyms`), never a name or email |
| ``label`` | the category chosen (one row per label of a multi-label answer) |
| ``weight`` | the voter's weight (survey weight; 1.0 for an annotator) |
| ``role`` | ``primary`` or ``secondary`` |
| others | metadata of the item or voter (stratum, speaker, annotator group...) as text |

**Item table**, one row per item:

| column | meaning |
| --- | --- |
| ``item`` | the key used in the vote table |
| ``kind`` | ``text``, ``audio`` or ``question`` |
| ``text`` | the text of a text item (a passage, a review) |
| ``audio`` | for audio items, the name of the file, opened with ``Source.open_media`` |
| ``audio_type``, ``duration`` | its media type and length in seconds |
| ``question`` | a question's wording in the source's first language |
| ``question_<lang>`` | its wording in every language the source has |
| ``options`` | a question's option codes in their order (a list of text) |
| ``option_texts_<lang>`` | the options' wording in each language, aligned with ``options`` |
| ``answer_key``, ``subject`` | a knowledge question's right option and its subject |
| ``distribution`` | a survey question's weighted answer shares, aligned with ``options`` |
| ``distribution_low``, ``distribution_high`` | their 95% interval, aligned the same way |
| ``n`` | the number of respondents who answered the question |
| ``gold`` | the item's gold label where it has one |
| others | the item's metadata (country, year, speaker, stratum...) as text |

Every column but ``item`` and ``kind`` may be missing or empty where it does not apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

VOTE_COLUMNS: tuple[str, ...] = ("item", "voter", "label", "weight", "role")
ROLES: tuple[str, ...] = ("primary", "secondary")

ITEM_KINDS: tuple[str, ...] = ("text", "audio", "question")
# Content columns in their canonical order; language columns follow them, then metadata.
ITEM_COLUMNS: tuple[str, ...] = (
    "item",
    "kind",
    "text",
    "audio",
    "audio_type",
    "duration",
    "question",
    "options",
    "answer_key",
    "subject",
    "distribution",
    "distribution_low",
    "distribution_high",
    "n",
    "gold",
)
LIST_COLUMNS: tuple[str, ...] = ("options",)
NUMBER_LIST_COLUMNS: tuple[str, ...] = ("distribution", "distribution_low", "distribution_high")
NUMBER_COLUMNS: tuple[str, ...] = ("duration", "n")
LANGUAGE_PREFIXES: tuple[str, ...] = ("question_", "option_texts_")
_LANGUAGE = re.compile(r"^(question|option_texts)_([a-z]{2,3}(?:-[a-z0-9]{2,8})?)$")
TEXT = pd.StringDtype("pyarrow")


class SchemaError(ValueError):
    """A table does not follow the contract; the message names the column and the problem."""


def language_columns(columns: Iterable[str]) -> list[str]:
    """``question_<lang>`` and ``option_texts_<lang>`` columns, in a canonical order."""
    found = [c for c in columns if _LANGUAGE.match(c)]
    return sorted(found, key=lambda c: (_LANGUAGE.match(c).group(2), c))  # type: ignore[union-attr]


def is_content_column(column: str) -> bool:
    return column in ITEM_COLUMNS or bool(_LANGUAGE.match(column))


def metadata_columns(columns: Iterable[str]) -> list[str]:
    """The item table's metadata columns, sorted."""
    return sorted(c for c in columns if not is_content_column(c))


def languages(columns: Iterable[str]) -> list[str]:
    """The languages an item table has question wording for."""
    out = []
    for c in columns:
        m = _LANGUAGE.match(c)
        if m and m.group(1) == "question" and m.group(2) not in out:
            out.append(m.group(2))
    return out


def vote_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A source's votes in the contract's types: text keys, default weight 1 and role primary."""
    missing = [c for c in ("item", "voter", "label") if c not in df.columns]
    if missing:
        raise SchemaError(f"votes: missing column(s) {', '.join(repr(c) for c in missing)}")
    out = df.copy(deep=False)
    if "weight" not in out.columns:
        out["weight"] = 1.0
    if "role" not in out.columns:
        out["role"] = "primary"
    for col in out.columns:
        if col != "weight" and out[col].dtype != TEXT:
            out[col] = out[col].astype(TEXT)
    return out


def _as_list(value: object) -> list[str | None] | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return [v for v in value.split("|") if v] if value else []
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, Sequence):
        # A missing entry (an option without a Korean text) stays missing.
        return [None if v is None else str(v) for v in value]
    raise SchemaError(f"options: {value!r} is not a list of option codes")


def _as_numbers(column: str, value: object) -> list[float] | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    items = value.tolist() if hasattr(value, "tolist") else value
    if not isinstance(items, list | tuple):
        raise SchemaError(f"{column}: {value!r} is not a list of numbers")
    try:
        return [float("nan") if v is None else float(v) for v in items]
    except (TypeError, ValueError):
        raise SchemaError(f"{column}: {value!r} is not a list of numbers") from None


def item_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A source's items in the contract's order and types.

    Checks that every item key is given once and every kind is known; ``kind`` defaults to
    ``question`` where a question is given, else ``audio`` where an audio file is, else
    ``text``. List columns hold lists of text; ``duration`` is a number; the rest is text.
    """
    if "item" not in df.columns:
        raise SchemaError("items: missing column 'item'")
    out = df.copy()
    out["item"] = out["item"].astype(TEXT)
    if out["item"].isna().any():
        raise SchemaError(f"item: {int(out['item'].isna().sum())} row(s) have no item key")
    dupes = out["item"][out["item"].duplicated()]
    if len(dupes):
        raise SchemaError(
            f"item: {dupes.iloc[0]!r} is given {int((out['item'] == dupes.iloc[0]).sum())} "
            "times; each item once"
        )
    inferred = pd.Series("text", index=out.index, dtype=object)
    for col in ("audio", "question"):
        if col in out.columns:
            given = out[col].notna() & (out[col].astype(str) != "")
            inferred[given.to_numpy()] = col
    if "kind" in out.columns:
        kind = out["kind"].astype(TEXT)
        out["kind"] = kind.where(kind.notna() & (kind != ""), inferred).astype(TEXT)
    else:
        out["kind"] = inferred.astype(TEXT)
    bad = out["kind"][~out["kind"].isin(ITEM_KINDS)]
    if len(bad):
        raise SchemaError(f"kind: {bad.iloc[0]!r} is not one of {list(ITEM_KINDS)}")
    for col in out.columns:
        if col in ("item", "kind"):
            continue
        if col in NUMBER_COLUMNS:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        elif col in NUMBER_LIST_COLUMNS:
            out[col] = pd.Series([_as_numbers(col, v) for v in out[col]], index=out.index)
        elif col in LIST_COLUMNS or col.startswith("option_texts_"):
            out[col] = pd.Series([_as_list(v) for v in out[col]], index=out.index)
        else:
            out[col] = out[col].astype(TEXT)
    ordered = [c for c in ITEM_COLUMNS if c in out.columns]
    ordered += language_columns(out.columns)
    ordered += metadata_columns(out.columns)
    return out[ordered].reset_index(drop=True)
