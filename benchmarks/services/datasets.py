"""Datasets: creation and the checks of their configuration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Study, User
from benchmarks import aggregation, splitting
from benchmarks.models import (
    Dataset,
)
from config.inputs import SEED_MAX

ProgressFn = Callable[[int, str], None]

# Aggregation options a dataset may set, with their types.
PARAMETERS: dict[str, type | tuple[type, ...]] = {
    "tie_policy": str,
    "seed": int,
    "secondary_weight": (int, float),
    "all_inclusive_mode": str,
    "epsilon": (int, float),
    "ds_max_iter": int,
    "cooccurrence_source": str,
    "penalty_normalization": str,
    "agreement_boot": int,
}
# Ranges of the numeric options (a seed is kept to what every tool replays; the counts of
# iterations and resamples bound the work of a build).
PARAMETER_BOUNDS: dict[str, tuple[float, float]] = {
    "seed": (0, SEED_MAX),
    "secondary_weight": (0, 1000),
    "epsilon": (0, 1),
    "ds_max_iter": (1, 10_000),
    "agreement_boot": (0, 10_000),
}
STRATIFY_CHOICES = ("", "majority", "plurality", "all_inclusive", "dawid_skene")

# --- datasets -------------------------------------------------------------------------------


def _check_dataset_config(
    *,
    categories: Sequence[str],
    rules: Sequence[str],
    parameters: dict[str, Any],
    split_fractions: dict[str, float],
    split_stratify: str,
) -> None:
    errors: dict[str, list[str]] = {}
    cats = list(categories)
    if not cats:
        errors["categories"] = [_("Give at least one category.")]
    elif any(not isinstance(c, str) or not c.strip() for c in cats):
        errors["categories"] = [_("Every category must be a non-empty text.")]
    elif len(set(cats)) != len(cats):
        errors["categories"] = [_("Categories must be distinct.")]
    unknown = [r for r in rules if r not in aggregation.RULES]
    if not rules:
        errors["rules"] = [_("Choose at least one rule.")]
    elif unknown:
        errors["rules"] = [
            _("Unknown rule %(rule)r; choose from %(rules)s.")
            % {"rule": unknown[0], "rules": list(aggregation.RULES)}
        ]
    for key, value in parameters.items():
        kind = PARAMETERS.get(key)
        if kind is None:
            errors.setdefault("parameters", []).append(
                _("Unknown parameter %(key)r.") % {"key": key}
            )
        elif not isinstance(value, kind) or isinstance(value, bool):
            errors.setdefault("parameters", []).append(_("%(key)s: wrong type.") % {"key": key})
        elif key in PARAMETER_BOUNDS:
            low, high = PARAMETER_BOUNDS[key]
            if not low <= float(value) <= high:  # type: ignore[arg-type]  # refuses NaN too
                errors.setdefault("parameters", []).append(
                    _("%(key)s: from %(low)s to %(high)s.")
                    % {"key": key, "low": f"{low:,}", "high": f"{high:,}"}
                )
    if parameters.get("tie_policy", "drop") not in aggregation.TIE_POLICIES:
        errors.setdefault("parameters", []).append(
            _("tie_policy: choose one of %(policies)s.")
            % {"policies": list(aggregation.TIE_POLICIES)}
        )
    try:
        values = [float(v) for v in split_fractions.values()]
        if (
            not split_fractions
            or any(not 0 <= v <= 1 for v in values)  # also refuses NaN
            or abs(sum(values) - 1) > 1e-9
        ):
            raise ValueError
    except (TypeError, ValueError, AttributeError, OverflowError):
        errors["split_fractions"] = [_("Give split fractions (>= 0) that sum to 1.")]
    if split_stratify not in STRATIFY_CHOICES:
        errors["split_stratify"] = [
            _("Choose one of %(choices)s.") % {"choices": list(STRATIFY_CHOICES)}
        ]
    elif split_stratify and split_stratify not in rules:
        errors["split_stratify"] = [
            _("The rule %(rule)r is not among the rules.") % {"rule": split_stratify}
        ]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def dataset_create(
    *,
    study: Study,
    user: User | None,
    name: str,
    categories: Sequence[str],
    description: str = "",
    rules: Sequence[str] | None = None,
    parameters: dict[str, Any] | None = None,
    split_fractions: dict[str, float] | None = None,
    split_seed: int = 0,
    split_stratify: str = "plurality",
    split_group: str = "",
) -> Dataset:
    """Create a dataset; raises ``ValidationError`` naming the bad field."""
    if isinstance(split_seed, bool) or not isinstance(split_seed, int):
        raise ValidationError({"split_seed": [_("A whole number.")]})
    if not 0 <= split_seed <= SEED_MAX:
        raise ValidationError(
            {
                "split_seed": [
                    _("A whole number from 0 to %(seed_max)s.") % {"seed_max": f"{SEED_MAX:,}"}
                ]
            }
        )
    for field, value, limit in (("name", name, 200), ("split_group", split_group, 100)):
        if len(value) > limit:
            raise ValidationError({field: [_("At most %(limit)s characters.") % {"limit": limit}]})
    rules = list(rules) if rules is not None else list(aggregation.RULES)
    parameters = dict(parameters or {"tie_policy": "drop", "seed": 0})
    split_fractions = dict(split_fractions or splitting.DEFAULT_FRACTIONS)
    _check_dataset_config(
        categories=categories,
        rules=rules,
        parameters=parameters,
        split_fractions=split_fractions,
        split_stratify=split_stratify,
    )
    if Dataset.objects.filter(study=study, name=name).exists():
        raise ValidationError({"name": [_("This study already has a dataset with this name.")]})
    return Dataset.objects.create(
        study=study,
        name=name,
        description=description,
        categories=list(categories),
        rules=[r for r in aggregation.RULES if r in rules],
        parameters=parameters,
        split_fractions=split_fractions,
        split_seed=split_seed,
        split_stratify=split_stratify,
        split_group=split_group,
        created_by=user,
    )
