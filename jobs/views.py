from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from jobs.access import access_job


@login_required
def job_progress(request, job_id):
    """The progress bar fragment; ``static/chorus/jobs.js`` polls it until the job ends."""
    job = access_job(user=request.user, job_id=job_id)
    return render(request, "jobs/partials/progress.html", {"job": job})


@login_required
def job_detail(request, job_id):
    job = access_job(user=request.user, job_id=job_id)
    return render(request, "jobs/detail.html", {"job": job})
