"""Reads: datasets within a study, the vote tables of sources, frozen version tables.

Every source is read into the same *vote table* (``item``, ``voter``, ``label``, ``weight``,
``role`` plus metadata columns), with ``item``, ``voter``, ``label`` and ``role`` as strings.
Survey and annotation tables come from the selectors of those apps, imported when a source of
that kind is read, so this app works on its own.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.db import connection
from django.db.models import Count, Max, QuerySet

from accounts.models import Study
from benchmarks.models import EXPORT_JOB_KIND, Dataset, DatasetSource, SourceKind, Version
from jobs.models import Job

BASE_COLUMNS = ("item", "voter", "label", "weight", "role")
TEXT = pd.StringDtype("pyarrow")


class SourceUnavailable(Exception):
    """A source refers to an app or object that is not there (yet)."""


def dataset_list(*, study: Study) -> QuerySet[Dataset]:
    return (
        Dataset.objects.filter(study=study)
        .annotate(n_versions=Count("versions", distinct=True), latest=Max("versions__number"))
        .order_by("name", "id")
    )


def version_list(*, dataset: Dataset) -> QuerySet[Version]:
    return Version.objects.filter(dataset=dataset).select_related("built_by").order_by("-number")


def export_jobs(*, version: Version) -> QuerySet[Job]:
    return Job.objects.filter(kind=EXPORT_JOB_KIND, params__version_id=version.pk).order_by(
        "-created_at"
    )


def linkable_sources(*, study: Study) -> list[tuple[str, str]]:
    """Surveys and annotation projects of the study, as ``("survey:<id>", title)`` choices."""
    choices: list[tuple[str, str]] = []
    try:
        from surveys.models import Survey

        for pk, title in (
            Survey.objects.filter(study=study).order_by("id").values_list("pk", "title_en")
        ):
            choices.append((f"survey:{pk}", str(title)))
    except ImportError:
        pass
    try:
        from annotation.models import Project

        for pk, name in (
            Project.objects.filter(study=study).order_by("id").values_list("pk", "name")
        ):
            choices.append((f"annotation:{pk}", str(name)))
    except ImportError:
        pass
    return choices


# --- source readers -------------------------------------------------------------------------


def _as_vote_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise a source table: string keys, default weight and role, string metadata."""
    out = df.copy(deep=False)
    if "weight" not in out.columns:
        out["weight"] = 1.0
    if "role" not in out.columns:
        out["role"] = "primary"
    for col in out.columns:
        if col != "weight" and out[col].dtype != TEXT:
            out[col] = out[col].astype(TEXT)
    return out


def upload_vote_table(*, source: DatasetSource) -> pd.DataFrame:
    """The votes of an uploaded table; COPY on PostgreSQL, ``values_list`` elsewhere."""
    meta_cols = list(source.columns or [])
    if connection.vendor == "postgresql":
        extra = ", meta::text AS meta" if meta_cols else ""
        sql = (
            f"COPY (SELECT item, voter, label, weight, role{extra} "
            f"FROM benchmarks_uploadedvote WHERE source_id = {int(source.pk)}) "
            "TO STDOUT (FORMAT csv, HEADER true)"
        )
        data = bytearray()
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for chunk in copy:
                data += chunk
        buf = io.BytesIO(data)
        types = {c: pa.string() for c in ("item", "voter", "label", "role", "meta")}
        types["weight"] = pa.float64()
        table = pacsv.read_csv(
            buf,
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
        df = table.to_pandas(types_mapper={pa.string(): TEXT}.get)
    else:
        fields = ["item", "voter", "label", "weight", "role"] + (["meta"] if meta_cols else [])
        rows = list(source.votes.values_list(*fields))
        df = pd.DataFrame(rows, columns=fields)
        if meta_cols:
            df["meta"] = [json.dumps(m) if m is not None else None for m in df["meta"]]
    if meta_cols:
        parsed = [json.loads(m) if isinstance(m, str) and m else {} for m in df.pop("meta")]
        meta = pd.DataFrame.from_records(parsed, columns=meta_cols)
        for col in meta_cols:
            df[col] = meta[col].to_numpy()
    return _as_vote_frame(df)


def _filter_items(df: pd.DataFrame, item_filter: dict) -> pd.DataFrame:
    for column, wanted in (item_filter or {}).items():
        if column not in df.columns:
            raise SourceUnavailable(f"filter: the vote table has no column {column!r}")
        values = wanted if isinstance(wanted, list) else [wanted]
        df = df[df[column].astype("string").isin([str(v) for v in values])]
    return df


def survey_vote_table(*, source: DatasetSource) -> pd.DataFrame:
    try:
        from surveys import selectors as survey_selectors
        from surveys.models import Survey
    except ImportError as exc:
        raise SourceUnavailable("surveys: the surveys app has no vote table yet") from exc
    survey = Survey.objects.filter(pk=source.survey_id, study_id=source.dataset.study_id).first()
    if survey is None:
        raise SourceUnavailable(f"survey: no survey {source.survey_id} in this study")
    df = survey_selectors.survey_vote_table(survey=survey)
    if source.question_ids:
        # Questions are named by code ("trust") or by item key ("12:trust").
        wanted = {str(q) for q in source.question_ids}
        wanted |= {f"{survey.pk}:{q}" for q in source.question_ids}
        df = df[df["item"].astype("string").isin(sorted(wanted))]
    return _as_vote_frame(df)


def annotation_vote_table(*, source: DatasetSource) -> pd.DataFrame:
    try:
        from annotation import selectors as annotation_selectors
        from annotation.models import Project
    except ImportError as exc:
        raise SourceUnavailable("annotation: the annotation app has no vote table yet") from exc
    project = Project.objects.filter(pk=source.project_id, study_id=source.dataset.study_id).first()
    if project is None:
        raise SourceUnavailable(f"project: no annotation project {source.project_id} here")
    df = annotation_selectors.project_vote_table(project=project)
    df = _filter_items(df, source.item_filter)
    if source.roles and "role" in df.columns:
        df = df[df["role"].isin(source.roles)]
    return _as_vote_frame(df)


def source_vote_table(*, source: DatasetSource) -> pd.DataFrame:
    if source.kind == SourceKind.UPLOAD:
        return upload_vote_table(source=source)
    if source.kind == SourceKind.SURVEY:
        return survey_vote_table(source=source)
    return annotation_vote_table(source=source)


# --- frozen tables --------------------------------------------------------------------------


def version_items(*, version: Version) -> pd.DataFrame:
    with version.items_file.open("rb") as fh:
        return pq.read_table(fh).to_pandas()


def version_votes(*, version: Version) -> pa.Table:
    with version.votes_file.open("rb") as fh:
        return pq.read_table(fh)


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
