"""Labels written in other tools' import formats, from a vote table and its item table.

Pure functions (no database): a source's tables (:mod:`sources.schema`) in, a file's bytes out.
Each writes what that tool can import with its labels (Label Studio's tasks with annotations,
doccano's per-user JSON Lines, Argilla's Hugging Face layout, Prodigy's ``db-in`` JSON Lines,
POTATO's per-user ``user_state.json``), and each keeps the item key where the matching parser
of :mod:`interop.parsers` finds it again, so that a vote table written and read back is the
same. Only primary labels are written (the tools have no secondary labels); the voter keys are
written as the source gives them (pseudonyms for Chorus's sources).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

FIELD = "label"
_UNSAFE = re.compile(r"[^\w.@+-]")


def _answers(votes: pd.DataFrame) -> Iterator[tuple[str, str, list[str]]]:
    """(item, voter, labels) per answer, primary labels only, in item then voter order."""
    if "role" in votes.columns:
        votes = votes[votes["role"].astype(str) == "primary"]
    frame = votes[["item", "voter", "label"]].astype(str)
    for (item, voter), group in frame.groupby(["item", "voter"], sort=True):
        yield str(item), str(voter), [str(v) for v in dict.fromkeys(group["label"].tolist())]


def _texts(items: pd.DataFrame | None) -> dict[str, str]:
    if items is None or not len(items) or "text" not in items.columns:
        return {}
    texts: dict[str, str] = {}
    for key, text, question in zip(
        items["item"].astype(str),
        items["text"],
        items["question"] if "question" in items.columns else [None] * len(items),
        strict=True,
    ):
        value = text if isinstance(text, str) and text else question
        if isinstance(value, str):
            texts[key] = value
    return texts


def _hash(text: str) -> int:
    """A stable signed 32-bit number for a text, like the hashes Prodigy keeps."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def label_studio(votes: pd.DataFrame, items: pd.DataFrame | None = None) -> bytes:
    """Label Studio tasks with their annotations (JSON): one ``choices`` result per rater."""
    texts = _texts(items)
    tasks: dict[str, dict[str, Any]] = {}
    for item, voter, labels in _answers(votes):
        task = tasks.setdefault(
            item,
            {
                "id": len(tasks) + 1,
                "data": {"text": texts.get(item, ""), "item": item},
                "annotations": [],
                "predictions": [],
            },
        )
        task["annotations"].append(
            {
                "completed_by": voter,
                "was_cancelled": False,
                "ground_truth": False,
                "result": [
                    {
                        "from_name": FIELD,
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": labels},
                    }
                ],
            }
        )
    return _dumps(list(tasks.values())).encode()


def doccano(votes: pd.DataFrame, items: pd.DataFrame | None = None) -> bytes:
    """A zip of doccano JSON Lines files, one per rater (``<rater>.jsonl``)."""
    texts = _texts(items)
    files: dict[str, list[str]] = {}
    numbers: dict[str, int] = {}
    for item, voter, labels in _answers(votes):
        number = numbers.setdefault(item, len(numbers) + 1)
        line = {"id": number, "text": texts.get(item, ""), "label": labels, "item": item}
        files.setdefault(voter, []).append(_dumps(line))
    return _zip(
        {f"{_UNSAFE.sub('_', v)}.jsonl": "\n".join(lines) + "\n" for v, lines in files.items()}
    )


def argilla(votes: pd.DataFrame, items: pd.DataFrame | None = None) -> bytes:
    """Argilla records in the Hugging Face layout, as JSON Lines (one record per item)."""
    texts = _texts(items)
    answers = list(_answers(votes))
    multi = any(len(labels) > 1 for _i, _v, labels in answers)
    records: dict[str, dict[str, Any]] = {}
    for item, voter, labels in answers:
        record = records.setdefault(
            item,
            {
                "id": item,
                "status": "completed",
                "text": texts.get(item, ""),
                f"{FIELD}.responses": [],
                f"{FIELD}.responses.users": [],
                f"{FIELD}.responses.status": [],
            },
        )
        record[f"{FIELD}.responses"].append(labels if multi else labels[0])
        record[f"{FIELD}.responses.users"].append(voter)
        record[f"{FIELD}.responses.status"].append("submitted")
    return "".join(_dumps(r) + "\n" for r in records.values()).encode()


def prodigy(votes: pd.DataFrame, items: pd.DataFrame | None = None) -> bytes:
    """Prodigy choice answers (``db-in`` JSON Lines): one line per rater and item."""
    texts = _texts(items)
    answers = list(_answers(votes))
    options = sorted({label for _i, _v, labels in answers for label in labels})
    lines = []
    for item, voter, labels in answers:
        text = texts.get(item, "")
        input_hash = _hash(f"{item}\n{text}")
        lines.append(
            _dumps(
                {
                    "text": text,
                    "options": [{"id": o, "text": o} for o in options],
                    "accept": labels,
                    "answer": "accept",
                    "meta": {"item": item},
                    "_input_hash": input_hash,
                    "_task_hash": _hash(f"{input_hash}\n{'|'.join(options)}"),
                    "_view_id": "choice",
                    "_annotator_id": voter,
                    "_session_id": voter,
                }
            )
        )
    return "".join(line + "\n" for line in lines).encode()


def potato(votes: pd.DataFrame, items: pd.DataFrame | None = None) -> bytes:
    """A zip of POTATO's ``annotation_output/<rater>/user_state.json`` files."""
    states: dict[str, dict[str, Any]] = {}
    for item, voter, labels in _answers(votes):
        state = states.setdefault(
            voter,
            {
                "user_id": voter,
                "instance_id_ordering": [],
                "instance_id_to_label_to_value": {},
                "instance_id_to_span_to_value": {},
            },
        )
        state["instance_id_ordering"].append(item)
        state["instance_id_to_label_to_value"][item] = [
            [{"schema": FIELD, "name": label}, "true"] for label in labels
        ]
    return _zip(
        {
            f"annotation_output/{_UNSAFE.sub('_', voter)}/user_state.json": _dumps(state)
            for voter, state in states.items()
        }
    )


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


# tool -> (writer, file name suffix)
WRITERS: dict[str, tuple[Callable[..., bytes], str]] = {
    "label-studio": (label_studio, "label-studio.json"),
    "doccano": (doccano, "doccano.zip"),
    "argilla": (argilla, "argilla.jsonl"),
    "prodigy": (prodigy, "prodigy.jsonl"),
    "potato": (potato, "potato.zip"),
}
