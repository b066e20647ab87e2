"""Fetch datasets, versions and exports only for the dataset's researchers and staff.

Everything goes through the study: a study member (or staff) sees the study's datasets,
anyone else gets a 404, as if the object did not exist.
"""

from __future__ import annotations

from django.http import Http404

from accounts.access import access_study
from accounts.models import User
from benchmarks.models import EXPORT_JOB_KIND, Dataset, Version
from jobs.models import Job


def access_dataset(*, user: User, dataset_id: int) -> Dataset:
    try:
        dataset = Dataset.objects.select_related("study").get(pk=dataset_id)
    except (Dataset.DoesNotExist, ValueError, TypeError):
        raise Http404("No such dataset.") from None
    access_study(user=user, study_id=dataset.study_id)
    return dataset


def access_version(*, user: User, dataset_id: int, number: int) -> Version:
    dataset = access_dataset(user=user, dataset_id=dataset_id)
    try:
        version = Version.objects.select_related("built_by").get(dataset=dataset, number=number)
    except (Version.DoesNotExist, ValueError, TypeError):
        raise Http404("No such version.") from None
    # The dataset (and its study) just read for the check, not read again.
    version.dataset = dataset
    return version


def access_export(*, user: User, version: Version, job_id) -> Job:
    """An export job of this version (the version was fetched with access already)."""
    try:
        return Job.objects.get(pk=job_id, kind=EXPORT_JOB_KIND, params__version_id=version.pk)
    except (Job.DoesNotExist, ValueError, TypeError):
        raise Http404("No such export.") from None
