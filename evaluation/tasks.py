"""Celery tasks: thin wrappers that run one service on a claimed job row."""

from __future__ import annotations

from celery import shared_task

from evaluation.models import Run, RunStatus
from jobs.services import job_run
from jobs.tasks import JobTask


@shared_task(base=JobTask)
def endpoint_run_task(job_id: str) -> None:
    from evaluation.services.endpoints import endpoint_run_execute

    def work(job, progress):
        run = Run.objects.select_related("version", "endpoint", "dataset").get(
            pk=job.params["run_id"]
        )
        try:
            run = endpoint_run_execute(run=run, progress=progress)
        except Exception:
            Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
            raise
        return {"run_id": run.pk, "n_predicted": run.n_predicted, "n_failed": run.n_failed}

    job_run(job_id=job_id, work=work)
