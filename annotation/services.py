"""Writes of the annotation app: projects, items, assignment, answers, quality, adjudication.

Concurrency. "Next item" picks the most needed item with ``SELECT ... FOR UPDATE SKIP LOCKED``
(PostgreSQL; SQLite serialises writers anyway) and claims a slot with a conditional
``UPDATE item SET slots_taken = slots_taken + 1 WHERE slots_taken < slots_total``. The
assignment row is unique per (item, rater). So however many raters ask at once, no item gets
more than ``slots_total`` ratings and nobody rates an item twice: the database refuses it.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import InvitationStatus, Study, User
from annotation import bulk, media
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
    ImportedRating,
    Item,
    ItemKind,
    LabelMode,
    LabelRole,
    MemberRole,
    Pool,
    Project,
    ProjectInvitation,
    ProjectMember,
)
from config import inputs

logger = logging.getLogger(__name__)

RESERVED_KEYS = {"u", "s", " "}
MAX_IMPORT_ROWS = 200_000
ITEM_BATCH = 2_000


# --- projects and schemas ----------


# Rating scales: the annotator's page lists every point of every scale, so both are bounded
# (a 0-100 scale is the widest in common use).
SCALES_MAX = 20
SCALE_POINTS_MAX = 101
SCALE_VALUE_BOUND = 1000


def _validate_scales(scales: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, scale in enumerate(scales):
        if i >= SCALES_MAX:
            raise ValidationError(
                {
                    "scales": [
                        _("At most %(scales_max)s rating scales.") % {"scales_max": SCALES_MAX}
                    ]
                }
            )
        key = str(scale.get("key", ""))
        if not key or len(key) > 64 or slugify(key) != key or key in seen:
            raise ValidationError({f"scales.{i}.key": [_("A unique slug is required.")]})
        low, high = scale.get("min", 1), scale.get("max", 7)
        if (
            not isinstance(low, int)
            or not isinstance(high, int)
            or isinstance(low, bool)
            or isinstance(high, bool)
            or low >= high
        ):
            raise ValidationError(
                {f"scales.{i}.max": [_("min and max must be integers, min < max.")]}
            )
        if not -SCALE_VALUE_BOUND <= low < high <= SCALE_VALUE_BOUND:
            raise ValidationError(
                {
                    f"scales.{i}.max": [
                        _("min and max must lie between -%(bound)s and %(bound)s.")
                        % {"bound": SCALE_VALUE_BOUND}
                    ]
                }
            )
        if high - low + 1 > SCALE_POINTS_MAX:
            raise ValidationError(
                {
                    f"scales.{i}.max": [
                        _("A scale has at most %(scale_points_max)s points.")
                        % {"scale_points_max": SCALE_POINTS_MAX}
                    ]
                }
            )
        name = str(scale.get("name") or key.title())
        if len(name) > 100:
            raise ValidationError({f"scales.{i}.name": [_("At most 100 characters.")]})
        seen.add(key)
        out.append(
            {
                "key": key,
                "name": name,
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
    media_max_bytes: int | None = None,
    media_max_seconds: int | None = None,
) -> Project:
    """Create a project with its ordered categories.

    A multi-label schema always has an explicit "none" category (added when not given).
    Keyboard keys default to 1..9 then 0 in order; ``u``, ``s`` and space are reserved for undo,
    skip and play. The media limits default to ``ANNOTATION_MEDIA_MAX_BYTES`` and
    ``ANNOTATION_MEDIA_MAX_SECONDS``.
    """
    if mode not in LabelMode.values:
        raise ValidationError({"mode": [_("Unknown mode %(mode)r.") % {"mode": mode}]})
    if not categories:
        raise ValidationError({"categories": [_("At least one category is required.")]})
    if raters_per_item < 1:
        raise ValidationError({"raters_per_item": [_("At least one rater per item.")]})
    media_max_bytes = media_max_bytes or settings.ANNOTATION_MEDIA_MAX_BYTES
    media_max_seconds = media_max_seconds or settings.ANNOTATION_MEDIA_MAX_SECONDS
    _check_project_fields(
        {
            "name": name,
            "raters_per_item": raters_per_item,
            "expert_raters_per_item": expert_raters_per_item,
            "gold_rate": gold_rate,
            "expert_sample_rate": expert_sample_rate,
            "lease_minutes": lease_minutes,
            "disagreement_rule": disagreement_rule,
            "media_max_bytes": media_max_bytes,
            "media_max_seconds": media_max_seconds,
        }
    )
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
        media_max_bytes=media_max_bytes,
        media_max_seconds=media_max_seconds,
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
            raise ValidationError({f"categories.{order}.key": [_("A unique key is required.")]})
        _check_category_lengths(order, key, spec)
        keys.add(key)
        kb = str(spec.get("keyboard_key") or next(default_keys, "")).lower()
        if kb in RESERVED_KEYS:
            raise ValidationError(
                {f"categories.{order}.keyboard_key": [_("u, s and space are reserved.")]}
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
        raise ValidationError({"categories": [_("Keyboard keys must be unique.")]}) from None
    return project


@transaction.atomic
def member_add(
    *, project: Project, user: User, role: str = MemberRole.ANNOTATOR, group: str = ""
) -> ProjectMember:
    """Make ``user`` a member at once (or change their role and group). For operators (the
    ``annotation_member`` command, fixtures), an accepted invitation and a member's new role;
    pages and the API invite newcomers instead (:func:`member_invite`)."""
    if role not in MemberRole.values:
        raise ValidationError({"role": [_("Unknown role %(role)r.") % {"role": role}]})
    member, _created = ProjectMember.objects.update_or_create(
        project=project, user=user, defaults={"role": role, "group": group}
    )
    return member


@transaction.atomic
def member_invite(
    *, project: Project, user: User, role: str = MemberRole.ANNOTATOR, group: str = "", by: User
) -> ProjectMember | ProjectInvitation:
    """Ask ``user`` to join ``project``: returns a pending :class:`ProjectInvitation`; they
    become a member only by accepting it (:func:`project_invitation_accept`).

    Precondition: ``by`` is a researcher of the project's study. A current member has agreed
    to be in the project already, so their role and group change at once (the member is
    returned). A repeated invitation updates the pending one. Inactive accounts (imported
    raters, anonymised raters) cannot be invited: nobody could accept.
    """
    if role not in MemberRole.values:
        raise ValidationError({"role": [_("Unknown role %(role)r.") % {"role": role}]})
    if not user.is_active:
        raise ValidationError({"username": [_("No such user.")]})
    if ProjectMember.objects.filter(project=project, user=user).exists():
        return member_add(project=project, user=user, role=role, group=group)
    invitation, created = ProjectInvitation.objects.get_or_create(
        project=project,
        user=user,
        status=InvitationStatus.PENDING,
        defaults={"role": role, "group": group, "invited_by": by},
    )
    if not created and (invitation.role, invitation.group) != (role, group):
        invitation.role, invitation.group = role, group
        invitation.save(update_fields=["role", "group"])
    return invitation


def _invitation_answer(invitation: ProjectInvitation, status: str) -> None:
    """Move a pending invitation to ``status`` by a conditional update (a double click
    answers once); refuse one answered meanwhile."""
    answered = ProjectInvitation.objects.filter(
        pk=invitation.pk, status=InvitationStatus.PENDING
    ).update(status=status, answered_at=timezone.now())
    if answered != 1:
        raise ValidationError({"invitation": [_("This invitation was answered already.")]})


@transaction.atomic
def project_invitation_accept(*, invitation: ProjectInvitation) -> ProjectMember:
    """The invitee accepts: they become a member with the invited role and group."""
    _invitation_answer(invitation, InvitationStatus.ACCEPTED)
    return member_add(
        project=invitation.project,
        user=invitation.user,
        role=invitation.role,
        group=invitation.group,
    )


@transaction.atomic
def project_invitation_decline(*, invitation: ProjectInvitation) -> None:
    _invitation_answer(invitation, InvitationStatus.DECLINED)


@transaction.atomic
def member_remove(*, project: Project, user: User, now: datetime | None = None) -> int:
    """Take a person off the project. Their open leases end now, so those items go back to
    the pool at once; the answers they gave stay in the data (exclude the rater to leave them
    out). Returns how many leases ended."""
    now = now or timezone.now()
    deleted, _by_model = ProjectMember.objects.filter(project=project, user=user).delete()
    if not deleted:
        raise ValidationError(
            {
                "username": [
                    _("%(username)s is not a member of this project.") % {"username": user.username}
                ]
            }
        )
    rows = list(
        Assignment.objects.select_for_update(of=("self",))
        .filter(item__project=project, rater=user, status=AssignmentStatus.LEASED)
        .values_list("id", "item_id", "pool")
    )
    _leases_end(rows, now=now)
    return len(rows)


@transaction.atomic
def rater_erase(*, user: User) -> dict[str, int]:
    """Delete a rater's account with everything they rated, in every project, and give their
    k slots back so that the items go to other raters.

    Deleting the account alone is refused (the ratings protect it): it would drop the ratings
    and leave the slot counters too high for good. Adjudications, exclusions decided and
    projects created by the account are kept, so an account with any of them is refused with
    the reason, and nothing is deleted.
    """
    from django.db.models import ProtectedError

    # The row lock waits for a running ratings import that names this rater (it holds the row
    # FOR KEY SHARE) and keeps new leases off this account until commit.
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        raise ValidationError({"user": [_("No such user.")]})
    held = list(
        Assignment.objects.select_for_update()
        .filter(rater=user)
        .values_list("item_id", "pool", "status")
    )
    _release_slots(
        (item_id, pool)
        for item_id, pool, status in held
        if status in (AssignmentStatus.LEASED, AssignmentStatus.DONE)
    )
    imported_items = (
        ImportedRating.objects.filter(rater=user).values_list("item_id", flat=True).distinct()
    )
    # Imported ratings on gold items never took a slot.
    Item.objects.filter(pk__in=imported_items, is_gold=False).update(
        slots_taken=F("slots_taken") - 1
    )
    n_imported, _by_model = ImportedRating.objects.filter(rater=user).delete()
    n_answers = Annotation.objects.filter(assignment__rater=user).count()
    Assignment.objects.filter(rater=user).delete()
    Exclusion.objects.filter(rater=user).delete()
    try:
        locked.delete()
    except ProtectedError as exc:
        kinds = sorted({type(obj)._meta.verbose_name_plural for obj in exc.protected_objects})
        message = _("%(user)s is still referred to by %(kinds)s; deactivate the account instead.")
        raise ValidationError(
            {"user": [message % {"user": user.username, "kinds": ", ".join(map(str, kinds))}]}
        ) from None
    return {"assignments": len(held), "answers": n_answers, "imported_labels": n_imported}


@transaction.atomic
def rater_anonymise(*, user: User, now: datetime | None = None) -> str:
    """Keep a rater's ratings but not who they are: the account loses its name, email and
    password and becomes inactive, under a username made from the rater's pseudonymous key
    (the one the vote table already shows, so exports stay the same). Their memberships end
    and their open leases go back to the pool. Returns the new username."""
    from annotation.selectors import voter_key

    now = now or timezone.now()
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        raise ValidationError({"user": [_("No such user.")]})
    rows = list(
        Assignment.objects.select_for_update(of=("self",))
        .filter(rater=locked, status=AssignmentStatus.LEASED)
        .values_list("id", "item_id", "pool")
    )
    _leases_end(rows, now=now)
    ProjectMember.objects.filter(user=locked).delete()
    locked.username = f"rater-{voter_key(locked.pk)}"
    locked.first_name = locked.last_name = locked.email = locked.display_name = ""
    locked.is_active = locked.is_staff = locked.is_superuser = False
    locked.set_unusable_password()
    locked.save()
    return locked.username


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


def items_import_rows(
    *,
    project: Project,
    rows: list[dict[str, Any]],
    media_zip: bytes | IO[bytes] | None = None,
) -> ImportReport:
    """Import items given as rows (the columns of :func:`items_import`'s file, a dict each);
    what :func:`items_import` does once it has read the file."""
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
    categories = {c.key: c for c in project.categories.all()}
    existing = {i.external_id: i for i in project.items.all()}
    id_max = int(Item._meta.get_field("external_id").max_length or 0)
    report = ImportReport()
    prepared: list[tuple[dict[str, Any], str | None, Any]] = []
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
        gold_key = str(raw.get("gold_label") or "").strip()
        is_gold = _truthy(raw.get("is_gold", False)) or bool(gold_key)
        gold = None
        if gold_key:
            gold = categories.get(gold_key)
            if gold is None:
                errors.append(_("gold_label: unknown category %(key)r") % {"key": gold_key})
        media_name = str(raw.get("media") or "").strip()
        unpack: str | None = None
        if media_name:
            if archive is None:
                errors.append(_("media: a media zip is needed for this row"))
            elif media_name not in archive:
                errors.append(_("media: %(name)r is not in the zip") % {"name": media_name[:200]})
            elif ext not in existing:
                problem = archive.problem(media_name, max_bytes=project.media_max_bytes)
                if problem:
                    errors.append(f"media: {media_name}: {problem}")
                else:
                    unpack = media_name
        text = str(raw.get("text") or "")
        if not media_name and not text:
            errors.append(_("text: an item needs text or a media file"))
        report.rows.append({"row": number, "external_id": ext, "status": "", "errors": errors})
        values = {
            "external_id": ext,
            "text": text,
            "metadata": metadata,
            "is_gold": is_gold,
            "gold_label": gold,
        }
        prepared.append((values, unpack, None))
    if archive is not None:
        # Every file was checked by its stated sizes above, and their total is checked here,
        # so a zip bomb is refused before anything unpacks.
        total = archive.total_problem(media_file for _v, media_file, _a in prepared if media_file)
        if total:
            raise ValidationError({"media_zip": [total]})
        for i, (values, media_file, _audio) in enumerate(prepared):
            if media_file is not None:
                problem, audio = _media_problem(project, archive, media_file)
                if problem:
                    report.rows[i]["errors"].append(problem)
                prepared[i] = (values, media_file, audio)
    if not report.ok:
        for row in report.rows:
            row["status"] = "error" if row["errors"] else "not imported"
        return report
    with transaction.atomic():
        # New items without media are inserted in batches (a 100,000-item import is a few
        # dozen statements, not 100,000).
        new_items: list[dict[str, Any]] = []
        for row, (values, media_file, audio) in zip(report.rows, prepared, strict=True):
            item = existing.get(values["external_id"])
            if item is None:
                row["status"] = "created"
                report.created += 1
                if audio is None or media_file is None or archive is None:
                    new_items.append(values)
                    continue
                item = Item(project=project, **values)
                item.kind = ItemKind.AUDIO
                _set_slots(project, item)
                item.media_type, item.duration = audio.media_type, audio.duration
                # Unpacked again (one file at a time), straight into the storage.
                with archive.open(media_file, max_bytes=project.media_max_bytes) as fh:
                    item.media.save(
                        f"{slugify(values['external_id'])}.{audio.extension}",
                        File(fh),
                        save=False,
                    )
                item.save()
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
        _items_insert(project, new_items)
    return report


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


def _set_slots(project: Project, item: Item) -> None:
    # Gold items are served to every annotator (at the gold rate), outside the k slots.
    item.slots_total = 0 if item.is_gold else project.raters_per_item


def _set_k(*, project: Project, raters_per_item: int) -> int:
    """Change k on the project and every item; items keep the ratings they have (their total
    never drops below what is taken). Returns the number of items."""
    if raters_per_item < 1:
        raise ValidationError({"raters_per_item": [_("At least one rater per item.")]})
    project.raters_per_item = raters_per_item
    project.save(update_fields=["raters_per_item"])
    # Row by row under the item locks: a claim racing this waits, then sees the new total.
    return Item.objects.filter(project=project, is_gold=False).update(
        slots_total=Greatest(F("slots_taken"), raters_per_item)
    )


@transaction.atomic
def categories_update(*, project: Project, categories: list[dict[str, Any]]) -> list[Category]:
    """Revise the codebook of a running project: the categories' names, descriptions, boundary
    examples, keyboard keys and order change; new keys are added at their place in the list.

    A category cannot be removed (answers may use it: every existing key must be listed), and
    which category means "none" does not change. Keyboard keys stay unique; a category given
    without one keeps its own, or gets the first free of 1-9 and 0.
    """
    project = Project.objects.select_for_update().get(pk=project.pk)
    existing = {c.key: c for c in Category.objects.filter(project=project)}
    if not categories:
        raise ValidationError({"categories": [_("At least one category is required.")]})
    keys = [str(spec.get("key") or "").strip() for spec in categories]
    for i, key in enumerate(keys):
        if not key or not _SLUG_KEY.fullmatch(key):
            raise ValidationError({f"categories.{i}.key": [_("A key of letters, digits, - or _.")]})
        _check_category_lengths(i, key, categories[i])
        if key in keys[:i]:
            raise ValidationError(
                {f"categories.{i}.key": [_("The key %(key)r is given twice.") % {"key": key}]}
            )
    missing = [key for key in existing if key not in keys]
    if missing:
        message = _("Categories cannot be removed, since answers may use them: %(keys)s.")
        raise ValidationError({"categories": [message % {"keys": ", ".join(missing)}]})
    wanted: list[str] = []
    for i, spec in enumerate(categories):
        kb = str(spec.get("keyboard_key") or "").strip().lower()
        if len(kb) > 1:
            raise ValidationError({f"categories.{i}.keyboard_key": [_("One character.")]})
        if kb in RESERVED_KEYS:
            raise ValidationError(
                {f"categories.{i}.keyboard_key": [_("u, s and space are reserved.")]}
            )
        if kb and kb in wanted:
            raise ValidationError(
                {
                    f"categories.{i}.keyboard_key": [
                        _("The keyboard key %(kb)r is given twice.") % {"kb": kb}
                    ]
                }
            )
        wanted.append(kb)
    # Categories given without a key keep theirs when it is still free, else take a free one.
    for i, key in enumerate(keys):
        if not wanted[i]:
            own = existing[key].keyboard_key if key in existing else ""
            if own and own not in wanted:
                wanted[i] = own
            else:
                wanted[i] = next((k for k in "1234567890" if k not in wanted), "")
    # Free every keyboard key first, so that two categories may swap theirs.
    Category.objects.filter(project=project).update(keyboard_key="")
    out = []
    for order, (key, spec, kb) in enumerate(zip(keys, categories, wanted, strict=True)):
        category = existing.get(key) or Category(project=project, key=key)
        category.name = str(spec.get("name") or "").strip() or category.name or key.title()
        category.description = str(spec.get("description", category.description or ""))
        category.examples = str(spec.get("examples", category.examples or ""))
        category.keyboard_key = kb
        category.order = order
        category.save()
        out.append(category)
    return out


_SLUG_KEY = re.compile(r"[-a-zA-Z0-9_]+")


def _check_category_lengths(index: int, key: str, spec: dict[str, Any]) -> None:
    """A category's key and name fit their columns."""
    if len(key) > 64:
        raise ValidationError({f"categories.{index}.key": [_("At most 64 characters.")]})
    if len(str(spec.get("name") or "")) > 200:
        raise ValidationError({f"categories.{index}.name": [_("At most 200 characters.")]})
    if len(str(spec.get("keyboard_key") or "").strip()) > 1:
        raise ValidationError({f"categories.{index}.keyboard_key": [_("One character.")]})


# What can change on a running project. The mode and the categories cannot: answers given
# under them would no longer read the same.
PROJECT_SETTINGS = (
    "name",
    "description",
    "guidelines",
    "raters_per_item",
    "gold_rate",
    "lease_minutes",
    "allow_comment",
    "allow_evidence",
    "disagreement_rule",
    "media_max_bytes",
    "media_max_seconds",
)

# Whole-number settings and their bounds (the forms and serializers use the same).
RATERS_PER_ITEM_MAX = 1000
EXPERTS_PER_ITEM_MAX = 20
LEASE_MINUTES_MAX = 24 * 60
_BOUNDS: dict[str, tuple[int, int]] = {
    "raters_per_item": (1, RATERS_PER_ITEM_MAX),
    "expert_raters_per_item": (0, EXPERTS_PER_ITEM_MAX),
    "lease_minutes": (1, LEASE_MINUTES_MAX),
    "media_max_bytes": (1, inputs.BIGINT_MAX),
    "media_max_seconds": (1, inputs.INT_MAX),
}


def _check_project_fields(fields: dict[str, Any]) -> None:
    """Refuse settings out of their range (or their column's), naming the field."""
    if "name" in fields and not str(fields["name"]).strip():
        raise ValidationError({"name": [_("The project needs a name.")]})
    if "name" in fields and len(str(fields["name"])) > 200:
        raise ValidationError({"name": [_("At most 200 characters.")]})
    for name in ("gold_rate", "expert_sample_rate"):
        if name in fields and not 0 <= fields[name] <= 1:
            raise ValidationError({name: [_("A share between 0 and 1.")]})
    for name, (low, high) in _BOUNDS.items():
        value = fields.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
        ):
            raise ValidationError(
                {
                    name: [
                        _("A whole number from %(low)s to %(high)s.")
                        % {"low": f"{low:,}", "high": f"{high:,}"}
                    ]
                }
            )
    if "disagreement_rule" in fields and fields["disagreement_rule"] not in DisagreementRule.values:
        raise ValidationError(
            {
                "disagreement_rule": [
                    _("Unknown rule %(rule)r.") % {"rule": fields["disagreement_rule"]}
                ]
            }
        )


