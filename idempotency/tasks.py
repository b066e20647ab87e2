from __future__ import annotations

from celery import shared_task

from idempotency.services import idempotency_keys_expire


@shared_task
def expire_idempotency_keys_task() -> int:
    """Housekeeping for celery beat: forget keys older than ``IDEMPOTENCY_KEY_HOURS``."""
    return idempotency_keys_expire()
