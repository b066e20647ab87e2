"""The dataset card (Markdown with a YAML header) and the Croissant metadata."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa
import yaml

from benchmarks.models import Version

# What each column of the Hugging Face table means, for the card's column list.
COLUMN_DOCS = {
    "item": "The item's key, stable across versions.",
    "kind": "What the item is: `text`, `audio` or `question`.",
    "text": "The text a model reads (a passage, a review).",
    "audio": "The audio clip (an `Audio` feature; the file is under `media/`, named by its "
    "SHA-256).",
    "audio_type": "The clip's media type.",
    "duration": "The clip's length in seconds.",
    "question": "The question's wording in the survey's first language.",
    "options": "The answer options' codes, in the order they were shown.",
    "answer_key": "The right option of a knowledge question.",
    "subject": "The subject of a knowledge question.",
    "distribution": "The weighted share of respondents who chose each option, aligned with "
    "`options`.",
    "distribution_low": "Lower end of each share's 95% interval.",
    "distribution_high": "Upper end of each share's 95% interval.",
    "n": "Respondents who answered the question.",
    "gold": "The item's gold label, where it has one.",
    "n_votes": "Number of votes on the item.",
    "entropy": "Entropy (nats) of the item's vote distribution.",
    "majority": "Majority label (more than half of the weight), missing when there is none.",
    "plurality": "Plurality label (the most weight), missing on a dropped tie.",
    "all_inclusive": "Every label that some vote gave (all-inclusive rule).",
    "all_inclusive_p": "Share of the weight of each category, aligned with the categories.",
    "soft": "Soft label: the weighted share of each category, aligned with the categories.",
    "dawid_skene": "Most probable label under the Dawid-Skene model.",
    "dawid_skene_p": "Dawid-Skene posterior of each category, aligned with the categories.",
    "votes": "The item's votes: voter pseudonym, label, weight and role.",
}


def _column_doc(name: str) -> str:
    if name in COLUMN_DOCS:
        return COLUMN_DOCS[name]
    if name.startswith("question_"):
        return f"The question's wording in `{name.removeprefix('question_')}`."
    if name.startswith("option_texts_"):
        lang = name.removeprefix("option_texts_")
        return f"The options' wording in `{lang}`, aligned with `options`."
    return "Item metadata from the source."


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_struct(t) and {f.name for f in t} == {"bytes", "path"}:
        return "audio"
    if pa.types.is_list(t):
        inner = t.value_type
        return "list of records" if pa.types.is_struct(inner) else f"list of {_type_name(inner)}"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "number"
    return str(t)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def dataset_card(
    version: Version,
    splits: dict[str, tuple[int, int]],
    features: list[dict[str, Any]],
    hf_schema: pa.Schema | None = None,
) -> str:
    dataset = version.dataset
    stats = version.stats
    meta = {
        "pretty_name": dataset.name,
        "tags": ["chorus", "perspectivist", "disagreement"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": name, "path": f"data/{name}.parquet"} for name in splits],
            }
        ],
        "dataset_info": {
            "features": features,
            "splits": [
                {"name": k, "num_bytes": b, "num_examples": n} for k, (n, b) in splits.items()
            ],
        },
    }
    params = version.parameters or {}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000).rstrip("\n")
    lines = ["---", front, "---", "", f"# {dataset.name}", ""]
    if dataset.description:
        lines += [dataset.description, ""]
    lines += [
        f"Content SHA-256: `{version.sha256}`. Built by Chorus ({version.code_version}).",
        "",
        "## Contents",
        "",
        "- `data/<split>.parquet`: one row per item with its content (text, audio, question and "
        "options), every rule's label side by side and the item's votes (`votes`: voter "
        "pseudonym, label, weight, role).",
        "- `votes.*`: the long vote table (one row per vote) as CSV, JSONL and Parquet.",
        "- `items.*`: one row per item, its content first and then every rule's columns, as "
        "CSV, JSONL and Parquet (lists are JSON text in the CSV).",
        "- `media/`: the audio files, named by the SHA-256 of their bytes.",
        "- `matrices/`: category co-occurrence (within and across raters) and penalty matrices.",
        "- `croissant.json`: Croissant metadata.",
        "",
        "## Methodology",
        "",
        "### Sampling design",
        "",
    ]
    for s in version.sources:
        if s.get("design"):
            lines.append(f"- {s['design']}")
        elif s["kind"] == "survey":
            lines.append(f"- Survey {s['survey_id']}: answers of a sampled panel.")
        elif s["kind"] == "annotation":
            lines.append(f"- Annotation project {s['project_id']}: items rated by annotators.")
        else:
            lines.append(
                f"- Uploaded vote table `{s['name']}` ({s['n_votes']} votes): collected "
                "outside Chorus; its sampling design is not recorded here."
            )
    lines += [
        "",
        "### Weighting",
        "",
        (
            f"Votes carry weights (total weight {_fmt(stats.get('total_weight'))}); weighted "
            "rules count each vote with its weight."
            if stats.get("weighted")
            else "All votes have weight 1."
        ),
        "",
        "### Rules",
        "",
        "| rule | items | kept | dropped | data loss |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in stats.get("summary", []):
        lines.append(
            f"| {row['rule']} | {row['items']} | {row['kept']} | {row['dropped']} | "
            f"{_fmt(row['data_loss'])} |"
        )
    lines += [
        "",
        f"Parameters: `{json.dumps(params, sort_keys=True)}`.",
        "",
        "### Tie policy",
        "",
        f"Plurality ties: `{params.get('tie_policy', 'drop')}`. Majority needs more than half "
        "of the weight; otherwise the item has no majority label.",
        "",
        "### Agreement",
        "",
    ]
    agreement = stats.get("agreement")
    if agreement and "alpha" in agreement:
        lines.append(
            f"Krippendorff's alpha (nominal) = {_fmt(agreement['alpha'])}, "
            f"{_fmt(agreement.get('confidence'), 2)} bootstrap interval "
            f"[{_fmt(agreement.get('ci_low'))}, {_fmt(agreement.get('ci_high'))}] over "
            f"{agreement.get('n_items')} items with two or more votes."
        )
    elif agreement and agreement.get("measure") == "per_label_alpha":
        lines.append(
            "Multi-label votes: Krippendorff's alpha (nominal) of each label as a "
            f"present/absent variable, over {agreement.get('n_items')} items with two or more "
            "raters:"
        )
        lines.append("")
        lines += ["| label | alpha | prevalence |", "| --- | ---: | ---: |"]
        for entry in agreement.get("per_label", []):
            lines.append(
                f"| {entry['label']} | {_fmt(entry['alpha'])} | {_fmt(entry['prevalence'])} |"
            )
    elif agreement:
        lines.append(f"Not computed: {agreement.get('error')}")
    else:
        lines.append("Not computed.")
    lines += ["", "### Votes per item", "", "| votes | items |", "| ---: | ---: |"]
    for k, v in stats.get("votes_per_item", {}).items():
        lines.append(f"| {k} | {v} |")
    split_cfg = version.split_config
    lines += [
        "",
        "### Splits",
        "",
        f"Seeded split (seed {split_cfg.get('seed')}), fractions "
        f"`{json.dumps(split_cfg.get('fractions'))}`, stratified by "
        f"`{split_cfg.get('stratify') or 'nothing'}`"
        + (f", grouped by `{split_cfg['group']}`" if split_cfg.get("group") else "")
        + ". A split without items has no data file.",
        "",
        "| split | items |",
        "| --- | ---: |",
        *[f"| {row['split']} | {row['items']} |" for row in version.stats.get("splits", [])],
        "",
        "Voter keys are pseudonyms: HMAC-SHA256 of the source's own pseudonym under this "
        "dataset's secret, so one person has unrelated keys in two datasets.",
        "",
    ]
    if hf_schema is not None:
        lines += ["## Columns", "", "| column | type | meaning |", "| --- | --- | --- |"]
        for field in hf_schema:
            lines.append(
                f"| `{field.name}` | {_type_name(field.type)} | {_column_doc(field.name)} |"
            )
        kinds = version.stats.get("item_kinds") or {}
        if kinds:
            lines += [
                "",
                "Items by kind: "
                + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
                + (
                    f"; {version.stats['items_without_content']} item(s) have no content."
                    if version.stats.get("items_without_content")
                    else "."
                ),
            ]
        lines.append("")
    return "\n".join(lines)


CROISSANT_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "key": "cr:key",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "sc": "https://schema.org/",
    "source": "cr:source",
}


def croissant(version: Version, files: dict[str, bytes], tables: dict[str, pa.Table]) -> bytes:
    def data_type(t: pa.DataType) -> str:
        if pa.types.is_integer(t):
            return "sc:Integer"
        if pa.types.is_floating(t):
            return "sc:Float"
        if pa.types.is_boolean(t):
            return "sc:Boolean"
        return "sc:Text"

    distribution = [
        {
            "@type": "cr:FileObject",
            "@id": name,
            "name": name,
            "contentUrl": name,
            "encodingFormat": {
                ".csv": "text/csv",
                ".jsonl": "application/jsonlines",
                ".parquet": "application/x-parquet",
                ".md": "text/markdown",
                ".wav": "audio/wav",
                ".mp3": "audio/mpeg",
                ".flac": "audio/flac",
                ".ogg": "audio/ogg",
            }.get(PurePosixPath(name).suffix, "application/octet-stream"),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        for name, content in sorted(files.items())
    ]
    record_sets = []
    for name, table in tables.items():
        fields = [
            {
                "@type": "cr:Field",
                "@id": f"{name}/{f.name}",
                "name": f.name,
                "description": _column_doc(f.name),
                "dataType": data_type(f.type.value_type if pa.types.is_list(f.type) else f.type),
                **({"repeated": True} if pa.types.is_list(f.type) else {}),
                "source": {
                    "fileObject": {"@id": f"{name}.parquet"},
                    "extract": {"column": f.name},
                },
            }
            for f in table.schema
        ]
        record_sets.append({"@type": "cr:RecordSet", "@id": name, "name": name, "field": fields})
    doc = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": version.dataset.name,
        "description": version.dataset.description or version.dataset.name,
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "version": f"sha256:{version.sha256[:16]}",
        "distribution": distribution,
        "recordSet": record_sets,
    }
    return (json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()
