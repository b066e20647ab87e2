"""Building a frozen version, and the difference between two versions.

A build reads every source of a dataset through :mod:`sources.registry` into one vote table
and one item table, validates them, aggregates the votes by every configured rule
(``benchmarks.aggregation``), splits the items (``benchmarks.splitting``), replaces voter keys
by a keyed hash (:mod:`sources.pseudonyms`), and freezes the result as three Parquet files (the
votes, the aggregated items, the items' content) and one :class:`~benchmarks.models.Version`
row. Rows and columns are put in a canonical order first, so the same data always gives the
same files and the same SHA-256; a version is never updated.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import User
from benchmarks import aggregation, splitting
from benchmarks.models import BUILD_JOB_KIND, Dataset, DatasetSource, Version
from benchmarks.services.datasets import PARAMETERS
from benchmarks.services.sources import source_ref
from benchmarks.services.tables import (
    BuildError,
    ProgressFn,
    arrow_strings,
    check_weights,
    code_version,
    json_safe,
    noop,
    parquet_bytes,
    plain_table,
    sorted_codes,
)
from jobs.models import Job
from jobs.services import job_start
from sources import pseudonyms, registry, schema
from sources.registry import SourceRef, SourceUnavailable

MEDIA_DIR = "benchmarks/media"


def _load_votes(refs: list[SourceRef]) -> pd.DataFrame:
    if not refs:
        raise BuildError(
            gettext_noop("sources: the dataset has no sources; add a vote table first")
        )
    frames = []
    for ref in refs:
        try:
            frames.append(schema.vote_frame(registry.vote_table(ref)))
        except (SourceUnavailable, schema.SchemaError) as exc:
            raise BuildError(str(exc)) from exc
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(df) == 0:
        raise BuildError(gettext_noop("votes: the vote table is empty"))
    for col in ("item", "voter", "label"):
        n_missing = int(df[col].isna().sum())
        if n_missing:
            raise BuildError(
                gettext_noop("%(column)s: %(n)s row(s) have no value"),
                {"column": col, "n": n_missing},
            )
    return df


def _freeze_media(ref: SourceRef, name: str) -> str:
    """Store one media file by the SHA-256 of its bytes; returns its path in exports.

    Files are content-addressed and shared by every version that has them, so a version's
    media never change and a later edit of the item cannot reach them.
    """
    with registry.get(ref.kind).open_media(ref=ref, name=name) as fh:
        data = fh.read()
    digest = hashlib.sha256(data).hexdigest()
    suffix = PurePosixPath(name).suffix.lower()[:10]
    frozen = f"{digest}{suffix}"
    target = f"{MEDIA_DIR}/{frozen}"
    if not default_storage.exists(target):
        stored = default_storage.save(target, ContentFile(data))
        if stored != target:
            # Another build stored the same bytes meanwhile: keep one copy.
            default_storage.delete(stored)
    return f"media/{frozen}"


def _load_items(
    refs: list[SourceRef], item_keys: pa.Array, progress: ProgressFn
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The item table of every voted item, in the order of ``item_keys``, media frozen.

    An item given by two sources keeps the content of the first; an item that no source
    describes is kept with its key only and counted in the stats.
    """
    frames = []
    for i, ref in enumerate(refs):
        try:
            table = schema.item_frame(registry.item_table(ref))
        except (SourceUnavailable, schema.SchemaError) as exc:
            raise BuildError(str(exc)) from exc
        table["_source"] = i
        frames.append(table)
    allitems = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    allitems = allitems.drop_duplicates("item", keep="first").set_index("item")
    keys = pd.Index(item_keys.to_pandas(), name="item").astype(schema.TEXT)
    # get_indexer, not isin: isin on Arrow strings makes a Python object per key.
    found = allitems.index.get_indexer(keys) >= 0
    items = allitems.reindex(keys)
    items["kind"] = items["kind"].fillna("text")
    if "audio" in items.columns:
        audio = items["audio"]
        has_audio = audio.notna() & (audio != "")
        frozen: list[str | None] = [None] * len(items)
        positions = np.flatnonzero(has_audio.to_numpy())
        for n, pos in enumerate(positions):
            ref = refs[int(items["_source"].iloc[pos])]
            try:
                frozen[pos] = _freeze_media(ref, str(audio.iloc[pos]))
            except (SourceUnavailable, OSError) as exc:
                raise BuildError(
                    gettext_noop("audio: item %(item)s: %(problem)s"),
                    {"item": repr(keys[pos]), "problem": str(exc)},
                ) from exc
            if n % 100 == 0:
                progress(60 + int(10 * n / max(1, len(positions))), gettext_noop("Freezing media"))
        items["audio"] = pd.array(frozen, dtype=schema.TEXT)
    items = schema.item_frame(items.drop(columns="_source").reset_index())
    kinds = items["kind"].value_counts()
    info = {
        "item_kinds": {str(k): int(v) for k, v in kinds.items()},
        "items_without_content": int((~found).sum()),
        "content_columns": [c for c in items.columns if c != "item"],
        "languages": schema.languages(items.columns),
    }
    return items, info


