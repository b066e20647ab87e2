"""Argilla 2.x datasets in the Hugging Face layout (``Dataset.to_hub``, ``records.to_datasets``).

One row per record: ``id``, ``status``, ``_server_id``, the record's fields (``text``...), its
metadata, and per question ``q``: ``q.responses`` (the answers), ``q.responses.users`` (who
gave each, by user id) and ``q.responses.status`` (``submitted``, ``draft`` or ``discarded``),
plus ``q.suggestion``, ``q.suggestion.score`` and ``q.suggestion.agent`` (a model's or a
rule's suggestion, kept apart). Read from Parquet (the Hub's files; a question's labels stored
as class numbers are named through the file's ``huggingface`` features), JSON Lines or a JSON
list.

Only submitted responses are votes: drafts and discarded responses are left out and the report
says so. A label question's answer is one label, a multi-label question's a list; a rating's
number becomes its text; text and ranking answers are not labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from interop.parsers.common import (
    Builder,
    Input,
    Limits,
    Parsed,
    ParseError,
    first_char,
    iter_json_array,
    iter_jsonl,
    key_of,
)

TOOL = "argilla"
RESERVED = {"id", "status", "_server_id", "inserted_at", "updated_at"}


def _class_names(metadata: dict[bytes, bytes] | None) -> dict[str, list[str]]:
    """Class names of ClassLabel columns from the features the ``datasets`` library stores."""
    if not metadata or b"huggingface" not in metadata:
        return {}
    try:
        features = json.loads(metadata[b"huggingface"]).get("info", {}).get("features", {})
    except (ValueError, AttributeError):
        return {}
    out: dict[str, list[str]] = {}
    for name, feature in features.items():
        while isinstance(feature, dict) and feature.get("_type") in ("Sequence", "List"):
            feature = feature.get("feature")
        if isinstance(feature, list) and feature:
            feature = feature[0]
        if isinstance(feature, dict) and feature.get("_type") == "ClassLabel":
            out[name] = [str(n) for n in feature.get("names", [])]
    return out


def _named(value: Any, names: list[str] | None) -> Any:
    if names is None:
        return value
    if isinstance(value, list):
        return [_named(v, names) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    return value


def _records(f: Input, limits: Limits) -> Iterator[tuple[int, Any]]:
    if f.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        with f.open() as fh:
            try:
                reader = pq.ParquetFile(fh)
            except (pa.ArrowInvalid, OSError) as exc:
                raise ParseError(f"{f.name}: not a readable Parquet file ({exc})") from None
            names = _class_names(reader.schema_arrow.metadata)
            number = 0
            try:
                for batch in reader.iter_batches(batch_size=10_000):
                    for row in batch.to_pylist():
                        number += 1
                        yield number, {k: _named(v, names.get(k)) for k, v in row.items()}
            except (pa.ArrowInvalid, OSError) as exc:
                raise ParseError(f"{f.name}, after record {number}: unreadable ({exc})") from None
        return
    if f.suffix == ".jsonl" or first_char(f) == "{":
        yield from iter_jsonl(f, limits)
    else:
        yield from iter_json_array(f, limits)


def _labels(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return [key_of(value) or ""]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def parse(files: list[Input], *, limits: Limits, field: str | None = None) -> Parsed:
    b = Builder(TOOL, limits)
    for f in files:
        for number, record in _records(f, limits):
            where = f"{f.name}, record {number}"
            if not isinstance(record, dict):
                raise ParseError(f"{where}: not an object")
            questions = sorted(k[: -len(".responses")] for k in record if k.endswith(".responses"))
            if not questions:
                raise ParseError(
                    f"{where}: no '<question>.responses' column; is this an Argilla 2.x "
                    "dataset in the Hugging Face layout?"
                )
            item = key_of(record.get("id")) or key_of(record.get("_server_id"))
            if item is None:
                raise ParseError(f"{where}: the record has no id")
            where = f"{where} (record {item})"
            own = {
                k: v
                for k, v in record.items()
                if k not in RESERVED and not any(k.startswith(q + ".") for q in questions)
            }
            text_key = (
                "text"
                if isinstance(own.get("text"), str)
                else next((k for k, v in own.items() if isinstance(v, str)), None)
            )
            b.item(
                item,
                where=where,
                text=own.get(text_key) if text_key else None,
                **{
                    k: v for k, v in own.items() if k != text_key and not isinstance(v, dict | list)
                },
            )
            for q in questions:
                answers = record.get(f"{q}.responses") or []
                users = record.get(f"{q}.responses.users") or []
                statuses = record.get(f"{q}.responses.status") or []
                if not isinstance(answers, list) or not isinstance(users, list):
                    raise ParseError(f"{where}: {q}.responses is not a list")
                if len(users) != len(answers):
                    raise ParseError(
                        f"{where}: {q} has {len(answers)} response(s) but {len(users)} user(s) "
                        "in q.responses.users; a response with no rater cannot be a vote"
                    )
                for n, (answer, user) in enumerate(zip(answers, users, strict=True)):
                    voter = key_of(user)
                    if voter is None:
                        raise ParseError(f"{where}: {q} response {n + 1} has no rater")
                    row = b.record(f.name, number, item, voter)
                    status = statuses[n] if n < len(statuses) else "submitted"
                    if status != "submitted":
                        b.note(row, f"{q}: a {status} response is not a vote", "skipped")
                        continue
                    labels = _labels(answer)
                    if labels is None:
                        b.note(
                            row, f"{q}: this answer is not a label (text or ranking)", "no votes"
                        )
                        continue
                    b.answer(row, where=where, item=item, voter=voter, field=q, labels=labels)
                suggestion = record.get(f"{q}.suggestion")
                for label in _labels(suggestion) or []:
                    b.suggest(
                        item=item,
                        field=q,
                        agent=str(record.get(f"{q}.suggestion.agent") or "suggestion"),
                        label=label,
                        score=record.get(f"{q}.suggestion.score"),
                    )
    return b.build(field=field)
