"""Writes on job rows. Tasks call these; nothing else changes a job's status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from jobs.models import Job, JobStatus

if TYPE_CHECKING:
    from accounts.models import Study, User

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, str], None]


def job_create(
    *,
    kind: str,
    user: User | None = None,
    study: Study | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a pending job row. Enqueue its task with ``transaction.on_commit``."""
    return Job.objects.create(kind=kind, created_by=user, study=study, params=params or {})


def job_claim(*, job_id: UUID | str) -> bool:
    """Move a job from PENDING to RUNNING; False if someone else already has it.

    A conditional UPDATE, so two deliveries of the same task cannot both run it.
    """
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, started_at=timezone.now(), progress=0
        )
    )


def job_progress(*, job_id: UUID | str, progress: int, message: str = "") -> None:
    progress = max(0, min(100, int(progress)))
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=progress, message=message[:500]
    )


def job_succeed(
    *,
    job_id: UUID | str,
    result: dict[str, Any] | None = None,
    file_name: str | None = None,
    content: bytes | None = None,
    message: str = "",
) -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if content is not None and file_name:
            job.result_file.save(file_name, ContentFile(content), save=False)
        job.status = JobStatus.SUCCEEDED
        job.progress = 100
        job.result = result or {}
        job.message = message[:500]
        job.finished_at = timezone.now()
        job.save()
    return job


def job_fail(*, job_id: UUID | str, message: str) -> None:
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED, message=message[:500], finished_at=timezone.now()
    )


def job_run(
    *, job_id: UUID | str, work: Callable[[Job, ProgressFn], dict[str, Any] | None]
) -> bool:
    """Claim the job, run ``work(job, progress)`` and record how it ended.

    ``work`` returns the result dict (or None); it may call ``progress(percent, message)``.
    Returns False when the job was not pending (already run or running elsewhere).
    """
    if not job_claim(job_id=job_id):
        logger.info("job %s is not pending; skipping", job_id)
        return False
    job = Job.objects.get(pk=job_id)

    def progress(percent: int, message: str = "") -> None:
        job_progress(job_id=job_id, progress=percent, message=message)

    try:
        result = work(job, progress)
    except ValidationError as exc:
        # A refusal by a service: its own words are the message for the person waiting.
        logger.warning("job %s refused: %s", job_id, exc.messages)
        job_fail(job_id=job_id, message=" ".join(exc.messages))
        return True
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        job_fail(job_id=job_id, message=f"{type(exc).__name__}: {exc}")
        return True
    job.refresh_from_db()
    if job.status == JobStatus.RUNNING:
        job_succeed(job_id=job_id, result=result or {})
    return True
