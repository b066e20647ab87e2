"""Imports of other tools' exports: a job that turns a file into an annotation project.

The parsers (:mod:`interop.parsers`) read the file into a vote table and an item table; the
import then makes a new annotation project of the study with one category per label, the
items, and every vote as an imported rating (``annotation.services.ratings_import``). So the
imported labels are read through the annotation source like any project's: its pages,
agreement report and adjudication, and every dataset rule and export.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.access import refuse_if_archived
from config import inputs
from interop.models import LabelImport, Tool
from interop.parsers import Input, Limits, ParseError, parse, without_cycle_collection
from jobs.messages import JobMessage, counted
from jobs.services import JobOutput, ProgressFn, job_start
from sources import registry
from sources.csv_escape import escape_table
from sources.registry import SourceRef, SourceUnavailable

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import Study, User
    from jobs.models import Job

IMPORT_JOB = "interop_import"
# A rater's name as an imported rater account (see annotation.services.RATER_NAME).
_RATER = re.compile(r"\w[\w.@+-]{0,99}")
_CATEGORY_KEY = re.compile(r"[-\w]{1,64}")
NO_TEXT = "(no text in the export)"


def limits() -> Limits:
    return Limits(
        max_bytes=int(settings.INTEROP_MAX_BYTES),
        max_records=int(settings.INTEROP_MAX_RECORDS),
        json_depth=inputs.json_max_depth(),
        cell_chars=inputs.csv_field_max(),
    )


def label_import_start(
    *,
    study: Study,
    user: User,
    tool: str,
    name: str,
    upload: UploadedFile,
    field: str = "",
) -> LabelImport:
    """Keep the export and queue its import as a job (``BackgroundUnavailable`` when the
    broker is down; then nothing is kept). An archived study takes no new import."""
    refuse_if_archived(study=study)
    if tool not in Tool.values:
        raise ValidationError(
            {"tool": [_("Choose one of %(tools)s.") % {"tools": ", ".join(Tool.values)}]}
        )
    if not name.strip() or len(name) > 200:
        raise ValidationError({"name": [_("A project name of 1 to 200 characters.")]})
    if len(field) > 200:
        raise ValidationError({"field": [_("At most 200 characters.")]})
    if upload.size is not None and upload.size > settings.INTEROP_MAX_BYTES:
        raise ValidationError(
            {
                "file": [
                    _("%(size)s bytes; at most %(max)s per import.")
                    % {"size": f"{upload.size:,}", "max": f"{settings.INTEROP_MAX_BYTES:,}"}
                ]
            }
        )
    stored: list[str] = []
    try:
        return _start(
            study=study, user=user, tool=tool, name=name, field=field, upload=upload,
            stored=stored,
        )  # fmt: skip
    except BaseException:
        # Nothing of a refused start stays: the row is rolled back, the kept file deleted.
        for stored_name in stored:
            default_storage.delete(stored_name)
        raise


def _start(
    *,
    study: Study,
    user: User,
    tool: str,
    name: str,
    field: str,
    upload: UploadedFile,
    stored: list[str],
) -> LabelImport:
    from interop.tasks import interop_import_task

    source_name = PurePosixPath(upload.name or "export").name[:255]
    with transaction.atomic():
        label_import = LabelImport(
            study=study,
            tool=tool,
            name=name.strip(),
            field=field.strip(),
            source_name=source_name,
            created_by=user,
        )
        label_import.source_file.save(source_name, File(upload), save=False)
        stored.append(str(label_import.source_file.name))
        label_import.save()
        label_import.job = job_start(
            kind=IMPORT_JOB,
            task=interop_import_task,
            user=user,
            study=study,
            params={"import": label_import.pk},
        )
        label_import.save(update_fields=["job"])
    return label_import


def rater_name(*, label_import: LabelImport, voter: str) -> str:
    """The imported rater account of ``voter``: named per import, so that it never meets a
    person's account or another import's raters; the tool's own key when it is a plain name,
    else a digest of it."""
    safe = voter if _RATER.fullmatch(voter) else hashlib.sha256(voter.encode()).hexdigest()[:16]
    return f"{label_import.tool}{label_import.pk}.{safe}"


def category_keys(labels: list[str]) -> dict[str, str]:
    """A category key per label: the label itself when it fits a key, else ``c<n>``."""
    keys: dict[str, str] = {}
    used: set[str] = set()
    for n, label in enumerate(labels, start=1):
        key = label if _CATEGORY_KEY.fullmatch(label) else f"c{n}"
        while key in used:
            key = f"{key}-{n}"
        used.add(key)
        keys[label] = key
    return keys


def _item_rows(
    items: pd.DataFrame, keys: dict[str, str], label_import: LabelImport
) -> list[dict[str, Any]]:
    """The parsed items as rows of an items file (see ``annotation.services.items_import``)."""
    rows = []
    meta_columns = [c for c in items.columns if c not in ("item", "kind", "text", "gold")]
    source = str(label_import.pk)
    n = len(items)
    # Column by column (Arrow hands a column over as a list at once; row dicts cost more).
    texts = items["text"].tolist() if "text" in items.columns else [None] * n
    golds = items["gold"].tolist() if "gold" in items.columns else [None] * n
    meta = [(c, items[c].tolist()) for c in meta_columns]
    for i, (item, text, gold) in enumerate(zip(items["item"].tolist(), texts, golds, strict=True)):
        metadata = {c: values[i] for c, values in meta if isinstance(values[i], str) and values[i]}
        metadata["source_import"] = source
        rows.append(
            {
                "external_id": item,
                "text": text if isinstance(text, str) and text else NO_TEXT,
                "gold_label": keys[gold] if isinstance(gold, str) and gold in keys else "",
                "metadata": metadata,
            }
        )
    return rows


def _report_csv(report: pd.DataFrame) -> bytes:
    """The per-record report (or the model suggestions) as CSV for a spreadsheet (a BOM, so
    that Excel reads UTF-8; cells that would run as formulas escaped), written by Arrow: a
    report has a row per record."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = escape_table(pa.Table.from_pandas(report, preserve_index=False))
    out = io.BytesIO()
    out.write(codecs.BOM_UTF8)
    pacsv.write_csv(table, out, pacsv.WriteOptions(quoting_style="needed"))
    return out.getvalue()


