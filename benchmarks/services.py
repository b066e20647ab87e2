"""Writes: datasets, sources, version builds, diffs and exports.

A build reads every source of a dataset into one vote table, validates it, aggregates it by
every configured rule (``benchmarks.aggregation``), splits the items (``benchmarks.splitting``),
replaces voter keys by a keyed hash, and freezes the result as two Parquet files and one
:class:`~benchmarks.models.Version` row. Rows and columns are put in a canonical order first, so
the same data always gives the same files and the same SHA-256; a version is never updated.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import importlib.metadata
import io
import json
import math
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Study, User
from benchmarks import aggregation, splitting
from benchmarks.models import (
    BUILD_JOB_KIND,
    EXPORT_JOB_KIND,
    Dataset,
    DatasetSource,
    SourceKind,
    UploadedVote,
    Version,
)
from benchmarks.selectors import BASE_COLUMNS, SourceUnavailable, source_vote_table
from jobs.models import Job
from jobs.services import job_create

ProgressFn = Callable[[int, str], None]

UPLOAD_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
# Aggregation options a dataset may set, with their types.
PARAMETERS: dict[str, type | tuple[type, ...]] = {
    "tie_policy": str,
    "seed": int,
    "secondary_weight": (int, float),
    "all_inclusive_mode": str,
    "epsilon": (int, float),
    "ds_max_iter": int,
    "cooccurrence_source": str,
    "penalty_normalization": str,
    "agreement_boot": int,
}
STRATIFY_CHOICES = ("", "majority", "plurality", "all_inclusive", "dawid_skene")
PSEUDONYM_HEX = 32
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class BuildError(ValueError):
    """Bad input for a build; the message names the column or setting at fault."""


def _noop(percent: int, message: str = "") -> None:
    return None


@functools.cache
def code_version() -> str:
    """``git describe`` of the working tree, else the installed package version."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--tags", "--dirty"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0 and out.stdout.strip():
            return f"git {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"chorus {importlib.metadata.version('chorus')}"
    except importlib.metadata.PackageNotFoundError:
        return "chorus unknown"


# --- datasets -------------------------------------------------------------------------------


