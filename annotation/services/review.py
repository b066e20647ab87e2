"""Review of annotators' work: exclusions and adjudication."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from annotation.models import (
    Adjudication,
    AnnotationLabel,
    Exclusion,
    ImportedRating,
    Item,
    Project,
    ProjectMember,
)
from annotation.services.work import validate_labels


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
