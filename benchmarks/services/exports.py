"""Exports of a frozen version: every format in one zip, a Hugging Face folder, or one format.

Every export carries the items themselves (text, audio files, questions with their options)
beside every rule's labels and the votes, so a model can be run on it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from benchmarks import aggregation
from benchmarks.models import EXPORT_JOB_KIND, Version
from benchmarks.services.build import MEDIA_DIR
from benchmarks.services.card import croissant, dataset_card
from benchmarks.services.lm_eval import FOLDER as LM_EVAL_FOLDER
from benchmarks.services.lm_eval import NoTaskItems, lm_eval_files
from benchmarks.services.tables import ProgressFn, noop, parquet_bytes
from jobs.models import Job
from jobs.services import job_start
from sources.csv_escape import escape_table

ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# --- export ---------------------------------------------------------------------------------


def _flat_for_csv(table: pa.Table) -> pa.Table:
    """List and struct columns as JSON text, since CSV cells hold only scalars."""
    columns = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_list(col.type) or pa.types.is_struct(col.type):
            col = _json_values(col).cast(pa.string())
            col = pc.if_else(pc.equal(col, "null"), pa.scalar(None, pa.string()), col)
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _csv_bytes(table: pa.Table, *, formula_escape: bool = True) -> bytes:
    """The table as CSV. With ``formula_escape``, text cells starting with ``= + - @``, tab or
    CR get a leading ``'`` so spreadsheets do not run them (vectorised; numbers untouched)."""
    flat = _flat_for_csv(table)
    if formula_escape:
        flat = escape_table(flat)
    buf = io.BytesIO()
    pacsv.write_csv(flat, buf)
    return buf.getvalue()


_JSON_CONTROL = {chr(i): f"\\u{i:04x}" for i in range(32)} | {
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _json_strings(arr: pa.Array) -> pa.Array:
    text = arr.cast(pa.large_string())
    # One pass to see whether anything needs escaping; usually nothing does.
    if pc.any(pc.match_substring_regex(text, '[\\\\"\\x00-\\x1f]')).as_py():
        text = pc.replace_substring(text, "\\", "\\\\")
        text = pc.replace_substring(text, '"', '\\"')
        for ch, escaped in _JSON_CONTROL.items():
            text = pc.replace_substring(text, ch, escaped)
    return pc.binary_join_element_wise(_large('"'), text, _large('"'), _large(""))


def _json_values(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each value of a column as JSON text (``null`` for missing, NaN and infinities)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # Encode each distinct text once: keys and labels repeat a lot.
        arr = pc.dictionary_encode(arr)
        t = arr.type
    if pa.types.is_dictionary(t):
        out = _json_strings(arr.dictionary.cast(pa.string())).take(arr.indices)
    elif pa.types.is_boolean(t):
        out = pc.if_else(arr, _large("true"), _large("false"))
    elif pa.types.is_integer(t):
        out = arr.cast(pa.large_string())
    elif pa.types.is_floating(t):
        finite = pc.is_finite(arr)
        out = pc.if_else(finite, arr.cast(pa.large_string()), pa.scalar(None, pa.large_string()))
    else:
        out = pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False) for v in arr.to_pylist()],
            pa.large_string(),
        )
    return pc.fill_null(out, _large("null"))


def _jsonl_bytes(table: pa.Table) -> bytes:
    """JSON Lines, one object per row, built column by column in Arrow (no per-row Python)."""
    if table.num_rows == 0:
        return b""
    pieces: list[Any] = []
    for i, name in enumerate(table.column_names):
        key = json.dumps(name, ensure_ascii=False)
        pieces.append(_large(("{" if i == 0 else ",") + key + ":"))
        pieces.append(_json_values(table.column(name)))
    pieces.append(_large("}\n"))
    lines = pc.binary_join_element_wise(*pieces, _large(""))
    # The rows are contiguous in the array's data buffer: that buffer is the file.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset :]
    first, last = int(offsets[0]), int(offsets[len(lines)])
    return lines.buffers()[2][first:last].to_pybytes()


AUDIO_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def _audio_column(paths: pa.Array, media: dict[str, bytes]) -> pa.Array:
    """Hugging Face's ``Audio`` storage: the file's bytes and its path in the folder."""
    names = paths.to_pylist()
    data = [media.get(p) if p else None for p in names]
    mask = pa.array([p is None for p in names])
    return pa.StructArray.from_arrays(
        [pa.array(data, pa.binary()), pa.array(names, pa.string())],
        fields=list(AUDIO_TYPE),
        mask=mask,
    )


