"""Items imported from CSV or JSONL, with a zip of media files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from annotation import media
from annotation.media import inspect_audio
from annotation.models import (
    Item,
    ItemKind,
    Project,
)
from annotation.services.projects import _set_slots
from config import inputs

MAX_IMPORT_ROWS = 200_000


ITEM_BATCH = 2_000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["errors"]]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rows": self.rows,
        }


ITEM_FIELDS = {"external_id", "text", "media", "kind", "is_gold", "gold_label", "metadata"}


def _read_rows(data: bytes, filename: str) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": [_("The file is not UTF-8 text.")]}) from None
    if filename.lower().endswith((".jsonl", ".ndjson", ".json")):
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = inputs.json_loads(line)
            except inputs.JSONTooDeep as exc:
                raise ValidationError(
                    {"file": [_("Line %(n)s: JSON %(exc)s.") % {"n": n, "exc": exc}]}
                ) from None
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    {"file": [_("Line %(n)s is not JSON: %(msg)s.") % {"n": n, "msg": exc.msg}]}
                ) from None
            if not isinstance(value, dict):
                raise ValidationError({"file": [_("Line %(n)s is not a JSON object.") % {"n": n}]})
            rows.append(value)
        return rows
    header, lines = inputs.csv_dict_rows(text)
    if "external_id" not in header:
        raise ValidationError({"file": [_("The CSV needs an external_id column.")]})
    return [row for _line, row in lines]


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "y"}


def _media_archive(source: bytes | IO[bytes]) -> media.MediaArchive:
    limits = media.ZipLimits(
        entry_bytes=settings.ANNOTATION_ZIP_MAX_TOTAL_BYTES,
        total_bytes=settings.ANNOTATION_ZIP_MAX_TOTAL_BYTES,
        ratio=settings.ANNOTATION_ZIP_MAX_RATIO,
        entries=settings.ANNOTATION_ZIP_MAX_ENTRIES,
    )
    try:
        return media.MediaArchive(source, limits=limits)
    except ValueError as exc:
        raise ValidationError({"media_zip": [str(exc)]}) from None


def _media_problem(
    project: Project, archive: media.MediaArchive, name: str
) -> tuple[str | None, media.AudioInfo | None]:
    """Unpack one media file (in chunks, within the project's limits) and read its audio
    header; returns (problem, info). Nothing of the file stays in memory."""
    try:
        with archive.open(name, max_bytes=project.media_max_bytes) as fh:
            audio = inspect_audio(fh)
    except ValueError as exc:
        return f"media: {name}: {exc}", None
    if audio.duration > project.media_max_seconds:
        return (
            f"media: {name}: lasts {audio.duration:,.1f} s; the project's limit is "
            f"{project.media_max_seconds:,} s",
            None,
        )
    return None, audio


def items_import(
    *,
    project: Project,
    data: bytes,
    filename: str,
    media_zip: bytes | IO[bytes] | None = None,
) -> ImportReport:
    """Import items from CSV or JSONL (plus a zip of media files named in a ``media`` column).

    Columns: ``external_id`` (required), ``text``, ``media``, ``is_gold``, ``gold_label``
    (category key), ``metadata`` (JSONL: an object); any other column becomes metadata.
    Audio is checked by content (WAV, MP3, OGG, FLAC) and its duration read.

    Limits: a media file may unpack to at most the project's ``media_max_bytes`` and last at
    most its ``media_max_seconds``; the zip's files are checked by their stated sizes first
    (per file, compression ratio, total: ``ANNOTATION_ZIP_*`` settings) and unpacked one at a
    time in chunks (:class:`annotation.media.MediaArchive`), so memory never holds a whole
    file. ``media_zip`` may be bytes or a seekable binary file (an upload).

    Idempotent: an external id already in the project is updated when its text, metadata or
    gold flags differ and left alone otherwise (media are not replaced). All rows are checked
    first; if any row has an error, nothing is written and the report names every problem.
    """
    return items_import_rows(project=project, rows=_read_rows(data, filename), media_zip=media_zip)


@dataclass
class _Row:
    """One row of an import, checked: the item's values, and the media file to unpack (an
    item new to the project) with what its inspection found."""

    values: dict[str, Any]
    media_file: str | None = None
    audio: Any = None


def items_import_rows(
    *,
    project: Project,
    rows: list[dict[str, Any]],
    media_zip: bytes | IO[bytes] | None = None,
) -> ImportReport:
    """Import items given as rows (the columns of :func:`items_import`'s file, a dict each);
    what :func:`items_import` does once it has read the file. Every row is checked first;
    nothing is stored unless every row passes."""
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(
            {
                "file": [
                    _("At most %(max_import_rows)s rows per import.")
                    % {"max_import_rows": MAX_IMPORT_ROWS}
                ]
            }
        )
    archive = _media_archive(media_zip) if media_zip is not None else None
    existing = {i.external_id: i for i in project.items.all()}
    report = ImportReport()
    checked = _checked_rows(project, rows, existing=existing, archive=archive, report=report)
    if archive is not None:
        _check_media(project, archive, checked, report)
    if not report.ok:
        for row in report.rows:
            row["status"] = "error" if row["errors"] else "not imported"
        return report
    _store(project, checked, existing=existing, archive=archive, report=report)
    return report


def _checked_rows(
    project: Project,
    rows: list[dict[str, Any]],
    *,
    existing: dict[str, Item],
    archive: media.MediaArchive | None,
    report: ImportReport,
) -> list[_Row]:
    """Each row's values, its problems in the report."""
    categories = {c.key: c for c in project.categories.all()}
    id_max = int(Item._meta.get_field("external_id").max_length or 0)
    checked: list[_Row] = []
    seen: set[str] = set()
    for number, raw in enumerate(rows, start=1):
        errors: list[str] = []
        ext = str(raw.get("external_id") or "").strip()
        if not ext:
            errors.append(_("external_id: required"))
        elif len(ext) > id_max:
            errors.append(
                _("external_id: %(n)s characters; at most %(max)s")
                % {"n": f"{len(ext):,}", "max": id_max}
            )
        elif ext in seen:
            errors.append(_("external_id: repeated in this file"))
        seen.add(ext)
        metadata = _metadata(raw, errors)
        gold_key = str(raw.get("gold_label") or "").strip()
        gold = categories.get(gold_key) if gold_key else None
        if gold_key and gold is None:
            errors.append(_("gold_label: unknown category %(key)r") % {"key": gold_key})
        media_name = str(raw.get("media") or "").strip()
        unpack = None
        if media_name:
            unpack = _media_to_unpack(project, archive, media_name, errors, new=ext not in existing)
        text = str(raw.get("text") or "")
        if not media_name and not text:
            errors.append(_("text: an item needs text or a media file"))
        values: dict[str, Any] = {
            "external_id": ext,
            "text": text,
            "metadata": metadata,
            "is_gold": _truthy(raw.get("is_gold", False)) or bool(gold_key),
            "gold_label": gold,
        }
        report.rows.append({"row": number, "external_id": ext, "status": "", "errors": errors})
        checked.append(_Row(values, unpack))
    return checked


def _metadata(raw: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """The row's ``metadata`` JSON object, with every column that is not an item field."""
    metadata = raw.get("metadata") or {}
    if isinstance(metadata, str):
        try:
            metadata = inputs.json_loads(metadata) if metadata.strip() else {}
        except inputs.JSONTooDeep as exc:
            errors.append(_("metadata: JSON %(problem)s") % {"problem": exc})
            metadata = {}
        except json.JSONDecodeError:
            errors.append(_("metadata: not a JSON object"))
            metadata = {}
    if not isinstance(metadata, dict):
        errors.append(_("metadata: not a JSON object"))
        metadata = {}
    for key, value in raw.items():
        if key not in ITEM_FIELDS and key is not None and value not in (None, ""):
            metadata[key] = value
    return metadata


def _media_to_unpack(
    project: Project,
    archive: media.MediaArchive | None,
    name: str,
    errors: list[str],
    *,
    new: bool,
) -> str | None:
    """The zip's file a new item will hold, checked by its stated size (an existing item
    keeps the media it has)."""
    if archive is None:
        errors.append(_("media: a media zip is needed for this row"))
    elif name not in archive:
        errors.append(_("media: %(name)r is not in the zip") % {"name": name[:200]})
    elif new:
        problem = archive.problem(name, max_bytes=project.media_max_bytes)
        if problem:
            errors.append(f"media: {name}: {problem}")
        else:
            return name
    return None


def _check_media(
    project: Project, archive: media.MediaArchive, checked: list[_Row], report: ImportReport
) -> None:
    """Every file was checked by its stated sizes, and their total is checked here, so a zip
    bomb is refused before anything unpacks; then each file is inspected as audio."""
    total = archive.total_problem(row.media_file for row in checked if row.media_file)
    if total:
        raise ValidationError({"media_zip": [total]})
    for i, row in enumerate(checked):
        if row.media_file is not None:
            problem, row.audio = _media_problem(project, archive, row.media_file)
            if problem:
                report.rows[i]["errors"].append(problem)


@transaction.atomic
def _store(
    project: Project,
    checked: list[_Row],
    *,
    existing: dict[str, Item],
    archive: media.MediaArchive | None,
    report: ImportReport,
) -> None:
    """Create and update the items. New items without media are inserted in batches (a
    100,000-item import is a few dozen statements, not 100,000)."""
    new_items: list[dict[str, Any]] = []
    for row, each in zip(report.rows, checked, strict=True):
        item = existing.get(each.values["external_id"])
        if item is not None and _item_update(project, item, each.values):
            row["status"] = "updated"
            report.updated += 1
            continue
        if item is not None:
            row["status"] = "unchanged"
            report.unchanged += 1
            continue
        row["status"] = "created"
        report.created += 1
        if each.audio is None or each.media_file is None or archive is None:
            new_items.append(each.values)
            continue
        # Items are numbered in the file's order: the text items before this one first.
        _items_insert(project, new_items)
        new_items.clear()
        _audio_item_create(project, each, archive)
    _items_insert(project, new_items)


def _audio_item_create(project: Project, row: _Row, archive: media.MediaArchive) -> None:
    assert row.media_file is not None
    item = Item(project=project, **row.values)
    item.kind = ItemKind.AUDIO
    _set_slots(project, item)
    item.media_type, item.duration = row.audio.media_type, row.audio.duration
    # Unpacked again (one file at a time), straight into the storage.
    with archive.open(row.media_file, max_bytes=project.media_max_bytes) as fh:
        name = f"{slugify(row.values['external_id'])}.{row.audio.extension}"
        item.media.save(name, File(fh), save=False)
    item.save()


def _item_update(project: Project, item: Item, values: dict[str, Any]) -> bool:
    """Give an existing item the row's text, metadata and gold answer; whether it changed.
    Its slots follow a change of gold only while nobody holds one."""
    changed = [
        name for name in ("text", "metadata", "is_gold") if getattr(item, name) != values[name]
    ]
    if item.gold_label_id != (values["gold_label"].pk if values["gold_label"] else None):
        changed.append("gold_label")
    if not changed:
        return False
    for name in changed:
        setattr(item, name, values[name])
    fields = changed
    if "is_gold" in changed and item.slots_taken == 0:
        _set_slots(project, item)
        fields = [*fields, "slots_total"]
    item.save(update_fields=fields)
    return True


ITEM_COPY_COLUMNS = (
    "project_id", "external_id", "kind", "text", "media", "media_type", "metadata", "is_gold",
    "gold_label_id", "slots_total", "slots_taken", "expert_slots_total", "expert_slots_taken",
    "created_at",
)  # fmt: skip


def _items_insert(project: Project, rows: list[dict[str, Any]]) -> None:
    """Insert new text items (``external_id``, ``text``, ``metadata``, ``is_gold``,
    ``gold_label`` each): one COPY on PostgreSQL (the ORM's per-value preparation costs more
    than the database's work), ``bulk_create`` batches elsewhere."""
    if not rows:
        return
    k = project.raters_per_item
    if connection.vendor != "postgresql":
        items = [
            Item(project=project, kind=ItemKind.TEXT, slots_total=0 if v["is_gold"] else k, **v)
            for v in rows
        ]
        Item.objects.bulk_create(items, batch_size=ITEM_BATCH)
        return
    import msgspec

    # The metadata sent as JSON text (COPY's text format hands it to jsonb's own reader).
    encode = msgspec.json.Encoder().encode
    now = timezone.now()
    sql = f"COPY {Item._meta.db_table} ({', '.join(ITEM_COPY_COLUMNS)}) FROM STDIN"
    project_id, kind = project.pk, ItemKind.TEXT.value
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for v in rows:
            gold = v["gold_label"]
            copy.write_row(
                (
                    project_id, v["external_id"], kind, v["text"], "", "",
                    encode(v["metadata"]).decode(), v["is_gold"], gold.pk if gold else None,
                    0 if v["is_gold"] else k, 0, 0, 0, now,
                )
            )  # fmt: skip
