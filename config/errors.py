"""The last word on an unhandled exception: ``handler500`` for the whole site.

DRF's exception handler (``config.api``) only sees the errors it knows; anything else (a bug,
the database going away) leaves the view as an exception and ends here. API callers get the
documented JSON body, people get a branded page; nothing of the exception reaches the answer
(Django has already logged it, with its traceback, before calling this view).

With the database or the object store unreachable the answer is 503 with ``Retry-After``: the
request may work a moment later, and a load balancer or client can tell "down" from "broken".
This view must not touch the database itself (no session, no user, no context processors).
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from config.api import NON_FIELD

API_PREFIX = "/api/"
INTERNAL_ERROR = "Internal error; it has been logged."
UNAVAILABLE = "The service is unavailable for a moment; try again shortly."
RETRY_AFTER_SECONDS = 30


NOT_FOUND = "No such address in the API; see /api/docs/."


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: API callers get the documented JSON body for an unknown address too;
    people get the site's 404 page, as with Django's own handler."""
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"errors": {NON_FIELD: [NOT_FOUND]}}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def _storage_errors() -> tuple[type[BaseException], ...]:
    """The errors of an object store that does not answer (refused, timed out, cut off)."""
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - django-storages[s3] brings botocore
        return ()
    return (BotoConnectionError, HTTPClientError)


def _unavailable() -> bool:
    """Whether the exception being handled is a service that is down: the database or the
    object store. Called by Django inside its ``except`` block, so it is the current one."""
    exc = sys.exc_info()[1]
    return isinstance(exc, (OperationalError, InterfaceError, *_storage_errors()))


def server_error(request: HttpRequest) -> HttpResponse:
    unavailable = _unavailable()
    status = 503 if unavailable else 500
    if request.path_info.startswith(API_PREFIX):
        message = UNAVAILABLE if unavailable else INTERNAL_ERROR
        response: HttpResponse = JsonResponse({"errors": {NON_FIELD: [message]}}, status=status)
    else:
        template = loader.get_template("503.html" if unavailable else "500.html")
        response = HttpResponse(template.render(), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
