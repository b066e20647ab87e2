"""Reading the key and the content of a request.

API clients send the key in the ``Idempotency-Key`` header (any printable ASCII, at most
100 characters; a UUID is a good choice). The pages put a fresh key in a hidden
``idempotency_key`` field of each form they render, so a form sent twice (a double press of
Enter, a retry after a timeout) carries the same key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.http import HttpResponseRedirect

from idempotency.services import Outcome

HEADER = "Idempotency-Key"
# Set on an answer read back from a stored key (API and pages alike).
REPLAYED_HEADER = "Idempotent-Replayed"
FIELD = "idempotency_key"
MAX_LENGTH = 100
# Form fields that differ between two sendings of the same form and say nothing about it.
VOLATILE_FIELDS = frozenset({"csrfmiddlewaretoken", FIELD})


class BadKey(ValueError):
    pass


def new_key() -> str:
    """A key for a rendered form."""
    return str(uuid.uuid4())


def request_key(request, *, form: bool = True) -> str | None:
    """The request's key (header first, then the form field when ``form``); None without one.

    Raises :class:`BadKey` for a key that is not 1 to 100 printable ASCII characters."""
    raw = request.headers.get(HEADER)
    if raw is None and form and request.method == "POST":
        raw = request.POST.get(FIELD)
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if len(raw) > MAX_LENGTH or not raw.isascii() or not raw.isprintable():
        raise BadKey(raw)
    return raw


def page_key(request) -> str | None:
    """The key of a page's form; a malformed one counts as none (the form works without)."""
    try:
        return request_key(request)
    except BadKey:
        return None


def page_redirect(outcome: Outcome) -> HttpResponseRedirect:
    """The redirect a page's submit answered, saying so when it is a replay."""
    response = HttpResponseRedirect(outcome.location)
    if outcome.replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def form_fingerprint(data, *, ignore: frozenset[str] | set[str] = frozenset()) -> str:
    """sha256 of a QueryDict's fields and values, order-free, without the volatile ones."""
    skip = VOLATILE_FIELDS | ignore
    return _digest(sorted((k, v) for k in data for v in data.getlist(k) if k not in skip))


def data_fingerprint(data: Any) -> str:
    """sha256 of a DRF ``request.data`` (parsed JSON or a form)."""
    if hasattr(data, "getlist"):
        return form_fingerprint(data)
    return _digest(data)