def _nothing_imported(problem: str) -> ValidationError:
    """A refusal of the whole file; ``problem`` comes from the parsers (English, naming the
    record), the sentence around it in the reader's language."""
    return ValidationError(_("Nothing imported: %(problem)s."), params={"problem": problem})


def label_import_run(*, label_import: LabelImport, progress: ProgressFn) -> JobOutput:
    """Read the kept export and make it an annotation project, in one transaction.

    A file that cannot be read whole (another tool's file, truncated JSON, a record without a
    rater) raises ``ValidationError`` naming the record, and nothing is created. An import that
    has made its project already returns its summary again.
    """
    if label_import.project_id is not None:
        return JobOutput(result=label_import.summary)
    if label_import.created_by is None:
        raise ValidationError({"file": [_("Nothing imported: the account that asked is gone.")]})
    # Millions of small objects, none in a cycle: the cycle collector waits till the end.
    with without_cycle_collection():
        return _import(label_import, label_import.created_by, progress)


def _import(label_import: LabelImport, user: User, progress: ProgressFn) -> JobOutput:
    from annotation import bulk
    from annotation import services as annotation

    progress(5, gettext_noop("reading the export"))
    storage_file = label_import.source_file
    stored_name = str(storage_file.name)
    source = Input(
        name=label_import.source_name,
        open=lambda: storage_file.storage.open(stored_name, "rb"),
        size=storage_file.size,
    )
    try:
        parsed = parse(
            label_import.tool, [source], field=label_import.field or None, limits=limits()
        )
    except ParseError as exc:
        raise ValidationError({"file": [_nothing_imported(str(exc))]}) from None
    progress(40, gettext_noop("creating the project"))
    votes = parsed.votes
    labels = sorted(votes["label"].unique().tolist())
    keys = category_keys(labels)
    per_answer = votes.groupby(["item", "voter"]).size()
    multi = bool((per_answer > 1).any())
    k = int(votes.groupby("item")["voter"].nunique().max())
    if k > annotation.RATERS_PER_ITEM_MAX:
        problem = ValidationError(
            _("Nothing imported: an item has %(k)s raters; at most %(max)s."),
            params={"k": f"{k:,}", "max": f"{annotation.RATERS_PER_ITEM_MAX:,}"},
        )
        raise ValidationError({"file": [problem]})
    categories = [
        {"key": keys[label], "name": label[:200], "is_none": label == "none"} for label in labels
    ]
    raters = {v: rater_name(label_import=label_import, voter=v) for v in votes["voter"].unique()}
    ratings = bulk.rating_rows(
        item=votes["item"].to_numpy(dtype=object),
        rater=votes["voter"].map(raters).to_numpy(dtype=object),
        label=votes["label"].map(keys).to_numpy(dtype=object),
    )
    with transaction.atomic():
        project = annotation.project_create(
            study=label_import.study,
            user=user,
            name=label_import.name,
            mode="multi_label" if multi else "single",
            categories=categories,
            raters_per_item=max(k, 1),
            description=(
                f"Imported from {label_import.get_tool_display()} ({label_import.source_name})."
            ),
        )
        progress(55, gettext_noop("importing the items"))
        report = annotation.items_import_rows(
            project=project, rows=_item_rows(parsed.items, keys, label_import)
        )
        if not report.ok:
            first = report.errors[0]
            item_problem = f"item {first['external_id']}: {'; '.join(first['errors'])}"
            raise ValidationError({"file": [_nothing_imported(item_problem)]})
        progress(75, gettext_noop("importing the votes"))
        counts = annotation.ratings_store(project=project, rows=ratings)
        summary: dict[str, Any] = parsed.summary()
        summary.update(
            {
                "project": project.pk,
                "project_name": project.name,
                "answers": counts["answers"],
                "mode": project.mode,
                "raters_per_item": project.raters_per_item,
            }
        )
        label_import.project = project
        label_import.summary = summary
        fields = ["project", "summary"]
        if len(parsed.suggestions):
            # Model suggestions are not votes: a file of their own, beside the project, kept
            # with it (a retry after the commit finds the import done and writes nothing).
            label_import.suggestions_file.save(
                f"import-{label_import.pk}-suggestions.csv",
                ContentFile(_report_csv(parsed.suggestions)),
                save=False,
            )
            fields.append("suggestions_file")
        label_import.save(update_fields=fields)
    progress(95, gettext_noop("writing the report"))
    # Keys and notes come from the file: cells a spreadsheet would run as formulas are escaped.
    report_csv = _report_csv(parsed.report)
    return JobOutput(
        result=summary,
        file_name=f"import-{label_import.pk}-report.csv",
        content=report_csv,
        message=JobMessage(
            gettext_noop("%(votes)s by %(raters)s on %(items)s imported into %(project)s."),
            {
                "votes": counted(
                    summary["votes"], gettext_noop("1 vote"), gettext_noop("%(n)s votes")
                ),
                "raters": counted(
                    summary["voters"], gettext_noop("1 rater"), gettext_noop("%(n)s raters")
                ),
                "items": counted(
                    summary["items"], gettext_noop("1 item"), gettext_noop("%(n)s items")
                ),
                "project": project.name,
            },
        ),
    )


