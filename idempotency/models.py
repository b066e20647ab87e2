"""Stored outcomes of submits, so that a retried submit replays its first answer.

A client that timed out cannot know whether its submit was stored. It sends the same
``Idempotency-Key`` again (the pages send a key generated for each rendered form); the first
request's outcome is stored with the key, in the same transaction as the submit, and a
retry gets that outcome back instead of a second write or an "already answered" error.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    # Who and where: e.g. "annotation.api.submit:<user id>:<project id>". A key means
    # something only within its scope, so one client's key can never replay another's answer.
    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=100)
    # sha256 of the request's content: the same key with other content is not a retry.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    # The body as JSON text, not a JSONField: PostgreSQL's jsonb would reorder its keys, and a
    # replay should read exactly like the first answer.
    body = models.TextField(blank=True, default="")
    location = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
