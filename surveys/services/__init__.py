"""Writes on surveys, one use case per function (keyword-only, one transaction each).

Split by topic; import from here: ``from surveys.services import population_import``.
"""

from __future__ import annotations

from surveys.services.designs import (
    N_MAX,
    SIZE_BOUNDS,
    SIZE_DEFAULTS,
    design_create,
    design_preview,
    design_sample_size,
    quota_targets_update,
    sample_draw,
    sample_replace,
)
from surveys.services.exports import EXPORT_FORMATS, responses_export, responses_export_start
from surveys.services.imports import (
    panel_create,
    panel_import,
    panel_import_named,
    population_import,
)
from surveys.services.invitations import (
    invitation_refuse,
    invitations_send,
    invitations_send_now,
)
from surveys.services.questionnaires import (
    RESERVATION_MINUTES_MAX,
    block_create,
    block_delete,
    block_move,
    block_update,
    option_create,
    question_add,
    question_create,
    question_delete,
    question_move,
    question_review,
    question_submit,
    question_update,
    survey_close,
    survey_create,
    survey_open,
    survey_update,
)
from surveys.services.responses import (
    answers_record,
    quota_release_all_expired,
    quota_release_expired,
    response_complete,
    response_screen,
    response_start,
)
from surveys.services.weights import (
    TRIM_MAX,
    TRIM_MIN,
    weighting_merge,
    weighting_merges_clear,
    weighting_update,
    weights_compute,
    weights_start,
)

__all__ = [
    "EXPORT_FORMATS",
    "N_MAX",
    "RESERVATION_MINUTES_MAX",
    "SIZE_BOUNDS",
    "SIZE_DEFAULTS",
    "TRIM_MAX",
    "TRIM_MIN",
    "answers_record",
    "block_create",
    "block_delete",
    "block_move",
    "block_update",
    "design_create",
    "design_preview",
    "design_sample_size",
    "invitation_refuse",
    "invitations_send",
    "invitations_send_now",
    "option_create",
    "panel_create",
    "panel_import",
    "panel_import_named",
    "population_import",
    "question_add",
    "question_create",
    "question_delete",
    "question_move",
    "question_review",
    "question_submit",
    "question_update",
    "quota_release_all_expired",
    "quota_release_expired",
    "quota_targets_update",
    "response_complete",
    "response_screen",
    "response_start",
    "responses_export",
    "responses_export_start",
    "sample_draw",
    "sample_replace",
    "survey_close",
    "survey_create",
    "survey_open",
    "survey_update",
    "weighting_merge",
    "weighting_merges_clear",
    "weighting_update",
    "weights_compute",
    "weights_start",
]
