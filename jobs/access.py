from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.http import Http404

from accounts.access import is_study_member
from jobs.models import Job

if TYPE_CHECKING:
    from accounts.models import User


def access_job(*, user: User, job_id: UUID | str) -> Job:
    """A job is visible to the person who started it, members of its study, and staff."""
    try:
        job = Job.objects.select_related("study").get(pk=job_id)
    except (Job.DoesNotExist, ValueError, TypeError):
        raise Http404("No such job.") from None
    if user.is_authenticated and (
        user.is_staff
        or job.created_by_id == user.pk
        or (job.study is not None and is_study_member(user=user, study=job.study))
    ):
        return job
    raise Http404("No such job.")