def _hf_split_table(
    items: pa.Table,
    votes: pa.Table,
    version: Version,
    contents: pa.Table | None = None,
    media: dict[str, bytes] | None = None,
) -> pa.Table:
    """The Hugging Face table: one row per item with its content, one column per rule, the
    votes nested. ``contents`` has the same items in the same order as ``items``."""
    cats = list(version.categories)
    n = items.num_rows
    cols: dict[str, pa.Array] = {"item": items.column("item").combine_chunks()}
    if contents is not None:
        for name in contents.column_names[1:]:
            col = contents.column(name).combine_chunks()
            if name == "audio":
                col = _audio_column(col, media or {})
            cols[name] = col
    for col in version.stats.get("item_columns", []):
        if col not in cols:
            cols[col] = items.column(col).combine_chunks()
    cols["n_votes"] = items.column("stats.n_votes").combine_chunks().cast(pa.int64())
    cols["entropy"] = items.column("stats.entropy").combine_chunks()

    def fixed(prefix: str) -> pa.Array:
        flat = np.column_stack(
            [items.column(f"{prefix}{c}").to_numpy(zero_copy_only=False) for c in cats]
        ).astype(np.float64)
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * len(cats))
        return pa.ListArray.from_arrays(offsets, pa.array(flat.ravel()))

    for rule in version.rules:
        if rule == "all_inclusive":
            mask = np.column_stack(
                [items.column(f"all_inclusive.y.{c}").to_numpy(zero_copy_only=False) for c in cats]
            ).astype(bool)
            offsets = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32)
            values = np.tile(np.array(cats, dtype=object), (n, 1))[mask]
            cols["all_inclusive"] = pa.ListArray.from_arrays(
                pa.array(offsets), pa.array(values, pa.string())
            )
            cols["all_inclusive_p"] = fixed("all_inclusive.p.")
        elif rule == "soft":
            cols["soft"] = fixed("soft.p.")
        elif rule == "dawid_skene":
            cols["dawid_skene"] = items.column("dawid_skene.label").combine_chunks()
            cols["dawid_skene_p"] = fixed("dawid_skene.p.")
        else:
            cols[rule] = items.column(f"{rule}.label").combine_chunks()
    # Votes are sorted by item like the items, so each item's votes are one contiguous run.
    positions = pc.index_in(
        votes.column("item").combine_chunks().cast(pa.string()),
        value_set=items.column("item").combine_chunks(),
    ).to_numpy(zero_copy_only=False)
    counts = np.bincount(positions, minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    nested = pa.StructArray.from_arrays(
        [votes.column(c).combine_chunks() for c in ("voter", "label", "weight", "role")],
        names=["voter", "label", "weight", "role"],
    )
    cols["votes"] = pa.ListArray.from_arrays(offsets, nested)
    return pa.table(cols)


def _hf_features(table: pa.Table) -> list[dict[str, Any]]:
    def dtype(t: pa.DataType) -> Any:
        if pa.types.is_string(t):
            return "string"
        if pa.types.is_int64(t):
            return "int64"
        if pa.types.is_floating(t):
            return "float64"
        if pa.types.is_boolean(t):
            return "bool"
        raise TypeError(t)

    out: list[dict[str, Any]] = []
    for field in table.schema:
        t = field.type
        if t == AUDIO_TYPE:
            out.append({"name": field.name, "dtype": "audio"})
        elif pa.types.is_list(t) and pa.types.is_struct(t.value_type):
            sub = [{"name": f.name, "dtype": dtype(f.type)} for f in t.value_type]
            out.append({"name": field.name, "list": sub})
        elif pa.types.is_list(t):
            out.append({"name": field.name, "list": dtype(t.value_type)})
        else:
            out.append({"name": field.name, "dtype": dtype(t)})
    return out


def _matrix_csv(categories: list[str], matrix: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["category", *categories])
    for name, row in zip(categories, matrix, strict=True):
        writer.writerow([name, *[repr(float(v)) if isinstance(v, float) else v for v in row]])
    return buf.getvalue().encode()


def _cooccurrence_files(version: Version, votes: pa.Table) -> dict[str, bytes]:
    """Co-occurrence (within and across raters) and penalty matrices of the frozen votes: as
    the build computed them, or (versions built before it did) from the votes."""
    cats = list(version.categories)
    stored = version.stats.get("matrices") or {}
    if "penalty" in stored:
        return {
            f"matrices/{name}.csv": _matrix_csv(cats, stored[key])
            for name, key in (
                ("cooccurrence_within", "within"),
                ("cooccurrence_across", "across"),
                ("penalty", "penalty"),
            )
        }
    params = version.parameters or {}
    columns = ["item", "voter", "label", "weight", "role"]
    enc = aggregation.encode_votes(votes.select(columns).to_pandas(), list(version.categories))
    cooc = aggregation.category_cooccurrence(
        enc,
        source=params.get("cooccurrence_source", "both"),
        normalization=params.get("penalty_normalization", "max"),
    )
    return {
        "matrices/cooccurrence_within.csv": _matrix_csv(cats, cooc.within.to_numpy().tolist()),
        "matrices/cooccurrence_across.csv": _matrix_csv(cats, cooc.across.to_numpy().tolist()),
        "matrices/penalty.csv": _matrix_csv(cats, cooc.penalty.to_numpy().tolist()),
    }


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip whose bytes depend only on the file names and contents."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buf.getvalue()


def _read(field: Any) -> bytes:
    with field.open("rb") as fh:
        data: bytes = fh.read()
    return data


def _version_media(contents: pa.Table | None) -> dict[str, bytes]:
    """The frozen audio files of a version, by their path in the export (``media/<sha>.<ext>``)."""
    if contents is None or "audio" not in contents.column_names:
        return {}
    media: dict[str, bytes] = {}
    for path in contents.column("audio").drop_null().unique().to_pylist():
        if path:
            with default_storage.open(f"{MEDIA_DIR}/{PurePosixPath(path).name}", "rb") as fh:
                media[path] = fh.read()
    return media


def item_export_table(items: pa.Table, contents: pa.Table | None) -> pa.Table:
    """The items as exported: their content first, then every rule's columns and the split."""
    if contents is None:
        return items
    keys_a = items.column("item")
    keys_b = contents.column("item")
    if not keys_a.equals(keys_b):
        raise ValueError("the content and item tables of a version list different items")
    names = contents.column_names + [
        c for c in items.column_names if c not in contents.column_names
    ]
    cols = [contents.column(c) if c in contents.column_names else items.column(c) for c in names]
    return pa.Table.from_arrays(cols, names=names)


def version_export_files(
    *,
    version: Version,
    progress: ProgressFn | None = None,
    only: str = "all",
    formula_escape: bool = True,
) -> dict[str, bytes]:
    """Every file of the export, by path. Depends only on the version's frozen content.

    ``only`` limits the files to one format (``csv``, ``jsonl``, ``parquet``: the item and
    vote tables with the media), to the Hugging Face folder (``hf``) or to the
    lm-evaluation-harness task folder (``lm-eval``, under ``lm_eval/``); ``all`` is the zip's.
    ``formula_escape`` off leaves the CSV cells that look like formulas as they are.
    """
    progress = progress or noop
    votes_raw = _read(version.votes_file)
    votes = pq.read_table(io.BytesIO(votes_raw))
    wide = pq.read_table(io.BytesIO(_read(version.items_file)))
    contents = (
        pq.read_table(io.BytesIO(_read(version.contents_file))) if version.contents_file else None
    )
    if only == "lm-eval":
        return lm_eval_files(version=version, items=wide, contents=contents)
    items = item_export_table(wide, contents)
    media = _version_media(contents)
    files: dict[str, bytes] = dict(media)
    if only in ("all", "parquet"):
        files["votes.parquet"] = votes_raw
        files["items.parquet"] = parquet_bytes(items)
    if only in ("all", "csv"):
        progress(10, gettext_noop("CSV"))
        files["votes.csv"] = _csv_bytes(votes, formula_escape=formula_escape)
        files["items.csv"] = _csv_bytes(items, formula_escape=formula_escape)
    if only in ("all", "jsonl"):
        progress(30, gettext_noop("JSONL"))
        files["votes.jsonl"] = _jsonl_bytes(votes)
        files["items.jsonl"] = _jsonl_bytes(items)
    if only not in ("all", "hf"):
        return files
    progress(55, gettext_noop("Hugging Face layout"))
    hf = _hf_split_table(wide, votes, version, contents, media)
    split_col = wide.column("split").to_numpy(zero_copy_only=False)
    splits: dict[str, tuple[int, int]] = {}
    names = list(version.split_config.get("fractions", {}))
    # The rows of each split in item order, gathered with one take and then sliced (filtering
    # the nested vote lists once per split cost a pass over the whole table each time).
    rows = [np.flatnonzero(split_col == name) for name in names]
    grouped = hf.take(pa.array(np.concatenate(rows) if rows else np.array([], dtype=np.int64)))
    start = 0
    for name, idx in zip(names, rows, strict=True):
        part = grouped.slice(start, len(idx))
        start += len(idx)
        if part.num_rows == 0:
            # A split without items has no data file: loaders refuse an empty Parquet file.
            continue
        splits[name] = (part.num_rows, part.nbytes)
        files[f"data/{name}.parquet"] = parquet_bytes(part)
    progress(75, gettext_noop("Matrices and metadata"))
    if only == "all":
        # Versions whose items have no text or question (votes only, audio) have no task.
        with contextlib.suppress(NoTaskItems):
            files.update(lm_eval_files(version=version, items=wide, contents=contents))
    for name, content in _cooccurrence_files(version, votes).items():
        files[name] = content
    files["README.md"] = dataset_card(version, splits, _hf_features(hf), hf.schema).encode()
    if only == "all":
        files["croissant.json"] = croissant(version, files, {"votes": votes, "items": items})
    progress(90, gettext_noop("Packing"))
    return files


EXPORT_FORMATS = ("zip", "hf", "csv", "jsonl", "parquet", "lm-eval")


def _slug(version: Version) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in version.dataset.name.lower()).strip("-")
    return f"{slug or 'dataset'}-v{version.number}"


