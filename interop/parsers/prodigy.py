"""Prodigy's ``db-out`` JSON Lines: one line per answered task.

A line has the task (``text``, ``meta``, ``_input_hash``, ``_task_hash``), the answer
(``answer``: ``accept``, ``reject`` or ``ignore``) and who gave it (``_annotator_id``, else
``_session_id``). Two kinds of tasks give labels:

* choice tasks (``options`` with ``accept``, the chosen option ids): each accepted option is a
  label, under the field ``choice``;
* binary tasks (one ``label`` with ``accept``/``reject``): the vote is ``accept`` or
  ``reject`` under the field named by the label, so each label is its own question.

``ignore`` answers are no vote. Spans (``spans``) are not item labels. The item is the input
(``_input_hash``: the same text shown to several annotators), or ``meta.item`` when the task has
it (Chorus's own export writes it).
"""

from __future__ import annotations

from typing import Any

from interop.parsers.common import Builder, Input, Limits, Parsed, ParseError, iter_jsonl, key_of

TOOL = "prodigy"
CHOICE = "choice"


def parse(files: list[Input], *, limits: Limits, field: str | None = None) -> Parsed:
    b = Builder(TOOL, limits)
    for f in files:
        for number, task in iter_jsonl(f, limits):
            where = f"{f.name}, line {number}"
            if not isinstance(task, dict) or "answer" not in task:
                raise ParseError(
                    f"{where}: not a Prodigy answer (no 'answer'); is this a Prodigy db-out file?"
                )
            raw_meta = task.get("meta")
            meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            item = key_of(meta.get("item")) or key_of(task.get("_input_hash"))
            if item is None:
                raise ParseError(f"{where}: the task has no _input_hash")
            voter = key_of(task.get("_annotator_id")) or key_of(task.get("_session_id"))
            if voter is None:
                raise ParseError(f"{where} (input {item}): no rater (_annotator_id is missing)")
            text = task.get("text")
            b.item(
                item,
                where=where,
                text=text if isinstance(text, str) else None,
                **{k: v for k, v in meta.items() if k != "item" and not isinstance(v, dict | list)},
            )
            row = b.record(f.name, number, item, voter)
            answer = task.get("answer")
            if answer not in ("accept", "reject", "ignore"):
                raise ParseError(f"{where}: answer {answer!r} is not accept, reject or ignore")
            if answer == "ignore":
                b.note(row, "ignored: not a vote", "skipped")
                continue
            if task.get("spans"):
                b.note(row, "spans are not item labels (kept in the raw file)")
            if isinstance(task.get("options"), list):
                if answer == "reject":
                    b.note(row, "a rejected choice task: no vote", "no votes")
                    continue
                accepted = task.get("accept")
                if not isinstance(accepted, list):
                    raise ParseError(f"{where}: 'accept' is not a list of option ids")
                labels = [key_of(a) or "" for a in accepted]
                if not labels:
                    b.note(row, "no option chosen", "no votes")
                    continue
                b.answer(row, where=where, item=item, voter=voter, field=CHOICE, labels=labels)
            elif isinstance(task.get("label"), str) and task["label"]:
                b.answer(
                    row, where=where, item=item, voter=voter, field=task["label"], labels=[answer]
                )
            else:
                b.note(row, "no label or options: not a classification task", "no votes")
    return b.build(field=field)
