"""Final weights per respondent (see :func:`surveys.selectors.calibrate` for the rule)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from surveys import weighting
from surveys.models import Survey, Weight
from surveys.selectors import calibrate, respondents_frame


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
