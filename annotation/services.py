"""Writes of the annotation app: projects, items, assignment, answers, quality, adjudication.

Concurrency. "Next item" picks the most needed item with ``SELECT ... FOR UPDATE SKIP LOCKED``
(PostgreSQL; SQLite serialises writers anyway) and claims a slot with a conditional
``UPDATE item SET slots_taken = slots_taken + 1 WHERE slots_taken < slots_total``. The
assignment row is unique per (item, rater). So however many raters ask at once, no item gets
more than ``slots_total`` ratings and nobody rates an item twice: the database refuses it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
import zipfile
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Study, User
from annotation.media import inspect_audio
from annotation.models import (
    Adjudication,
    Annotation,
    AnnotationLabel,
    Assignment,
    AssignmentStatus,
    Category,
    DisagreementRule,
    Exclusion,
    Item,
    ItemKind,
    LabelMode,
    LabelRole,
    MemberRole,
    Pool,
    Project,
    ProjectMember,
)

logger = logging.getLogger(__name__)

RESERVED_KEYS = {"u", "s", " "}
MAX_IMPORT_ROWS = 200_000


# --- projects and schemas ----------


def _validate_scales(scales: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, scale in enumerate(scales):
        key = str(scale.get("key", ""))
        if not key or slugify(key) != key or key in seen:
            raise ValidationError({f"scales.{i}.key": ["A unique slug is required."]})
        low, high = scale.get("min", 1), scale.get("max", 7)
        if not isinstance(low, int) or not isinstance(high, int) or low >= high:
            raise ValidationError({f"scales.{i}.max": ["min and max must be integers, min < max."]})
        seen.add(key)
        out.append(
            {
                "key": key,
                "name": str(scale.get("name") or key.title()),
                "min": low,
                "max": high,
                "required": bool(scale.get("required", False)),
            }
        )
    return out


@transaction.atomic
def project_create(
    *,
    study: Study,
    user: User,
    name: str,
    mode: str = LabelMode.SINGLE,
    categories: list[dict[str, Any]],
    raters_per_item: int = 3,
    description: str = "",
    guidelines: str = "",
    scales: list[dict[str, Any]] | None = None,
    gold_rate: float = 0.0,
    expert_raters_per_item: int = 0,
    expert_sample_rate: float = 0.0,
    allow_comment: bool = True,
    allow_evidence: bool = False,
    lease_minutes: int = 15,
    disagreement_rule: str = DisagreementRule.NO_MAJORITY,
) -> Project:
    """Create a project with its ordered categories.

    A multi-label schema always has an explicit "none" category (added when not given).
    Keyboard keys default to 1..9 then 0 in order; ``u``, ``s`` and space are reserved for undo,
    skip and play.
    """
    if mode not in LabelMode.values:
        raise ValidationError({"mode": [f"Unknown mode {mode!r}."]})
    if not categories:
        raise ValidationError({"categories": ["At least one category is required."]})
    if raters_per_item < 1:
        raise ValidationError({"raters_per_item": ["At least one rater per item."]})
    project = Project.objects.create(
        study=study,
        name=name,
        description=description,
        mode=mode,
        raters_per_item=raters_per_item,
        guidelines=guidelines,
        scales=_validate_scales(scales or []),
        gold_rate=gold_rate,
        expert_raters_per_item=expert_raters_per_item,
        expert_sample_rate=expert_sample_rate,
        allow_comment=allow_comment,
        allow_evidence=allow_evidence,
        lease_minutes=lease_minutes,
        disagreement_rule=disagreement_rule,
        created_by=user,
    )
    specs = list(categories)
    if mode == LabelMode.MULTI_LABEL and not any(c.get("is_none") for c in specs):
        specs.append({"key": "none", "name": "None of these", "is_none": True})
    default_keys = iter("1234567890")
    keys: set[str] = set()
    rows = []
    for order, spec in enumerate(specs):
        key = str(spec.get("key") or slugify(spec.get("name", "")))
        if not key or key in keys:
            raise ValidationError({f"categories.{order}.key": ["A unique key is required."]})
        keys.add(key)
        kb = str(spec.get("keyboard_key") or next(default_keys, "")).lower()
        if kb in RESERVED_KEYS:
            raise ValidationError(
                {f"categories.{order}.keyboard_key": ["u, s and space are reserved."]}
            )
        rows.append(
            Category(
                project=project,
                key=key,
                name=spec.get("name") or key.title(),
                description=spec.get("description", ""),
                examples=spec.get("examples", ""),
                keyboard_key=kb,
                order=order,
                is_secondary_allowed=spec.get("is_secondary_allowed", True),
                is_none=bool(spec.get("is_none", False)),
            )
        )
    try:
        with transaction.atomic():
            Category.objects.bulk_create(rows)
    except IntegrityError:
        raise ValidationError({"categories": ["Keyboard keys must be unique."]}) from None
    return project


@transaction.atomic
def member_add(
    *, project: Project, user: User, role: str = MemberRole.ANNOTATOR, group: str = ""
) -> ProjectMember:
    if role not in MemberRole.values:
        raise ValidationError({"role": [f"Unknown role {role!r}."]})
    member, _ = ProjectMember.objects.update_or_create(
        project=project, user=user, defaults={"role": role, "group": group}
    )
    return member


@transaction.atomic
def member_remove(*, project: Project, user: User) -> None:
    ProjectMember.objects.filter(project=project, user=user).delete()


# --- items ----------


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
        raise ValidationError({"file": ["The file is not UTF-8 text."]}) from None
    if filename.lower().endswith((".jsonl", ".ndjson", ".json")):
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError({"file": [f"Line {n} is not JSON: {exc.msg}."]}) from None
            if not isinstance(value, dict):
                raise ValidationError({"file": [f"Line {n} is not a JSON object."]})
            rows.append(value)
        return rows
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "external_id" not in reader.fieldnames:
        raise ValidationError({"file": ["The CSV needs an external_id column."]})
    return [dict(row) for row in reader]


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "y"}


def items_import(
    *, project: Project, data: bytes, filename: str, media_zip: bytes | None = None
) -> ImportReport:
    """Import items from CSV or JSONL (plus a zip of media files named in a ``media`` column).

    Columns: ``external_id`` (required), ``text``, ``media``, ``is_gold``, ``gold_label``
    (category key), ``metadata`` (JSONL: an object); any other column becomes metadata.
    Audio is checked by content (WAV, MP3, OGG, FLAC) and its duration read.

    Idempotent: an external id already in the project is updated when its text, metadata or
    gold flags differ and left alone otherwise (media are not replaced). All rows are checked
    first; if any row has an error, nothing is written and the report names every problem.
    """
    rows = _read_rows(data, filename)
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError({"file": [f"At most {MAX_IMPORT_ROWS} rows per import."]})
    archive: zipfile.ZipFile | None = None
    if media_zip is not None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(media_zip))
        except zipfile.BadZipFile:
            raise ValidationError({"media_zip": ["The media archive is not a zip file."]}) from None
    names = {_base_name(n): n for n in archive.namelist()} if archive else {}
    categories = {c.key: c for c in project.categories.all()}
    existing = {i.external_id: i for i in project.items.all()}
    report = ImportReport()
    prepared: list[tuple[dict[str, Any], bytes | None, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(rows, start=1):
        errors: list[str] = []
        ext = str(raw.get("external_id") or "").strip()
        if not ext:
            errors.append("external_id: required")
        elif ext in seen:
            errors.append("external_id: repeated in this file")
        seen.add(ext)
        metadata = raw.get("metadata") or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata) if metadata.strip() else {}
            except json.JSONDecodeError:
                errors.append("metadata: not a JSON object")
                metadata = {}
        if not isinstance(metadata, dict):
            errors.append("metadata: not a JSON object")
            metadata = {}
        for key, value in raw.items():
            if key not in ITEM_FIELDS and key is not None and value not in (None, ""):
                metadata[key] = value
        gold_key = str(raw.get("gold_label") or "").strip()
        is_gold = _truthy(raw.get("is_gold", False)) or bool(gold_key)
        gold = None
        if gold_key:
            gold = categories.get(gold_key)
            if gold is None:
                errors.append(f"gold_label: unknown category {gold_key!r}")
        media_name = str(raw.get("media") or "").strip()
        payload: bytes | None = None
        audio = None
        if media_name:
            if archive is None:
                errors.append("media: a media zip is needed for this row")
            elif media_name not in names:
                errors.append(f"media: {media_name!r} is not in the zip")
            elif ext not in existing:
                payload = archive.read(names[media_name])
                try:
                    audio = inspect_audio(payload)
                except ValueError as exc:
                    errors.append(f"media: {media_name}: {exc}")
        text = str(raw.get("text") or "")
        if not media_name and not text:
            errors.append("text: an item needs text or a media file")
        report.rows.append({"row": number, "external_id": ext, "status": "", "errors": errors})
        values = {
            "external_id": ext,
            "text": text,
            "metadata": metadata,
            "is_gold": is_gold,
            "gold_label": gold,
        }
        prepared.append((values, payload, audio))
    if not report.ok:
        for row in report.rows:
            row["status"] = "error" if row["errors"] else "not imported"
        return report
    with transaction.atomic():
        for row, (values, payload, audio) in zip(report.rows, prepared, strict=True):
            item = existing.get(values["external_id"])
            if item is None:
                item = Item(project=project, **values)
                item.kind = ItemKind.AUDIO if audio else ItemKind.TEXT
                _set_slots(project, item)
                if audio is not None and payload is not None:
                    item.media_type, item.duration = audio.media_type, audio.duration
                    item.media.save(
                        f"{slugify(values['external_id'])}.{audio.extension}",
                        ContentFile(payload),
                        save=False,
                    )
                item.save()
                row["status"] = "created"
                report.created += 1
                continue
            changed = [
                name
                for name in ("text", "metadata", "is_gold")
                if getattr(item, name) != values[name]
            ]
            if item.gold_label_id != (values["gold_label"].pk if values["gold_label"] else None):
                changed.append("gold_label")
            if not changed:
                row["status"] = "unchanged"
                report.unchanged += 1
                continue
            for name in changed:
                setattr(item, name, values[name])
            fields = changed
            if "is_gold" in changed and item.slots_taken == 0:
                _set_slots(project, item)
                fields = [*fields, "slots_total"]
            item.save(update_fields=fields)
            row["status"] = "updated"
            report.updated += 1
    return report


def _base_name(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _set_slots(project: Project, item: Item) -> None:
    # Gold items are served to every annotator (at the gold rate), outside the k slots.
    item.slots_total = 0 if item.is_gold else project.raters_per_item


@transaction.atomic
def project_set_k(*, project: Project, raters_per_item: int) -> int:
    """Change k; items keep the ratings they have (k never drops below what is taken)."""
    if raters_per_item < 1:
        raise ValidationError({"raters_per_item": ["At least one rater per item."]})
    project.raters_per_item = raters_per_item
    project.save(update_fields=["raters_per_item"])
    return Item.objects.filter(project=project, is_gold=False).update(
        slots_total=Greatest(F("slots_taken"), raters_per_item)
    )


@transaction.atomic
def expert_sample_draw(*, project: Project, stratify_by: str | None = None, seed: int = 0) -> int:
    """Choose the items experts rate: ``expert_sample_rate`` of each stratum, seeded.

    Strata are the values of ``metadata[stratify_by]`` (one stratum when None). Each chosen
    item wants ``expert_raters_per_item`` experts. Returns the number of items chosen.
    """
    rng = np.random.default_rng(seed)
    rows = list(
        Item.objects.filter(project=project, is_gold=False)
        .order_by("id")
        .values_list("id", "metadata")
    )
    strata: dict[str, list[int]] = {}
    for pk, metadata in rows:
        key = str((metadata or {}).get(stratify_by, "")) if stratify_by else ""
        strata.setdefault(key, []).append(pk)
    chosen: list[int] = []
    for key in sorted(strata):
        ids = strata[key]
        n = min(len(ids), math.ceil(project.expert_sample_rate * len(ids)))
        chosen.extend(int(x) for x in rng.choice(ids, size=n, replace=False))
    per_item = project.expert_raters_per_item
    Item.objects.filter(project=project).exclude(pk__in=chosen).update(
        expert_slots_total=F("expert_slots_taken")
    )
    Item.objects.filter(pk__in=chosen).update(
        expert_slots_total=Greatest(F("expert_slots_taken"), per_item)
    )
    return len(chosen)


# --- assignment ----------


def _slot_fields(pool: str) -> tuple[str, str] | None:
    if pool == Pool.ANNOTATOR:
        return "slots_taken", "slots_total"
    if pool == Pool.EXPERT:
        return "expert_slots_taken", "expert_slots_total"
    return None  # gold: outside the k slots


def _release_slots(pairs: Iterable[tuple[int, str]]) -> None:
    for (item_id, pool), n in Counter(pairs).items():
        slots = _slot_fields(pool)
        if slots is not None:
            Item.objects.filter(pk=item_id).update(**{slots[0]: F(slots[0]) - n})


def leases_expire(*, project: Project, now: datetime | None = None) -> int:
    """Return abandoned items: leases past their expiry become ``expired`` and free a slot.

    Rows another process is expiring are skipped (``SKIP LOCKED``), so two sweeps never
    release the same slot twice.
    """
    now = now or timezone.now()
    # No savepoint: called inside "next item", whose transaction it shares.
    with transaction.atomic(savepoint=False):
        rows = list(
            Assignment.objects.filter(
                item__project=project, status=AssignmentStatus.LEASED, expires_at__lte=now
            )
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", "item_id", "pool")
        )
        if not rows:
            return 0
        Assignment.objects.filter(pk__in=[r[0] for r in rows]).update(
            status=AssignmentStatus.EXPIRED, finished_at=now
        )
        _release_slots((item_id, pool) for _, item_id, pool in rows)
    return len(rows)


def _gold_due(*, project: Project, user: User) -> bool:
    """Every 1/rate-th answer is a gold item: deterministic, so the rate holds exactly."""
    if project.gold_rate <= 0:
        return False
    done = Assignment.objects.filter(
        rater=user, item__project=project, status=AssignmentStatus.DONE
    ).count()
    return math.floor((done + 1) * project.gold_rate) > math.floor(done * project.gold_rate)


def _claim(*, project: Project, user: User, pool: str, now: datetime) -> Assignment | None:
    unseen = ~Exists(Assignment.objects.filter(item=OuterRef("pk"), rater=user))
    slots = _slot_fields(pool)
    for _attempt in range(8):
        candidates = Item.objects.filter(project=project).filter(unseen)
        if slots is None:
            candidates = candidates.filter(is_gold=True).order_by("id")
        else:
            taken, total = slots
            candidates = candidates.filter(is_gold=False, **{f"{taken}__lt": F(total)}).order_by(
                taken, "id"
            )
        item_id = candidates.select_for_update(skip_locked=True).values_list("id", flat=True)[:1]
        item_id = next(iter(item_id), None)
        if item_id is None:
            return None
        if slots is not None:
            taken, total = slots
            claimed = Item.objects.filter(pk=item_id, **{f"{taken}__lt": F(total)}).update(
                **{taken: F(taken) + 1}
            )
            if not claimed:
                continue
        assignment = Assignment(
            item_id=item_id,
            rater=user,
            pool=pool,
            status=AssignmentStatus.LEASED,
            leased_at=now,
            expires_at=now + timedelta(minutes=project.lease_minutes),
        )
        # ON CONFLICT instead of a savepoint: one round trip, and a parallel request of the
        # same rater for the same item simply inserts nothing.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO annotation_assignment (item_id, rater_id, pool, status, leased_at, "
                "expires_at, skip_reason) VALUES (%s, %s, %s, %s, %s, %s, '') "
                "ON CONFLICT (item_id, rater_id) DO NOTHING RETURNING id",
                [
                    item_id,
                    user.pk,
                    str(pool),
                    AssignmentStatus.LEASED.value,
                    connection.ops.adapt_datetimefield_value(now),
                    connection.ops.adapt_datetimefield_value(assignment.expires_at),
                ],
            )
            row = cursor.fetchone()
        if row is not None:
            assignment.pk = row[0]
            assignment._state.adding = False
            assignment._state.db = "default"
            return assignment
        # The same rater claimed this item in a parallel request: give the slot back.
        if slots is not None:
            Item.objects.filter(pk=item_id).update(**{slots[0]: F(slots[0]) - 1})
    return None


def assignment_next(
    *, project: Project, user: User, now: datetime | None = None
) -> Assignment | None:
    """The rater's open assignment, or a new lease on the most needed item they have not seen.

    Annotators draw from the k slots (fewest taken first) with gold items mixed in at the
    project's gold rate; experts draw from the expert sample. None when nothing is left.
    """
    now = now or timezone.now()
    member = ProjectMember.objects.filter(project=project, user=user).first()
    if member is None or member.role not in (MemberRole.ANNOTATOR, MemberRole.EXPERT):
        raise PermissionDenied("Only annotators and experts receive items.")
    with transaction.atomic():
        leases_expire(project=project, now=now)
        current = (
            Assignment.objects.filter(
                rater=user,
                item__project=project,
                status=AssignmentStatus.LEASED,
                expires_at__gt=now,
            )
            .select_related("item")
            .order_by("-leased_at", "-id")
            .first()
        )
        if current is not None:
            return current
        pool = Pool.EXPERT if member.role == MemberRole.EXPERT else Pool.ANNOTATOR
        if pool == Pool.ANNOTATOR and _gold_due(project=project, user=user):
            gold = _claim(project=project, user=user, pool=Pool.GOLD, now=now)
            if gold is not None:
                return gold
        return _claim(project=project, user=user, pool=pool, now=now)


@dataclass(frozen=True)
class LabelChoice:
    category: Category
    role: str


def validate_labels(
    *, project: Project, labels: list[dict[str, Any]], categories: dict[str, Category] | None = None
) -> list[LabelChoice]:
    """Check chosen labels against the project's mode; raise ValidationError naming ``labels``."""
    if categories is None:
        categories = {c.key: c for c in project.categories.all()}
    if not labels:
        raise ValidationError({"labels": ["Choose at least one label."]})
    out: list[LabelChoice] = []
    seen: set[str] = set()
    for entry in labels:
        key = str(entry.get("category", ""))
        role = str(entry.get("role") or LabelRole.PRIMARY)
        category = categories.get(key)
        if category is None:
            raise ValidationError({"labels": [f"Unknown category {key!r}."]})
        if key in seen:
            raise ValidationError({"labels": [f"Category {key!r} is chosen twice."]})
        seen.add(key)
        if role not in (LabelRole.PRIMARY, LabelRole.SECONDARY):
            raise ValidationError({"labels": [f"Unknown role {role!r}."]})
        out.append(LabelChoice(category, role))
    primaries = [c for c in out if c.role == LabelRole.PRIMARY]
    if project.mode == LabelMode.MULTI_LABEL:
        if any(c.category.is_none for c in out) and len(out) > 1:
            raise ValidationError({"labels": ["'None' cannot be combined with other labels."]})
        # Multi-label choices are equals: stored with the ``label`` role.
        return [LabelChoice(c.category, LabelRole.LABEL) for c in out]
    if len(primaries) > 1:
        raise ValidationError({"labels": ["Only one primary label is allowed."]})
    if not primaries:
        raise ValidationError({"labels": ["Choose a primary label."]})
    if project.mode == LabelMode.SINGLE and len(out) > 1:
        raise ValidationError({"labels": ["This project takes exactly one label."]})
    for choice in out:
        if choice.role == LabelRole.SECONDARY and not choice.category.is_secondary_allowed:
            raise ValidationError(
                {"labels": [f"Category {choice.category.key!r} cannot be a secondary label."]}
            )
    return out