def _check_dataset_config(
    *,
    categories: Sequence[str],
    rules: Sequence[str],
    parameters: dict[str, Any],
    split_fractions: dict[str, float],
    split_stratify: str,
) -> None:
    errors: dict[str, list[str]] = {}
    cats = list(categories)
    if not cats:
        errors["categories"] = ["Give at least one category."]
    elif any(not isinstance(c, str) or not c.strip() for c in cats):
        errors["categories"] = ["Every category must be a non-empty text."]
    elif len(set(cats)) != len(cats):
        errors["categories"] = ["Categories must be distinct."]
    unknown = [r for r in rules if r not in aggregation.RULES]
    if not rules:
        errors["rules"] = ["Choose at least one rule."]
    elif unknown:
        errors["rules"] = [f"Unknown rule {unknown[0]!r}; choose from {list(aggregation.RULES)}."]
    for key, value in parameters.items():
        kind = PARAMETERS.get(key)
        if kind is None:
            errors.setdefault("parameters", []).append(f"Unknown parameter {key!r}.")
        elif not isinstance(value, kind) or isinstance(value, bool):
            errors.setdefault("parameters", []).append(f"{key}: wrong type.")
    if parameters.get("tie_policy", "drop") not in aggregation.TIE_POLICIES:
        errors.setdefault("parameters", []).append(
            f"tie_policy: choose one of {list(aggregation.TIE_POLICIES)}."
        )
    try:
        values = [float(v) for v in split_fractions.values()]
        if not split_fractions or any(v < 0 for v in values) or abs(sum(values) - 1) > 1e-9:
            raise ValueError
    except (TypeError, ValueError, AttributeError):
        errors["split_fractions"] = ["Give split fractions (>= 0) that sum to 1."]
    if split_stratify not in STRATIFY_CHOICES:
        errors["split_stratify"] = [f"Choose one of {list(STRATIFY_CHOICES)}."]
    elif split_stratify and split_stratify not in rules:
        errors["split_stratify"] = [f"The rule {split_stratify!r} is not among the rules."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def dataset_create(
    *,
    study: Study,
    user: User | None,
    name: str,
    categories: Sequence[str],
    description: str = "",
    rules: Sequence[str] | None = None,
    parameters: dict[str, Any] | None = None,
    split_fractions: dict[str, float] | None = None,
    split_seed: int = 0,
    split_stratify: str = "plurality",
    split_group: str = "",
) -> Dataset:
    """Create a dataset; raises ``ValidationError`` naming the bad field."""
    rules = list(rules) if rules is not None else list(aggregation.RULES)
    parameters = dict(parameters or {"tie_policy": "drop", "seed": 0})
    split_fractions = dict(split_fractions or splitting.DEFAULT_FRACTIONS)
    _check_dataset_config(
        categories=categories,
        rules=rules,
        parameters=parameters,
        split_fractions=split_fractions,
        split_stratify=split_stratify,
    )
    if Dataset.objects.filter(study=study, name=name).exists():
        raise ValidationError({"name": ["This study already has a dataset with this name."]})
    return Dataset.objects.create(
        study=study,
        name=name,
        description=description,
        categories=list(categories),
        rules=[r for r in aggregation.RULES if r in rules],
        parameters=parameters,
        split_fractions=split_fractions,
        split_seed=split_seed,
        split_stratify=split_stratify,
        split_group=split_group,
        created_by=user,
    )


# --- sources --------------------------------------------------------------------------------


def read_vote_file(raw: bytes, fmt: str) -> pd.DataFrame:
    """Parse an uploaded vote table; keys and metadata are read as text, weights as numbers."""
    try:
        if fmt == "csv":
            header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig").split("\n", 1)[0])), [])
            types = {c: pa.string() for c in header if c != "weight"}
            table = pacsv.read_csv(
                io.BytesIO(raw),
                convert_options=pacsv.ConvertOptions(
                    column_types=types,
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
            {"upload": [f"Could not read the {fmt.upper()} file: {exc}"]}
        ) from exc
    for col in df.columns:
        if col == "weight":
            numbers = pd.to_numeric(df[col], errors="coerce")
            bad = numbers.isna() & df[col].notna()
            if bad.any():
                example = df[col][bad].iloc[0]
                raise ValidationError({"upload": [f"weight: {example!r} is not a number."]})
            df[col] = numbers.astype("float64")
        else:
            df[col] = df[col].astype("string")
    return df


def _check_weights(df: pd.DataFrame) -> None:
    if "weight" not in df.columns or not len(df):
        return
    weight = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=np.float64)
    negative = weight < 0
    if negative.any():
        raise BuildError(
            f"weight: negative weight {float(weight[negative].min())!r} "
            f"({int(negative.sum())} row(s)); weights must be >= 0"
        )


def validate_vote_table(df: pd.DataFrame, categories: Sequence[str]) -> None:
    """Raise ``BuildError`` naming the problem (column, category, weight, role, emptiness)."""
    _check_weights(df)
    try:
        aggregation.encode_votes(df, list(categories))
    except ValueError as exc:
        raise BuildError(str(exc)) from exc


def _store_votes(source: DatasetSource, df: pd.DataFrame, meta_cols: list[str]) -> None:
    n = len(df)
    weight = df["weight"] if "weight" in df.columns else pd.Series(np.ones(n))
    role = df["role"].fillna("primary") if "role" in df.columns else pd.Series(["primary"] * n)
    meta: list[str | None]
    if meta_cols:
        meta = df[meta_cols].to_json(orient="records", lines=True, force_ascii=False).splitlines()
    else:
        meta = [None] * n
    if connection.vendor == "postgresql":
        table = pa.table(
            {
                "source_id": pa.array(np.full(n, source.pk, dtype=np.int64)),
                "item": pa.array(df["item"].astype(str).tolist(), pa.string()),
                "voter": pa.array(df["voter"].astype(str).tolist(), pa.string()),
                "label": pa.array(df["label"].astype(str).tolist(), pa.string()),
                "weight": pa.array(weight.to_numpy(dtype=np.float64)),
                "role": pa.array(role.astype(str).tolist(), pa.string()),
                "meta": pa.array(meta, pa.string()),
            }
        )
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
        sql = (
            "COPY benchmarks_uploadedvote (source_id, item, voter, label, weight, role, meta) "
            "FROM STDIN (FORMAT csv)"
        )
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(buf.getvalue())
        return
    rows = zip(
        df["item"].astype(str),
        df["voter"].astype(str),
        df["label"].astype(str),
        weight.astype(float),
        role.astype(str),
        meta,
        strict=True,
    )
    UploadedVote.objects.bulk_create(
        (
            UploadedVote(
                source=source,
                item=i,
                voter=v,
                label=lab,
                weight=w,
                role=r,
                meta=json.loads(m) if m else None,
            )
            for i, v, lab, w, r, m in rows
        ),
        batch_size=2000,
    )


@transaction.atomic
def source_upload_create(
    *, dataset: Dataset, file_name: str, content: bytes, name: str = ""
) -> DatasetSource:
    """Add an uploaded vote table (CSV, JSONL or Parquet) to a dataset.

    The table is checked against the dataset's categories first; on any problem a
    ``ValidationError`` names it and nothing is stored (no source, no votes, no file).
    """
    fmt = UPLOAD_FORMATS.get(PurePosixPath(file_name.lower()).suffix)
    if fmt is None:
        raise ValidationError({"upload": ["Upload a .csv, .jsonl or .parquet vote table."]})
    df = read_vote_file(content, fmt)
    try:
        validate_vote_table(df, dataset.categories)
    except BuildError as exc:
        raise ValidationError({"upload": [str(exc)]}) from exc
    meta_cols = sorted(c for c in df.columns if c not in BASE_COLUMNS)
    source = DatasetSource.objects.create(
        dataset=dataset,
        kind=SourceKind.UPLOAD,
        name=name or file_name,
        upload_format=fmt,
        columns=meta_cols,
        n_votes=len(df),
    )
    try:
        source.upload.save(PurePosixPath(file_name).name, ContentFile(content), save=True)
        _store_votes(source, df, meta_cols)
    except Exception:
        if source.upload:
            source.upload.delete(save=False)
        raise
    return source


@transaction.atomic
def source_survey_create(
    *, dataset: Dataset, survey_id: int, question_ids: Sequence[Any] = (), name: str = ""
) -> DatasetSource:
    """Add a survey of the dataset's study (optionally only some of its questions)."""
    from surveys.models import Survey

    if not Survey.objects.filter(pk=survey_id, study_id=dataset.study_id).exists():
        raise ValidationError({"survey_id": ["No such survey in this study."]})
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
    from annotation.models import Project

    if not Project.objects.filter(pk=project_id, study_id=dataset.study_id).exists():
        raise ValidationError({"project_id": ["No such annotation project in this study."]})
    return DatasetSource.objects.create(
        dataset=dataset,
        kind=SourceKind.ANNOTATION,
        project_id=project_id,
        item_filter=item_filter or {},
        roles=list(roles),
        name=name,
    )


# --- building a version ---------------------------------------------------------------------


def pseudonymise(keys: Sequence[Any], *, secret: bytes) -> np.ndarray:
    """HMAC-SHA256 of each key with the dataset's secret, as hex (128 bits)."""
    return np.array(
        [
            hmac.new(secret, str(k).encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]
            for k in keys
        ],
        dtype=object,
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _arrow_strings(values: Any) -> pa.Array:
    """A pandas column as one Arrow string array (zero-copy for Arrow-backed strings)."""
    arr = pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _plain_table(df: pd.DataFrame) -> pa.Table:
    """Arrow table without pandas metadata and with dictionary columns decoded."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names)


def parquet_bytes(table: pa.Table) -> bytes:
    """Deterministic Parquet: fixed writer options, no pandas metadata, no statistics."""
    buf = io.BytesIO()
    # Dictionary pages only for text: trying them on float columns costs time and saves nothing.
    text = [
        f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)
    ]
    pq.write_table(
        table.replace_schema_metadata(None),
        buf,
        compression="snappy",
        row_group_size=1 << 20,
        store_schema=False,
        use_dictionary=text,
        write_statistics=False,
    )
    return buf.getvalue()


def _sorted_codes(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Integer codes numbering the distinct values in sorted order, and those values."""
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(dictionary), dtype=np.int64)
    rank[order] = np.arange(len(dictionary))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    return codes, dictionary.take(pa.array(order))


def _load_votes(dataset: Dataset) -> pd.DataFrame:
    sources = list(dataset.sources.all())
    if not sources:
        raise BuildError("sources: the dataset has no sources; add a vote table first")
    frames = []
    for source in sources:
        try:
            frames.append(source_vote_table(source=source))
        except SourceUnavailable as exc:
            raise BuildError(str(exc)) from exc
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    missing = [c for c in ("item", "voter", "label") if c not in df.columns]
    if missing:
        raise BuildError(f"votes: missing column(s) {', '.join(repr(c) for c in missing)}")
    if len(df) == 0:
        raise BuildError("votes: the vote table is empty")
    for col in ("item", "voter", "label"):
        n_missing = int(df[col].isna().sum())
        if n_missing:
            raise BuildError(f"{col}: {n_missing} row(s) have no value")
    return df


def _label_sets(table: pd.DataFrame, prefix: str, categories: list[str]) -> pd.Series:
    """Multi-hot columns ``<prefix><c>`` as labels joined by ``|`` (missing when empty)."""
    cols = [f"{prefix}{c}" for c in categories]
    mask = table[cols].to_numpy(dtype=bool)
    keys = mask @ (1 << np.arange(len(categories), dtype=np.int64))
    codes, uniques = pd.factorize(keys)
    names = [
        "|".join(c for j, c in enumerate(categories) if (int(u) >> j) & 1) or None for u in uniques
    ]
    return pd.Series(np.array(names, dtype=object)[codes], index=table.index, dtype="string")


def rule_labels(items: pd.DataFrame, rules: Sequence[str], categories: list[str]) -> pd.DataFrame:
    """One label column per rule (all-inclusive as its label set), for display and diffs."""
    out = {}
    for rule in rules:
        if rule == "all_inclusive":
            out[rule] = _label_sets(items, "all_inclusive.y.", categories)
        elif rule == "soft":
            p = items[[f"soft.p.{c}" for c in categories]].to_numpy(dtype=float)
            best = np.nan_to_num(p, nan=-1).argmax(axis=1)
            labels = np.array(categories, dtype=object)[best]
            labels[np.isnan(p).all(axis=1)] = None
            out[rule] = pd.Series(labels, index=items.index, dtype="string")
        else:
            out[rule] = items[f"{rule}.label"].astype("string")
    return pd.DataFrame(out, index=items.index)


def _distribution(items: pd.DataFrame, rule: str, categories: list[str]) -> dict[str, float]:
    if rule == "all_inclusive":
        return {c: int(items[f"all_inclusive.y.{c}"].sum()) for c in categories}
    if rule == "soft":
        return {c: round(float(items[f"soft.p.{c}"].sum()), 6) for c in categories}
    counts = items[f"{rule}.label"].value_counts()
    return {c: int(counts.get(c, 0)) for c in categories}


def _agreement(
    votes: pd.DataFrame, boot: int, seed: int, categories: Sequence[str]
) -> dict[str, Any] | None:
    """Agreement for the dataset card: nominal alpha, or per-label alpha for multi-label votes.

    A rater who chose several primary labels for one item (a multi-label schema) has no single
    value for alpha; each label is then measured as its own present/absent variable.
    ``votes`` carries integer codes; a label code is its index in ``categories``.
    """
    try:
        from annotation import agreement
    except ImportError:
        return None
    primary = votes[votes["role"] == "primary"] if "role" in votes.columns else votes
    if primary.duplicated(["item", "voter"]).any():
        table = agreement.per_label_alpha(votes)
        return {
            "measure": "per_label_alpha",
            "n_items": int(table["n_items"].iloc[0]) if len(table) else 0,
            "per_label": [
                {
                    "label": categories[int(row.label)],
                    "alpha": None if pd.isna(row.alpha) else round(float(row.alpha), 6),
                    "prevalence": None
                    if pd.isna(row.prevalence)
                    else round(float(row.prevalence), 6),
                }
                for row in table.sort_values("label").itertuples()
            ],
        }
    try:
        result = agreement.krippendorff_alpha_bootstrap(
            votes,
            level="nominal",
            rng=np.random.default_rng(seed) if boot else None,
            n_boot=boot,
        )
    except ValueError as exc:
        return {"error": str(exc)}
    data = result.as_dict()
    data["measure"] = "krippendorff_alpha"
    return data


def _build_tables(dataset: Dataset, progress: ProgressFn) -> dict[str, Any]:
    categories = list(dataset.categories)
    params = dict(dataset.parameters or {})
    agreement_boot = int(params.pop("agreement_boot", 200))
    rules = list(dataset.rules)

    progress(5, "Reading the sources")
    votes = _load_votes(dataset)
    progress(25, "Validating and aggregating")

    item_arr = _arrow_strings(votes["item"])
    item_codes, item_keys = _sorted_codes(item_arr)
    voter_codes, voter_keys = _sorted_codes(_arrow_strings(votes["voter"]))
    hashed = pseudonymise(voter_keys.to_pylist(), secret=bytes(dataset.pseudonym_key))
    # Voters are numbered in the order of their pseudonyms, so the frozen row order does not
    # reveal the order of the original keys.
    voter_order = np.argsort(hashed, kind="stable")
    voter_rank = np.empty(len(hashed), dtype=np.int64)
    voter_rank[voter_order] = np.arange(len(hashed))
    voter_sorted = hashed[voter_order]
    vcodes = voter_rank[voter_codes]

    label_arr = _arrow_strings(votes["label"])
    found = pc.index_in(label_arr, value_set=pa.array(categories, pa.string()))
    role_arr = _arrow_strings(votes["role"].fillna("primary"))
    all_primary = bool(pc.all(pc.equal(role_arr, "primary")).as_py())
    try:
        _check_weights(votes)
        weight = votes["weight"].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BuildError(f"weight: values must be numbers ({exc})") from exc
    frame = pd.DataFrame({"item": item_codes, "voter": vcodes, "weight": weight})
    label_codes = np.zeros(0, dtype=np.int64)
    if found.null_count:
        # Let the kernel name the unknown labels.
        frame["label"] = votes["label"].array
    else:
        label_codes = found.to_numpy(zero_copy_only=False).astype(np.int64)
        frame["label"] = pd.Categorical.from_codes(label_codes, categories=categories)
    if not all_primary:
        frame["role"] = votes["role"].fillna("primary").array
    options = {k: v for k, v in params.items() if k in PARAMETERS}
    options.setdefault("ds_max_iter", 50)
    try:
        result = aggregation.aggregate(frame, categories, rules=rules, **options)
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    progress(55, "Splitting")
    # Agreement needs only the codes: it runs in a second thread while the split is made and
    # the tables are written (numpy and Arrow release the GIL for most of that work).
    agreement_votes = pd.DataFrame({"item": item_codes, "voter": vcodes, "label": label_codes})
    if not all_primary:
        agreement_votes["role"] = role_arr.to_pandas()
    pool = ThreadPoolExecutor(max_workers=1)
    agreement = pool.submit(
        _agreement, agreement_votes, agreement_boot, int(dataset.split_seed), categories
    )
    pool.shutdown(wait=False)

    secondary = (
        np.zeros(len(frame), dtype=bool)
        if all_primary
        else pc.equal(role_arr, "secondary").to_numpy(zero_copy_only=False)
    )
    n_cat = len(categories)
    key = ((item_codes * (len(voter_keys) + 1) + vcodes) * 2 + secondary) * n_cat + label_codes
    order = (
        np.lexsort((weight, key)) if not np.all(weight == 1.0) else np.argsort(key, kind="stable")
    )

    meta_cols = sorted(c for c in votes.columns if c not in BASE_COLUMNS)
    items = result.table.copy()
    items.index = pd.Index(item_keys.to_pandas(types_mapper=pd.ArrowDtype), name="item").astype(
        "string"
    )
    sorted_items = item_codes[order]
    item_level: list[str] = []
    for col in meta_cols:
        values = votes[col].to_numpy(dtype=object, na_value=None)[order]
        per = pd.Series(values).groupby(sorted_items).agg(["first", "nunique"])
        if int(per["nunique"].max()) <= 1:
            item_level.append(col)
            items.insert(len(item_level) - 1, col, per["first"].astype("string").to_numpy())
    group = dataset.split_group or None
    if group and group not in item_level:
        raise BuildError(
            f"split_group: {group!r} is not a column that has one value per item "
            f"(item columns: {item_level or 'none'})"
        )
    stratify = dataset.split_stratify
    labels: str | list[str] | None
    if not stratify:
        labels = None
    elif stratify == "all_inclusive":
        labels = [f"all_inclusive.y.{c}" for c in categories]
    else:
        labels = f"{stratify}.label"
    try:
        split = splitting.split_items(
            items,
            seed=int(dataset.split_seed),
            fractions=dataset.split_fractions,
            labels=labels,
            group=group,
        )
        split_stats = splitting.split_statistics(items, split, labels=labels, group=group)
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    items.insert(len(item_level), "split", split.astype("string"))

    progress(70, "Writing the frozen tables")
    split_names = list(split.cat.categories)
    split_codes = split.cat.codes.to_numpy()
    order_arr = pa.array(order)

    def coded(indices: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)

    role_codes, role_keys = _sorted_codes(role_arr)
    # Dictionary columns with sorted dictionaries: no string is copied, and Parquet writes
    # them without hashing every value again.
    long_cols: dict[str, pa.Array] = {
        "item": coded(sorted_items, item_keys),
        "voter": coded(vcodes[order], pa.array(voter_sorted, pa.string())),
        "label": coded(label_codes[order], pa.array(categories, pa.string())),
        "weight": pa.array(weight[order]),
        "role": coded(role_codes[order], role_keys),
        "split": coded(split_codes[sorted_items], pa.array(split_names, pa.string())),
    }
    for col in meta_cols:
        long_cols[col] = _arrow_strings(votes[col]).take(order_arr)
    long_table = pa.table(long_cols)
    wide_table = _plain_table(items.reset_index())

    header = {
        "categories": categories,
        "rules": list(result.rules),
        "parameters": dataset.parameters,
        "split_config": _split_config(dataset),
    }
    # Both files are written deterministically (fixed writer options, canonical row and column
    # order, no timestamps), so their bytes are a canonical form of the content.
    long_bytes = parquet_bytes(long_table)
    wide_bytes = parquet_bytes(wide_table)
    digest = hashlib.sha256()
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(long_bytes)
    digest.update(wide_bytes)
    progress(85, "Summarising")

    summary = [
        {
            k: int(v) if k in ("items", "kept", "dropped", "ties") and pd.notna(v) else v
            for k, v in row.items()
            if not (k == "ties" and pd.isna(v))
        }
        for row in result.summary.reset_index().to_dict(orient="records")
    ]
    n_votes = items["stats.n_votes"].to_numpy()
    entropy = items["stats.entropy"].to_numpy(dtype=float)
    edges = np.linspace(0.0, math.log(len(categories)) if len(categories) > 1 else 1.0, 11)
    hist, _ = np.histogram(entropy[np.isfinite(entropy)], bins=edges)
    per_item = np.bincount(n_votes)
    ds = result.dawid_skene
    stats = {
        "n_votes": len(votes),
        "n_items": len(items),
        "n_voters": len(hashed),
        "n_secondary": int(secondary.sum()),
        "weighted": bool(not np.allclose(weight, 1.0)),
        "total_weight": float(weight.sum()),
        "summary": summary,
        "distribution": {r: _distribution(items, r, categories) for r in result.rules},
        "entropy_histogram": {"edges": edges.tolist(), "counts": hist.tolist()},
        "votes_per_item": {str(k): int(v) for k, v in enumerate(per_item) if v},
        "splits": split_stats.reset_index().to_dict(orient="records"),
        "item_columns": item_level,
        "vote_columns": meta_cols,
        "dawid_skene": {"n_iter": ds.n_iter, "converged": ds.converged} if ds else None,
        "agreement": agreement.result(),
    }
    return {
        "long": long_bytes,
        "wide": wide_bytes,
        "sha256": digest.hexdigest(),
        "header": header,
        "stats": _json_safe(stats),
    }


def _split_config(dataset: Dataset) -> dict[str, Any]:
    return {
        "fractions": dataset.split_fractions,
        "seed": dataset.split_seed,
        "stratify": dataset.split_stratify,
        "group": dataset.split_group,
    }


def _source_snapshot(dataset: Dataset) -> list[dict[str, Any]]:
    return [
        {
            "kind": s.kind,
            "name": s.name,
            "survey_id": s.survey_id,
            "question_ids": s.question_ids,
            "project_id": s.project_id,
            "item_filter": s.item_filter,
            "roles": s.roles,
            "n_votes": s.n_votes,
            "columns": s.columns,
        }
        for s in dataset.sources.order_by("id")
    ]


def version_build(
    *, dataset: Dataset, user: User | None, progress: ProgressFn | None = None
) -> Version:
    """Freeze the dataset's current votes as a new version.

    All the work is done in memory first; only then are the two files stored and the row
    inserted, in one transaction under a lock on the dataset row (so two builds get distinct
    numbers). On any failure the stored files are removed: a failed build leaves nothing.
    Raises ``BuildError`` for bad input.
    """
    progress = progress or _noop
    built = _build_tables(dataset, progress)
    progress(95, "Saving")
    stored: list[Any] = []
    try:
        with transaction.atomic():
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            last = Version.objects.filter(dataset=dataset).aggregate(n=Max("number"))["n"]
            number = (last or 0) + 1
            version = Version(
                dataset=dataset,
                number=number,
                categories=built["header"]["categories"],
                rules=built["header"]["rules"],
                parameters=built["header"]["parameters"],
                split_config=built["header"]["split_config"],
                sources=_source_snapshot(dataset),
                code_version=code_version(),
                built_by=user,
                built_at=timezone.now(),
                sha256=built["sha256"],
                stats=built["stats"],
            )
            stem = f"dataset-{dataset.pk}-v{number}"
            version.votes_file.save(f"{stem}-votes.parquet", ContentFile(built["long"]), save=False)
            stored.append(version.votes_file)
            version.items_file.save(f"{stem}-items.parquet", ContentFile(built["wide"]), save=False)
            stored.append(version.items_file)
            version.save()
    except Exception:
        for f in stored:
            f.storage.delete(f.name)
        raise
    return version


def version_build_start(*, dataset: Dataset, user: User) -> Job:
    """Create the build job and enqueue it once the transaction commits."""
    from benchmarks.tasks import version_build_task

    job = job_create(
        kind=BUILD_JOB_KIND, user=user, study=dataset.study, params={"dataset_id": dataset.pk}
    )
    transaction.on_commit(lambda: version_build_task.delay(str(job.id)))
    return job


# --- diff -----------------------------------------------------------------------------------


def version_diff(*, old: Version, new: Version, limit: int = 50) -> dict[str, Any]:
    """Items added and removed, and per rule the items whose label changed (with examples)."""
    from benchmarks.selectors import version_items

    a = version_items(version=old).set_index("item")
    b = version_items(version=new).set_index("item")
    added = b.index.difference(a.index)
    removed = a.index.difference(b.index)
    common = a.index.intersection(b.index)
    rules = [r for r in new.rules if r in old.rules]
    la = rule_labels(a.loc[common], rules, list(old.categories)) if rules else None
    lb = rule_labels(b.loc[common], rules, list(new.categories)) if rules else None
    changed: dict[str, Any] = {}
    for rule in rules:
        x = la[rule].fillna("")
        y = lb[rule].fillna("")
        diff = x != y
        examples = [
            {"item": str(i), "old": x[i] or None, "new": y[i] or None}
            for i in list(common[diff.to_numpy()])[:limit]
        ]
        changed[rule] = {"count": int(diff.sum()), "examples": examples}
    split_moved = int((a.loc[common, "split"] != b.loc[common, "split"]).sum())
    return {
        "old": old.number,
        "new": new.number,
        "added": {"count": len(added), "items": [str(i) for i in added[:limit]]},
        "removed": {"count": len(removed), "items": [str(i) for i in removed[:limit]]},
        "common": len(common),
        "changed": changed,
        "split_moved": split_moved,
        "same_content": old.sha256 == new.sha256,
    }


# --- export ---------------------------------------------------------------------------------


def _csv_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
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


def _hf_split_table(items: pa.Table, votes: pa.Table, version: Version) -> pa.Table:
    """The Hugging Face table: one row per item, one column per rule, the votes nested."""
    cats = list(version.categories)
    n = items.num_rows
    cols: dict[str, pa.Array] = {"item": items.column("item").combine_chunks()}
    for col in version.stats.get("item_columns", []):
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
    counts = np.bincount(
        pd.Index(items.column("item").to_pandas()).get_indexer(votes.column("item").to_pandas()),
        minlength=n,
    )
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
        if pa.types.is_list(t) and pa.types.is_struct(t.value_type):
            sub = [{"name": f.name, "dtype": dtype(f.type)} for f in t.value_type]
            out.append({"name": field.name, "list": sub})
        elif pa.types.is_list(t):
            out.append({"name": field.name, "list": dtype(t.value_type)})
        else:
            out.append({"name": field.name, "dtype": dtype(t)})
    return out


def _yaml(value: Any, indent: int = 0) -> str:
    """A small YAML writer for the card header (dicts, lists, scalars); keys keep their order."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{k}:")
                lines.append(_yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict) and v:
                first, *rest = _yaml(v, indent + 1).split("\n")
                lines.append(f"{pad}- {first.strip()}")
                lines.extend(rest)
            else:
                lines.append(f"{pad}- {_scalar(v)}")
    return "\n".join(lines)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return json.dumps(v)
    if v is None or v == [] or v == {}:
        return json.dumps(v) if v is not None else "null"
    return json.dumps(str(v), ensure_ascii=False)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def dataset_card(version: Version, splits: dict[str, tuple[int, int]], features: list[dict]) -> str:
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
    lines = ["---", _yaml(meta), "---", "", f"# {dataset.name}", ""]
    if dataset.description:
        lines += [dataset.description, ""]
    lines += [
        f"Content SHA-256: `{version.sha256}`. Built by Chorus ({version.code_version}).",
        "",
        "## Contents",
        "",
        "- `data/<split>.parquet`: one row per item with every rule's label side by side and "
        "the item's votes (`votes`: voter pseudonym, label, weight, role).",
        "- `votes.*`: the long vote table (one row per vote) as CSV, JSONL and Parquet.",
        "- `items.*`: the wide aggregated table (one row per item) as CSV, JSONL and Parquet.",
        "- `matrices/`: category co-occurrence (within and across raters) and penalty matrices.",
        "- `croissant.json`: Croissant metadata.",
        "",
        "## Methodology",
        "",
        "### Sampling design",
        "",
    ]
    for s in version.sources:
        if s["kind"] == "survey":
            lines.append(
                f"- Survey {s['survey_id']}: answers of a sampled panel; see the survey's "
                "sample design in Chorus."
            )
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
        "Voter keys are pseudonymised with a keyed hash (HMAC-SHA256) per dataset.",
        "",
    ]
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


def _croissant(version: Version, files: dict[str, bytes], tables: dict[str, pa.Table]) -> bytes:
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
                "dataType": data_type(f.type),
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


def _matrix_csv(categories: list[str], matrix: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["category", *categories])
    for name, row in zip(categories, matrix, strict=True):
        writer.writerow([name, *[repr(float(v)) if isinstance(v, float) else v for v in row]])
    return buf.getvalue().encode()


def _cooccurrence_files(version: Version, votes: pa.Table) -> dict[str, bytes]:
    """Co-occurrence (within and across raters) and penalty matrices of the frozen votes."""
    params = version.parameters or {}
    columns = ["item", "voter", "label", "weight", "role"]
    enc = aggregation.encode_votes(votes.select(columns).to_pandas(), list(version.categories))
    cooc = aggregation.category_cooccurrence(
        enc,
        source=params.get("cooccurrence_source", "both"),
        normalization=params.get("penalty_normalization", "max"),
    )
    cats = list(version.categories)
    return {
        "matrices/cooccurrence_within.csv": _matrix_csv(cats, cooc.within.to_numpy().tolist()),
        "matrices/cooccurrence_across.csv": _matrix_csv(cats, cooc.across.to_numpy().tolist()),
        "matrices/penalty.csv": _matrix_csv(cats, cooc.penalty.to_numpy().tolist()),
    }


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip whose bytes depend only on the file names and contents."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buf.getvalue()


def version_export_files(
    *, version: Version, progress: ProgressFn | None = None
) -> dict[str, bytes]:
    """Every file of the export, by path. Depends only on the version's frozen content."""
    progress = progress or _noop
    with version.votes_file.open("rb") as fh:
        votes_raw = fh.read()
    with version.items_file.open("rb") as fh:
        items_raw = fh.read()
    votes = pq.read_table(io.BytesIO(votes_raw))
    items = pq.read_table(io.BytesIO(items_raw))
    files: dict[str, bytes] = {"votes.parquet": votes_raw, "items.parquet": items_raw}
    progress(10, "CSV")
    files["votes.csv"] = _csv_bytes(votes)
    files["items.csv"] = _csv_bytes(items)
    progress(30, "JSONL")
    files["votes.jsonl"] = _jsonl_bytes(votes)
    files["items.jsonl"] = _jsonl_bytes(items)
    progress(55, "Hugging Face layout")
    hf = _hf_split_table(items, votes, version)
    split_col = items.column("split").to_numpy(zero_copy_only=False)
    splits: dict[str, tuple[int, int]] = {}
    for name in version.split_config.get("fractions", {}):
        mask = pa.array(split_col == name)
        part = hf.filter(mask)
        if part.num_rows == 0:
            # A split without items has no data file: loaders refuse an empty Parquet file.
            continue
        splits[name] = (part.num_rows, part.nbytes)
        files[f"data/{name}.parquet"] = parquet_bytes(part)
    progress(75, "Matrices and metadata")
    for name, content in _cooccurrence_files(version, votes).items():
        files[name] = content
    files["README.md"] = dataset_card(version, splits, _hf_features(hf)).encode()
    files["croissant.json"] = _croissant(version, files, {"votes": votes, "items": items})
    progress(90, "Packing")
    return files


def version_export(*, version: Version, progress: ProgressFn | None = None) -> tuple[str, bytes]:
    """The export zip of a version: (file name, bytes). The same version gives the same bytes."""
    files = version_export_files(version=version, progress=progress)
    slug = "".join(ch if ch.isalnum() else "-" for ch in version.dataset.name.lower()).strip("-")
    return f"{slug or 'dataset'}-v{version.number}.zip", zip_bytes(files)


def version_export_start(*, version: Version, user: User | None) -> Job:
    from benchmarks.tasks import version_export_task

    job = job_create(
        kind=EXPORT_JOB_KIND,
        user=user,
        study=version.dataset.study,
        params={"version_id": version.pk, "dataset_id": version.dataset_id},
    )
    transaction.on_commit(lambda: version_export_task.delay(str(job.id)))
    return job