@transaction.atomic
def project_update(*, project: Project, **fields: Any) -> Project:
    """Change a project's settings; a new k applies to every item at once (items that already
    have more ratings than the new k keep them, and take no new rater)."""
    unknown = sorted(set(fields) - set(PROJECT_SETTINGS))
    if unknown:
        raise ValidationError({name: [_("This setting cannot be changed.")] for name in unknown})
    _check_project_fields(fields)
    project = Project.objects.select_for_update().get(pk=project.pk)
    k = fields.pop("raters_per_item", project.raters_per_item)
    for name, value in fields.items():
        setattr(project, name, value)
    if fields:
        project.save(update_fields=list(fields))
    if k != project.raters_per_item:
        _set_k(project=project, raters_per_item=k)
    return project


@transaction.atomic
def expert_sample_draw(*, project: Project, stratify_by: str | None = None, seed: int = 0) -> int:
    """Choose the items experts rate: ``expert_sample_rate`` of each stratum, seeded.

    Strata are the values of ``metadata[stratify_by]`` (one stratum when None). Each chosen
    item wants ``expert_raters_per_item`` experts. Returns the number of items chosen.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= inputs.SEED_MAX:
        raise ValidationError(
            {
                "seed": [
                    _("A whole number from 0 to %(seed_max)s.")
                    % {"seed_max": f"{inputs.SEED_MAX:,}"}
                ]
            }
        )
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


@transaction.atomic
def expert_sample_set(
    *,
    project: Project,
    experts_per_item: int,
    sample_rate: float,
    stratify_by: str | None = None,
    seed: int = 0,
) -> int:
    """Set the experts' overlap and share of items, and draw their sample, in one step.

    Drawing again (another seed, rate or stratum key) keeps what experts already rated: an
    item leaving the sample takes no new expert, one joining it opens its expert slots.
    Returns the number of items in the sample.
    """
    if not 0 <= experts_per_item <= EXPERTS_PER_ITEM_MAX:
        raise ValidationError({"experts_per_item": [_("Between 0 and 20 experts per item.")]})
    if not 0 <= sample_rate <= 1:
        raise ValidationError({"sample_rate": [_("A share between 0 and 1.")]})
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= inputs.SEED_MAX:
        raise ValidationError(
            {
                "seed": [
                    _("A whole number from 0 to %(seed_max)s.")
                    % {"seed_max": f"{inputs.SEED_MAX:,}"}
                ]
            }
        )
    project = Project.objects.select_for_update().get(pk=project.pk)
    if (
        stratify_by
        and not Item.objects.filter(project=project, metadata__has_key=stratify_by).exists()
    ):
        raise ValidationError(
            {
                "stratify_by": [
                    _("No item has the metadata key %(stratify_by)r.")
                    % {"stratify_by": stratify_by}
                ]
            }
        )
    project.expert_raters_per_item = experts_per_item
    project.expert_sample_rate = sample_rate
    project.save(update_fields=["expert_raters_per_item", "expert_sample_rate"])
    return expert_sample_draw(project=project, stratify_by=stratify_by or None, seed=seed)


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


def _leases_end(rows: list[tuple[int, int, str]], *, now: datetime) -> None:
    """End leases (``(id, item_id, pool)`` rows the caller has locked): they become
    ``expired`` and their slots go back to the pool."""
    if not rows:
        return
    Assignment.objects.filter(pk__in=[r[0] for r in rows]).update(
        status=AssignmentStatus.EXPIRED, finished_at=now
    )
    _release_slots((item_id, pool) for _pk, item_id, pool in rows)


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
        _leases_end(rows, now=now)
    return len(rows)


def _gold_due(*, project: Project, user: User) -> bool:
    """Every 1/rate-th answer is a gold item: deterministic, so the rate holds exactly."""
    if project.gold_rate <= 0:
        return False
    done = Assignment.objects.filter(
        rater=user, item__project=project, status=AssignmentStatus.DONE
    ).count()
    return math.floor((done + 1) * project.gold_rate) > math.floor(done * project.gold_rate)


class _ItemsLocked(Exception):
    """Every item the rater could get is row-locked by another transaction."""


def _claim(*, project: Project, user: User, pool: str, now: datetime) -> Assignment | None:
    unseen = ~Exists(Assignment.objects.filter(item=OuterRef("pk"), rater=user)) & ~Exists(
        ImportedRating.objects.filter(item=OuterRef("pk"), rater=user)
    )
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
            # Nothing free, or every free item is locked for now (an import raising the slot
            # counters, or other raters' claims in flight): only the first means "done".
            if connection.vendor == "postgresql" and candidates.exists():
                raise _ItemsLocked
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


# How long "next item" waits, in all, for locked items before it answers "nothing left".
CLAIM_WAIT_SECONDS = 60.0


def assignment_next(
    *, project: Project, user: User, now: datetime | None = None
) -> Assignment | None:
    """The rater's open assignment, or a new lease on the most needed item they have not seen.

    Annotators draw from the k slots (fewest taken first) with gold items mixed in at the
    project's gold rate; experts draw from the expert sample. None when nothing is left.

    When every item the rater could get is locked by another transaction (a ratings import, or
    other raters' claims in flight) the answer is not "nothing left": the call waits for a
    running import to commit, outside any transaction so that it holds no lock meanwhile, and
    asks again.
    """
    member = ProjectMember.objects.filter(project=project, user=user).first()
    if member is None or member.role not in (MemberRole.ANNOTATOR, MemberRole.EXPERT):
        raise PermissionDenied("Only annotators and experts receive items.")
    pool = Pool.EXPERT if member.role == MemberRole.EXPERT else Pool.ANNOTATOR
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    pause = 0.005
    while True:
        try:
            return _next_in_transaction(project=project, user=user, pool=pool, now=now)
        except _ItemsLocked:
            if time.monotonic() >= deadline:
                logger.warning("next item: project %s stayed locked; answering none", project.pk)
                return None
        _import_wait(timeout=max(deadline - time.monotonic(), 0.001))
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _next_in_transaction(
    *, project: Project, user: User, pool: str, now: datetime | None
) -> Assignment | None:
    now = now or timezone.now()
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
        if pool == Pool.ANNOTATOR and _gold_due(project=project, user=user):
            gold = _claim(project=project, user=user, pool=Pool.GOLD, now=now)
            if gold is not None:
                return gold
        return _claim(project=project, user=user, pool=pool, now=now)


def _import_wait(*, timeout: float) -> None:
    """Block until no ratings import runs (PostgreSQL), or ``timeout`` seconds pass."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(timeout * 1000) + 1}ms'")
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [IMPORT_LOCK])
    except OperationalError:
        pass  # still importing: the caller's deadline decides


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
        raise ValidationError({"labels": [_("Choose at least one label.")]})
    out: list[LabelChoice] = []
    seen: set[str] = set()
    for entry in labels:
        key = str(entry.get("category", ""))
        role = str(entry.get("role") or LabelRole.PRIMARY)
        category = categories.get(key)
        if category is None:
            raise ValidationError({"labels": [_("Unknown category %(key)r.") % {"key": key}]})
        if key in seen:
            raise ValidationError(
                {"labels": [_("Category %(key)r is chosen twice.") % {"key": key}]}
            )
        seen.add(key)
        if role not in (LabelRole.PRIMARY, LabelRole.SECONDARY):
            raise ValidationError({"labels": [_("Unknown role %(role)r.") % {"role": role}]})
        out.append(LabelChoice(category, role))
    primaries = [c for c in out if c.role == LabelRole.PRIMARY]
    if project.mode == LabelMode.MULTI_LABEL:
        if any(c.category.is_none for c in out) and len(out) > 1:
            raise ValidationError({"labels": [_("'None' cannot be combined with other labels.")]})
        # Multi-label choices are equals: stored with the ``label`` role.
        return [LabelChoice(c.category, LabelRole.LABEL) for c in out]
    if len(primaries) > 1:
        raise ValidationError({"labels": [_("Only one primary label is allowed.")]})
    if not primaries:
        raise ValidationError({"labels": [_("Choose a primary label.")]})
    if project.mode == LabelMode.SINGLE and len(out) > 1:
        raise ValidationError({"labels": [_("This project takes exactly one label.")]})
    for choice in out:
        if choice.role == LabelRole.SECONDARY and not choice.category.is_secondary_allowed:
            raise ValidationError(
                {
                    "labels": [
                        _("Category %(key)r cannot be a secondary label.")
                        % {"key": choice.category.key}
                    ]
                }
            )
    return out


