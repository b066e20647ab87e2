"""Celery tasks: thin, idempotent wrappers that run one service on a claimed job row."""

from __future__ import annotations

from celery import shared_task

from benchmarks.models import Dataset, Version
from jobs.services import JobOutput, job_checkpoint, job_run
from jobs.tasks import JobTask


@shared_task(base=JobTask)
def version_build_task(job_id: str) -> None:
    from benchmarks.services import BuildError, version_build

    def work(job, progress):
        # An earlier attempt built the version and died before the job was marked succeeded:
        # the checkpoint says which, so the re-run does not build a second one.
        built = Version.objects.filter(pk=job.result.get("version_id")).first()
        if built is None:
            dataset = Dataset.objects.get(pk=job.params["dataset_id"])
            try:
                built = version_build(
                    dataset=dataset,
                    user=job.created_by,
                    progress=progress,
                    checkpoint=lambda version: job_checkpoint(
                        job_id=job.id, attempt=job.attempts, result={"version_id": version.pk}
                    ),
                )
            except BuildError as exc:
                # A refusal of the input, shown in the reader's language on the job page.
                raise exc.as_validation_error() from None
        return {"version_id": built.pk, "number": built.number, "sha256": built.sha256}

    job_run(job_id=job_id, work=work)


@shared_task(base=JobTask)
def version_export_task(job_id: str) -> None:
    from benchmarks.services import version_export
    from benchmarks.services.exports import lm_eval_export

    def work(job, progress):
        version = Version.objects.select_related("dataset").get(pk=job.params["version_id"])
        if job.params.get("format") == "lm-eval":
            name, content = lm_eval_export(version=version)
        else:
            name, content = version_export(
                version=version,
                progress=progress,
                formula_escape=not job.params.get("raw", False),
            )
        # The file and the success are recorded together, so the job is never "succeeded"
        # without its zip.
        return JobOutput(
            result={"version_id": version.pk, "file": name, "bytes": len(content)},
            file_name=name,
            content=content,
        )

    job_run(job_id=job_id, work=work)
