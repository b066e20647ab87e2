"""doccano exports: JSON Lines, one file per user (the zip doccano hands out holds them).

Each line is an example: ``id``, ``text``, the example's metadata spread as further keys,
``label`` (text classification: a list of label names; sequence labelling: a list of
``[start, end, label]`` spans or, in the newer export, ``entities`` objects) and ``Comments``.
The rater is the file's name (``alice.jsonl`` is alice's labels), as doccano names them.

When a project has collaborative annotation on, doccano writes one merged file, ``all.jsonl``,
with everyone's labels pooled: who gave which label is lost, so it cannot become votes and is
refused with an explanation. Spans are not item labels and are left out (the report says so);
an example without labels is in the user's file but is no vote.

The item key is the example's ``item`` key when it has one (Chorus's own export writes it),
else its ``id``.
"""

from __future__ import annotations

from typing import Any

from interop.parsers.common import Builder, Input, Limits, Parsed, ParseError, iter_jsonl, key_of

TOOL = "doccano"
FIELD = "label"
KNOWN = {
    "id",
    "text",
    "label",
    "labels",
    "entities",
    "relations",
    "Comments",
    "cats",
    "item",
    "data",
}


def parse(files: list[Input], *, limits: Limits, field: str | None = None) -> Parsed:
    b = Builder(TOOL, limits)
    for f in files:
        if f.stem.lower() == "all" or f.stem.lower().startswith("all."):
            raise ParseError(
                f"{f.name}: this is doccano's merged file of a collaborative project: it pools "
                "everyone's labels and loses who gave which, so its labels cannot be votes. "
                "Turn collaborative annotation off in the project's settings and export again: "
                "doccano then writes one file per user."
            )
        if f.suffix not in (".jsonl", ".json", ".txt"):
            raise ParseError(f"{f.name}: doccano exports are JSON Lines files (.jsonl)")
        voter = key_of(f.stem)
        if voter is None:
            raise ParseError(f"{f.name}: the file's name (the rater) is empty")
        for number, example in iter_jsonl(f, limits):
            where = f"{f.name}, line {number}"
            if (
                not isinstance(example, dict)
                or "id" not in example
                or not ("text" in example or "data" in example)
            ):
                raise ParseError(
                    f"{where}: not a doccano example (no 'id' and 'text'); is this a doccano "
                    "export?"
                )
            item = key_of(example.get("item")) or key_of(example.get("id"))
            if item is None:
                raise ParseError(f"{where}: the example has no id")
            text = example.get("text", example.get("data"))
            meta = {
                k: v
                for k, v in example.items()
                if k not in KNOWN and not isinstance(v, dict | list)
            }
            b.item(item, where=where, text=text if isinstance(text, str) else None, **meta)
            row = b.record(f.name, number, item, voter)
            raw: Any = example.get("label", example.get("labels", example.get("cats", [])))
            if isinstance(raw, str):
                raw = [raw]
            if isinstance(raw, dict):
                # spaCy-style categories: {"POS": 1.0, "NEG": 0.0}
                raw = [k for k, v in raw.items() if v]
            if not isinstance(raw, list):
                raise ParseError(f"{where}: 'label' is not a list")
            labels = [str(v) for v in raw if isinstance(v, str | int) and not isinstance(v, bool)]
            spans = len(raw) - len(labels) + len(example.get("entities") or [])
            if spans:
                b.note(row, f"{spans} span(s) are not item labels (kept in the raw file)")
            if not labels:
                b.note(row, "no label", "no votes")
                continue
            b.answer(row, where=where, item=item, voter=voter, field=FIELD, labels=labels)
    return b.build(field=field)