def validate_ratings(*, project: Project, ratings: dict[str, Any]) -> dict[str, int]:
    scales = {s["key"]: s for s in project.scales}
    out: dict[str, int] = {}
    for key, value in (ratings or {}).items():
        scale = scales.get(key)
        if scale is None:
            raise ValidationError({f"ratings.{key}": ["Unknown rating scale."]})
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError({f"ratings.{key}": ["A whole number is required."]})
        try:
            number = int(value)
        except ValueError:
            raise ValidationError({f"ratings.{key}": ["A whole number is required."]}) from None
        if not scale["min"] <= number <= scale["max"]:
            raise ValidationError(
                {f"ratings.{key}": [f"Must be between {scale['min']} and {scale['max']}."]}
            )
        out[key] = number
    for key, scale in scales.items():
        if scale.get("required") and key not in out:
            raise ValidationError({f"ratings.{key}": ["This rating is required."]})
    return out


@transaction.atomic
def annotation_submit(
    *,
    project: Project,
    user: User,
    item_id: int,
    labels: list[dict[str, Any]],
    ratings: dict[str, Any] | None = None,
    comment: str = "",
    evidence: str = "",
    time_ms: int | None = None,
    now: datetime | None = None,
) -> Annotation:
    """Record the rater's answer on an item leased to them.

    Locks the assignment row. Refuses (ValidationError naming the field, nothing written): an
    item not assigned to the rater, a lease that expired or was already answered, unknown
    categories, a second primary, labels that do not fit the mode, ratings off their scale.
    """
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_for_update()
        .filter(item_id=item_id, rater=user, item__project=project)
        .first()
    )
    if assignment is None:
        raise ValidationError({"item": ["This item is not assigned to you."]})
    if assignment.status == AssignmentStatus.DONE:
        raise ValidationError({"item": ["You have already answered this item."]})
    if assignment.status != AssignmentStatus.LEASED or assignment.expires_at <= now:
        raise ValidationError({"item": ["Your lease on this item has expired."]})
    choices = validate_labels(project=project, labels=labels)
    clean_ratings = validate_ratings(project=project, ratings=ratings or {})
    if comment and not project.allow_comment:
        raise ValidationError({"comment": ["Comments are not collected in this project."]})
    if evidence and not project.allow_evidence:
        raise ValidationError({"evidence": ["Evidence is not collected in this project."]})
    if time_ms is not None and time_ms < 0:
        raise ValidationError({"time_ms": ["Must not be negative."]})
    annotation = Annotation.objects.create(
        assignment=assignment,
        time_ms=time_ms,
        comment=comment,
        evidence=evidence,
        ratings=clean_ratings,
        created_at=now,
    )
    AnnotationLabel.objects.bulk_create(
        AnnotationLabel(annotation=annotation, category=c.category, role=c.role) for c in choices
    )
    assignment.status = AssignmentStatus.DONE
    assignment.finished_at = now
    assignment.save(update_fields=["status", "finished_at"])
    return annotation


