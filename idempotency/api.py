"""The API side: read the header, answer a replay."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.response import Response

from idempotency.keys import HEADER, MAX_LENGTH, REPLAYED_HEADER, BadKey, request_key
from idempotency.services import Outcome

# For ``extend_schema(parameters=[...])`` of the endpoints that take a key.
KEY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID) of at most 100 characters. A retry with the same key "
        "gets the first request's status and body back (with `Idempotent-Replayed: true`) "
        "and writes nothing; the same key with a different body is refused with 422. Keys "
        "are kept for `IDEMPOTENCY_KEY_HOURS` (24)."
    ),
)


class IdempotencyKeyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used for a different request; send a new key with "
        "a new request."
    )
    default_code = "idempotency_key_reused"


def api_key(request) -> str | None:
    """The ``Idempotency-Key`` header, or None; a malformed one is a 400."""
    try:
        return request_key(request, form=False)
    except BadKey:
        message = _("%(header)s must be 1 to %(max)s printable ASCII characters.") % {
            "header": HEADER,
            "max": MAX_LENGTH,
        }
        raise exceptions.ValidationError({"non_field_errors": [message]}) from None


def api_response(outcome: Outcome) -> Response:
    """The stored or fresh outcome as a DRF response; a replay says so in a header."""
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return Response(outcome.body, status=outcome.status, headers=headers)
