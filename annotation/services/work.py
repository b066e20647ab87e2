"""Annotators' work: leases on items, answers, skips and undo.

Concurrency. "Next item" picks the most needed item with ``SELECT ... FOR UPDATE SKIP LOCKED``
(PostgreSQL; SQLite serialises writers anyway) and claims a slot with a conditional
``UPDATE item SET slots_taken = slots_taken + 1 WHERE slots_taken < slots_total``. The
assignment row is unique per (item, rater). So however many raters ask at once, no item gets
more than ``slots_total`` ratings and nobody rates an item twice: the database refuses it."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from annotation.models import (
    Annotation,
    AnnotationLabel,
    Assignment,
    AssignmentStatus,
    Category,
    ImportedRating,
    Item,
    LabelMode,
    LabelRole,
    MemberRole,
    Pool,
    Project,
    ProjectMember,
)
from annotation.services.ratings import IMPORT_LOCK
from config import inputs

logger = logging.getLogger(__name__)


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
        first = candidates.select_for_update(skip_locked=True).values_list("id", flat=True)[:1]
        item_id = next(iter(first), None)
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
    time_from_lease: bool = False,
    now: datetime | None = None,
) -> Annotation:
    """Record the rater's answer on an item leased to them.

    ``time_ms`` is the time on the item as the client measured it; without it and with
    ``time_from_lease`` (a page sent without JavaScript), the time since the lease began.

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
    if time_ms is None and time_from_lease:
        time_ms = int((now - assignment.leased_at).total_seconds() * 1000)
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
    known._prefetch_done = True  # type: ignore[attr-defined]
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
