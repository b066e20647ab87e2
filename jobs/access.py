from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.http import Http404

from accounts.access import get_or_404, is_study_member
from jobs.models import Job

if TYPE_CHECKING:
    from accounts.models import User


def access_job(*, user: User, job_id: UUID | str) -> Job:
    """A study's job (and its result file) is visible to the study's members, checked at
    every request: someone removed from the study loses the jobs they started at once. A job
    of no study (an admin diagnostic) is visible to the person who started it. Staff status
    grants nothing here; staff see jobs in the admin."""
    job = get_or_404(Job.objects.select_related("study"), "job", pk=job_id)
    if not user.is_authenticated:
        raise Http404("No such job.")
    if job.study is not None:
        if is_study_member(user=user, study=job.study):
            return job
    elif job.created_by_id == user.pk:
        return job
    raise Http404("No such job.")
