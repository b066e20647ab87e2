"""A version as an EleutherAI lm-evaluation-harness task folder.

The folder holds the items (``items.jsonl``, one prompt per item with its choices, target and
people's answer distribution), one task YAML per prompt language, the metrics module
(``utils.py``, a copy of :mod:`benchmarks.lm_eval_task`) and a README. The YAML names the data
file, which ``utils.load_items`` reads from the folder itself: the task runs offline, from any
working directory, with ``lm_eval --include_path FOLDER --tasks TASK``.

Survey questions are asked with their options (``code. text`` lines) and scored by the
alignment score and by accuracy against their key or plurality answer; text items are asked
for one category and scored by accuracy against their plurality label. Audio items have no
text to show a language model and are left out (the README counts them).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from benchmarks import lm_eval_task
from benchmarks.models import Version
from sources.schema import languages

FOLDER = "lm_eval"

QUESTION_PROMPTS = {
    "en": "Question: {question}\n{options}\nAnswer:",
    "ko": "질문: {question}\n{options}\n답:",
}
TEXT_PROMPTS = {
    "en": "{text}\n\nWhich category fits this passage best? Choose one of: {categories}.\nAnswer:",
    "ko": (
        "{text}\n\n이 글에 가장 알맞은 범주는 무엇입니까? 다음 중 하나를 고르세요: "
        "{categories}.\n답:"
    ),
}


PROMPT_COLUMNS = ("kind", "text", "question", "options", "answer_key", "subject", "distribution")


class NoTaskItems(ValueError):
    """The version has no item a language model can be asked about."""


def task_name(version: Version) -> str:
    """``chorus_<dataset>_v<N>``: letters, digits and underscores only."""
    slug = re.sub(r"[^a-z0-9]+", "_", version.dataset.name.lower()).strip("_")
    return f"chorus_{slug or 'dataset'}_v{version.number}"


def _cell(value: Any) -> Any:
    """None for a missing cell (None or NaN); lists as Python lists."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _distribution(value: Any, k: int) -> list[float]:
    """The shares rescaled to sum to 1, or [] where there are none usable."""
    if value is None or len(value) != k:
        return []
    shares = [float(v) if v is not None else math.nan for v in value]
    total = sum(shares)
    if not math.isfinite(total) or total <= 0 or any(v < 0 for v in shares):
        return []
    return [v / total for v in shares]


def _question_row(
    row: dict[str, Any], langs: list[str], plurality: str | None
) -> dict[str, Any] | None:
    options = [str(o) for o in (_cell(row.get("options")) or [])]
    if len(options) < 2:
        return None
    queries = {}
    for lang in langs or ["en"]:
        question = _cell(row.get(f"question_{lang}")) or _cell(row.get("question")) or ""
        texts = _cell(row.get(f"option_texts_{lang}")) or _cell(row.get("option_texts_en")) or []
        lines = []
        for i, code in enumerate(options):
            text = texts[i] if i < len(texts) and texts[i] else ""
            lines.append(f"{code}. {text}" if text else code)
        template = QUESTION_PROMPTS.get(lang, QUESTION_PROMPTS["en"])
        queries[lang] = template.format(question=question, options="\n".join(lines))
    distribution = _distribution(_cell(row.get("distribution")), len(options))
    key = _cell(row.get("answer_key"))
    if key and str(key) in options:
        target, source = options.index(str(key)), "key"
    elif plurality and plurality in options:
        target, source = options.index(plurality), "plurality"
    elif distribution and distribution.count(max(distribution)) == 1:
        target, source = distribution.index(max(distribution)), "plurality"
    else:
        target, source = -1, ""
    return {
        "queries": queries,
        "choices": options,
        "target": target,
        "target_source": source,
        "distribution": distribution,
        "subject": str(_cell(row.get("subject")) or ""),
    }


def _text_row(
    row: dict[str, Any], lang: str, categories: list[str], plurality: str | None
) -> dict[str, Any] | None:
    text = _cell(row.get("text"))
    if not text:
        return None
    template = TEXT_PROMPTS.get(lang, TEXT_PROMPTS["en"])
    query = template.format(text=text, categories=", ".join(categories))
    target = categories.index(plurality) if plurality in categories else -1
    return {
        "queries": {lang: query},
        "choices": list(categories),
        "target": target,
        "target_source": "plurality" if target >= 0 else "",
        "distribution": [],
        "subject": "",
    }


def _yaml(version: Version, name: str, query_field: str, metrics: list[str]) -> bytes:
    config: dict[str, Any] = {
        "task": name,
        "custom_dataset": "UTILS.load_items",
        "dataset_kwargs": {"data_files": {"test": lm_eval_task.ITEMS_FILE}},
        "output_type": "multiple_choice",
        "test_split": "test",
        "doc_to_text": query_field,
        "doc_to_choice": "choices",
        "doc_to_target": "target",
        "target_delimiter": " ",
        "process_results": "UTILS.process_results",
        "metric_list": [
            {"metric": m, "aggregation": "mean", "higher_is_better": True} for m in metrics
        ],
        "metadata": {"version": 1.0},
    }
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    # lm-evaluation-harness resolves ``!function module.name`` relative to the YAML's folder.
    text = re.sub(r"'?UTILS\.(\w+)'?", r"!function utils.\1", text)
    header = (
        f"# {version.dataset.name}, version {version.number} (sha256 {version.sha256}).\n"
        f"# lm_eval --model hf --model_args pretrained=MODEL --include_path . --tasks {name}\n"
    )
    return (header + text).encode()


