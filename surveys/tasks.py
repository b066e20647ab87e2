"""Celery tasks: thin, idempotent wrappers that claim a job row and call one service."""

from __future__ import annotations

from celery import shared_task

from jobs.services import JobOutput, job_run
from jobs.tasks import JobTask


@shared_task(base=JobTask)
def send_invitations_task(job_id: str) -> None:
    from surveys.models import Survey
    from surveys.services.invitations import invitations_send_now

    def work(job, progress):
        survey = Survey.objects.get(pk=job.params["survey_id"])
        return invitations_send_now(
            survey=survey, reminder=bool(job.params.get("reminder")), progress=progress
        )

    job_run(job_id=job_id, work=work)


@shared_task(base=JobTask)
def compute_weights_task(job_id: str) -> None:
    from surveys.models import Survey
    from surveys.services.weights import weights_compute

    def work(job, progress):
        survey = Survey.objects.get(pk=job.params["survey_id"])
        return weights_compute(survey=survey)

    job_run(job_id=job_id, work=work)


@shared_task(base=JobTask)
def export_responses_task(job_id: str) -> None:
    from surveys.models import Survey
    from surveys.services.exports import responses_export

    def work(job, progress):
        survey = Survey.objects.get(pk=job.params["survey_id"])
        name, content = responses_export(
            survey=survey,
            fmt=job.params["format"],
            formula_escape=not job.params.get("raw", False),
        )
        return JobOutput(result={"format": job.params["format"]}, file_name=name, content=content)

    job_run(job_id=job_id, work=work)


@shared_task
def release_quota_holds_task() -> int:
    """Periodic housekeeping (schedule it with Celery beat if you like): expired holds."""
    from surveys.services import quota_release_all_expired

    return quota_release_all_expired()
