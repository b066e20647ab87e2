from __future__ import annotations

from celery import shared_task
from django.utils.translation import gettext_noop

from jobs.services import JobOutput, job_run
from jobs.tasks import JobTask


@shared_task(base=JobTask)
def annotation_agreement_task(job_id: str) -> None:
    """Compute a project's agreement report on its job row (safe to run twice)."""
    from annotation.models import Project
    from annotation.selectors import agreement_basis, annotator_quality, project_agreement

    def work(job, progress):
        project = Project.objects.get(pk=job.params["project"])
        progress(10, gettext_noop("reading the vote table"))
        # Read first: labels given while the report is computed make it out of date at once.
        basis = agreement_basis(project=project)
        report = project_agreement(
            project=project, n_boot=int(job.params.get("n_boot", 200)), seed=0
        )
        progress(70, gettext_noop("annotator quality"))
        report["annotators"] = annotator_quality(project=project)
        report["basis"] = basis
        return report

    job_run(job_id=job_id, work=work)


@shared_task(base=JobTask)
def annotation_votes_export_task(job_id: str) -> None:
    """Write a project's vote table to the job's result file (safe to run twice)."""
    from annotation.models import Project
    from annotation.services import votes_export

    def work(job, progress):
        project = Project.objects.get(pk=job.params["project"])
        progress(10, gettext_noop("reading the vote table"))
        name, content, rows = votes_export(
            project=project,
            fmt=job.params["format"],
            formula_escape=not job.params.get("raw", False),
        )
        return JobOutput(
            result={"format": job.params["format"], "rows": rows}, file_name=name, content=content
        )

    job_run(job_id=job_id, work=work)