def validate_ratings(*, project: Project, ratings: dict[str, Any]) -> dict[str, int]:
    scales = {s["key"]: s for s in project.scales}
    out: dict[str, int] = {}
    for key, value in (ratings or {}).items():
        scale = scales.get(key)
        if scale is None:
            raise ValidationError({f"ratings.{key}": [_("Unknown rating scale.")]})
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError({f"ratings.{key}": [_("A whole number is required.")]})
        try:
            number = int(value)
        except ValueError:
            raise ValidationError({f"ratings.{key}": [_("A whole number is required.")]}) from None
        if not scale["min"] <= number <= scale["max"]:
            raise ValidationError(
                {
                    f"ratings.{key}": [
                        _("Must be between %(min)s and %(max)s.")
                        % {"min": scale["min"], "max": scale["max"]}
                    ]
                }
            )
        out[key] = number
    for key, scale in scales.items():
        if scale.get("required") and key not in out:
            raise ValidationError({f"ratings.{key}": [_("This rating is required.")]})
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
    The answer comes back with its item and labels loaded (``labels.all()`` reads no more).
    """
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("item")
        .filter(item_id=item_id, rater=user, item__project=project)
        .first()
    )
    if assignment is None:
        raise ValidationError({"item": [_("This item is not assigned to you.")]})
    if assignment.status == AssignmentStatus.DONE:
        raise ValidationError({"item": [_("You have already answered this item.")]})
    if assignment.status != AssignmentStatus.LEASED or assignment.expires_at <= now:
        raise ValidationError({"item": [_("Your lease on this item has expired.")]})
    choices = validate_labels(project=project, labels=labels)
    clean_ratings = validate_ratings(project=project, ratings=ratings or {})
    if comment and not project.allow_comment:
        raise ValidationError({"comment": [_("Comments are not collected in this project.")]})
    if evidence and not project.allow_evidence:
        raise ValidationError({"evidence": [_("Evidence is not collected in this project.")]})
    if time_ms is not None and time_ms < 0:
        raise ValidationError({"time_ms": [_("Must not be negative.")]})
    if time_ms is not None and time_ms > inputs.INT_MAX:
        raise ValidationError(
            {"time_ms": [_("At most %(int_max)s ms.") % {"int_max": f"{inputs.INT_MAX:,}"}]}
        )
    annotation = Annotation.objects.create(
        assignment=assignment,
        time_ms=time_ms,
        comment=comment,
        evidence=evidence,
        ratings=clean_ratings,
        created_at=now,
    )
    stored = AnnotationLabel.objects.bulk_create(
        AnnotationLabel(annotation=annotation, category=c.category, role=c.role) for c in choices
    )
    assignment.status = AssignmentStatus.DONE
    assignment.finished_at = now
    assignment.save(update_fields=["status", "finished_at"])
    # What prefetch_related("labels") would leave on the row (a queryset whose results are
    # known), so that showing the answer reads nothing more.
    known = AnnotationLabel.objects.filter(annotation=annotation)
    known._result_cache = stored
    known._prefetch_done = True
    annotation._prefetched_objects_cache = {"labels": known}  # type: ignore[attr-defined]
    return annotation


@transaction.atomic
def assignment_skip(
    *, project: Project, user: User, item_id: int, reason: str, now: datetime | None = None
) -> Assignment:
    """Give the item back (it returns to the pool for others) and keep the reason."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why you skip this item.")]})
    assignment = (
        Assignment.objects.select_for_update()
        .filter(item_id=item_id, rater=user, item__project=project)
        .first()
    )
    if assignment is None:
        raise ValidationError({"item": [_("This item is not assigned to you.")]})
    if assignment.status != AssignmentStatus.LEASED:
        raise ValidationError({"item": [_("Only an open item can be skipped.")]})
    assignment.status = AssignmentStatus.SKIPPED
    assignment.skip_reason = reason[:200]
    assignment.finished_at = now
    assignment.save(update_fields=["status", "skip_reason", "finished_at"])
    _release_slots([(assignment.item_id, assignment.pool)])
    return assignment


