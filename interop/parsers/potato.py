"""POTATO annotation output: one folder per annotator under ``annotation_output/``.

Each annotator's folder holds ``user_state.json`` (POTATO 2) with ``user_id`` and
``instance_id_to_label_to_value``: per instance, the chosen labels either as a list of
``[{"schema": s, "name": n}, value]`` pairs or as ``{schema: {name: value}}``. POTATO 1's
``annotated_instances.jsonl`` (one line per instance: ``id``, ``displayed_text``,
``label_annotations`` as ``{schema: {name: value}}``, ``span_annotations``) is read too.

The annotator is ``user_id`` (else the folder's name). A label is chosen when its value is
true (``true``, ``1``, ``on``) or repeats its name; any other value (a text box's text) is free
text, not a label. Spans and the survey phases (``phase_to_page_to_label_to_value``: consent,
pre- and post-surveys) are not item labels and are left out. Each schema is its own field.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from interop.parsers.common import (
    Builder,
    Input,
    Limits,
    Parsed,
    ParseError,
    iter_json_array,
    iter_jsonl,
    key_of,
)

TOOL = "potato"
TRUE = {"true", "1", "on", "yes"}


def _pairs(labels: Any, where: str) -> list[tuple[str, str, Any]]:
    """(schema, name, value) of one instance's labels in either layout."""
    out: list[tuple[str, str, Any]] = []
    if isinstance(labels, list):
        for pair in labels:
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not isinstance(pair[0], dict)
                or "schema" not in pair[0]
            ):
                raise ParseError(f"{where}: a label is not a [{{schema, name}}, value] pair")
            out.append((str(pair[0]["schema"]), str(pair[0].get("name", "")), pair[1]))
    elif isinstance(labels, dict):
        for schema, chosen in labels.items():
            if isinstance(chosen, dict):
                out += [(str(schema), str(name), value) for name, value in chosen.items()]
            else:
                out.append((str(schema), str(chosen), True))
    else:
        raise ParseError(f"{where}: labels are neither a list of pairs nor an object")
    return out


def _chosen(name: str, value: Any) -> bool:
    if value is True or (isinstance(value, int) and not isinstance(value, bool) and value == 1):
        return True
    return isinstance(value, str) and (value.strip().lower() in TRUE or value == name)


def _instance(
    b: Builder, *, file: str, number: int, where: str, item: str, voter: str, labels: Any
) -> None:
    row = b.record(file, number, item, voter)
    by_schema: dict[str, list[str]] = {}
    free = 0
    for schema, name, value in _pairs(labels, where):
        if _chosen(name, value):
            by_schema.setdefault(schema, []).append(name)
        elif value not in (None, "", False, "false", "0"):
            free += 1
    if free:
        b.note(row, f"{free} free-text answer(s) are not labels (kept in the raw file)")
    if not by_schema:
        b.note(row, "no label", "no votes")
    for schema, names in by_schema.items():
        b.answer(row, where=where, item=item, voter=voter, field=schema, labels=names)


def parse(files: list[Input], *, limits: Limits, field: str | None = None) -> Parsed:
    b = Builder(TOOL, limits)
    for f in files:
        folder = PurePosixPath(f.name).parent.name
        if f.name.endswith("user_state.json"):
            states = list(iter_json_array(f, limits))
            state = states[0][1] if states else None
            if not isinstance(state, dict) or "instance_id_to_label_to_value" not in state:
                raise ParseError(
                    f"{f.name}: no instance_id_to_label_to_value; is this POTATO's user_state.json?"
                )
            voter = key_of(state.get("user_id")) or key_of(folder)
            if voter is None:
                raise ParseError(f"{f.name}: no rater (user_id is missing)")
            per_instance = state["instance_id_to_label_to_value"]
            if not isinstance(per_instance, dict):
                raise ParseError(f"{f.name}: instance_id_to_label_to_value is not an object")
            if state.get("phase_to_page_to_label_to_value"):
                b.notes.append(f"{f.name}: survey phase answers are not item labels (kept raw)")
            spans = state.get("instance_id_to_span_to_value") or {}
            for number, (instance, labels) in enumerate(per_instance.items(), start=1):
                item = key_of(instance)
                where = f"{f.name}, instance {number} ({instance})"
                if item is None:
                    raise ParseError(f"{where}: an empty instance id")
                b.item(item, where=where)
                _instance(
                    b,
                    file=f.name,
                    number=number,
                    where=where,
                    item=item,
                    voter=voter,
                    labels=labels,
                )
                if spans.get(instance):
                    b.note(b.last_row, "spans are not item labels (kept in the raw file)")
        elif f.name.endswith("annotated_instances.jsonl") or (
            f.suffix == ".jsonl" and "/" not in f.name and f.stem != "annotation_history"
        ):
            voter = key_of(folder) or key_of(f.stem)
            for number, line in iter_jsonl(f, limits):
                where = f"{f.name}, line {number}"
                if not isinstance(line, dict) or "label_annotations" not in line:
                    raise ParseError(
                        f"{where}: no label_annotations; is this POTATO's "
                        "annotated_instances.jsonl?"
                    )
                item = key_of(line.get("id"))
                if item is None:
                    raise ParseError(f"{where}: the instance has no id")
                who = key_of(line.get("user_id")) or voter
                if who is None:
                    raise ParseError(f"{where}: no rater")
                text = line.get("displayed_text")
                b.item(item, where=where, text=text if isinstance(text, str) else None)
                _instance(
                    b,
                    file=f.name,
                    number=number,
                    where=where,
                    item=item,
                    voter=who,
                    labels=line["label_annotations"],
                )
                if line.get("span_annotations"):
                    b.note(b.last_row, "spans are not item labels (kept in the raw file)")
        else:
            # The output folder holds other files too (annotation history, assignments).
            b.notes.append(f"{f.name}: not an annotator's labels; not read")
    if not b.records:
        raise ParseError(
            "file: no user_state.json or annotated_instances.jsonl found; POTATO writes one "
            "per annotator under annotation_output/<annotator>/"
        )
    return b.build(field=field)