def lm_eval_files(
    *, version: Version, items: pa.Table, contents: pa.Table | None
) -> dict[str, bytes]:
    """The task folder's files by path (under ``lm_eval/``). ``items`` is the version's wide
    table and ``contents`` its content table, in the same item order. ``NoTaskItems`` when no
    item has a text or a question (votes only, or audio only)."""
    categories = [str(c) for c in version.categories]
    keys = [str(k) for k in items.column("item").to_pylist()]
    plurality: list[Any] = (
        items.column("plurality.label").to_pylist()
        if "plurality.label" in items.column_names
        else [None] * len(keys)
    )
    langs = languages(contents.column_names) if contents is not None else []
    if contents is not None:
        # Only the columns a prompt or a metric uses: metadata can be many wide columns.
        used = [
            c
            for c in contents.column_names
            if c in PROMPT_COLUMNS or c.startswith(("question_", "option_texts_"))
        ]
        content_rows = contents.select(used).to_pylist()
    else:
        content_rows = [{} for _ in keys]
    text_lang = langs[0] if langs else "en"
    rows: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    for key, content, top in zip(keys, content_rows, plurality, strict=True):
        kind = str(content.get("kind") or "text")
        top = str(top) if top is not None else None
        if kind == "question":
            row = _question_row(content, langs, top)
        elif kind == "text":
            row = _text_row(content, text_lang, categories, top)
        else:
            row = None
        if row is None:
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        rows.append({"item": key, "kind": kind, **row})
    if not rows:
        raise NoTaskItems(
            "format: lm-eval needs text items or survey questions; this version has "
            + (", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items())) or "no content")
        )
    all_langs = sorted({lang for r in rows for lang in r["queries"]})
    default = all_langs[0] if len(all_langs) == 1 else (langs[0] if langs else "en")
    lines = []
    for r in rows:
        queries = r.pop("queries")
        first = queries.get(default) or next(iter(queries.values()))
        record = {"item": r["item"], "kind": r["kind"], "query": first}
        for lang in all_langs if len(all_langs) > 1 else []:
            record[f"query_{lang}"] = queries.get(lang) or first
        record.update({k: r[k] for k in ("choices", "target", "target_source")})
        record["distribution"] = r["distribution"]
        record["subject"] = r["subject"]
        lines.append(json.dumps(record, ensure_ascii=False))
    metrics = []
    if any(r["distribution"] for r in rows):
        metrics.append("alignment")
    if any(r["target"] >= 0 for r in rows):
        metrics.append("acc")
    name = task_name(version)
    files = {
        f"{FOLDER}/{lm_eval_task.ITEMS_FILE}": ("\n".join(lines) + "\n").encode(),
        f"{FOLDER}/utils.py": Path(lm_eval_task.__file__).read_bytes(),
        f"{FOLDER}/{name}.yaml": _yaml(version, name, "query", metrics),
    }
    tasks = [(name, "query", default)]
    if len(all_langs) > 1:
        for lang in all_langs:
            files[f"{FOLDER}/{name}_{lang}.yaml"] = _yaml(
                version, f"{name}_{lang}", f"query_{lang}", metrics
            )
            tasks.append((f"{name}_{lang}", f"query_{lang}", lang))
    files[f"{FOLDER}/README.md"] = _readme(version, tasks, len(rows), skipped, metrics).encode()
    return files


def _readme(
    version: Version,
    tasks: list[tuple[str, str, str]],
    n_rows: int,
    skipped: dict[str, int],
    metrics: list[str],
) -> str:
    lines = [
        f"# {version.dataset.name}, version {version.number}: lm-evaluation-harness task",
        "",
        f"Content hash: `{version.sha256}`. {n_rows} item(s) in `items.jsonl`.",
    ]
    if skipped:
        left = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
        lines.append(f"Left out (no text to show a language model): {left}.")
    lines += [
        "",
        "Run it from anywhere (no network needed for the data):",
        "",
        "```",
        f"lm_eval --model hf --model_args pretrained=MODEL --include_path THIS_FOLDER "
        f"--tasks {tasks[0][0]}",
        "```",
        "",
        "| task | prompt | language |",
        "| --- | --- | --- |",
        *[f"| `{t}` | `{field}` | {lang} |" for t, field, lang in tasks],
        "",
        "The model's answer is the choice with the highest log-likelihood. Metrics "
        f"({', '.join(metrics) or 'none'}):",
        "",
        "- `alignment`: for survey questions, the share of people who chose the model's "
        "option, averaged over questions (the alignment score).",
        "- `acc`: the share of items whose answer is the target: the item's key where it "
        "has one, else its plurality label (`target_source` in `items.jsonl` says which).",
        "",
    ]
    return "\n".join(lines)
