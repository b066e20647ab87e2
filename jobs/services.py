"""Writes on job rows. Tasks call these; nothing else changes a job's status.

The life of a job (see docs/jobs.md):

- ``job_start`` creates the row and queues its task. With the broker down it raises
  ``BackgroundUnavailable`` and leaves no pending row behind.
- The task (a ``jobs.tasks.JobTask``) calls ``job_run``: it claims the row for attempt n, runs
  the work while a watchdog thread keeps the heartbeat fresh and enforces the soft time limit,
  and records how it ended. Every write of a run is fenced by its attempt number, so a run whose
  job was taken over, or ended by the sweeper, changes nothing.
- A delivery that finds the job running with a stale heartbeat (its worker died and the broker
  delivered the task again) takes it over. ``jobs_sweep`` (Celery beat) queues such jobs again
  or, once ``JOB_MAX_ATTEMPTS`` claims are used up, fails them with the reason.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from uuid import UUID

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_noop
from kombu.exceptions import OperationalError as BrokerError

from jobs.messages import (
    SOURCE_LANGUAGE,
    JobMessage,
    duration,
    from_validation_error,
    message_columns,
)
from jobs.models import Job, JobStatus

if TYPE_CHECKING:
    from celery import Task

    from accounts.models import Study, User

logger = logging.getLogger(__name__)

# ``progress(percent, message)``: the message is a plain string (its own message id, marked
# with ``gettext_noop``) or a ``JobMessage`` with parameters (see jobs/messages.py).
ProgressFn = Callable[[int, str | JobMessage], None]

# What publishing a task raises when the broker cannot be reached: kombu wraps transport
# errors in its OperationalError, but a bare socket error can still come through.
BROKER_ERRORS: tuple[type[Exception], ...] = (BrokerError, OSError)

# What a refused start tells the client (the 503's Retry-After).
RETRY_AFTER_SECONDS = 60

UNAVAILABLE = gettext_noop("Background work is unavailable right now; try again in a few minutes.")

# Temporary files of a result being written start with this (in the job's own folder).
PARTIAL_PREFIX = ".partial-"

# At most this many stale jobs are handled per sweep; the next sweep takes the rest.
SWEEP_BATCH = 200


class BackgroundUnavailable(Exception):
    """The task could not be queued (the broker is unreachable), so the job was not started.

    Pages show the message (``jobs.middleware``); the API answers 503 (``config.api``).
    """

    def __init__(self, message: str = UNAVAILABLE) -> None:
        super().__init__(message)
        self.message = message


class JobBusy(Exception):
    """A live worker holds the job (its heartbeat is fresh): try again in ``retry_in`` s."""

    def __init__(self, *, retry_in: float, max_retries: int) -> None:
        super().__init__(f"the job is held by a live worker; retry in {retry_in:.0f} s")
        self.retry_in = retry_in
        self.max_retries = max_retries


class JobLost(Exception):
    """This run no longer holds its job: another attempt took it over, or it was ended."""


@dataclass(frozen=True)
class JobOutput:
    """What work may return instead of a plain result dict: the result and a result file.

    ``job_run`` stores the file and marks the job succeeded, both only while the run still
    holds the job.
    """

    result: dict[str, Any] = field(default_factory=dict)
    file_name: str | None = None
    content: bytes | None = None
    message: str | JobMessage = ""


def job_time_limits(kind: str) -> tuple[float, float]:
    """The (soft, hard) time limits in seconds of a job kind (``JOB_TIME_LIMITS``, else the
    defaults ``JOB_SOFT_TIME_LIMIT`` and ``JOB_TIME_LIMIT``)."""
    soft, hard = settings.JOB_TIME_LIMITS.get(
        kind, (settings.JOB_SOFT_TIME_LIMIT, settings.JOB_TIME_LIMIT)
    )
    return float(soft), max(float(soft), float(hard))


def time_limit_message(limit: float) -> JobMessage:
    return JobMessage(
        gettext_noop("Stopped: it ran longer than its time limit of %(limit)s."),
        {"limit": duration(limit)},
    )


def _gave_up_message(attempts: int) -> JobMessage:
    return JobMessage(
        gettext_noop(
            "Failed: the worker running it stopped responding (no heartbeat for %(stale)s), "
            "and all %(attempts)s attempts are used up."
        ),
        {"stale": duration(settings.JOB_STALE_SECONDS), "attempts": attempts},
    )


def _attempt_message(text: str, attempt: int) -> JobMessage:
    return JobMessage(text, {"attempt": attempt, "max": settings.JOB_MAX_ATTEMPTS})


# --- starting a job ---------------------------------------------------------------------------


def job_create(
    *,
    kind: str,
    user: User | None = None,
    study: Study | None = None,
    params: dict[str, Any] | None = None,
    task: str = "",
) -> Job:
    """Create a pending job row. To run it, use ``job_start``, which also queues its task."""
    return Job.objects.create(
        kind=kind, created_by=user, study=study, params=params or {}, task=task
    )


def _enqueue(job: Job) -> None:
    """Publish the job's task (in eager mode: run it now, in this process)."""
    _soft, hard = job_time_limits(job.kind)
    # The hard limit is Celery's: a prefork worker kills a task that outlives it. The soft one
    # is job_run's watchdog, which works in every pool and in eager mode.
    current_app.signature(job.task, args=(str(job.id),)).apply_async(time_limit=hard)


