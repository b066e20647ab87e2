from __future__ import annotations

from celery import shared_task

from jobs.services import job_run


@shared_task
def annotation_agreement_task(job_id: str) -> None:
    """Compute a project's agreement report on its job row (safe to run twice)."""
    from annotation.models import Project
    from annotation.selectors import project_agreement

    def work(job, progress):
        project = Project.objects.get(pk=job.params["project"])
        progress(10, "reading the vote table")
        report = project_agreement(
            project=project, n_boot=int(job.params.get("n_boot", 200)), seed=0
        )
        return report

    job_run(job_id=job_id, work=work)