@transaction.atomic
def assignment_skip(
    *, project: Project, user: User, item_id: int, reason: str, now: datetime | None = None
) -> Assignment:
    """Give the item back (it returns to the pool for others) and keep the reason."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why you skip this item."]})
    assignment = (
        Assignment.objects.select_for_update()
        .filter(item_id=item_id, rater=user, item__project=project)
        .first()
    )
    if assignment is None:
        raise ValidationError({"item": ["This item is not assigned to you."]})
    if assignment.status != AssignmentStatus.LEASED:
        raise ValidationError({"item": ["Only an open item can be skipped."]})
    assignment.status = AssignmentStatus.SKIPPED
    assignment.skip_reason = reason[:200]
    assignment.finished_at = now
    assignment.save(update_fields=["status", "skip_reason", "finished_at"])
    _release_slots([(assignment.item_id, assignment.pool)])
    return assignment


@transaction.atomic
def annotation_undo(*, project: Project, user: User, now: datetime | None = None) -> Assignment:
    """Take back the rater's last answer in the project: the item is theirs to answer again.

    The slot stays taken (the lease is renewed), so the undone item cannot go to anyone else.
    """
    now = now or timezone.now()
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .filter(assignment__rater=user, assignment__item__project=project)
        .select_related("assignment")
        .order_by("-created_at", "-pk")
        .first()
    )
    if annotation is None:
        raise ValidationError({"non_field_errors": ["There is no answer to undo."]})
    assignment = annotation.assignment
    annotation.delete()
    assignment.status = AssignmentStatus.LEASED
    assignment.leased_at = now
    assignment.expires_at = now + timedelta(minutes=project.lease_minutes)
    assignment.finished_at = None
    assignment.save(update_fields=["status", "leased_at", "expires_at", "finished_at"])
    return assignment


# --- quality ----------


@transaction.atomic
def exclusion_create(*, project: Project, rater: User, reason: str, by: User) -> Exclusion:
    """Leave the rater's labels out of the vote table, keeping the reason (reversible)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give a reason for the exclusion."]})
    if not ProjectMember.objects.filter(project=project, user=rater).exists():
        raise ValidationError({"rater": ["This person is not a member of the project."]})
    try:
        with transaction.atomic():
            return Exclusion.objects.create(
                project=project, rater=rater, reason=reason, created_by=by
            )
    except IntegrityError:
        raise ValidationError({"rater": ["This annotator is already excluded."]}) from None


