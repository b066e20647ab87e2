"""Fetch datasets, versions and exports only for the dataset's researchers and staff.

Everything goes through the study: a study member (or staff) sees the study's datasets,
anyone else gets a 404, as if the object did not exist.
"""

from __future__ import annotations

from accounts.access import access_study, get_or_404
from accounts.models import User
from benchmarks.models import EXPORT_JOB_KIND, Dataset, Version
from jobs.models import Job


def access_dataset(*, user: User, dataset_id: int) -> Dataset:
    dataset = get_or_404(Dataset.objects.select_related("study"), "dataset", pk=dataset_id)
    access_study(user=user, study_id=dataset.study_id)
    return dataset


def access_version(*, user: User, dataset_id: int, number: int) -> Version:
    dataset = access_dataset(user=user, dataset_id=dataset_id)
    version = get_or_404(
        Version.objects.select_related("built_by"), "version", dataset=dataset, number=number
    )
    # The dataset (and its study) just read for the check, not read again.
    version.dataset = dataset
    return version


def access_export(*, user: User, version: Version, job_id) -> Job:
    """An export job of this version (the version was fetched with access already)."""
    return get_or_404(
        Job.objects.all(), "export", pk=job_id, kind=EXPORT_JOB_KIND, params__version_id=version.pk
    )
