"""Celery tasks: thin, idempotent wrappers that run one service on a claimed job row."""

from __future__ import annotations

from celery import shared_task

from benchmarks.models import Dataset, Version
from jobs.services import job_run, job_succeed


@shared_task
def version_build_task(job_id: str) -> None:
    from benchmarks.services import version_build

    def work(job, progress):
        dataset = Dataset.objects.get(pk=job.params["dataset_id"])
        version = version_build(dataset=dataset, user=job.created_by, progress=progress)
        return {"version_id": version.pk, "number": version.number, "sha256": version.sha256}

    job_run(job_id=job_id, work=work)


@shared_task
def version_export_task(job_id: str) -> None:
    from benchmarks.services import version_export

    def work(job, progress):
        version = Version.objects.select_related("dataset").get(pk=job.params["version_id"])
        name, content = version_export(version=version, progress=progress)
        # The file and the success are recorded together, so the job is never "succeeded"
        # without its zip.
        job_succeed(
            job_id=job.id,
            result={"version_id": version.pk, "file": name, "bytes": len(content)},
            file_name=name,
            content=content,
        )
        return None

    job_run(job_id=job_id, work=work)