@transaction.atomic
def exclusion_lift(*, exclusion: Exclusion, by: User) -> Exclusion:
    updated = Exclusion.objects.filter(pk=exclusion.pk, active=True).update(
        active=False, lifted_by=by, lifted_at=timezone.now()
    )
    if not updated:
        raise ValidationError({"non_field_errors": ["This exclusion was already lifted."]})
    exclusion.refresh_from_db()
    return exclusion


# --- adjudication ----------


@transaction.atomic
def adjudication_record(
    *, item: Item, user: User, labels: list[dict[str, Any]], note: str = ""
) -> Adjudication:
    """Record the final label of an item, with the labels it was decided on (provenance)."""
    project = item.project
    choices = validate_labels(project=project, labels=labels)
    basis = [
        {"assignment": a, "rater": r, "category": c, "role": role}
        for a, r, c, role in AnnotationLabel.objects.filter(annotation__assignment__item=item)
        .order_by("annotation_id", "id")
        .values_list("annotation_id", "annotation__assignment__rater_id", "category__key", "role")
    ]
    return Adjudication.objects.create(
        item=item,
        labels=[{"category": c.category.key, "role": c.role} for c in choices],
        note=note,
        decided_by=user,
        basis=basis,
    )


# --- bulk import of existing ratings ----------------------------------------------------------