@dataclass(frozen=True)
class UndoneAnswer:
    """What an undone annotation said, so the page can show it again for correction."""

    item_id: int
    labels: list[dict[str, str]]
    ratings: dict[str, Any]
    comment: str
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item_id,
            "labels": self.labels,
            "ratings": self.ratings,
            "comment": self.comment,
            "evidence": self.evidence,
        }


def annotation_undo(*, project: Project, user: User, now: datetime | None = None) -> Assignment:
    """Take back the rater's last answer in the project: the item is theirs to answer again.

    The slot stays taken (the lease is renewed), so the undone item cannot go to anyone else.
    """
    return annotation_take_back(project=project, user=user, now=now)[0]


@transaction.atomic
def annotation_take_back(
    *, project: Project, user: User, now: datetime | None = None
) -> tuple[Assignment, UndoneAnswer]:
    """:func:`annotation_undo`, also returning what the undone answer said."""
    now = now or timezone.now()
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .filter(assignment__rater=user, assignment__item__project=project)
        .select_related("assignment")
        .order_by("-created_at", "-pk")
        .first()
    )
    if annotation is None:
        raise ValidationError({"non_field_errors": [_("There is no answer to undo.")]})
    assignment = annotation.assignment
    undone = UndoneAnswer(
        item_id=assignment.item_id,
        labels=[
            {"category": key, "role": role}
            for key, role in annotation.labels.order_by("id").values_list("category__key", "role")
        ],
        ratings=dict(annotation.ratings or {}),
        comment=annotation.comment,
        evidence=annotation.evidence,
    )
    annotation.delete()
    assignment.status = AssignmentStatus.LEASED
    assignment.leased_at = now
    assignment.expires_at = now + timedelta(minutes=project.lease_minutes)
    assignment.finished_at = None
    assignment.save(update_fields=["status", "leased_at", "expires_at", "finished_at"])
    return assignment, undone


