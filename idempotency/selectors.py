"""Reads: the stored outcome of a key, for pages that must answer a retry before anything
else (a retried last page of a survey finds the response already complete)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from idempotency.models import IdempotencyKey
from idempotency.services import Outcome, key_ttl, replay_outcome


def stored_outcome(
    *, scope: str, key: str | None, fingerprint: str, now: datetime | None = None
) -> Outcome | None:
    """The outcome stored for ``(scope, key)`` (``replayed=True``), or None when there is
    none yet or it expired. Raises ``IdempotencyKeyReused`` like ``idempotent_run``."""
    if not key:
        return None
    cutoff = (now or timezone.now()) - key_ttl()
    row = IdempotencyKey.objects.filter(scope=scope, key=key, created_at__gte=cutoff).first()
    return replay_outcome(row, fingerprint) if row is not None else None