RATING_COLUMNS = ("item", "rater", "label", "role", "created", "time_ms")
REQUIRED_RATING_COLUMNS = ("item", "rater", "label")


def _timed(cursor, sql: str, params: Any = None) -> None:
    started = time.perf_counter()
    cursor.execute(sql, params)
    logger.debug("ratings_import %.2f s: %s", time.perf_counter() - started, sql[:80])


def _problems(cursor, sql: str, params: dict[str, Any]) -> list[str]:
    _timed(cursor, sql + " LIMIT 5", params)
    return [str(row[0]) for row in cursor.fetchall()]


ANSWER_TABLES = ("annotation_assignment", "annotation_annotation", "annotation_annotationlabel")


@contextmanager
def _foreign_keys_checked_once(cursor, tables: Iterable[str]):
    """Check the foreign keys of ``tables`` with one join each instead of once per row.

    PostgreSQL checks a foreign key row by row (a trigger per inserted row, at commit for
    Django's deferred constraints): for a million rows that costs far more than the insert.
    Inside the caller's transaction the constraints are dropped and then added back with the
    same names and definitions; adding a constraint validates every row with a single query.
    If anything fails, the transaction rolls back with the constraints intact. The tables are
    locked (ACCESS EXCLUSIVE) until commit, so bulk imports pause answering for their duration.
    """
    names = list(tables)
    _timed(
        cursor,
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%(tables)s) ORDER BY 1, 2",
        {"tables": names},
    )
    constraints = cursor.fetchall()
    # ALTER TABLE refuses tables with pending deferred checks: run them now.
    _timed(cursor, "SET CONSTRAINTS ALL IMMEDIATE")
    for table, name, _definition in constraints:
        _timed(cursor, f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in constraints:
        _timed(cursor, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    _timed(cursor, "SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def _indexes_rebuilt(cursor, tables: Iterable[str]):
    """Drop the secondary indexes and unique constraints of ``tables``, rebuild them after.

    Building an index once from sorted rows is much cheaper than a million random index
    insertions; worth it when the import is large next to what the tables hold. Primary keys
    stay. Definitions are read from the catalogue and restored verbatim, names included; a
    rebuilt unique index re-checks uniqueness over every row.
    """
    names = list(tables)
    _timed(
        cursor,
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid::regclass::text = ANY(%(tables)s) AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        {"tables": names},
    )
    indexes = cursor.fetchall()
    _timed(
        cursor,
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'u' AND conrelid::regclass::text = ANY(%(tables)s) ORDER BY 1, 2",
        {"tables": names},
    )
    uniques = cursor.fetchall()
    for name, _definition in indexes:
        _timed(cursor, f"DROP INDEX {name}")
    for table, name, _definition in uniques:
        _timed(cursor, f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in uniques:
        _timed(cursor, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        _timed(cursor, definition)


def _table_rows(cursor, table: str) -> int:
    _timed(cursor, "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
           [table])  # fmt: skip
    return int(cursor.fetchone()[0])


def ratings_import(*, project: Project, source: IO[bytes]) -> dict[str, int]:
    """Import existing ratings from CSV at COPY speed (PostgreSQL).

    Columns (header required): ``item`` (external id), ``rater`` (username), ``label``
    (category key), optional ``role`` (``primary``/``secondary``; default primary),
    ``created`` (ISO time) and ``time_ms``. One row per label; the rows of one (item, rater)
    form one answer. Unknown raters become inactive users without a usable password and
    join the project as annotators.

    The CSV is streamed with ``COPY`` into a temporary staging table, resolved to ids with set
    joins, validated in SQL (unknown items or categories, bad roles, repeated labels, not
    exactly one primary where the mode needs one, more than k raters on an item) and then
    inserted with ``INSERT ... SELECT`` (the answers numbered by a window function while the
    ids are resolved, so labels need no join back; foreign keys checked once per table, see
    :func:`_foreign_keys_checked_once`). Any problem raises ValidationError naming the column
    and nothing is written. Answers for (item, rater) pairs that already exist are skipped, so
    a repeated import changes nothing.
    """
    if connection.vendor != "postgresql":
        raise ValidationError({"file": ["Importing ratings needs PostgreSQL."]})
    header = source.readline().decode("utf-8-sig").strip().split(",")
    columns = [c.strip() for c in header]
    unknown = [c for c in columns if c not in RATING_COLUMNS]
    if unknown:
        raise ValidationError({"file": [f"Unknown column(s): {', '.join(unknown)}."]})
    missing = [c for c in REQUIRED_RATING_COLUMNS if c not in columns]
    if missing:
        raise ValidationError({"file": [f"Missing column(s): {', '.join(missing)}."]})
    p = {"project": project.pk}
    multi = project.mode == LabelMode.MULTI_LABEL
    with transaction.atomic(), connection.cursor() as cursor:
        _timed(cursor, "SET LOCAL synchronous_commit = off")
        # Hash joins and aggregates over a million rows stay in memory.
        _timed(cursor, "SET LOCAL work_mem = '256MB'")
        _timed(cursor, "SET LOCAL maintenance_work_mem = '256MB'")
        for table in ("ann_stage", "ann_resolved", "ann_pairs"):
            _timed(cursor, f"DROP TABLE IF EXISTS {table}")
        _timed(
            cursor,
            "CREATE TEMP TABLE ann_stage (item text, rater text, label text, role text, "
            "created text, time_ms text) ON COMMIT DROP",
        )
        copy_sql = f"COPY ann_stage ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        started = time.perf_counter()
        try:
            with cursor.cursor.copy(copy_sql) as copy:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
        except DatabaseError as exc:
            raise ValidationError({"file": [f"The CSV could not be read: {exc}"]}) from None
        logger.debug("ratings_import %.2f s: COPY", time.perf_counter() - started)
        _timed(cursor, "ANALYZE ann_stage")
        _timed(cursor, "SELECT count(*) FROM ann_stage")
        n_rows = cursor.fetchone()[0]
        if not n_rows:
            raise ValidationError({"file": ["The file has no rows."]})
        bad = _problems(
            cursor,
            "SELECT rater FROM ann_stage WHERE coalesce(rater, '') = '' OR length(rater) > 150",
            p,
        )
        if bad:
            raise ValidationError({"rater": ["A rater is missing or longer than 150 characters."]})
        _timed(
            cursor,
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined, display_name) "
            "SELECT '!', false, r.rater, '', '', '', false, false, now(), '' "
            "FROM (SELECT DISTINCT rater FROM ann_stage) r "
            "WHERE NOT EXISTS (SELECT 1 FROM accounts_user u WHERE u.username = r.rater)",
        )
        new_raters = cursor.rowcount
        try:
            with transaction.atomic():
                # The answer of each row is numbered (rn, by item and rater) and summarised
                # (first time, longest time on item, primary labels) with window functions
                # over one sort, so the answer rows and the label rows come from this one
                # table without joining them again.
                _timed(
                    cursor,
                    "CREATE TEMP TABLE ann_resolved ON COMMIT DROP AS "
                    "SELECT r.*, dense_rank() OVER (ORDER BY item_id, rater_id) AS rn, "
                    "row_number() OVER w AS nth, "
                    "count(*) FILTER (WHERE role = 'primary') OVER w AS n_primary, "
                    "min(created) OVER w AS first_created, max(time_ms) OVER w AS max_time_ms "
                    "FROM (SELECT s.item, s.label, "
                    "coalesce(nullif(s.role, ''), 'primary') AS role, "
                    "i.id AS item_id, i.is_gold, u.id AS rater_id, c.id AS category_id, "
                    "coalesce(nullif(s.created, '')::timestamptz, now()) AS created, "
                    "nullif(s.time_ms, '')::integer AS time_ms "
                    "FROM ann_stage s "
                    "LEFT JOIN annotation_item i "
                    "  ON i.project_id = %(project)s AND i.external_id = s.item "
                    "JOIN accounts_user u ON u.username = s.rater "
                    "LEFT JOIN annotation_category c "
                    "  ON c.project_id = %(project)s AND c.key = s.label) r "
                    "WINDOW w AS (PARTITION BY item_id, rater_id ORDER BY item_id, rater_id "
                    "  RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
                    p,
                )
        except DatabaseError as exc:
            raise ValidationError(
                {"created": [f"A time or time_ms value could not be read: {exc}"]}
            ) from None
        # Temporary tables have no statistics until analysed; without them the planner
        # picks nested loops over a million rows.
        _timed(cursor, "ANALYZE ann_resolved")
        checks = [
            ("item", "SELECT item FROM ann_resolved WHERE item_id IS NULL",
             "Unknown item(s): {}."),
            ("label", "SELECT label FROM ann_resolved WHERE category_id IS NULL",
             "Unknown category(ies): {}."),
            ("role", "SELECT role FROM ann_resolved WHERE role NOT IN ('primary', 'secondary')",
             "Unknown role(s): {}."),
        ]  # fmt: skip
        if project.mode != LabelMode.PRIMARY_SECONDARY:
            checks.append(
                ("role", "SELECT item FROM ann_resolved WHERE role <> 'primary'",
                 "This project takes no secondary labels (item(s) {}).")
            )  # fmt: skip
        for field_name, sql, message in checks:
            found = list(dict.fromkeys(_problems(cursor, sql, p)))
            if found:
                raise ValidationError({field_name: [message.format(", ".join(found))]})
        # Idempotency: answers that exist already are left alone.
        _timed(
            cursor,
            "DELETE FROM ann_resolved r USING annotation_assignment a "
            "WHERE a.item_id = r.item_id AND a.rater_id = r.rater_id",
        )
        skipped = cursor.rowcount
        # One row per answer, with its number rn; the ids come from a block reserved on the
        # assignment sequence below (answer id = base + rn; skipped answers leave gaps).
        _timed(
            cursor,
            "CREATE TEMP TABLE ann_pairs ON COMMIT DROP AS "
            "SELECT rn, item_id, rater_id, is_gold, first_created AS created, "
            "max_time_ms AS time_ms, n_primary FROM ann_resolved WHERE nth = 1",
        )
        _timed(cursor, "ANALYZE ann_pairs")
        if not multi:
            found = _problems(
                cursor,
                "SELECT i.external_id FROM ann_pairs p JOIN annotation_item i ON i.id = p.item_id "
                "WHERE p.n_primary <> 1",
                p,
            )
            if found:
                raise ValidationError(
                    {"role": [f"Each rater needs exactly one primary label per item "
                              f"(item(s) {', '.join(found)})."]}
                )  # fmt: skip
        # Claim the slots first: the check constraint (slots_taken <= slots_total) refuses an
        # item that would get more than k raters; only then look for the names to report.
        per_item = "SELECT item_id, count(*) AS n FROM ann_pairs WHERE NOT is_gold GROUP BY item_id"
        try:
            with transaction.atomic():
                _timed(
                    cursor,
                    "UPDATE annotation_item i SET slots_taken = i.slots_taken + n.n "
                    f"FROM ({per_item}) n WHERE i.id = n.item_id",
                )
        except IntegrityError:
            over = _problems(
                cursor,
                f"SELECT i.external_id FROM annotation_item i JOIN ({per_item}) n "
                "ON n.item_id = i.id WHERE i.slots_taken + n.n > i.slots_total",
                p,
            )
            k = project.raters_per_item
            raise ValidationError(
                {"item": [f"More than k = {k} raters on: {', '.join(over)}."]}
            ) from None
        _timed(cursor, "SELECT count(*), coalesce(max(rn), 0) FROM ann_pairs")
        n_pairs, last_rn = cursor.fetchone()
        # Reserve ids 1..n after the sequence's current value. The lock keeps other inserts
        # (and so other nextval calls on this sequence) out until commit.
        _timed(cursor, "LOCK TABLE annotation_assignment IN EXCLUSIVE MODE")
        _timed(
            cursor,
            "SELECT nextval(pg_get_serial_sequence('annotation_assignment', 'id')) - 1",
        )
        base = cursor.fetchone()[0]
        if n_pairs:
            _timed(
                cursor,
                "SELECT setval(pg_get_serial_sequence('annotation_assignment', 'id'), %s)",
                [base + last_rn],
            )
        rebuild = n_pairs > 0.25 * _table_rows(cursor, "annotation_assignment")
        try:
            with (
                _foreign_keys_checked_once(cursor, ANSWER_TABLES),
                _indexes_rebuilt(cursor, ANSWER_TABLES) if rebuild else nullcontext(),
            ):
                _timed(
                    cursor,
                    "INSERT INTO annotation_assignment (id, item_id, rater_id, pool, status, "
                    "leased_at, expires_at, finished_at, skip_reason) "
                    "SELECT %(base)s + rn, item_id, rater_id, "
                    "CASE WHEN is_gold THEN 'gold' ELSE 'annotator' END, "
                    "'done', created, created, created, '' FROM ann_pairs",
                    {"base": base},
                )
                n_answers = cursor.rowcount
                _timed(
                    cursor,
                    "INSERT INTO annotation_annotation (assignment_id, time_ms, comment, "
                    "evidence, ratings, created_at) "
                    "SELECT %(base)s + rn, time_ms, '', '', '{}'::jsonb, created FROM ann_pairs",
                    {"base": base},
                )
                _timed(
                    cursor,
                    "INSERT INTO annotation_annotationlabel (annotation_id, category_id, role) "
                    "SELECT %(base)s + rn, category_id, "
                    "CASE WHEN %(multi)s THEN 'label' ELSE role END FROM ann_resolved",
                    {"multi": multi, "base": base},
                )
                n_labels = cursor.rowcount
        except IntegrityError:
            # A unique constraint refused a row: the only one not checked above is a label
            # repeated by one rater on one item.
            raise ValidationError(
                {"label": ["A label is repeated by one rater on one item."]}
            ) from None
        _timed(
            cursor,
            'INSERT INTO annotation_projectmember (project_id, user_id, role, "group", added_at) '
            "SELECT %(project)s, rater_id, 'annotator', '', now() "
            "FROM (SELECT DISTINCT rater_id FROM ann_pairs) r "
            "ON CONFLICT (project_id, user_id) DO NOTHING",
            p,
        )
    return {
        "rows": n_rows,
        "answers": n_answers,
        "labels": n_labels,
        "skipped_rows": skipped,
        "new_raters": new_raters,
    }


# --- jobs ---------------------------------------------------------------------------------------

AGREEMENT_JOB = "annotation_agreement"


def agreement_job_start(*, project: Project, user: User, n_boot: int = 200):
    """Queue the agreement report of a large project as a job (the task runs after commit)."""
    from annotation.tasks import annotation_agreement_task
    from jobs.services import job_create

    with transaction.atomic():
        job = job_create(
            kind=AGREEMENT_JOB,
            user=user,
            study=project.study,
            params={"project": project.pk, "n_boot": n_boot},
        )
        transaction.on_commit(lambda: annotation_agreement_task.delay(str(job.id)))
    return job