# --- quality ----------


@transaction.atomic
def exclusion_create(*, project: Project, rater: User, reason: str, by: User) -> Exclusion:
    """Leave the rater's labels out of the vote table, keeping the reason (reversible)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason for the exclusion.")]})
    if not ProjectMember.objects.filter(project=project, user=rater).exists():
        raise ValidationError({"rater": [_("This person is not a member of the project.")]})
    try:
        with transaction.atomic():
            return Exclusion.objects.create(
                project=project, rater=rater, reason=reason, created_by=by
            )
    except IntegrityError:
        raise ValidationError({"rater": [_("This annotator is already excluded.")]}) from None


@transaction.atomic
def exclusion_lift(*, exclusion: Exclusion, by: User) -> Exclusion:
    updated = Exclusion.objects.filter(pk=exclusion.pk, active=True).update(
        active=False, lifted_by=by, lifted_at=timezone.now()
    )
    if not updated:
        raise ValidationError({"non_field_errors": [_("This exclusion was already lifted.")]})
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
    basis += [
        {"imported": True, "rater": r, "category": c, "role": role}
        for r, c, role in ImportedRating.objects.filter(item=item)
        .order_by("rater_id", "category_id")
        .values_list("rater_id", "category__key", "role")
    ]
    return Adjudication.objects.create(
        item=item,
        labels=[{"category": c.category.key, "role": c.role} for c in choices],
        note=note,
        decided_by=user,
        basis=basis,
    )


# --- bulk import of existing ratings ----------------------------------------------------------


def _timed(cursor, sql: str, params: Any = None) -> None:
    started = time.perf_counter()
    cursor.execute(sql, params)
    logger.debug("ratings_import %.2f s: %s", time.perf_counter() - started, sql[:80])


@contextmanager
def _indexes_rebuilt(cursor, tables: Iterable[str]):
    """Drop the indexes, primary keys and unique constraints of ``tables``; rebuild them after.

    Building an index once from sorted rows is much cheaper than a million random index
    insertions; worth it when the import is large next to what the tables hold. Definitions
    are read from the catalogue and restored verbatim, names included; a rebuilt unique index
    re-checks uniqueness over every row. Foreign keys pointing at these tables would need the
    keys, so the tables must have none (checked).
    """
    names = list(tables)
    _timed(
        cursor,
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid::regclass::text = ANY(%(tables)s)",
        {"tables": names},
    )
    if cursor.fetchone()[0]:
        raise RuntimeError(f"Foreign keys point at {names}; their keys cannot be rebuilt.")
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
        "WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%(tables)s) "
        "ORDER BY 1, contype, 2",
        {"tables": names},
    )
    keys = cursor.fetchall()
    for name, _definition in indexes:
        _timed(cursor, f"DROP INDEX {name}")
    for table, name, _definition in keys:
        _timed(cursor, f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in keys:
        _timed(cursor, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        _timed(cursor, definition)


def _after_every_key(cursor, lowest_item_id: int) -> bool:
    """Whether ratings of items from ``lowest_item_id`` on sort after every key the imported
    ratings table holds (new items: a new project, or items added since the last import).
    Sent in key order, such rows are appended at the right edge of the key's index, which
    costs less than dropping and rebuilding it."""
    _timed(cursor, f"SELECT max(item_id) FROM {IMPORTED_TABLE}")
    highest = cursor.fetchone()[0]
    return highest is None or highest < lowest_item_id


def _table_rows(cursor, table: str) -> int:
    _timed(cursor, "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
           [table])  # fmt: skip
    return int(cursor.fetchone()[0])


IMPORTED_TABLE = ImportedRating._meta.db_table
RATING_COLUMN_ORDER = ("item_id", "rater_id", "category_id", "role", "created_us", "time_ms")
# Key of the transaction-level advisory lock that lets one ratings import run at a time.
IMPORT_LOCK = 7_340_001
# The stored roles, in the order of the codes used while importing.
STORED_ROLES = [LabelRole.PRIMARY.value, LabelRole.SECONDARY.value, LabelRole.LABEL.value]
CSV_ROLES = {"": 0, LabelRole.PRIMARY.value: 0, LabelRole.SECONDARY.value: 1}


def _named(values: list[str], codes: np.ndarray, limit: int = 5) -> str:
    """The distinct values behind ``codes`` (first ``limit``), comma-separated."""
    picked = list(dict.fromkeys(codes.tolist()))[:limit]
    return ", ".join(values[c] for c in picked)


def _pg_array(values: np.ndarray) -> str:
    """An integer array as PostgreSQL array text: far quicker to send than a list parameter."""
    return "{" + ",".join(map(str, values.tolist())) + "}"


def _existing_pairs(cursor, *, project: Project, rater_ids: np.ndarray) -> np.ndarray:
    """(item, rater) pairs of the project's items and these raters that have an answer."""
    if connection.vendor == "postgresql":
        _timed(
            cursor,
            "SELECT item_id, rater_id FROM annotation_assignment "
            "WHERE rater_id = ANY(%(raters)s::bigint[]) "
            "AND item_id IN (SELECT id FROM annotation_item WHERE project_id = %(project)s) "
            f"UNION SELECT item_id, rater_id FROM {IMPORTED_TABLE} "
            "WHERE rater_id = ANY(%(raters)s::bigint[]) "
            "AND item_id IN (SELECT id FROM annotation_item WHERE project_id = %(project)s)",
            {"raters": _pg_array(rater_ids), "project": project.pk},
        )
        pairs = cursor.fetchall()
    else:
        pairs = []
        for start in range(0, len(rater_ids), 500):
            chunk = rater_ids[start : start + 500].tolist()
            for model in (Assignment, ImportedRating):
                pairs += model.objects.filter(
                    item__project=project, rater_id__in=chunk
                ).values_list("item_id", "rater_id")
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _answered(
    cursor,
    *,
    project: Project,
    pair_keys: np.ndarray,
    item_ids: np.ndarray,
    rater_ids: np.ndarray,
) -> np.ndarray:
    """Which of the file's (item, rater) pairs already have an answer, as a mask.

    A pair's key is its item's position times the number of raters plus its rater's position
    (positions in ``item_ids`` and ``rater_ids``); answers on items not in the file are left
    out.
    """
    pairs = _existing_pairs(cursor, project=project, rater_ids=rater_ids)
    item_pos = pd.Index(item_ids).get_indexer(pairs[:, 0])
    rater_pos = pd.Index(rater_ids).get_indexer(pairs[:, 1])
    known = (item_pos >= 0) & (rater_pos >= 0)
    keys = item_pos[known].astype(np.int64) * len(rater_ids) + rater_pos[known]
    return np.isin(pair_keys, keys)