def version_export_write(
    *,
    version: Version,
    fmt: str,
    out: Path,
    progress: ProgressFn | None = None,
    formula_escape: bool = True,
) -> list[Path]:
    """Write an export into the folder ``out``: the zip (``zip``), the Hugging Face folder
    (``hf``), the lm-evaluation-harness task folder (``lm-eval``: ``out`` is the folder to
    pass to ``--include_path``), or the item and vote tables of one format with the media.
    Returns the paths."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format: choose one of {', '.join(EXPORT_FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "zip":
        name, content = version_export(
            version=version, progress=progress, formula_escape=formula_escape
        )
        target = out / name
        target.write_bytes(content)
        return [target]
    files = version_export_files(
        version=version, progress=progress, only=fmt, formula_escape=formula_escape
    )
    if fmt == "lm-eval":
        # The folder itself is the one to pass to ``--include_path``.
        files = {name.removeprefix(f"{LM_EVAL_FOLDER}/"): data for name, data in files.items()}
    written = []
    for name, content in sorted(files.items()):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)
    return written


def version_export(
    *, version: Version, progress: ProgressFn | None = None, formula_escape: bool = True
) -> tuple[str, bytes]:
    """The export zip of a version: (file name, bytes). The same version gives the same bytes."""
    files = version_export_files(version=version, progress=progress, formula_escape=formula_escape)
    return f"{_slug(version)}.zip", zip_bytes(files)


def lm_eval_export(*, version: Version) -> tuple[str, bytes]:
    """The lm-evaluation-harness task folder of a version as a zip (the folder ``lm_eval/``
    inside): (file name, bytes). ``NoTaskItems`` when no item has a text or a question."""
    files = version_export_files(version=version, only="lm-eval")
    return f"{_slug(version)}-lm-eval.zip", zip_bytes(files)


# What the export job can make: every format in one zip, or the lm-evaluation-harness task.
JOB_EXPORT_FORMATS = ("all", "lm-eval")


def version_export_start(
    *, version: Version, user: User | None, raw: bool = False, fmt: str = "all"
) -> Job:
    """Queue the export zip; ``raw`` leaves CSV cells that look like formulas unescaped;
    ``fmt`` ``lm-eval`` makes the lm-evaluation-harness task folder instead of every format
    (refused, naming ``format``, when no item has a text or a question).

    ``BackgroundUnavailable`` when the broker is down (see ``job_start``; no job remains)."""
    from benchmarks.tasks import version_export_task

    if fmt not in JOB_EXPORT_FORMATS:
        raise ValidationError(
            {
                "format": [
                    _("Choose one of %(formats)s.") % {"formats": ", ".join(JOB_EXPORT_FORMATS)}
                ]
            }
        )
    stats = version.stats or {}
    kinds = stats.get("item_kinds") or {}
    # Items without content count as text items in the build's tally.
    askable = (
        kinds.get("question", 0) + kinds.get("text", 0) - stats.get("items_without_content", 0)
    )
    if fmt == "lm-eval" and (not version.contents_file or askable <= 0):
        raise ValidationError(
            {"format": [_("An lm-eval task needs text items or survey questions; this version "
                          "has none.")]}
        )  # fmt: skip

    return job_start(
        kind=EXPORT_JOB_KIND,
        task=version_export_task,
        user=user,
        study=version.dataset.study,
        params={
            "version_id": version.pk,
            "dataset_id": version.dataset_id,
            "raw": raw,
            "format": fmt,
        },
    )
