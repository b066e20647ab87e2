"""One row per piece of long work (imports, invitations, weighting, builds, exports).

A Celery task claims its row (``PENDING -> RUNNING`` by a conditional update, so a redelivered
task does no harm), reports progress on it and finishes it with a result. Pages show the row
as a live progress bar (``templates/jobs/partials/progress.html``).

While a job runs, its worker touches ``heartbeat_at`` every few seconds. A running job whose
heartbeat stopped lost its worker: a redelivered task or the sweeper (``jobs_sweep``) takes it
over, and ``attempts`` (one per claim) bounds how often that happens (see docs/jobs.md).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jobs.messages import message_display


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


# How each kind of job reads on a page. The kinds are plain strings that the apps starting
# the jobs choose; an unknown kind reads as itself.
JOB_KIND_NAMES = {
    "surveys.invitations": _("Sending invitations"),
    "surveys.reminders": _("Sending reminders"),
    "surveys.weights": _("Computing survey weights"),
    "surveys.export": _("Exporting survey responses"),
    "annotation_agreement": _("Computing agreement"),
    "annotation_votes_export": _("Exporting annotation votes"),
    "benchmark_build": _("Building a dataset version"),
    "benchmark_export": _("Exporting a dataset version"),
    "evaluation_endpoint_run": _("Running a model on a dataset"),
    "interop_import": _("Importing another tool's labels"),
    "interop_export": _("Exporting labels for another tool"),
    "selftest": _("Background self-test"),
}


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    # The latest progress, failure or result message, in English; ``message_i18n`` holds it as
    # a message id and parameters when it has parameters, so that pages can translate it
    # (``get_message_display``; see jobs/messages.py).
    message = models.CharField(max_length=500, blank=True)
    message_i18n = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(upload_to="jobs/%Y/%m/", blank=True)
    study = models.ForeignKey(
        "accounts.Study", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The Celery task that runs the job (its registered name), so the sweeper can queue it again.
    task = models.CharField(max_length=200, blank=True)
    # Claims so far: the first run is attempt 1, each takeover after a lost worker one more.
    # A run writes on the row only while the row still carries its attempt number.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Running: the worker's last touch. Pending: when its task was last published again (by the
    # sweeper), if ever; the sweeper publishes it again when that is long past.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="job_progress_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def kind_name(self) -> str:
        """The kind as people read it, in the active language."""
        return str(JOB_KIND_NAMES.get(self.kind, self.kind))

    def get_message_display(self) -> str:
        """The message in the active language (the English one when no catalogue has it)."""
        return message_display(self.message, self.message_i18n)

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}

    @property
    def is_stale(self) -> bool:
        """Running, but its worker has not touched the row for ``JOB_STALE_SECONDS``."""
        if self.status != JobStatus.RUNNING:
            return False
        last = self.heartbeat_at or self.started_at
        cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
        return last is None or last < cutoff