def _rating_columns(
    *,
    rows: bulk.RatingRows,
    keep: np.ndarray,
    item_ids: np.ndarray,
    rater_ids: np.ndarray,
    category_id: np.ndarray,
    role: np.ndarray,
    key_order: bool,
) -> dict[str, np.ndarray]:
    """The kept rows as id columns (in key order if asked); missing times become now."""
    created = rows.created_us[keep]
    created[created == bulk.MISSING] = int(timezone.now().timestamp() * 1_000_000)
    columns = {
        "item_id": item_ids[rows.item.codes[keep]],
        "rater_id": rater_ids[rows.rater.codes[keep]],
        "category_id": category_id[keep],
        "role": role[keep],
        "created_us": created,
        "time_ms": rows.time_ms[keep],
    }
    if key_order:
        # Appended in key order, the rows reach the key's index pages in sequence.
        order = np.lexsort((columns["category_id"], columns["rater_id"], columns["item_id"]))
        columns = {name: values[order] for name, values in columns.items()}
    return columns


def _rating_copy_pieces(**kwargs: Any) -> list[bytes]:
    """The binary COPY data of :func:`_rating_columns`."""
    return bulk.rating_copy_data(**_rating_columns(**kwargs), roles=STORED_ROLES)


# A rater name becomes a username: letters of any script, digits and . _ @ + -, starting with
# a letter, digit or underscore (a leading = + - @ makes a spreadsheet formula of it), with no
# spaces, control characters or markup.
RATER_NAME = re.compile(r"\w[\w.@+-]{0,149}")


def _rater_rows(rows: bulk.RatingRows, names: Iterable[str]) -> list[tuple[int, str]]:
    """The first row (as in a spreadsheet, header = row 1) of each of ``names``, in order."""
    codes, first_index = np.unique(rows.rater.codes, return_index=True)
    row_of = dict(zip(codes.tolist(), (first_index + 2).tolist(), strict=True))
    wanted = set(names)
    return sorted(
        (row_of[code], name) for code, name in enumerate(rows.rater.values) if name in wanted
    )


def _check_rater_names(rows: bulk.RatingRows) -> None:
    if any(not r or len(r) > 150 for r in rows.rater.values):
        raise ValidationError({"rater": [_("A rater is missing or longer than 150 characters.")]})
    bad = [name for name in rows.rater.values if not RATER_NAME.fullmatch(name)]
    if bad:
        raise ValidationError(
            {"rater": [_("Row %(row)s: %(name)r is not a valid rater name. Use letters, "
                         "digits and . _ @ + - (not as the first character), without spaces.")
                       % {"row": row, "name": name}
                       for row, name in _rater_rows(rows, bad)[:5]]}
        )  # fmt: skip


def _refuse_accounts(rows: bulk.RatingRows, names: list[str]) -> None:
    """Refuse a file naming accounts a ratings import into this study did not make: a
    person's ratings are theirs to give (they join a project by accepting an invitation)."""
    if names:
        found = _rater_rows(rows, names)
        raise ValidationError(
            {"rater": [_("Row %(row)s: %(name)r is the username of an existing account. "
                         "Imported ratings go to new pseudonymous raters only; give this rater "
                         "another name in the file (to have the person rate, invite them to the "
                         "project).") % {"row": row, "name": name}
                       for row, name in found[:5]]}
        )  # fmt: skip


def _pg_raters(cursor, names: list[str], *, study_id: int) -> tuple[dict[str, int], int, list[str]]:
    """User ids by username, creating the missing users (inactive, no usable password,
    marked as imported raters of the study); and the names of existing accounts that are not
    this study's imported raters (the caller refuses the file if there are any)."""
    _timed(
        cursor,
        "SELECT username, id, imported_for_id FROM accounts_user WHERE username = ANY(%s)",
        [names],
    )
    found = cursor.fetchall()
    users = {name: pk for name, pk, _study in found}
    foreign = [name for name, _pk, study in found if study != study_id]
    new_names = [name for name in names if name not in users]
    n_new_raters = 0
    if new_names and not foreign:
        _timed(
            cursor,
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, "
            "last_name, email, is_staff, is_active, date_joined, display_name, imported_for_id) "
            "SELECT '!', false, name, '', '', '', false, false, now(), '', %s "
            "FROM unnest(%s::text[]) AS name ON CONFLICT (username) DO NOTHING "
            "RETURNING username, id",
            [study_id, new_names],
        )
        created_users = dict(cursor.fetchall())
        n_new_raters = len(created_users)
        users.update(created_users)
        if len(created_users) < len(new_names):
            # Created meanwhile (the insert waited for that commit): by a parallel import
            # into this study, or as someone's account.
            _timed(
                cursor,
                "SELECT username, id, imported_for_id FROM accounts_user WHERE username = ANY(%s)",
                [[name for name in new_names if name not in created_users]],
            )
            for name, pk, study in cursor.fetchall():
                users[name] = pk
                if study != study_id:
                    foreign.append(name)
    return users, n_new_raters, foreign


def _raters(names: list[str], *, study_id: int) -> tuple[dict[str, int], int, list[str]]:
    """:func:`_pg_raters` for other databases, through the ORM in chunks."""
    chunks = [names[i : i + 500] for i in range(0, len(names), 500)]
    users: dict[str, int] = {}
    foreign: list[str] = []
    for chunk in chunks:
        for name, pk, study in User.objects.filter(username__in=chunk).values_list(
            "username", "id", "imported_for_id"
        ):
            users[name] = pk
            if study != study_id:
                foreign.append(name)
    missing = [name for name in names if name not in users]
    if foreign:
        return users, 0, foreign
    User.objects.bulk_create(
        [
            User(username=name, password="!", is_active=False, imported_for_id=study_id)
            for name in missing
        ],
        ignore_conflicts=True,
    )
    for chunk in [missing[i : i + 500] for i in range(0, len(missing), 500)]:
        users.update(User.objects.filter(username__in=chunk).values_list("username", "id"))
    return users, len(missing), foreign


