from __future__ import annotations

from celery import shared_task
from django.utils.translation import gettext_noop

from jobs.services import job_run
from jobs.tasks import JobTask


@shared_task(base=JobTask)
def interop_import_task(job_id: str) -> None:
    """Run one import of another tool's export on its job row (safe to run twice: a second
    run finds the import done and changes nothing)."""
    from interop.models import LabelImport
    from interop.services import label_import_run

    def work(job, progress):
        label_import = LabelImport.objects.get(pk=job.params["import"])
        return label_import_run(label_import=label_import, progress=progress)

    job_run(job_id=job_id, work=work)


@shared_task(base=JobTask)
def interop_export_task(job_id: str) -> None:
    """Write a project's labels in another tool's format to the job's file (safe to run
    twice)."""
    from interop.services import labels_export

    def work(job, progress):
        progress(10, gettext_noop("reading the vote table"))
        params = job.params
        return labels_export(
            study_id=params["study"], project_id=params["project"], tool=params["tool"]
        )

    job_run(job_id=job_id, work=work)
