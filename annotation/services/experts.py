"""The expert sample: which items experts label."""

from __future__ import annotations

import math

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from annotation.models import (
    Item,
    Project,
)
from annotation.services.projects import EXPERTS_PER_ITEM_MAX
from config import inputs


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
