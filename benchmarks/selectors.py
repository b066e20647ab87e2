"""Reads: datasets within a study, uploaded vote tables, frozen version tables.

Surveys and annotation projects are read through :mod:`sources.registry`, never imported.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import Count, Max, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Study
from benchmarks.models import EXPORT_JOB_KIND, Dataset, DatasetSource, Version
from jobs.models import Job
from sources import registry, schema

TEXT = schema.TEXT


def dataset_list(*, study: Study) -> QuerySet[Dataset]:
    return (
        Dataset.objects.filter(study=study)
        .annotate(n_versions=Count("versions", distinct=True), latest=Max("versions__number"))
        .order_by("name", "id")
    )


def version_list(*, dataset: Dataset) -> QuerySet[Version]:
    return Version.objects.filter(dataset=dataset).select_related("built_by").order_by("-number")


def version_warnings(*, version: Version, versions: list[Version] | None = None) -> list[str]:
    """What a researcher should know before using a version: a split that came out empty
    (too few items for the fractions), and a build identical to the version before it (same
    content hash: nothing changed since). ``versions``: the dataset's versions, when the
    caller has read them (:func:`version_list`)."""
    warnings: list[str] = []
    fractions = (version.split_config or {}).get("fractions") or {}
    sizes = {str(row.get("split")): row.get("items", 0) for row in version.stats.get("splits", [])}
    empty = [name for name, share in fractions.items() if share and not sizes.get(str(name))]
    if empty:
        sizes_text = " / ".join(f"{name} {sizes.get(str(name), 0)}" for name in fractions)
        warnings.append(
            _(
                "Split %(splits)s has no item (%(sizes)s): the dataset has too few items for "
                "these fractions. Change the fractions or add items, then build again."
            )
            % {"splits": ", ".join(map(str, empty)), "sizes": sizes_text}
        )
    if versions is None:
        previous = (
            Version.objects.filter(dataset_id=version.dataset_id, number__lt=version.number)
            .order_by("-number")
            .values_list("number", "sha256")
            .first()
        )
    else:
        earlier = [v for v in versions if v.number < version.number]
        last = max(earlier, key=lambda v: v.number, default=None)
        previous = (last.number, last.sha256) if last is not None else None
    if previous is not None and previous[1] == version.sha256:
        warnings.append(
            _(
                "This version is identical to v%(n)s (same content hash): nothing changed "
                "since that build."
            )
            % {"n": previous[0]}
        )
    return warnings


def export_jobs(*, version: Version) -> QuerySet[Job]:
    return Job.objects.filter(kind=EXPORT_JOB_KIND, params__version_id=version.pk).order_by(
        "-created_at"
    )


def linkable_sources(*, study: Study) -> list[tuple[str, str]]:
    """What the study's datasets can link, as ``("<kind>:<id>", title)`` choices."""
    choices: list[tuple[str, str]] = []
    for kind in registry.kinds():
        for pk, title in registry.get(kind).choices(study_id=study.pk):
            choices.append((f"{kind}:{pk}", str(title)))
    return choices


# --- uploaded votes -------------------------------------------------------------------------


def upload_vote_table(*, source: DatasetSource) -> pd.DataFrame:
    """The votes of an uploaded table, read from the Parquet file frozen at upload."""
    with source.votes_file.open("rb") as fh:
        table = pq.read_table(fh)
    return schema.vote_frame(table.to_pandas(types_mapper={pa.string(): TEXT}.get))


# --- frozen tables --------------------------------------------------------------------------


def version_items(*, version: Version) -> pd.DataFrame:
    with version.items_file.open("rb") as fh:
        return pq.read_table(fh).to_pandas()


def version_item_keys(*, version: Version) -> list[str]:
    """The version's item keys in their frozen order, reading only that column."""
    with version.items_file.open("rb") as fh:
        return [str(k) for k in pq.read_table(fh, columns=["item"]).column("item").to_pylist()]


def version_contents(*, version: Version, items: list[str] | None = None) -> pd.DataFrame | None:
    """The frozen item content (one row per item), only ``items`` if given; None before
    versions froze their items."""
    if not version.contents_file:
        return None
    with version.contents_file.open("rb") as fh:
        table = pq.read_table(fh, filters=[("item", "in", items)] if items is not None else None)
    return table.to_pandas()


def version_votes(*, version: Version, columns: list[str] | None = None) -> pa.Table:
    """The frozen vote table (only ``columns`` if given)."""
    with version.votes_file.open("rb") as fh:
        return pq.read_table(fh, columns=columns)


def version_vote_columns(*, version: Version) -> list[str]:
    """The vote table's column names, read from the file's footer only."""
    with version.votes_file.open("rb") as fh:
        return list(pq.read_schema(fh).names)