EXPORT_JOB = "interop_export"


def labels_export_start(*, study: Study, user: User, project_id: int, tool: str) -> Job:
    """Queue an export of an annotation project's labels in ``tool``'s import format (a job
    whose result file is the export; ``BackgroundUnavailable`` when the broker is down)."""
    from interop.tasks import interop_export_task
    from interop.writers import WRITERS

    if tool not in WRITERS:
        raise ValidationError(
            {"tool": [_("Choose one of %(tools)s.") % {"tools": ", ".join(WRITERS)}]}
        )
    ref = SourceRef(kind="annotation", study_id=study.pk, object_id=project_id)
    try:
        registry.get("annotation").check(ref=ref)
    except SourceUnavailable as exc:
        raise ValidationError({"project": [str(exc)]}) from None
    return job_start(
        kind=EXPORT_JOB,
        task=interop_export_task,
        user=user,
        study=study,
        params={"study": study.pk, "project": project_id, "tool": tool},
    )


def labels_export(*, study_id: int, project_id: int, tool: str) -> JobOutput:
    """The project's labels (read through the source registry, like a dataset's) written in
    the tool's format."""
    from interop.writers import WRITERS

    ref = SourceRef(kind="annotation", study_id=study_id, object_id=project_id)
    source = registry.get("annotation")
    votes = source.vote_table(ref=ref)
    if not len(votes):
        raise ValidationError({"project": [_("This project has no labels yet.")]})
    items = source.item_table(ref=ref)
    title = str(source.describe(ref=ref)["name"])
    write, suffix = WRITERS[tool]
    return JobOutput(
        result={"tool": tool, "votes": len(votes), "items": len(items)},
        file_name=f"{slugify(title) or 'project'}-{suffix}",
        content=write(votes, items),
    )
