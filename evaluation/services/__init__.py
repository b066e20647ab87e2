"""Writes of the evaluation app, by topic: predictions, scoring, endpoint runs, references."""

from evaluation.services.predictions import PREDICTION_FORMATS, PredictionError, run_upload
from evaluation.services.references import reference_from_held_out, reference_set
from evaluation.services.scoring import run_rescore, score_predictions

__all__ = [
    "PREDICTION_FORMATS",
    "PredictionError",
    "reference_from_held_out",
    "reference_set",
    "run_rescore",
    "run_upload",
    "score_predictions",
]