def _content_table(items: pd.DataFrame) -> pa.Table:
    """The frozen item table as Arrow, with explicit types for the list columns."""
    columns: dict[str, pa.Array] = {}
    for col in items.columns:
        values = items[col]
        if col in schema.NUMBER_LIST_COLUMNS:
            columns[col] = pa.array(values.tolist(), pa.list_(pa.float64()))
        elif col in schema.LIST_COLUMNS or col.startswith("option_texts_"):
            columns[col] = pa.array(values.tolist(), pa.list_(pa.string()))
        elif col in schema.NUMBER_COLUMNS:
            columns[col] = pa.array(values.to_numpy(dtype=np.float64), pa.float64())
        else:
            columns[col] = arrow_strings(values.array)
    return pa.table(columns)


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
    """Agreement for the dataset card, by the statistic an installed app registered."""
    measure = registry.measure("agreement")
    if measure is None:
        return None
    result: dict[str, Any] | None = measure(votes, boot=boot, seed=seed, categories=categories)
    return result


def _matrices(frame: pd.DataFrame, categories: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """Category co-occurrence (within and across raters) and penalty matrices, for the export.

    Computed here from the codes the build already has, so an export only writes them.
    """
    try:
        enc = aggregation.encode_votes(frame, categories)
        cooc = aggregation.category_cooccurrence(
            enc,
            source=params.get("cooccurrence_source", "both"),
            normalization=params.get("penalty_normalization", "max"),
        )
    except ValueError as exc:
        return {"error": str(exc)}
    return {
        "within": cooc.within.to_numpy().tolist(),
        "across": cooc.across.to_numpy().tolist(),
        "penalty": cooc.penalty.to_numpy().tolist(),
    }


@dataclass
class _Coded:
    """The sources' votes as integer codes, in the sources' row order.

    ``item`` indexes ``item_keys`` (sorted); ``voter`` numbers the voters in the order of their
    pseudonyms ``voter_names``, so the frozen row order does not reveal the original keys;
    ``label`` indexes the categories (empty when some label is not a category: the kernel then
    names it); ``secondary`` marks secondary votes.
    """

    item: np.ndarray
    item_keys: pa.Array
    voter: np.ndarray
    voter_names: np.ndarray
    label: np.ndarray
    role: pa.Array
    all_primary: bool
    secondary: np.ndarray
    weight: np.ndarray

    def row_order(self, n_categories: int) -> np.ndarray:
        """The canonical order of the vote rows: item, voter, role, label, then weight."""
        key = (
            (self.item * (len(self.voter_names) + 1) + self.voter) * 2 + self.secondary
        ) * n_categories + self.label
        if np.all(self.weight == 1.0):
            return np.argsort(key, kind="stable")
        return np.lexsort((self.weight, key))


def _code_votes(votes: pd.DataFrame, categories: list[str], secret: bytes) -> _Coded:
    item_codes, item_keys = sorted_codes(arrow_strings(votes["item"]))
    voter_codes, voter_keys = sorted_codes(arrow_strings(votes["voter"]))
    hashed = pseudonyms.dataset_keys(voter_keys.to_pylist(), secret=secret)
    voter_order = np.argsort(hashed, kind="stable")
    voter_rank = np.empty(len(hashed), dtype=np.int64)
    voter_rank[voter_order] = np.arange(len(hashed))
    found = pc.index_in(arrow_strings(votes["label"]), value_set=pa.array(categories, pa.string()))
    label_codes = (
        np.zeros(0, dtype=np.int64)
        if found.null_count
        else found.to_numpy(zero_copy_only=False).astype(np.int64)
    )
    role = arrow_strings(votes["role"].fillna("primary"))
    all_primary = bool(pc.all(pc.equal(role, "primary")).as_py())
    try:
        check_weights(votes)
        weight = votes["weight"].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BuildError(
            gettext_noop("weight: values must be numbers (%(problem)s)"), {"problem": str(exc)}
        ) from exc
    secondary = (
        np.zeros(len(votes), dtype=bool)
        if all_primary
        else pc.equal(role, "secondary").to_numpy(zero_copy_only=False)
    )
    return _Coded(
        item=item_codes,
        item_keys=item_keys,
        voter=voter_rank[voter_codes],
        voter_names=hashed[voter_order],
        label=label_codes,
        role=role,
        all_primary=all_primary,
        secondary=secondary,
        weight=weight,
    )


def _aggregate(
    coded: _Coded,
    votes: pd.DataFrame,
    categories: list[str],
    rules: list[str],
    params: dict[str, Any],
) -> tuple[aggregation.AggregationResult, pd.DataFrame]:
    """Every rule's result, and the coded vote frame the kernel read."""
    frame = pd.DataFrame({"item": coded.item, "voter": coded.voter, "weight": coded.weight})
    if len(coded.label):
        frame["label"] = pd.Categorical.from_codes(coded.label, categories=pd.Index(categories))
    else:
        frame["label"] = votes["label"].array  # the kernel names the unknown labels
    if not coded.all_primary:
        frame["role"] = votes["role"].fillna("primary").array
    options = {k: v for k, v in params.items() if k in PARAMETERS}
    options.setdefault("ds_max_iter", 50)
    try:
        return aggregation.aggregate(frame, categories, rules=rules, **options), frame
    except ValueError as exc:
        raise BuildError(str(exc)) from exc


def _item_table(
    result: aggregation.AggregationResult,
    coded: _Coded,
    votes: pd.DataFrame,
    meta_cols: list[str],
    order: np.ndarray,
) -> tuple[pd.DataFrame, list[str]]:
    """The aggregated items, with the vote columns that hold one value per item in front."""
    items = result.table.copy()
    items.index = pd.Index(
        coded.item_keys.to_pandas(types_mapper=pd.ArrowDtype), name="item"
    ).astype("string")
    sorted_items = coded.item[order]
    item_level: list[str] = []
    for col in meta_cols:
        # pandas takes None as the missing value; its stubs allow only non-None scalars.
        values = votes[col].to_numpy(dtype=object, na_value=None)[order]  # type: ignore[call-overload]
        per = pd.Series(values).groupby(sorted_items).agg(["first", "nunique"])
        if int(per["nunique"].max()) <= 1:
            item_level.append(col)
            items.insert(len(item_level) - 1, col, per["first"].astype("string").to_numpy())
    return items, item_level


def _split(
    dataset: Dataset, items: pd.DataFrame, item_level: list[str], contents: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    """Split the items (the ``split`` column goes in after the item-level columns) and the
    split's statistics. A group named in the items' metadata rather than the votes' joins
    the item-level columns first."""
    categories = list(dataset.categories)
    group = dataset.split_group or None
    if group and group not in item_level and group in schema.metadata_columns(contents.columns):
        item_level.append(group)
        items.insert(len(item_level) - 1, group, contents[group].astype("string").to_numpy())
    if group and group not in item_level:
        raise BuildError(
            gettext_noop(
                "split_group: %(group)s is not a column that has one value per item "
                "(item columns: %(columns)s)"
            ),
            {"group": repr(group), "columns": ", ".join(item_level) or "none"},
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
    return split, split_stats


def _long_table(
    coded: _Coded,
    votes: pd.DataFrame,
    categories: list[str],
    meta_cols: list[str],
    order: np.ndarray,
    split: pd.Series,
) -> pa.Table:
    """The frozen vote table in canonical row order. Its key columns are dictionary columns
    with sorted dictionaries: no string is copied, and Parquet writes them without hashing
    every value again."""

    def dictionary(indices: np.ndarray, values: pa.Array) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), values)

    sorted_items = coded.item[order]
    role_codes, role_keys = sorted_codes(coded.role)
    columns: dict[str, pa.Array] = {
        "item": dictionary(sorted_items, coded.item_keys),
        "voter": dictionary(coded.voter[order], pa.array(coded.voter_names, pa.string())),
        "label": dictionary(coded.label[order], pa.array(categories, pa.string())),
        "weight": pa.array(coded.weight[order]),
        "role": dictionary(role_codes[order], role_keys),
        "split": dictionary(
            split.cat.codes.to_numpy()[sorted_items],
            pa.array(list(split.cat.categories), pa.string()),
        ),
    }
    order_arr = pa.array(order)
    for col in meta_cols:
        columns[col] = arrow_strings(votes[col]).take(order_arr)
    return pa.table(columns)


def _summary(result: aggregation.AggregationResult) -> list[dict[Any, Any]]:
    """Each rule's summary row, counts as integers."""
    return [
        {
            k: int(v) if k in ("items", "kept", "dropped", "ties") and pd.notna(v) else v
            for k, v in row.items()
            if not (k == "ties" and pd.isna(v))
        }
        for row in result.summary.reset_index().to_dict(orient="records")
    ]


def _spread(items: pd.DataFrame, categories: list[str]) -> dict[str, Any]:
    """How the votes spread over the items: the entropy histogram and votes per item."""
    n_votes = items["stats.n_votes"].to_numpy()
    entropy = items["stats.entropy"].to_numpy(dtype=float)
    edges = np.linspace(0.0, math.log(len(categories)) if len(categories) > 1 else 1.0, 11)
    hist, _ = np.histogram(entropy[np.isfinite(entropy)], bins=edges)
    per_item = np.bincount(n_votes)
    return {
        "entropy_histogram": {"edges": edges.tolist(), "counts": hist.tolist()},
        "votes_per_item": {str(k): int(v) for k, v in enumerate(per_item) if v},
    }


def _build_tables(dataset: Dataset, progress: ProgressFn) -> dict[str, Any]:
    categories = list(dataset.categories)
    params = dict(dataset.parameters or {})
    agreement_boot = int(params.pop("agreement_boot", 200))

    progress(5, gettext_noop("Reading the sources"))
    sources = list(dataset.sources.select_related("dataset").order_by("id"))
    refs = [source_ref(s) for s in sources]
    votes = _load_votes(refs)
    snapshot = _source_snapshot(sources, refs)

    progress(25, gettext_noop("Validating and aggregating"))
    coded = _code_votes(votes, categories, secret=bytes(dataset.pseudonym_key))
    result, frame = _aggregate(coded, votes, categories, list(dataset.rules), params)

    progress(55, gettext_noop("Splitting"))
    # Agreement needs only the codes: it runs in a second thread while the split is made and
    # the tables are written (numpy and Arrow release the GIL for most of that work).
    agreement_votes = pd.DataFrame({"item": coded.item, "voter": coded.voter, "label": coded.label})
    if not coded.all_primary:
        agreement_votes["role"] = coded.role.to_pandas()
    pool = ThreadPoolExecutor(max_workers=1)
    agreement = pool.submit(
        _agreement, agreement_votes, agreement_boot, int(dataset.split_seed), categories
    )
    matrices = pool.submit(_matrices, frame, categories, params)
    pool.shutdown(wait=False)
    order = coded.row_order(len(categories))
    meta_cols = sorted(c for c in votes.columns if c not in schema.VOTE_COLUMNS)
    items, item_level = _item_table(result, coded, votes, meta_cols, order)
    contents, content_info = _load_items(refs, coded.item_keys, progress)
    split, split_stats = _split(dataset, items, item_level, contents)

    progress(70, gettext_noop("Writing the frozen tables"))
    header = {
        "categories": categories,
        "rules": list(result.rules),
        "parameters": dataset.parameters,
        "split_config": _split_config(dataset),
    }
    # Both files are written deterministically (fixed writer options, canonical row and column
    # order, no timestamps), so their bytes are a canonical form of the content.
    long_bytes = parquet_bytes(_long_table(coded, votes, categories, meta_cols, order, split))
    wide_bytes = parquet_bytes(plain_table(items.reset_index()))
    # Media are in the content table by the SHA-256 of their bytes, so this covers them too.
    content_bytes = parquet_bytes(_content_table(contents))
    digest = hashlib.sha256()
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(long_bytes)
    digest.update(wide_bytes)
    digest.update(content_bytes)

    progress(85, gettext_noop("Summarising"))
    ds = result.dawid_skene
    stats = {
        "n_votes": len(votes),
        "n_items": len(items),
        "n_voters": len(coded.voter_names),
        "n_secondary": int(coded.secondary.sum()),
        "weighted": bool(not np.allclose(coded.weight, 1.0)),
        "total_weight": float(coded.weight.sum()),
        "summary": _summary(result),
        "distribution": {r: _distribution(items, r, categories) for r in result.rules},
        **_spread(items, categories),
        "splits": split_stats.reset_index().to_dict(orient="records"),
        "item_columns": item_level,
        **content_info,
        "vote_columns": meta_cols,
        "dawid_skene": {"n_iter": ds.n_iter, "converged": ds.converged} if ds else None,
        "agreement": agreement.result(),
        "matrices": matrices.result(),
    }
    return {
        "long": long_bytes,
        "wide": wide_bytes,
        "contents": content_bytes,
        "sources": snapshot,
        "sha256": digest.hexdigest(),
        "header": header,
        "stats": json_safe(stats),
    }


def _split_config(dataset: Dataset) -> dict[str, Any]:
    return {
        "fractions": dataset.split_fractions,
        "seed": dataset.split_seed,
        "stratify": dataset.split_stratify,
        "group": dataset.split_group,
    }


def _source_snapshot(sources: list[DatasetSource], refs: list[SourceRef]) -> list[dict[str, Any]]:
    """What each source was at build time, with the provider's description for the card."""
    out = []
    for source, ref in zip(sources, refs, strict=True):
        try:
            described = registry.get(ref.kind).describe(ref=ref)
        except SourceUnavailable as exc:
            raise BuildError(str(exc)) from exc
        out.append(
            {
                "kind": source.kind,
                "name": source.name or str(described.get("name", "")),
                "survey_id": source.survey_id,
                "question_ids": source.question_ids,
                "project_id": source.project_id,
                "item_filter": source.item_filter,
                "roles": source.roles,
                "n_votes": source.n_votes,
                "columns": source.columns,
                "design": str(described.get("design", "")),
                "languages": list(described.get("languages", [])),
            }
        )
    return out


def version_build(
    *,
    dataset: Dataset,
    user: User | None,
    progress: ProgressFn | None = None,
    checkpoint: Callable[[Version], None] | None = None,
) -> Version:
    """Freeze the dataset's current votes as a new version.

    All the work is done in memory first (media files are stored by content hash as they are
    read, see ``_freeze_media``); only then are the three tables stored and the row
    inserted, in one transaction under a lock on the dataset row (so two builds get distinct
    numbers). On any failure the stored files are removed: a failed build leaves nothing.
    ``checkpoint(version)`` runs inside that transaction (a job records the version on its
    row, so a re-run of the job does not build it twice); if it raises, nothing is kept.
    Raises ``BuildError`` for bad input.
    """
    progress = progress or noop
    built = _build_tables(dataset, progress)
    progress(95, gettext_noop("Saving"))
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
                sources=built["sources"],
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
            version.contents_file.save(
                f"{stem}-contents.parquet", ContentFile(built["contents"]), save=False
            )
            stored.append(version.contents_file)
            version.save()
            if checkpoint is not None:
                checkpoint(version)
    except Exception:
        for f in stored:
            f.storage.delete(f.name)
        raise
    return version


def version_build_start(*, dataset: Dataset, user: User) -> Job:
    """Create the build job and queue it (``job_start``: ``BackgroundUnavailable`` when the
    broker is down, and then no job remains)."""
    from benchmarks.tasks import version_build_task

    return job_start(
        kind=BUILD_JOB_KIND,
        task=version_build_task,
        user=user,
        study=dataset.study,
        params={"dataset_id": dataset.pk},
    )


# --- diff -----------------------------------------------------------------------------------


def _comparable(value: Any) -> str:
    """A canonical text of a cell, so lists, NaN and missing compare as equal when they are."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        value = None
    return json.dumps(value, sort_keys=True, default=str)


def _content_diff(*, old: Version, new: Version, common: pd.Index, limit: int) -> dict[str, Any]:
    """Items whose content (text, wording, options, audio, metadata) differs, per column."""
    from benchmarks.selectors import version_contents

    a = version_contents(version=old)
    b = version_contents(version=new)
    if a is None or b is None:
        return {"count": 0, "items": [], "columns": {}, "compared": False}
    a = a.set_index("item").reindex(common)
    b = b.set_index("item").reindex(common)
    changed = np.zeros(len(common), dtype=bool)
    columns: dict[str, int] = {}
    for col in sorted(set(a.columns) | set(b.columns)):
        x = a[col].map(_comparable) if col in a.columns else pd.Series("null", index=common)
        y = b[col].map(_comparable) if col in b.columns else pd.Series("null", index=common)
        diff = (x != y).to_numpy()
        if diff.any():
            columns[col] = int(diff.sum())
            changed |= diff
    return {
        "count": int(changed.sum()),
        "items": [str(i) for i in common[changed][:limit]],
        "columns": columns,
        "compared": True,
    }


def version_diff(*, old: Version, new: Version, limit: int = 50) -> dict[str, Any]:
    """Items added and removed, per rule the items whose label changed, and changed content."""
    from benchmarks.selectors import version_items

    a = version_items(version=old).set_index("item")
    b = version_items(version=new).set_index("item")
    added = b.index.difference(a.index)
    removed = a.index.difference(b.index)
    common = a.index.intersection(b.index)
    rules = [r for r in new.rules if r in old.rules]
    changed: dict[str, Any] = {}
    if rules:
        la = rule_labels(a.loc[common], rules, list(old.categories))
        lb = rule_labels(b.loc[common], rules, list(new.categories))
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
    content = _content_diff(old=old, new=new, common=common, limit=limit)
    return {
        "old": old.number,
        "new": new.number,
        "added": {"count": len(added), "items": [str(i) for i in added[:limit]]},
        "removed": {"count": len(removed), "items": [str(i) for i in removed[:limit]]},
        "common": len(common),
        "changed": changed,
        "split_moved": split_moved,
        "content_changed": content,
        "same_content": old.sha256 == new.sha256,
    }
