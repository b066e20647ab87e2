"""The sources of a dataset: uploaded tables, linked surveys and annotation projects.

Surveys and projects are checked and read through :mod:`sources.registry`; this app keeps only
their ids. An uploaded vote table (CSV, JSONL or Parquet) is stored here, with an optional
items file that gives each item's content (see :mod:`sources.schema`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from benchmarks import aggregation
from benchmarks.models import Dataset, DatasetSource, SourceKind
from benchmarks.services.tables import BuildError, check_weights, parquet_bytes, plain_table
from config import inputs
from sources import registry, schema
from sources.registry import SourceRef, SourceUnavailable

UPLOAD_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
# An items file names metadata columns with this prefix, so that a misspelt content column
# ("txt", "questoin") is refused instead of silently becoming metadata.
META_PREFIX = "meta."


def source_ref(source: DatasetSource) -> SourceRef:
    """How the registry names this source: its kind, study, object and options."""
    study_id = source.dataset.study_id
    if source.kind == SourceKind.SURVEY:
        return SourceRef(
            kind="survey",
            study_id=study_id,
            object_id=source.survey_id,
            options={"questions": list(source.question_ids or [])},
        )
    if source.kind == SourceKind.ANNOTATION:
        return SourceRef(
            kind="annotation",
            study_id=study_id,
            object_id=source.project_id,
            options={"item_filter": dict(source.item_filter or {}), "roles": list(source.roles)},
        )
    return SourceRef(kind="upload", study_id=study_id, object_id=source.pk)


def read_vote_file(raw: bytes, fmt: str) -> pd.DataFrame:
    """Parse an uploaded vote table; keys and metadata are read as text, weights as numbers."""
    df = _read_table(raw, fmt, "upload")
    for col in df.columns:
        if col == "weight":
            numbers = pd.to_numeric(df[col], errors="coerce")
            bad = numbers.isna() & df[col].notna()
            if bad.any():
                example = df[col][bad].iloc[0]
                raise ValidationError(
                    {"upload": [_("weight: %(example)r is not a number.") % {"example": example}]}
                )
            df[col] = numbers.astype("float64")
        else:
            df[col] = df[col].astype("string")
    return df


def validate_vote_table(df: pd.DataFrame, categories: Sequence[str]) -> None:
    """Raise ``BuildError`` naming the problem (column, category, weight, role, emptiness)."""
    check_weights(df)
    try:
        aggregation.encode_votes(df, list(categories))
    except ValueError as exc:
        raise BuildError(str(exc)) from exc


def _frozen_votes(df: pd.DataFrame, meta_cols: list[str]) -> bytes:
    """The vote table as the Parquet file a build reads: the contract's columns, then metadata."""
    n = len(df)
    weight = df["weight"] if "weight" in df.columns else pd.Series(np.ones(n), index=df.index)
    role = df["role"].fillna("primary") if "role" in df.columns else "primary"
    frame = pd.DataFrame(
        {
            "item": df["item"],
            "voter": df["voter"],
            "label": df["label"],
            "weight": weight.to_numpy(dtype=np.float64),
            "role": role,
        },
        index=df.index,
    )
    for col in meta_cols:
        frame[col] = df[col]
    for col in frame.columns:
        if col != "weight":
            frame[col] = frame[col].astype(schema.TEXT)
    return parquet_bytes(plain_table(frame))


