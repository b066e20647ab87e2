"""Label Studio exports: JSON (tasks with their annotations), JSON_MIN and CSV.

**JSON** is a list of tasks: ``id``, ``data`` (the item: ``text`` and any other fields),
``annotations`` (each with ``completed_by``, the rater: a user id or an object with ``id`` and
``email``; ``was_cancelled``; ``ground_truth``; ``result``, a list of results with
``from_name``, ``type`` and ``value``) and ``predictions`` (model suggestions, kept apart).

* A result of type ``choices`` gives its choices as labels (several make a multi-label
  answer); ``taxonomy`` gives each chosen path joined by ``/``; ``rating`` gives the number of
  stars as text. Regions (``labels``, ``rectanglelabels``, ``polygonlabels``...), free text
  (``textarea``) and numbers are not item labels: they are left out and the report says so.
* Cancelled (skipped) annotations are not votes.
* An annotation marked ``ground_truth`` still counts as its rater's vote and also gives the
  item its gold label (when it chose exactly one).
* The item key is ``data.item`` when the task has it (Chorus's own export writes it), else
  the task id.

**JSON_MIN** and **CSV** have one row per annotation: the task's data fields, ``id``,
``annotator``, ``annotation_id``, ``created_at``, ``updated_at``, ``lead_time`` and one column
per control tag, whose value is the choice itself (one choice), ``{"choices": [...]}``
(several), a list of ``{"rating": n}`` or of regions. They do not say which columns hold
labels, so the label column must be named (``field``).
"""

from __future__ import annotations

import io
import json
import mmap
from typing import Any

import msgspec

from interop.parsers.common import (
    Builder,
    Input,
    Limits,
    Parsed,
    ParseError,
    first_char,
    iter_json_array,
    key_of,
    text_of,
)

TOOL = "label-studio"
REGION_TYPES = {
    "labels",
    "rectanglelabels",
    "polygonlabels",
    "keypointlabels",
    "brushlabels",
    "ellipselabels",
    "hypertextlabels",
    "paragraphlabels",
    "timeserieslabels",
    "videorectangle",
    "rectangle",
    "polygon",
    "keypoint",
    "ellipse",
    "brush",
    "relation",
}
MIN_META = {
    "id",
    "annotator",
    "annotation_id",
    "created_at",
    "updated_at",
    "lead_time",
    "agreement",
}
TEXT_KEYS = ("text", "content", "sentence", "review", "dialogue", "audio", "image", "url")


def _rater(value: Any) -> str | None:
    if isinstance(value, dict):
        return key_of(value.get("email")) or key_of(value.get("id"))
    return key_of(value)


def _labels_of(kind_of: Any, value: Any) -> tuple[list[str] | None, str]:
    """A result's labels, or None and the reason it gives none."""
    kind = str(kind_of or "").lower()
    if not isinstance(value, dict):
        return None, f"a {kind or 'untyped'} result without a value"
    if kind == "choices":
        choices = value.get("choices")
        if not isinstance(choices, list):
            return None, "a choices result without choices"
        return [str(c) for c in choices], ""
    if kind == "taxonomy":
        paths = value.get("taxonomy")
        if not isinstance(paths, list):
            return None, "a taxonomy result without paths"
        return [
            "/".join(str(p) for p in path) if isinstance(path, list) else str(path)
            for path in paths
        ], ""
    if kind == "rating":
        rating = value.get("rating")
        if rating is None:
            return None, "a rating result without a rating"
        return [key_of(rating) or ""], ""
    if kind in REGION_TYPES or "start" in value or "x" in value:
        return None, f"{kind} regions are not item labels (kept in the raw file)"
    if kind in ("textarea", "number", "datetime"):
        return None, f"{kind} answers are not labels (kept in the raw file)"
    return None, f"results of type {kind or '(none)'} are not read"


def _item_data(b: Builder, key: str, data: dict[str, Any], where: str) -> None:
    text_key = next((k for k in TEXT_KEYS if isinstance(data.get(k), str)), None)
    if text_key is None:
        text_key = next((k for k, v in data.items() if isinstance(v, str) and k != "item"), None)
    meta = {
        k: v
        for k, v in data.items()
        if k not in (text_key, "item") and not isinstance(v, dict | list)
    }
    b.item(key, where=where, text=data.get(text_key) if text_key else None, **meta)


class _Result(msgspec.Struct):
    from_name: Any = ""
    type: Any = ""
    value: Any = None
    score: Any = None


class _Annotation(msgspec.Struct):
    completed_by: Any = None
    was_cancelled: Any = False
    ground_truth: Any = False
    result: list[_Result] | None = None


class _Prediction(msgspec.Struct):
    model_version: Any = None
    score: Any = None
    result: list[_Result] | None = None


