"""Run a submit at most once per (scope, key), and forget old keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
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
    Keys older than ``IDEMPOTENCY_KEY_HOURS`` are forgotten: an expired key met again is
    replaced, and :func:`idempotency_keys_expire` (celery beat) deletes the rest.
    """
    if not key:
        return action()
    now = now or timezone.now()
    with transaction.atomic():
        row_id = _key_insert(scope=scope, key=key, fingerprint=fingerprint, now=now)
        if row_id is None:
            row = IdempotencyKey.objects.get(scope=scope, key=key)
            if row.created_at >= now - key_ttl():
                return replay_outcome(row, fingerprint)
            row.delete()
            row_id = _key_insert(scope=scope, key=key, fingerprint=fingerprint, now=now)
            if row_id is None:  # pragma: no cover - only a concurrent replacement gets here
                return replay_outcome(IdempotencyKey.objects.get(scope=scope, key=key), fingerprint)
        outcome = action()
        rows = IdempotencyKey.objects.filter(pk=row_id)
        if not outcome.keep:
            rows.delete()
            return outcome
        rows.update(
            status_code=outcome.status,
            body="" if outcome.body is None else json.dumps(outcome.body, cls=DjangoJSONEncoder),
            location=outcome.location,
        )
    return outcome


def _key_insert(*, scope: str, key: str, fingerprint: str, now: datetime) -> int | None:
    """Insert the key's row and return its id; None when the scope already holds the key.

    One ``INSERT ... ON CONFLICT DO NOTHING`` (PostgreSQL, SQLite): no savepoint to recover
    from a unique violation. A concurrent insert of the same key makes this wait until that
    transaction ends; then it inserts (the other rolled back) or returns None (it committed).
    """
    q = connection.ops.quote_name
    table = q(IdempotencyKey._meta.db_table)
    columns = ", ".join(
        q(c)
        for c in ("scope", "key", "fingerprint", "status_code", "body", "location", "created_at")
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, 0, '', '', %s) "
        f"ON CONFLICT ({q('scope')}, {q('key')}) DO NOTHING RETURNING {q('id')}"
    )
    created = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope, key, fingerprint, created])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


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
