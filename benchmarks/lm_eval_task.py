"""The metrics module of an exported lm-evaluation-harness task (copied as ``utils.py``).

This file is written, unchanged, beside the task YAML of every ``lm-eval`` export of a
version (``benchmarks.services.lm_eval``). It imports nothing from Chorus, so the exported
folder runs anywhere lm-evaluation-harness is installed::

    lm_eval --model hf --model_args pretrained=MODEL --include_path FOLDER --tasks TASK

Each line of ``items.jsonl`` is one item: ``query`` (the prompt, and ``query_<lang>`` in every
language the questions have), ``choices`` (the option codes or categories, scored as
continuations of the prompt), ``target`` (the index of the right choice: the item's key where
it has one, else its plurality label; -1 when it has neither), ``target_source`` (``key``,
``plurality`` or ``""``) and ``distribution`` (for survey questions, the weighted share of
people who chose each option; empty otherwise). The model's answer is the choice with the
highest log-likelihood.

Metrics, per item, averaged over the items they apply to:

- ``alignment`` (survey questions): the share of people who chose the model's option,
  ``P_i[c_i]``; its mean is the alignment score (:func:`alignment_score`).
- ``acc``: 1 when the model's choice is the target, else 0 (items with a target only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ITEMS_FILE = "items.jsonl"


def load_items(data_files: dict[str, str] | None = None, **_: Any) -> Any:
    """The items as a ``datasets.DatasetDict`` (lm-evaluation-harness's ``custom_dataset``).

    The data files named in the YAML are read from this folder, wherever the harness is
    started from, and without any network access.
    """
    import datasets

    folder = Path(__file__).resolve().parent
    splits: dict[str, Any] = {}
    for split, name in (data_files or {"test": ITEMS_FILE}).items():
        with (folder / name).open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        splits[split] = datasets.Dataset.from_list(rows)
    return datasets.DatasetDict(splits)


def alignment_score(
    distributions: Sequence[Sequence[float]],
    choices: Sequence[int],
    fold: Sequence[Sequence[int]] | None = None,
) -> float:
    """Mean share of people who chose the model's option: ``(1/n) sum_i P_i[c_i]``.

    ``distributions`` holds one row of option shares (summing to 1) per item, ``choices`` the
    model's option index per item. ``fold`` (groups of option indices, e.g. ``[[0, 1], [2],
    [3, 4]]`` for disagree / neutral / agree) sums the shares within each group and replaces the
    model's option by its group first.
    """
    if len(distributions) != len(choices):
        raise ValueError("choices: one choice per item of distributions")
    if not choices:
        return float("nan")
    total = 0.0
    for row, choice in zip(distributions, choices, strict=True):
        if abs(sum(row) - 1.0) > 1e-6:
            raise ValueError(f"distributions: a row sums to {sum(row):.6g}, not 1")
        if not 0 <= choice < len(row):
            raise ValueError(f"choices: {choice} is not an option index")
        if fold is None:
            total += float(row[choice])
            continue
        group = next((g for g in fold if choice in g), None)
        if group is None or sorted(i for g in fold for i in g) != list(range(len(row))):
            raise ValueError("fold: the groups must cover every option once")
        total += float(sum(row[i] for i in group))
    return total / len(choices)


def accuracy(choices: Sequence[int], targets: Sequence[int]) -> float:
    """Share of items whose chosen index is the target (items with target -1 are left out)."""
    pairs = [(c, t) for c, t in zip(choices, targets, strict=True) if t >= 0]
    if not pairs:
        return float("nan")
    return sum(1.0 for c, t in pairs if c == t) / len(pairs)


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """One item's metrics from the log-likelihood of each choice (``results[i][0]``)."""
    scores = [float(r[0]) if isinstance(r, list | tuple) else float(r) for r in results]
    chosen = max(range(len(scores)), key=scores.__getitem__)
    out: dict[str, float] = {}
    distribution = doc.get("distribution") or []
    if len(distribution) == len(scores):
        out["alignment"] = alignment_score([distribution], [chosen])
    target = doc.get("target", -1)
    if target is not None and int(target) >= 0:
        out["acc"] = accuracy([chosen], [int(target)])
    return out
