"""Shared pieces of the REST API: one error body and strict input serializers.

Every error the API returns has the same shape::

    {"errors": {"<field>": ["<message>", ...], "non_field_errors": ["..."]}}

Validation errors keep DRF's field names (nested fields are joined with dots, list items with
their index); other errors (authentication, permission, not found, parse errors, throttling)
are reported under ``non_field_errors`` with their HTTP status.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.inputs import json_depth_exceeds, json_max_depth
from jobs.services import RETRY_AFTER_SECONDS, BackgroundUnavailable

NON_FIELD = "non_field_errors"


class ServiceUnavailable(exceptions.APIException):
    """503: a job could not be started because background work (the broker) is unavailable."""

    status_code = 503
    default_detail = "Service unavailable; try again later."
    default_code = "service_unavailable"


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"a.b.0.c": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if key in (NON_FIELD, "detail") and not prefix:
                name = NON_FIELD
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out.setdefault(prefix or NON_FIELD, []).extend(str(v) for v in detail)
        else:
            for i, value in enumerate(detail):
                if not value:
                    continue
                name = f"{prefix}.{i}" if prefix else str(i)
                for k, v in _flatten(value, name).items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or NON_FIELD, []).append(str(detail))
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, BackgroundUnavailable):
        exc = ServiceUnavailable(gettext(exc.message))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
    else:
        errors = {NON_FIELD: [str(getattr(exc, "detail", exc))]}
    response.data = {"errors": errors}
    return response


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know.

    A misspelt field would otherwise be dropped silently and the write would go ahead with a
    default; refusing it tells the client at once which name is wrong.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [gettext("Unknown field.")] for name in unknown}
                )
        return super().to_internal_value(data)


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing a body nested deeper than ``JSON_MAX_DEPTH`` with a 400.

    Python's parser raises ``RecursionError`` (a 500) at about 1,000 levels, and a value just
    below that breaks any later recursive walk of it (serializers, ``json.dumps``).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = json_max_depth()
        message = gettext("JSON parse error - nested more than %(limit)s levels deep.") % {
            "limit": limit
        }
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(message) from None
        if json_depth_exceeds(data, limit):
            raise exceptions.ParseError(message)
        return data