def _broker_check() -> None:
    """Connect to the broker once (within ``CELERY_BROKER_CONNECTION_TIMEOUT``, no retry);
    ``BackgroundUnavailable`` if it does not answer."""
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0)
    except BROKER_ERRORS as exc:
        logger.warning("the broker is unreachable: %s", exc)
        raise BackgroundUnavailable() from exc


def _enqueue_on_commit(job: Job, eager: bool) -> None:
    if eager:
        _enqueue(job)
        return
    # The broker answered job_start's check and may fail before the commit: the job cannot
    # run then, so it ends now with the reason instead of staying pending for ever.
    _enqueue_or_fail(
        job,
        log="job %s not queued, the broker is unreachable: %s",
        message=gettext_noop("Not started: %(reason)s"),
    )


def _enqueue_or_fail(job: Job, *, log: str, message: str) -> bool:
    """Queue ``job``; if the broker fails, fail the job with ``message`` (its ``%(reason)s``
    says the broker is unreachable) and return False."""
    try:
        _enqueue(job)
    except BROKER_ERRORS as exc:
        logger.warning(log, job.id, exc)
        job_fail(job_id=job.pk, message=JobMessage(message, {"reason": JobMessage(UNAVAILABLE)}))
        return False
    return True


def job_start(
    *,
    kind: str,
    task: Task,
    user: User | None = None,
    study: Study | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a job row and queue ``task`` (a ``JobTask`` taking the job id) to run it.

    Outside a transaction the row is committed first, then the task is published; if the broker
    cannot be reached the row is deleted and ``BackgroundUnavailable`` raised. Inside a
    transaction the task must not reach a worker before the row is committed, so the broker is
    checked first (``BackgroundUnavailable``, nothing created) and the task published on commit;
    should the broker fail in between, the job is failed with the reason, never left pending.
    Broker errors surface within a second or two (``CELERY_BROKER_CONNECTION_TIMEOUT``; a
    publish retries once, at once). Without a broker (eager mode) the task runs on commit in
    this process.
    """
    eager = bool(current_app.conf.task_always_eager)
    in_transaction = transaction.get_connection().in_atomic_block
    if in_transaction and not eager:
        _broker_check()
    job = job_create(kind=kind, user=user, study=study, params=params, task=task.name)
    if eager or in_transaction:
        transaction.on_commit(partial(_enqueue_on_commit, job, eager))
        return job
    try:
        _enqueue(job)
    except BROKER_ERRORS as exc:
        logger.warning("job %s not queued, the broker is unreachable: %s", job.id, exc)
        Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).delete()
        raise BackgroundUnavailable() from exc
    return job


# --- claiming and running ---------------------------------------------------------------------


def _stale(now: datetime) -> Q:
    """Rows whose worker has not touched them for ``JOB_STALE_SECONDS`` before ``now``."""
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)


def _claim(*, job_id: UUID | str) -> int | None:
    """Claim the job for a new attempt and return its number; None if it is not ours to run.

    A pending job is claimed; so is a running job whose heartbeat is stale (its worker died and
    the task was delivered again) while it has attempts left; once they are used up such a job
    is failed with the reason. Each is one conditional UPDATE, so two deliveries never both
    claim the job.
    """
    now = timezone.now()
    claimed = {
        "status": JobStatus.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "progress": 0,
        "attempts": F("attempts") + 1,
    }
    rows = Job.objects.filter(pk=job_id)
    won = rows.filter(status=JobStatus.PENDING).update(**claimed, **message_columns(""))
    if not won:
        row = rows.filter(_stale(now), status=JobStatus.RUNNING).values("attempts").first()
        if row is None:
            return None
        same = rows.filter(_stale(now), status=JobStatus.RUNNING, attempts=row["attempts"])
        if row["attempts"] >= settings.JOB_MAX_ATTEMPTS:
            if same.update(
                status=JobStatus.FAILED,
                **message_columns(_gave_up_message(row["attempts"])),
                finished_at=now,
            ):
                logger.warning("job %s: gave up after %s attempts", job_id, row["attempts"])
            return None
        won = same.update(**claimed)
        if won:
            logger.warning("job %s: its worker stopped responding; taking it over", job_id)
    if not won:
        return None
    return rows.values_list("attempts", flat=True).first()


def job_claim(*, job_id: UUID | str) -> bool:
    """Move a job to RUNNING for a new attempt; False if it is not ours to run (see ``_claim``).

    A conditional UPDATE, so two deliveries of the same task cannot both run it.
    """
    return _claim(job_id=job_id) is not None


def job_progress(
    *,
    job_id: UUID | str,
    progress: int,
    message: str | JobMessage = "",
    attempt: int | None = None,
) -> bool:
    """Report progress on a running job (this also refreshes its heartbeat); with ``attempt``,
    only while that attempt holds the job. Returns whether the row moved."""
    progress = max(0, min(100, int(progress)))
    rows = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    return bool(
        rows.update(progress=progress, **message_columns(message), heartbeat_at=timezone.now())
    )


def job_heartbeat(*, job_id: UUID | str, attempt: int) -> bool:
    """Touch the heartbeat of a job that ``attempt`` still holds; False if it does not."""
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt).update(
            heartbeat_at=timezone.now()
        )
    )


def job_checkpoint(*, job_id: UUID | str, attempt: int, result: dict[str, Any]) -> None:
    """Record part of the result that a later attempt must not redo (a version built, say).

    Call it inside the transaction that makes that work durable, so both commit or neither
    does: a re-run then finds the checkpoint in ``job.result`` and does not do the work twice.
    Raises ``JobLost`` (rolling that transaction back) when ``attempt`` no longer holds the job.
    """
    with transaction.atomic():
        job = (
            Job.objects.select_for_update()
            .filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt)
            .first()
        )
        if job is None:
            raise JobLost(f"job {job_id}: attempt {attempt} no longer holds it")
        job.result = {**job.result, **result}
        job.save(update_fields=["result"])


def _holds(job: Job, attempt: int | None) -> bool:
    return job.status == JobStatus.RUNNING and (attempt is None or job.attempts == attempt)


def _result_file_name(job: Job, file_name: str) -> str:
    """The job's own place for its result file: the same for every attempt, so a re-run
    replaces what an earlier one left instead of adding a second file."""
    storage = job.result_file.storage
    base = storage.get_valid_name(PurePosixPath(file_name).name) or "result"
    return f"jobs/{job.created_at:%Y/%m}/{job.id}/{base}"


def _store_result_file(job: Job, file_name: str, content: bytes) -> str:
    """Store a result file under the job's final name, never exposing a partial file there.

    On a local file system the bytes go to a temporary name in the same folder and are renamed
    into place (an atomic rename). Other storages (object stores) make an object visible only
    once its upload is complete, so there the final name is saved directly, after deleting the
    copy an earlier attempt may have left. Temporary files a killed attempt left are removed.
    Returns the stored name.
    """
    storage = job.result_file.storage
    final = _result_file_name(job, file_name)
    folder = final.rsplit("/", 1)[0]
    try:
        _folders, names = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        names = []
    for name in names:
        if name.startswith(PARTIAL_PREFIX):
            storage.delete(f"{folder}/{name}")
    try:
        final_path = storage.path(final)
    except NotImplementedError:
        storage.delete(final)
        return storage.save(final, ContentFile(content))
    temp = storage.save(f"{folder}/{PARTIAL_PREFIX}{uuid.uuid4().hex}", ContentFile(content))
    try:
        os.replace(storage.path(temp), final_path)
    except BaseException:
        storage.delete(temp)
        raise
    return final


def job_succeed(
    *,
    job_id: UUID | str,
    result: dict[str, Any] | None = None,
    file_name: str | None = None,
    content: bytes | None = None,
    message: str | JobMessage = "",
    attempt: int | None = None,
) -> Job:
    """Mark a running job succeeded, with its result and an optional result file.

    With ``attempt``, only while that attempt holds the job; a job that is not running (or no
    longer held) is left as it is. The file is stored completely first (see
    ``_store_result_file``) and the row points to it only then, in the same update that marks
    success.
    """
    job = Job.objects.get(pk=job_id)
    if not _holds(job, attempt):
        return job
    stored = None
    if content is not None and file_name:
        stored = _store_result_file(job, file_name, content)
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if _holds(job, attempt):
            if stored is not None:
                job.result_file.name = stored
            job.status = JobStatus.SUCCEEDED
            job.progress = 100
            job.result = result or {}
            columns = message_columns(message)
            job.message, job.message_i18n = columns["message"], columns["message_i18n"]
            job.finished_at = timezone.now()
            job.heartbeat_at = job.finished_at
            job.save()
            return job
    # Ended meanwhile (time limit, sweeper). A running job belongs to a newer attempt, which
    # writes the same name: leave the file to it.
    if stored is not None and job.status != JobStatus.RUNNING and job.result_file.name != stored:
        job.result_file.storage.delete(stored)
    return job


def job_fail(*, job_id: UUID | str, message: str | JobMessage, attempt: int | None = None) -> bool:
    """Mark a job that has not ended failed, with the reason; with ``attempt``, only a running
    job that attempt holds. Returns whether the row moved."""
    rows = Job.objects.filter(pk=job_id)
    if attempt is None:
        rows = rows.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING])
    else:
        rows = rows.filter(status=JobStatus.RUNNING, attempts=attempt)
    return bool(
        rows.update(status=JobStatus.FAILED, **message_columns(message), finished_at=timezone.now())
    )


class _Watchdog:
    """A thread beside a running job: it touches the heartbeat every ``JOB_HEARTBEAT_SECONDS``
    (unless progress just did) and ends the job at its soft time limit.

    At the limit the row is failed with the reason, from this thread's own connection, so the
    job ends on time whatever the work is doing; the work itself stops at its next progress
    report, which raises ``SoftTimeLimitExceeded`` (a prefork worker kills work that outlives the
    hard limit). The work is deliberately not interrupted wherever it is, as Celery's soft limit
    does with a signal: an exception raised in the middle of a query leaves the process's
    database connection unusable for the next job, and one raised inside a signal handler can
    swallow a SIGTERM. When the row shows that another attempt took the job over or it was
    ended, the next progress report raises ``JobLost`` the same way.
    """

    def __init__(self, *, job_id: UUID | str, attempt: int, soft_limit: float) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.soft_limit = soft_limit
        self.interval = max(0.05, float(settings.JOB_HEARTBEAT_SECONDS))
        self.started = time.monotonic()
        self.last_touch = self.started
        # Set when the work must stop: the exception its next progress report raises.
        self.stop_with: type[Exception] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name=f"job-watchdog-{job_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def touched(self) -> None:
        """Progress was just reported (and the heartbeat with it)."""
        self.last_touch = time.monotonic()
        if self.stop_with is not None:
            raise self.stop_with()

    def stop(self) -> None:
        self._stop.set()
        # Not for ever: the thread may be waiting for a row lock that the work's own transaction
        # holds (a job run inside an atomic block). It is a daemon and closes its connection.
        self._thread.join(timeout=2)

    def _watch(self) -> None:
        deadline = self.started + self.soft_limit
        try:
            while True:
                wake = min(self.last_touch + self.interval, deadline)
                if self._stop.wait(max(0.0, wake - time.monotonic())):
                    return
                now = time.monotonic()
                if now >= deadline:
                    self.stop_with = SoftTimeLimitExceeded
                    job_fail(
                        job_id=self.job_id,
                        message=time_limit_message(self.soft_limit),
                        attempt=self.attempt,
                    )
                    return
                if now >= self.last_touch + self.interval:
                    self.last_touch = now
                    if self._beat_lost():
                        self.stop_with = JobLost
                        return
        except Exception:
            logger.exception("the watchdog of job %s failed", self.job_id)
        finally:
            connections.close_all()

    def _beat_lost(self) -> bool:
        """Touch the heartbeat; True if the row shows that this attempt no longer holds the job.

        A database hiccup is logged and the next beat tries again on a new connection: a
        watchdog that gave up would let a live job look dead and be run twice.
        """
        try:
            return not job_heartbeat(job_id=self.job_id, attempt=self.attempt) and self._lost()
        except DatabaseError:
            logger.warning("job %s: heartbeat not recorded", self.job_id, exc_info=True)
            connections.close_all()
            return False

    def _lost(self) -> bool:
        # A row this thread cannot see (created in the work's uncommitted transaction) is not
        # lost; one that moved on is.
        row = Job.objects.filter(pk=self.job_id).values("status", "attempts").first()
        return row is not None and (
            row["status"] != JobStatus.RUNNING or row["attempts"] != self.attempt
        )


def _raise_if_busy(job_id: UUID | str) -> None:
    """``JobBusy`` when a live worker holds the job: a delivery that arrives before the
    heartbeat of a dead worker has gone stale must try again, not drop the job."""
    job = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).first()
    if job is None:
        return
    last = job.heartbeat_at or job.started_at or timezone.now()
    stale = float(settings.JOB_STALE_SECONDS)
    age = (timezone.now() - last).total_seconds()
    _soft, hard = job_time_limits(job.kind)
    raise JobBusy(
        retry_in=max(1.0, stale - age + 0.5), max_retries=math.ceil(hard / max(stale, 1.0)) + 2
    )


def job_run(
    *,
    job_id: UUID | str,
    work: Callable[[Job, ProgressFn], dict[str, Any] | JobOutput | None],
) -> bool:
    """Claim the job, run ``work(job, progress)`` and record how it ended.

    ``work`` returns the result dict, a ``JobOutput`` (result and file) or None; it may call
    ``progress(percent, message)``. While it runs a watchdog thread keeps the heartbeat fresh and
    stops it at the kind's soft time limit (the job then fails with that reason). Returns False
    when the job was not ours to run (ended, or missing); raises ``JobBusy`` when a live worker
    holds it (``JobTask`` retries later). Every write is fenced by this run's attempt number.

    The work runs in ``SOURCE_LANGUAGE`` (English), in eager mode (inside a web request) as in
    a worker: a service's refusal, translated where it is raised, is then stored as its message
    id, and each page translates it for its own reader (jobs/messages.py).
    """
    with translation.override(SOURCE_LANGUAGE):
        return _job_run(job_id=job_id, work=work)


def _job_run(
    *,
    job_id: UUID | str,
    work: Callable[[Job, ProgressFn], dict[str, Any] | JobOutput | None],
) -> bool:
    attempt = _claim(job_id=job_id)
    if attempt is None:
        _raise_if_busy(job_id)
        logger.info("job %s is not pending; skipping", job_id)
        return False
    job = Job.objects.get(pk=job_id)
    if attempt > 1:
        job_progress(
            job_id=job_id,
            progress=0,
            message=_attempt_message(
                gettext_noop(
                    "Restarted after its worker stopped responding "
                    "(attempt %(attempt)s of %(max)s)."
                ),
                attempt,
            ),
            attempt=attempt,
        )
    soft, _hard = job_time_limits(job.kind)
    watchdog = _Watchdog(job_id=job.pk, attempt=attempt, soft_limit=soft)

    def progress(percent: int, message: str | JobMessage = "") -> None:
        job_progress(job_id=job_id, progress=percent, message=message, attempt=attempt)
        watchdog.touched()

    try:
        watchdog.start()
        try:
            output = work(job, progress)
        finally:
            watchdog.stop()
    except JobLost:
        logger.warning("job %s: attempt %s no longer holds it; stopped", job_id, attempt)
        return True
    except SoftTimeLimitExceeded:
        logger.warning("job %s: stopped at its soft time limit (%s s)", job_id, soft)
        job_fail(job_id=job_id, message=time_limit_message(soft), attempt=attempt)
        return True
    except ValidationError as exc:
        # A refusal by a service: its own words are the message for the person waiting.
        logger.warning("job %s refused: %s", job_id, exc.messages)
        job_fail(
            job_id=job_id,
            message=from_validation_error(exc) or " ".join(exc.messages),
            attempt=attempt,
        )
        return True
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        job_fail(job_id=job_id, message=f"{type(exc).__name__}: {exc}", attempt=attempt)
        return True
    if not isinstance(output, JobOutput):
        output = JobOutput(result=output or {})
    try:
        job_succeed(
            job_id=job_id,
            result=output.result,
            file_name=output.file_name,
            content=output.content,
            message=output.message,
            attempt=attempt,
        )
    except Exception as exc:
        # The result could not be stored (storage full or unreachable): say so on the row
        # rather than leave the job running for the sweeper.
        logger.exception("job %s: its result could not be recorded", job_id)
        job_fail(job_id=job_id, message=f"{type(exc).__name__}: {exc}", attempt=attempt)
    return True


# --- the sweeper ------------------------------------------------------------------------------


def _republish_lost(now: datetime) -> int:
    """Publish again the tasks of jobs pending for ``JOB_PENDING_REPUBLISH_SECONDS``.

    A broker that keeps its queues in memory (Redis without persistence) loses queued tasks
    when it restarts, and their jobs would stay pending for ever. A pending job records when
    its task was last published (``heartbeat_at``, else its creation); once that is older than
    the setting its task is published again. Claims are conditional, so when the first task was
    only slow to arrive (a long queue) the second delivery finds the job taken and does nothing.
    """
    cutoff = now - timedelta(seconds=settings.JOB_PENDING_REPUBLISH_SECONDS)
    lost = Job.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff),
        status=JobStatus.PENDING,
    ).exclude(task="")
    republished = 0
    for job in lost.order_by("created_at")[:SWEEP_BATCH]:
        same = Job.objects.filter(
            pk=job.pk, status=JobStatus.PENDING, heartbeat_at=job.heartbeat_at
        )
        if not same.update(heartbeat_at=now):
            continue
        try:
            _enqueue(job)
        except BROKER_ERRORS as exc:
            # Still pending: the next sweep tries again once the broker is back.
            logger.warning("job %s not published again: %s", job.id, exc)
            Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
                heartbeat_at=job.heartbeat_at
            )
            continue
        logger.warning("job %s: still pending; its task is published again", job.id)
        republished += 1
    return republished


def jobs_sweep() -> dict[str, int]:
    """Take care of running jobs whose worker is gone (Celery beat runs it: ``jobs_sweep_task``).

    A running job with no heartbeat for ``JOB_STALE_SECONDS`` goes back to pending and its task
    is queued again while it has attempts left; after ``JOB_MAX_ATTEMPTS`` claims (or when it
    has no task to queue, or the broker refuses it) it is failed with the reason. A running job
    past its hard time limit is failed whatever its heartbeat. Every change is a conditional
    UPDATE on the state that was read, so a sweep racing a redelivered task (or another sweep)
    changes a row once. Pending jobs whose task the broker lost are published again (see
    ``_republish_lost``). Returns how many jobs were queued again, republished and failed.
    """
    now = timezone.now()
    counts = {"requeued": 0, "failed": 0, "republished": 0}
    stale = Job.objects.filter(_stale(now), status=JobStatus.RUNNING).order_by("started_at")
    for job in stale[:SWEEP_BATCH]:
        same = Job.objects.filter(
            _stale(now), pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
        )
        _soft, hard = job_time_limits(job.kind)
        reason: JobMessage | None = None
        if job.started_at is not None and job.started_at <= now - timedelta(seconds=hard):
            # Killed at its hard limit (or stuck until then): another run would end the same.
            reason = time_limit_message(hard)
        elif not job.task:
            reason = JobMessage(gettext_noop("Failed: the worker running it stopped responding."))
        elif job.attempts >= settings.JOB_MAX_ATTEMPTS:
            reason = _gave_up_message(job.attempts)
        if reason is not None:
            counts["failed"] += same.update(
                status=JobStatus.FAILED, **message_columns(reason), finished_at=now
            )
            continue
        message = _attempt_message(
            gettext_noop(
                "Its worker stopped responding; queued again (attempt %(attempt)s of %(max)s)."
            ),
            job.attempts + 1,
        )
        if not same.update(status=JobStatus.PENDING, heartbeat_at=now, **message_columns(message)):
            continue
        logger.warning("job %s: its worker stopped responding; queued again", job.id)
        queued = _enqueue_or_fail(
            job,
            log="job %s not queued again: %s",
            message=gettext_noop("Failed: it could not be queued again. %(reason)s"),
        )
        counts["requeued" if queued else "failed"] += 1

    counts["republished"] = _republish_lost(now)

    # Past the hard limit, the watchdog should have ended the job: its process is stuck or gone.
    shortest = min(
        [float(settings.JOB_TIME_LIMIT), *(job_time_limits(k)[1] for k in settings.JOB_TIME_LIMITS)]
    )
    running = Job.objects.filter(
        status=JobStatus.RUNNING, started_at__lt=now - timedelta(seconds=shortest)
    )
    for job in running.only("id", "kind", "started_at", "attempts"):
        _soft, hard = job_time_limits(job.kind)
        if job.started_at is not None and job.started_at < now - timedelta(seconds=hard):
            counts["failed"] += Job.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
            ).update(
                status=JobStatus.FAILED,
                **message_columns(time_limit_message(hard)),
                finished_at=now,
            )
    return counts
