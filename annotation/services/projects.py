"""Projects and their schemas: categories, rating scales, settings, raters per item."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.access import refuse_if_archived
from accounts.models import Study, User
from annotation.models import (
    Category,
    DisagreementRule,
    Item,
    LabelMode,
    Project,
)
from config import inputs

RESERVED_KEYS = {"u", "s", " "}


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
    refuse_if_archived(study=study)
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
