from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from jobs.access import access_job
from jobs.responses import result_file_response


@login_required
def job_progress(request, job_id):
    """The progress bar fragment; ``static/chorus/jobs.js`` polls it until the job ends."""
    job = access_job(user=request.user, job_id=job_id)
    return render(request, "jobs/partials/progress.html", {"job": job})


# Where a job page links back to: the page of the object the job worked on, by the key its
# parameters name (first match), else the study.
BACK_LINKS = (
    ("survey_id", "surveys:dashboard"),
    ("dataset_id", "benchmarks:dataset_detail"),
    ("project", "annotation:project"),
)


def job_back_link(job) -> str:
    params = job.params if isinstance(job.params, dict) else {}
    for key, url_name in BACK_LINKS:
        if isinstance(params.get(key), int):
            try:
                return reverse(url_name, args=[params[key]])
            except NoReverseMatch:  # that app is not installed
                continue
    return reverse("study_detail", args=[job.study_id]) if job.study_id else reverse("home")


@login_required
def job_detail(request, job_id):
    job = access_job(user=request.user, job_id=job_id)
    return render(request, "jobs/detail.html", {"job": job, "back_url": job_back_link(job)})


@login_required
def job_download(request, job_id):
    """The job's result file, for the same people who may see the job.

    Media files are not served publicly: every download goes through the job's access check
    and is streamed from the storage (a local folder or an object store).
    """
    job = access_job(user=request.user, job_id=job_id)
    return result_file_response(job)