def ratings_import(*, project: Project, source: IO[bytes]) -> dict[str, int]:
    """Import existing ratings from CSV: one binary COPY on PostgreSQL, ORM batches elsewhere.

    Columns (header required): ``item`` (external id), ``rater`` (username), ``label``
    (category key), optional ``role`` (``primary``/``secondary``; default primary),
    ``created`` (ISO 8601 time; without an offset it is UTC; default now) and ``time_ms``. One
    row per label; the rows of one (item, rater) form one answer. Each rater becomes a new
    pseudonymous account (inactive, without a usable password, marked as an imported rater of
    the project's study) that joins the project as an annotator; a later import into the same
    study reuses it. A rater named like any other account (a person's, or another study's
    imported rater) is refused, naming the row: nobody's account gets ratings, or a
    membership, without their say. Rater names are letters, digits and ``. _ @ + -``, not
    starting with a formula character, without spaces or markup (:data:`RATER_NAME`).

    The file is read into integer arrays (:func:`annotation.bulk.read_ratings_csv`) and
    checked whole before anything is written: unknown items, categories or roles, secondary
    labels where the mode has none, a label repeated by one rater on one item, not exactly one
    primary label per answer where the mode needs one, more than k raters on an item. Any
    problem raises ValidationError naming the column and nothing is written. Answers for
    (item, rater) pairs that exist already (given here or imported before) are skipped, so a
    repeated import changes nothing.

    The ratings are stored as :class:`ImportedRating` rows, sent with one binary COPY in key
    order; when the import is large next to the table and its keys fall among the table's
    (not all after them), the key is rebuilt afterwards instead (:func:`_indexes_rebuilt`),
    which locks the table, and so new leases, until commit. The
    items' slot counters are raised in the same transaction (the check constraint refuses more
    than k), which also locks the items against leases until commit; the raters and
    categories the rows point at are locked against deletion (the table's foreign keys are
    kept by this function, see the model). Imports run one at a time. On other databases
    (SQLite, the embedded mode) the same checks run and the rows are written with
    ``bulk_create``; SQLite serialises writing transactions, so no locks are taken.
    """
    started = time.perf_counter()
    rows = bulk.read_ratings_csv(source.read())
    logger.debug("ratings_import %.2f s: read CSV", time.perf_counter() - started)
    return ratings_store(project=project, rows=rows)