def _read_table(raw: bytes, fmt: str, field: str) -> pd.DataFrame:
    """An uploaded CSV, JSONL or Parquet file with every column read as it is written."""
    try:
        if fmt == "csv":
            # The header through our CSV reader: its field limit is a setting (the csv
            # module's own, 131,072 characters, raised a bare csv.Error).
            header, _rows = inputs.csv_rows(raw.decode("utf-8-sig").split("\n", 1)[0], field=field)
            table = pacsv.read_csv(
                io.BytesIO(raw),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            df = table.to_pandas()
        elif fmt == "jsonl":
            df = pd.read_json(io.BytesIO(raw), lines=True, dtype=False)
        else:
            df = pq.read_table(io.BytesIO(raw)).to_pandas()
    except (pa.ArrowInvalid, ValueError, UnicodeDecodeError, OSError) as exc:
        raise ValidationError(
            {
                field: [
                    _("Could not read the %(format)s file: %(exc)s")
                    % {"format": fmt.upper(), "exc": exc}
                ]
            }
        ) from exc
    long = [str(c) for c in df.columns if len(str(c)) > KEY_MAX]
    if long:
        raise ValidationError(
            {
                field: [
                    _("A column name of %(n)s characters; at most %(key_max)s.")
                    % {"n": f"{len(long[0]):,}", "key_max": KEY_MAX}
                ]
            }
        )
    return df


# Item, voter and label keys are held to 200 characters, like every key column of a source;
# column names become metadata keys and are held to the same length.
KEY_MAX = 200


def _check_key_lengths(df: pd.DataFrame, fmt: str) -> None:
    """Refuse keys longer than their column, naming the column, the count and the first row
    (counted as a spreadsheet shows a CSV: the header is row 1)."""
    problems = []
    for col in ("item", "voter", "label", "role"):
        if col not in df.columns:
            continue
        limit = 16 if col == "role" else KEY_MAX
        too_long = (df[col].astype("string").str.len() > limit).fillna(False).to_numpy()
        if too_long.any():
            first = int(too_long.argmax()) + (2 if fmt == "csv" else 1)
            problems.append(
                _("%(column)s: %(n)s value(s) longer than %(limit)s characters (row %(row)s).")
                % {"column": col, "n": int(too_long.sum()), "limit": limit, "row": first}
            )
    if problems:
        raise ValidationError({"upload": problems})


def _json_cell(column: str, value: Any) -> Any:
    """A CSV cell of a list column holds JSON (``["1", "2"]``) or codes joined by ``|``; an
    empty cell is no list."""
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, str) and value.startswith("["):
        try:
            return inputs.json_loads(value)  # refuses deep nesting as a ValueError
        except ValueError:
            raise ValidationError(
                {
                    "items": [
                        _("%(column)s: %(value)r is not a JSON list.")
                        % {"column": column, "value": f"{value[:40]}"}
                    ]
                }
            ) from None
    return value


def read_item_file(raw: bytes, fmt: str, *, vote_items: pd.Series) -> pd.DataFrame:
    """Parse an uploaded items file into the item table of :mod:`sources.schema`.

    Its columns are content columns (``item``, ``kind``, ``text``, ``question``,
    ``question_<lang>``, ``options``, ``option_texts_<lang>``, ``answer_key``, ``subject``,
    ``gold``) and metadata columns written ``meta.<name>``; any other column is refused, and
    so is a file that misses items of the vote table or names items that have no vote.
    """
    df = _read_table(raw, fmt, "items")
    unknown = [
        c
        for c in df.columns
        if not schema.is_content_column(str(c)) and not str(c).startswith(META_PREFIX)
    ]
    if unknown:
        raise ValidationError(
            {
                "items": [
                    _(
                        "Unknown column %(column)r in the items file: use the content columns "
                        "%(columns)s, question_<lang>, option_texts_<lang>, or name metadata "
                        "%(prefix)s<name>."
                    )
                    % {
                        "column": unknown[0],
                        "columns": ", ".join(schema.ITEM_COLUMNS),
                        "prefix": META_PREFIX,
                    }
                ]
            }
        )
    if "audio" in df.columns and df["audio"].notna().any():
        raise ValidationError(
            {
                "items": [
                    _(
                        "audio: uploaded items carry text or questions; audio comes through "
                        "an annotation project."
                    )
                ]
            }
        )
    for col in df.columns:
        if col in schema.LIST_COLUMNS + schema.NUMBER_LIST_COLUMNS or str(col).startswith(
            "option_texts_"
        ):
            df[col] = [_json_cell(str(col), v) for v in df[col]]
    df = df.rename(
        columns={c: c[len(META_PREFIX) :] for c in df.columns if c.startswith(META_PREFIX)}
    )
    try:
        items = schema.item_frame(df)
    except schema.SchemaError as exc:
        raise ValidationError({"items": [str(exc)]}) from exc
    keys = pd.Index(items["item"].astype(str))
    wanted = pd.Index(vote_items.astype(str).unique())
    missing = wanted.difference(keys)
    if len(missing):
        message = _("item: the items file misses %(n)s item(s) of the vote table (%(keys)s).")
        raise ValidationError({"items": [message % _some_keys(missing)]})
    extra = keys.difference(wanted)
    if len(extra):
        message = _("item: %(n)s item(s) of the items file have no vote (%(keys)s).")
        raise ValidationError({"items": [message % _some_keys(extra)]})
    return items