def version_items_table(*, version: Version, split: str = "") -> pa.Table:
    """The wide table (one row per item) as Arrow, only the split's items if one is given."""
    import pyarrow.compute as pc

    with version.items_file.open("rb") as fh:
        table = pq.read_table(fh)
    if split:
        table = table.filter(pc.equal(table.column("split"), split))
    return table


def items_slice(table: pa.Table, *, offset: int, limit: int) -> pd.DataFrame:
    """Rows ``offset`` to ``offset + limit`` as pandas, indexed by their positions.

    Only these rows are converted: turning the whole wide table into pandas was most of the
    cost of a page on large versions.
    """
    offset = max(0, offset)
    page = table.slice(offset, max(0, limit)).to_pandas()
    page.index = pd.RangeIndex(offset, offset + len(page))
    return page


def version_items_page(
    *, version: Version, offset: int, limit: int, split: str = ""
) -> tuple[pd.DataFrame, int]:
    """A page of the wide table (one row per item) and the number of matching items."""
    table = version_items_table(version=version, split=split)
    return items_slice(table, offset=offset, limit=limit), table.num_rows


# --- browsing a frozen version --------------------------------------------------------------


def _parquet_columns(file) -> list[str]:
    with file.open("rb") as fh:
        return list(pq.read_schema(fh).names)


def _read_columns(file, columns: list[str]) -> pa.Table:
    with file.open("rb") as fh:
        return pq.read_table(fh, columns=columns)


def version_items_browse(
    *, version: Version, offset: int, limit: int, split: str = "", kind: str = "", q: str = ""
) -> tuple[pd.DataFrame, int]:
    """A page of the wide table filtered by split, item kind and a text search, and the
    number of matching items.

    Only the narrow columns the filters need are read for every item (``item`` and ``split``
    of the wide table; ``kind``, ``text`` and ``question`` of the content table, which is in
    the same row order); the wide rows are then read with an Arrow filter on the page's keys.
    ``q`` matches item keys, texts and questions (in every language), ignoring case. A
    version built before items were frozen has no content table: ``kind`` is then ignored and
    ``q`` matches keys only.
    """
    import pyarrow.compute as pc

    keys = _read_columns(version.items_file, ["item", "split"])
    conditions = []
    if split:
        conditions.append(pc.equal(keys.column("split"), split))
    q = q.strip()
    found = pc.match_substring(keys.column("item"), q, ignore_case=True) if q else None
    if version.contents_file and (kind or q):
        present = _parquet_columns(version.contents_file)
        searched = [c for c in present if c in ("text", "question") or c.startswith("question_")]
        searched = searched if q else []
        contents = _read_columns(version.contents_file, ["kind", *searched])
        if kind:
            conditions.append(pc.equal(contents.column("kind"), kind))
        for col in searched:
            found = pc.or_(
                found,
                pc.fill_null(pc.match_substring(contents.column(col), q, ignore_case=True), False),
            )
    if found is not None:
        conditions.append(found)
    items = keys.column("item")
    offset = max(0, offset)
    if conditions:
        mask = conditions[0]
        for condition in conditions[1:]:
            mask = pc.and_(mask, condition)
        positions = pc.indices_nonzero(pc.fill_null(mask, False))
        count = len(positions)
        wanted = items.take(positions.slice(offset, max(0, limit)))
    else:
        count = len(items)
        wanted = items.slice(offset, max(0, limit))
    if len(wanted):
        with version.items_file.open("rb") as fh:
            page = pq.read_table(fh, filters=[("item", "in", wanted.to_pylist())])
        # The filter need not keep the file's order: put the rows in the page's order.
        order = pc.index_in(wanted, value_set=page.column("item").combine_chunks())
        page = page.take(order)
    else:
        with version.items_file.open("rb") as fh:
            page = pq.read_schema(fh).empty_table()
    frame = page.to_pandas()
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame, count


def version_media_type(*, version: Version, name: str) -> str | None:
    """The media type of ``media/<name>`` when it is the audio of an item of this version
    (``""`` when the content table does not say which), else None."""
    if not version.contents_file:
        return None
    present = _parquet_columns(version.contents_file)
    if "audio" not in present:
        return None
    columns = ["audio"] + (["audio_type"] if "audio_type" in present else [])
    with version.contents_file.open("rb") as fh:
        found = pq.read_table(fh, columns=columns, filters=[("audio", "=", f"media/{name}")])
    if found.num_rows == 0:
        return None
    if "audio_type" not in present:
        return ""
    return str(found.column("audio_type")[0].as_py() or "")


def version_media_open(*, name: str):
    """Open a frozen media file (stored by the SHA-256 of its bytes, see the build) to send it:
    streamed from an object store (``config.storage.open_stored``). ``FileNotFoundError`` if
    it is not stored."""
    from benchmarks.services.build import MEDIA_DIR
    from config.storage import open_stored

    return open_stored(f"{MEDIA_DIR}/{name}")
