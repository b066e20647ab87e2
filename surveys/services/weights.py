"""Final weights per respondent (see :func:`surveys.selectors.calibrate` for the rule) and the
survey's weighting settings: method, trimming and categories merged for weighting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from surveys import weighting
from surveys.models import Survey, Weight, WeightingMethod
from surveys.selectors import calibrate, respondents_frame

if TYPE_CHECKING:
    from accounts.models import User
    from jobs.models import Job

# A weight may be capped at 1 to 100 times the mean weight (1 makes every weight equal).
TRIM_MIN = 1.0
TRIM_MAX = 100.0


def weights_compute(*, survey: Survey) -> dict:
    """Compute and store one weight per respondent, replacing earlier weights of the survey.

    Raises ``ValidationError`` (nothing stored) when the targets cannot be met, e.g. a
    category of a stratification variable has no respondent. Idempotent.
    """
    frame = respondents_frame(survey=survey)
    try:
        result = calibrate(survey=survey, frame=frame)
    except weighting.CalibrationError as exc:
        raise ValidationError({"non_field_errors": [str(exc)]}) from None
    weights = result.design.weights
    with transaction.atomic():
        Weight.objects.filter(response__survey=survey).delete()
        Weight.objects.bulk_create(
            [
                Weight(response_id=int(rid), value=float(w), method=result.method)
                for rid, w in zip(frame["response_id"], weights, strict=True)
            ],
            batch_size=2000,
        )
    return {
        "method": result.method,
        "respondents": len(frame),
        "sum": float(weights.sum()),
        "kish_deff": float(weighting.kish_design_effect(weights)),
    }


@transaction.atomic
def weighting_update(*, survey: Survey, method: str, trim: float | None) -> Survey:
    """Set the weighting method and the cap on weights (``None``: no cap). Weights already
    stored stay until they are computed again."""
    if method not in WeightingMethod.values:
        raise ValidationError({"method": [_("Choose one of the weighting methods.")]})
    if trim is not None and not TRIM_MIN <= trim <= TRIM_MAX:
        raise ValidationError(
            {
                "trim": [
                    _("The largest weight must be from %(min)g to %(max)g times the mean.")
                    % {"min": TRIM_MIN, "max": TRIM_MAX}
                ]
            }
        )
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    survey.weighting_method = method
    survey.weight_trim = trim
    survey.save(update_fields=["weighting_method", "weight_trim"])
    return survey


def _categories(survey: Survey, variable: str) -> set[str]:
    design = survey.design
    if design is None:
        return set()
    return {
        str(values.get(variable))
        for values in design.population.cells.values_list("values", flat=True)
        if values.get(variable) is not None
    }


@transaction.atomic
def weighting_merge(*, survey: Survey, variable: str, category: str, into: str) -> Survey:
    """Merge ``category`` of a stratification variable into ``into`` for weighting (both
    keep their names elsewhere). A category merged into one that is itself merged follows
    it, so merges never form chains."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.design is None or variable not in survey.design.population.variables:
        raise ValidationError({"variable": [_("This survey has no such weighting variable.")]})
    categories = _categories(survey, variable)
    merges = {v: dict(m) for v, m in (survey.weighting_merges or {}).items()}
    current = merges.setdefault(variable, {})
    if category not in categories:
        raise ValidationError({"category": [_("This variable has no such category.")]})
    if into not in categories:
        raise ValidationError({"into": [_("This variable has no such category.")]})
    target = current.get(into, into)
    if target == current.get(category, category):
        raise ValidationError({"into": [_("Choose another category to merge with.")]})
    source = current.get(category, category)
    # Everything that went into the merged category goes where it goes now.
    for name in categories:
        if current.get(name, name) == source:
            current[name] = target
    merges[variable] = {k: v for k, v in current.items() if k != v}
    survey.weighting_merges = {v: m for v, m in merges.items() if m}
    survey.save(update_fields=["weighting_merges"])
    return survey


@transaction.atomic
def weighting_merges_clear(*, survey: Survey) -> Survey:
    """Undo every merge of categories."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    survey.weighting_merges = {}
    survey.save(update_fields=["weighting_merges"])
    return survey


def weights_start(*, survey: Survey, user: User) -> Job:
    """Queue the weighting of the survey's responses (``BackgroundUnavailable`` when the
    broker is down; then no job remains)."""
    from jobs.services import job_start
    from surveys.tasks import compute_weights_task

    return job_start(
        kind="surveys.weights",
        task=compute_weights_task,
        user=user,
        study=survey.study,
        params={"survey_id": survey.pk},
    )
