"""Run a submit at most once per (scope, key), and forget old keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from idempotency.models import IdempotencyKey


@dataclass(frozen=True)
class Outcome:
    """What a submit answered: a status with a JSON body (API) or a redirect (pages).

    ``keep=False`` commits the submit's writes but not the key, so a retry runs again (for
    an answer that depends on more than this request, such as "the survey is not complete
    yet"). ``replayed`` is set on outcomes read back from a stored key.
    """

    status: int
    body: Any = None
    location: str = ""
    keep: bool = True
    replayed: bool = False


class IdempotencyKeyReused(Exception):
    """The key was used before in this scope for a request with other content."""


def key_ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def replay_outcome(row: IdempotencyKey, fingerprint: str) -> Outcome:
    """The outcome stored in ``row``, for a request with this ``fingerprint``."""
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(row.key)
    body = json.loads(row.body) if row.body else None
    return Outcome(status=row.status_code, body=body, location=row.location, replayed=True)


def idempotent_run(
    *,
    scope: str,
    key: str | None,
    fingerprint: str,
    action: Callable[[], Outcome],
    now: datetime | None = None,
) -> Outcome:
    """Run ``action`` once per ``(scope, key)``; a later call with the same key gets the first
    call's outcome back (``replayed=True``) and ``action`` is not called.

    Without a key, ``action`` simply runs. With one, the key row is inserted first and the
    action's writes and its outcome commit together in one transaction: call this outside any
    transaction. A concurrent call with the same key blocks on the unique index until the first
    commits (then replays its outcome) or rolls back (then runs ``action`` itself). When
    ``action`` raises, nothing is stored and the exception propagates; a retry runs again.
    Raises :class:`IdempotencyKeyReused` when the key was used with another ``fingerprint``.
    Keys older than ``IDEMPOTENCY_KEY_HOURS`` are forgotten: those of the scope on each call,
    all of them by :func:`idempotency_keys_expire` (celery beat).
    """
    if not key:
        return action()
    now = now or timezone.now()
    with transaction.atomic():
        IdempotencyKey.objects.filter(scope=scope, created_at__lt=now - key_ttl()).delete()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint, status_code=0, created_at=now
                )
        except IntegrityError:
            return replay_outcome(IdempotencyKey.objects.get(scope=scope, key=key), fingerprint)
        outcome = action()
        if not outcome.keep:
            row.delete()
            return outcome
        row.status_code = outcome.status
        row.body = "" if outcome.body is None else json.dumps(outcome.body, cls=DjangoJSONEncoder)
        row.location = outcome.location
        row.save(update_fields=["status_code", "body", "location"])
    return outcome


def idempotent_form_run(
    *, scope: str, key: str | None, fingerprint: str, action: Callable[[], Outcome]
) -> Outcome:
    """:func:`idempotent_run` for a page's form. The same rendered form sent again with other
    content (the person changed an answer before the page moved on) is a new submit, as it
    would be without a key, rather than an error the person could do nothing about."""
    try:
        return idempotent_run(scope=scope, key=key, fingerprint=fingerprint, action=action)
    except IdempotencyKeyReused:
        return action()


def idempotency_keys_expire(*, now: datetime | None = None) -> int:
    """Delete every key older than ``IDEMPOTENCY_KEY_HOURS``; returns how many went."""
    cutoff = (now or timezone.now()) - key_ttl()
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