class _Task(msgspec.Struct):
    """The fields of a task the importer reads; the decoder skips the others unread."""

    data: dict[str, Any]
    id: Any = None
    annotations: list[_Annotation] | None = None
    completions: list[_Annotation] | None = None
    predictions: list[_Prediction] | None = None


_DECODER = msgspec.json.Decoder(list[_Task])


def _decode_whole(f: Input) -> list[_Task] | None:
    """All tasks of a well-formed export, decoded straight from the file (mapped, not read
    into memory) into the few fields read; None for any file it cannot take, which the
    record-by-record reader then reads to name the record at fault."""
    with f.open() as fh:
        try:
            mapped: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            mapped = None
        try:
            return _DECODER.decode(mapped if mapped is not None else fh.read())
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None
        finally:
            if mapped is not None:
                mapped.close()


def _result_of(value: Any, where: str) -> _Result:
    if not isinstance(value, dict):
        raise ParseError(f"{where}: a result is not an object")
    return _Result(
        from_name=value.get("from_name") or "",
        type=value.get("type") or "",
        value=value.get("value"),
        score=value.get("score"),
    )


def _task_of(task: Any, where: str) -> _Task:
    """A task read as plain JSON, checked field by field (the messages name what is wrong)."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise ParseError(
            f"{where}: not a Label Studio task (no 'data' object); is this a "
            "Label Studio JSON export?"
        )
    if "annotations" not in task and "completions" not in task:
        raise ParseError(f"{where}: a task without 'annotations'")
    annotations = task.get("annotations") or task.get("completions") or []
    if not isinstance(annotations, list):
        raise ParseError(f"{where}: 'annotations' is not a list")
    anns = []
    for n, ann in enumerate(annotations, start=1):
        here = f"{where}, annotation {n}"
        if not isinstance(ann, dict):
            raise ParseError(f"{here}: not an object")
        results = ann.get("result") or []
        if not isinstance(results, list):
            raise ParseError(f"{here}: 'result' is not a list")
        anns.append(
            _Annotation(
                completed_by=ann.get("completed_by"),
                was_cancelled=ann.get("was_cancelled"),
                ground_truth=ann.get("ground_truth"),
                result=[_result_of(r, here) for r in results],
            )
        )
    predictions = []
    for prediction in task.get("predictions") or []:
        if isinstance(prediction, dict):
            predictions.append(
                _Prediction(
                    model_version=prediction.get("model_version"),
                    score=prediction.get("score"),
                    result=[_result_of(r, where) for r in prediction.get("result") or []],
                )
            )
    return _Task(data=task["data"], id=task.get("id"), annotations=anns, predictions=predictions)


def _task(b: Builder, file: str, number: int, task: _Task) -> None:
    where = f"{file}, record {number}"
    data = task.data
    if task.annotations is None and task.completions is None:
        raise ParseError(f"{where}: a task without 'annotations'")
    item = key_of(data.get("item")) or key_of(task.id)
    if item is None:
        raise ParseError(f"{where}: the task has no id")
    where = f"{where} (task {item})"
    _item_data(b, item, data, where)
    annotations = task.annotations or task.completions or []
    if not annotations:
        row = b.record(file, number, item, None)
        b.note(row, "no annotation", "no votes")
    raters = b.cache
    for n, ann in enumerate(annotations, start=1):
        by = ann.completed_by
        # Raters are mostly user ids: each is made a key once.
        voter = raters.get(by) if type(by) is int else None
        if voter is None:
            voter = _rater(by)
            if voter is None:
                raise ParseError(f"{where}, annotation {n}: no rater (completed_by is missing)")
            if type(by) is int:
                raters[by] = voter
        results = ann.result
        if results and len(results) == 1 and not ann.was_cancelled and not ann.ground_truth:
            only = results[0]
            value = only.value
            choices = value.get("choices") if type(value) is dict else None
            if (
                only.type == "choices"
                and type(choices) is list
                and len(choices) == 1
                and type(choices[0]) is str
                and type(only.from_name) is str
                and b.plain_vote(file, number, item, voter, only.from_name, choices[0])
            ):
                continue
        row = b.record(file, number, item, voter)
        if ann.was_cancelled:
            b.note(row, "cancelled annotation: not a vote", "skipped")
            continue
        by_field: dict[str, list[str]] = {}
        for result in ann.result or ():
            value = result.value
            # The common result, a choice of plain labels, read without the general case.
            choices = (
                value.get("choices") if result.type == "choices" and type(value) is dict else None
            )
            labels: list[str] | None
            if type(choices) is list and len(choices) == 1 and type(choices[0]) is str:
                labels = choices
            else:
                labels, why = _labels_of(result.type, value)
                if labels is None:
                    b.note(row, why)
                    continue
            name = result.from_name
            by_field.setdefault(name if type(name) is str else str(name or ""), []).extend(labels)
        if not by_field:
            b.note(row, "no label in this annotation", "no votes")
        for name, chosen in by_field.items():
            here = f"{where}, annotation {n}"
            b.answer(row, where=here, item=item, voter=voter, field=name, labels=chosen)
            if ann.ground_truth:
                b.gold_answer(item=item, field=name, labels=chosen)
                b.note(row, "ground truth: also the item's gold label")
    for prediction in task.predictions or []:
        agent = str(prediction.model_version or "model")
        for result in prediction.result or []:
            suggested, _why = _labels_of(result.type, result.value)
            for label in suggested or []:
                b.suggest(
                    item=item,
                    field=str(result.from_name or ""),
                    agent=agent,
                    label=label,
                    score=result.score if result.score is not None else prediction.score,
                )


def _parse_json(files: list[Input], limits: Limits, field: str | None) -> Parsed:
    b = Builder(TOOL, limits)
    for f in files:
        tasks = _decode_whole(f)
        if tasks is not None:
            for number, task in enumerate(tasks, start=1):
                _task(b, f.name, number, task)
            continue
        for number, raw in iter_json_array(f, limits):
            _task(b, f.name, number, _task_of(raw, f"{f.name}, record {number}"))
    return b.build(field=field)


def _min_labels(value: Any) -> tuple[list[str] | None, str]:
    """A JSON_MIN cell's labels (see the module's docstring)."""
    if value is None or value == "":
        return None, "no answer in the label column"
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return [value], ""
        else:
            return [value], ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [key_of(value) or ""], ""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, dict) and isinstance(v.get("choices"), list):
                out += [str(c) for c in v["choices"]]
            elif isinstance(v, dict) and "rating" in v:
                out.append(key_of(v["rating"]) or "")
            elif isinstance(v, dict) and isinstance(v.get("taxonomy"), list):
                out += [
                    "/".join(map(str, p)) if isinstance(p, list) else str(p) for p in v["taxonomy"]
                ]
            elif isinstance(v, dict) and ("start" in v or "x" in v):
                return None, "regions are not item labels (kept in the raw file)"
            elif isinstance(v, dict) and "text" in v:
                return None, "free text is not a label (kept in the raw file)"
            else:
                return None, f"a value of this shape is not read: {(text_of(v) or '')[:80]}"
        return out, ""
    return None, f"a value of this shape is not read: {(text_of(value) or '')[:80]}"


def _parse_rows(
    rows: list[tuple[str, int, dict[str, Any]]], limits: Limits, field: str | None
) -> Parsed:
    b = Builder(TOOL, limits)
    columns: list[str] = []
    for _f, _n, record in rows:
        columns += [c for c in record if c not in columns]
    if field is None:
        candidates = [c for c in columns if c not in MIN_META]
        raise ParseError(
            "field: JSON_MIN and CSV exports do not say which column holds the labels; name "
            f"it (one of: {', '.join(candidates)})"
        )
    if field not in columns:
        raise ParseError(f"field: no column {field!r} in the file (it has: {', '.join(columns)})")
    for name, number, record in rows:
        where = f"{name}, record {number}"
        if "annotator" not in record and "annotation_id" not in record:
            raise ParseError(
                f"{where}: no 'annotator' column; is this a Label Studio JSON_MIN or CSV export?"
            )
        item = key_of(record.get("item")) or key_of(record.get("id"))
        if item is None:
            raise ParseError(f"{where}: the record has no task id")
        voter = key_of(record.get("annotator"))
        if voter is None:
            raise ParseError(f"{where} (task {item}): no rater (annotator is empty)")
        data = {k: v for k, v in record.items() if k not in MIN_META and k != field}
        _item_data(b, item, data, where)
        row = b.record(name, number, item, voter)
        labels, why = _min_labels(record.get(field))
        if labels is None:
            b.note(row, why, "no votes")
            continue
        b.answer(row, where=where, item=item, voter=voter, field=field, labels=labels)
    return b.build(field=field)


def parse(files: list[Input], *, limits: Limits, field: str | None = None) -> Parsed:
    if all(f.suffix == ".csv" for f in files):
        from interop.parsers.tabular import read_csv_records

        return _parse_rows(read_csv_records(files, limits), limits, field)
    kinds = set()
    for f in files:
        if first_char(f) != "[":
            raise ParseError(f"{f.name}: not a Label Studio JSON export (not a JSON array)")
        for _n, first in iter_json_array(f, limits):
            kinds.add("json" if isinstance(first, dict) and "data" in first else "min")
            break
    if kinds == {"min"}:
        rows = [(f.name, n, r) for f in files for n, r in iter_json_array(f, limits)]
        bad = next(((name, n) for name, n, r in rows if not isinstance(r, dict)), None)
        if bad:
            raise ParseError(f"{bad[0]}, record {bad[1]}: not an object")
        return _parse_rows(rows, limits, field)
    return _parse_json(files, limits, field)