def _some_keys(keys: pd.Index) -> dict[str, Any]:
    """How many keys, and the first five of them, for a message."""
    shown = ", ".join(repr(k) for k in keys[:5])
    return {"n": len(keys), "keys": shown + (", ..." if len(keys) > 5 else "")}


def _format_of(file_name: str, field: str) -> str:
    fmt = UPLOAD_FORMATS.get(PurePosixPath(file_name.lower()).suffix)
    if fmt is None:
        if field == "upload":
            message = _("Upload a .csv, .jsonl or .parquet vote table.")
        else:
            message = _("Upload a .csv, .jsonl or .parquet items file.")
        raise ValidationError({field: [message]})
    return fmt


@transaction.atomic
def source_upload_create(
    *,
    dataset: Dataset,
    file_name: str,
    content: bytes,
    name: str = "",
    items_name: str = "",
    items_content: bytes | None = None,
) -> DatasetSource:
    """Add an uploaded vote table (CSV, JSONL or Parquet) to a dataset, with its items.

    The vote table is checked against the dataset's categories and the items file (when
    given) against the vote table first; on any problem a ``ValidationError`` names it and
    nothing is stored (no source, no votes, no file).
    """
    fmt = _format_of(file_name, "upload")
    df = read_vote_file(content, fmt)
    _check_key_lengths(df, fmt)
    try:
        validate_vote_table(df, dataset.categories)
    except BuildError as exc:
        raise ValidationError({"upload": [str(exc)]}) from exc
    items = None
    if items_content is not None:
        items = read_item_file(
            items_content, _format_of(items_name or "items.csv", "items"), vote_items=df["item"]
        )
    meta_cols = sorted(c for c in df.columns if c not in schema.VOTE_COLUMNS)
    source = DatasetSource.objects.create(
        dataset=dataset,
        kind=SourceKind.UPLOAD,
        name=name or file_name[:200],
        upload_format=fmt,
        columns=meta_cols,
        n_votes=len(df),
        n_items=0 if items is None else len(items),
    )
    stored = []
    try:
        source.upload.save(PurePosixPath(file_name).name, ContentFile(content), save=False)
        stored.append(source.upload)
        if items is not None:
            frozen = parquet_bytes(plain_table(items))
            source.items_file.save(
                f"source-{source.pk}-items.parquet", ContentFile(frozen), save=False
            )
            stored.append(source.items_file)
        source.votes_file.save(
            f"source-{source.pk}-votes.parquet",
            ContentFile(_frozen_votes(df, meta_cols)),
            save=False,
        )
        stored.append(source.votes_file)
        source.save(update_fields=["upload", "votes_file", "items_file"])
    except Exception:
        for f in stored:
            if f.name:  # a saved file has its name
                f.storage.delete(f.name)
        raise
    return source


def _link(dataset: Dataset, ref: SourceRef, field: str) -> None:
    try:
        registry.get(ref.kind).check(ref=ref)
    except SourceUnavailable as exc:
        raise ValidationError({field: [str(exc)]}) from exc


@transaction.atomic
def source_survey_create(
    *, dataset: Dataset, survey_id: int, question_ids: Sequence[Any] = (), name: str = ""
) -> DatasetSource:
    """Add a survey of the dataset's study (optionally only some of its questions)."""
    ref = SourceRef(kind="survey", study_id=dataset.study_id, object_id=survey_id, options={})
    _link(dataset, ref, "survey_id")
    return DatasetSource.objects.create(
        dataset=dataset,
        kind=SourceKind.SURVEY,
        survey_id=survey_id,
        question_ids=list(question_ids),
        name=name,
    )


@transaction.atomic
def source_annotation_create(
    *,
    dataset: Dataset,
    project_id: int,
    item_filter: dict[str, Any] | None = None,
    roles: Sequence[str] = (),
    name: str = "",
) -> DatasetSource:
    """Add an annotation project of the dataset's study, with item and role filters."""
    ref = SourceRef(kind="annotation", study_id=dataset.study_id, object_id=project_id)
    _link(dataset, ref, "project_id")
    return DatasetSource.objects.create(
        dataset=dataset,
        kind=SourceKind.ANNOTATION,
        project_id=project_id,
        item_filter=item_filter or {},
        roles=list(roles),
        name=name,
    )