def ratings_store(*, project: Project, rows: bulk.RatingRows) -> dict[str, int]:
    """Check and store ratings read into arrays (see :func:`ratings_import`, which reads them
    from a CSV; an import from another tool's file hands them over directly)."""
    pg = connection.vendor == "postgresql"
    started = time.perf_counter()
    n = rows.n

    _check_rater_names(rows)
    unknown_roles = [r for r in rows.role.values if r not in CSV_ROLES]
    if unknown_roles:
        raise ValidationError(
            {"role": [_("Unknown role(s): %(names)s.") % {"names": ", ".join(unknown_roles[:5])}]}
        )
    role = np.array([CSV_ROLES[r] for r in rows.role.values], dtype=np.int64)[rows.role.codes]
    secondary = role == 1
    if project.mode != LabelMode.PRIMARY_SECONDARY and secondary.any():
        items = _named(rows.item.values, rows.item.codes[secondary])
        raise ValidationError(
            {
                "role": [
                    _("This project takes no secondary labels (item(s) %(items)s).")
                    % {"items": items}
                ]
            }
        )
    if project.mode == LabelMode.MULTI_LABEL:
        role[:] = 2

    categories = dict(project.categories.values_list("key", "id"))
    label_ids = np.array([categories.get(k, bulk.MISSING) for k in rows.label.values])
    unknown = [k for k in rows.label.values if k not in categories]
    if unknown:
        raise ValidationError(
            {"label": [_("Unknown category(ies): %(names)s.") % {"names": ", ".join(unknown[:5])}]}
        )
    category_id = label_ids[rows.label.codes]

    # One answer per (item, rater): each row's pair number, from the dictionary codes.
    n_raters = len(rows.rater.values)
    pair_keys, pair_of_row = np.unique(
        rows.item.codes * n_raters + rows.rater.codes, return_inverse=True
    )
    label_keys = np.sort(pair_of_row * len(rows.label.values) + rows.label.codes)
    if (label_keys[1:] == label_keys[:-1]).any():
        repeated = np.unique(label_keys[1:][label_keys[1:] == label_keys[:-1]])
        items = _named(
            rows.item.values, (pair_keys[repeated // len(rows.label.values)] // n_raters)
        )
        raise ValidationError(
            {
                "label": [
                    _("A label is repeated by one rater on one item (item(s) %(items)s).")
                    % {"items": items}
                ]
            }
        )
    if project.mode != LabelMode.MULTI_LABEL:
        n_primary = np.bincount(pair_of_row, weights=role == 0, minlength=len(pair_keys))
        wrong = n_primary != 1
        if wrong.any():
            items = _named(rows.item.values, pair_keys[wrong] // n_raters)
            raise ValidationError(
                {"role": [_("Each rater needs exactly one primary label per item "
                            "(item(s) %(items)s).") % {"items": items}]}
            )  # fmt: skip

    with transaction.atomic(), connection.cursor() as cursor:
        if pg:
            _timed(cursor, "SET LOCAL synchronous_commit = off")
            _timed(cursor, "SET LOCAL work_mem = '256MB'")
            _timed(cursor, "SET LOCAL maintenance_work_mem = '256MB'")
            _timed(cursor, "SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
        # Many items: reading all of the project's is quicker than sending their names.
        many = len(rows.item.values) > 10_000 or not pg
        _timed(
            cursor,
            "SELECT external_id, id, is_gold, slots_total - slots_taken FROM annotation_item "
            "WHERE project_id = %s" + ("" if many else " AND external_id = ANY(%s)"),
            [project.pk] if many else [project.pk, rows.item.values],
        )
        found = {ext: (pk, gold, free) for ext, pk, gold, free in cursor.fetchall()}
        unknown = [ext for ext in rows.item.values if ext not in found]
        if unknown:
            raise ValidationError(
                {"item": [_("Unknown item(s): %(names)s.") % {"names": ", ".join(unknown[:5])}]}
            )
        item_ids = np.array([found[ext][0] for ext in rows.item.values], dtype=np.int64)
        item_gold = np.array([found[ext][1] for ext in rows.item.values], dtype=bool)
        item_free = np.array([found[ext][2] for ext in rows.item.values], dtype=np.int64)

        if pg:
            users, n_new_raters, foreign = _pg_raters(
                cursor, rows.rater.values, study_id=project.study_id
            )
        else:
            users, n_new_raters, foreign = _raters(rows.rater.values, study_id=project.study_id)
        _refuse_accounts(rows, foreign)
        rater_ids = np.array([users[name] for name in rows.rater.values], dtype=np.int64)
        if pg:
            # The rows to be stored point at these: no deletion until commit. (SQLite runs one
            # writing transaction at a time.)
            _timed(
                cursor,
                "SELECT count(*) FROM (SELECT 1 FROM accounts_user WHERE id = ANY(%s::bigint[]) "
                "ORDER BY id FOR KEY SHARE) AS locked",
                [_pg_array(rater_ids)],
            )
            if cursor.fetchone()[0] < len(rater_ids):
                # An account was erased between reading the names and locking them.
                raise ValidationError(
                    {"rater": [_("A rater's account was deleted during the import; run it again.")]}
                )
            _timed(
                cursor,
                "SELECT 1 FROM annotation_category WHERE project_id = %s ORDER BY id FOR KEY SHARE",
                [project.pk],
            )

        # Idempotency: answers that exist already are left alone.
        existing = _answered(
            cursor, project=project, pair_keys=pair_keys, item_ids=item_ids, rater_ids=rater_ids
        )
        new_pair = ~existing
        pair_item = pair_keys // n_raters
        counted = new_pair & ~item_gold[pair_item]
        taken = np.bincount(pair_item[counted], minlength=len(item_ids))
        over = taken > item_free
        if over.any():
            names = [rows.item.values[i] for i in np.flatnonzero(over)[:5]]
            k = project.raters_per_item
            raise ValidationError(
                {
                    "item": [
                        _("More than k = %(k)s raters on: %(names)s.")
                        % {"k": k, "names": ", ".join(names)}
                    ]
                }
            )
        keep = new_pair[pair_of_row]
        n_labels = int(keep.sum())
        rebuild = (
            pg
            and n_labels > 0.25 * _table_rows(cursor, IMPORTED_TABLE)
            and not _after_every_key(cursor, int(item_ids[pair_item[new_pair]].min()))
        )
        # The COPY data is built in a thread while the database raises the slot counters.
        chosen = {
            "rows": rows,
            "keep": keep,
            "item_ids": item_ids,
            "rater_ids": rater_ids,
            "category_id": category_id,
            "role": role,
            "key_order": not rebuild,
        }
        with ThreadPoolExecutor(max_workers=1) as builder:
            pending = builder.submit(_rating_copy_pieces if pg else _rating_columns, **chosen)
            # Claim the slots; the check constraint (slots_taken <= slots_total) still refuses an
            # item that leases filled meanwhile. The row locks keep new leases off these items
            # (and off the gold ones, locked below) until commit.
            raised = np.flatnonzero(taken)
            try:
                with transaction.atomic():
                    if pg:
                        _timed(
                            cursor,
                            "UPDATE annotation_item i SET slots_taken = i.slots_taken + n.n "
                            "FROM unnest(%s::bigint[], %s::integer[]) AS n(id, n) "
                            "WHERE i.id = n.id",
                            [_pg_array(item_ids[raised]), _pg_array(taken[raised])],
                        )
                    else:
                        for pk, n_taken in zip(
                            item_ids[raised].tolist(), taken[raised].tolist(), strict=True
                        ):
                            Item.objects.filter(pk=pk).update(
                                slots_taken=F("slots_taken") + n_taken
                            )
            except IntegrityError:
                k = project.raters_per_item
                raise ValidationError(
                    {"item": [_("More than k = %(k)s raters on some items; they filled up "
                                "while importing. Import the file again.") % {"k": k}]}
                ) from None  # fmt: skip
            gold_items = np.unique(pair_item[new_pair & item_gold[pair_item]])
            if len(gold_items) and pg:
                _timed(
                    cursor,
                    "SELECT id FROM annotation_item WHERE id = ANY(%s::bigint[]) "
                    "ORDER BY id FOR UPDATE",
                    [_pg_array(item_ids[gold_items])],
                )
            # An answer given between the first look and the locks: start again rather than
            # store a second answer of one rater on one item.
            again = _answered(
                cursor,
                project=project,
                pair_keys=pair_keys,
                item_ids=item_ids,
                rater_ids=rater_ids,
            )
            if (again & new_pair).any():
                raise ValidationError(
                    {"file": [_("Some of these answers were given while importing. "
                                "Import the file again; they will be skipped.")]}
                )  # fmt: skip
            built = pending.result()
        if n_labels and not pg:
            ImportedRating.objects.bulk_create(
                [
                    ImportedRating(
                        item_id=item,
                        rater_id=rater,
                        category_id=category,
                        role=STORED_ROLES[code],
                        created_at=datetime.fromtimestamp(us / 1_000_000, tz=UTC),
                        time_ms=None if ms == bulk.MISSING else ms,
                    )
                    for item, rater, category, code, us, ms in zip(
                        *(built[c].tolist() for c in RATING_COLUMN_ORDER), strict=True
                    )
                ],
                batch_size=2000,
            )
            ProjectMember.objects.bulk_create(
                [
                    ProjectMember(project=project, user_id=user_id, role=MemberRole.ANNOTATOR)
                    for user_id in np.unique(built["rater_id"]).tolist()
                ],
                ignore_conflicts=True,
            )
        if n_labels and pg:
            pieces = built
            sql = (
                f"COPY {IMPORTED_TABLE} (item_id, rater_id, category_id, role, created_at, "
                "time_ms) FROM STDIN WITH (FORMAT binary)"
            )
            try:
                with _indexes_rebuilt(cursor, [IMPORTED_TABLE]) if rebuild else nullcontext():
                    copy_started = time.perf_counter()
                    with cursor.cursor.copy(sql) as copy:
                        for piece in pieces:
                            copy.write(piece)
                    logger.debug("ratings_import %.2f s: COPY", time.perf_counter() - copy_started)
            except IntegrityError:
                # The checks above leave nothing for the key to refuse; kept as a safety net.
                raise ValidationError(
                    {"label": [_("A label is repeated by one rater on one item.")]}
                ) from None
            new_raters_ids = rater_ids[np.unique(rows.rater.codes[keep])]
            _timed(
                cursor,
                'INSERT INTO annotation_projectmember (project_id, user_id, role, "group", '
                "added_at) SELECT %s, user_id, 'annotator', '', now() "
                "FROM unnest(%s::bigint[]) AS user_id ON CONFLICT (project_id, user_id) DO NOTHING",
                [project.pk, _pg_array(new_raters_ids)],
            )
    logger.debug("ratings_import %.2f s: total", time.perf_counter() - started)
    return {
        "rows": n,
        "answers": int(new_pair.sum()),
        "labels": n_labels,
        "skipped_rows": n - n_labels,
        "new_raters": n_new_raters,
    }


# --- jobs ---------------------------------------------------------------------------------------

AGREEMENT_JOB = "annotation_agreement"


def agreement_job_start(*, project: Project, user: User, n_boot: int = 200):
    """Queue the agreement report of a large project as a job (``job_start``:
    ``BackgroundUnavailable`` when the broker is down, and then no job remains)."""
    from annotation.tasks import annotation_agreement_task
    from jobs.services import job_start

    return job_start(
        kind=AGREEMENT_JOB,
        task=annotation_agreement_task,
        user=user,
        study=project.study,
        params={"project": project.pk, "n_boot": n_boot},
    )


def agreement_refresh(*, project: Project, user: User):
    """Compute the agreement report again after a change that alters it (an exclusion made or
    lifted); None when the background workers are unavailable: the dashboard then keeps the
    previous report, marked out of date."""
    from jobs.services import BackgroundUnavailable

    try:
        return agreement_job_start(project=project, user=user)
    except BackgroundUnavailable:
        return None


VOTES_EXPORT_JOB = "annotation_votes_export"
VOTES_EXPORT_FORMATS = ("csv", "parquet")


def votes_export_start(*, project: Project, user: User, fmt: str = "csv", raw: bool = False):
    """Queue an export of the project's vote table as a file (``job_start``:
    ``BackgroundUnavailable`` when the broker is down, and then no job remains).

    ``raw`` leaves CSV cells that a spreadsheet would run as formulas unescaped.
    """
    from annotation.tasks import annotation_votes_export_task
    from jobs.services import job_start

    if fmt not in VOTES_EXPORT_FORMATS:
        raise ValidationError(
            {
                "format": [
                    _("Choose one of %(names)s, not %(fmt)r.")
                    % {"names": ", ".join(VOTES_EXPORT_FORMATS), "fmt": fmt}
                ]
            }
        )
    return job_start(
        kind=VOTES_EXPORT_JOB,
        task=annotation_votes_export_task,
        user=user,
        study=project.study,
        params={"project": project.pk, "format": fmt, "raw": raw},
    )


def votes_export(
    *, project: Project, fmt: str, formula_escape: bool = True
) -> tuple[str, bytes, int]:
    """The vote table, with time on item and the item metadata, as a file.

    CSV is UTF-8 with a byte order mark (spreadsheets then read Korean and other scripts
    right), times in ISO 8601 UTC, and text cells starting with ``= + - @``, tab or CR get a
    leading ``'`` unless ``formula_escape`` is off (:mod:`sources.csv_escape`; numbers are
    never touched); Parquet keeps the column types. Returns the file name, its bytes and the
    number of rows. Excluded raters are left out, as everywhere.
    """
    from annotation.selectors import project_vote_table
    from sources.csv_escape import escape_frame

    table = project_vote_table(project=project, timing=True)
    name = f"{slugify(project.name) or 'project'}-votes.{fmt}"
    if fmt == "parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return name, buffer.getvalue(), len(table)
    text = table.assign(
        created=table["created"].map(lambda t: t.isoformat() if pd.notna(t) else "")
    )
    if formula_escape:
        text = escape_frame(text)
    return name, text.to_csv(index=False).encode("utf-8-sig"), len(table)
