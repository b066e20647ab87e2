"""Runs are seen by whoever may see their dataset (its study's members); anyone else gets a 404."""

from __future__ import annotations

from accounts.access import get_or_404
from accounts.models import User
from benchmarks.access import access_dataset
from evaluation.models import ModelEndpoint, Run


def access_run(*, user: User, run_id: int) -> Run:
    run = get_or_404(Run.objects.select_related("dataset", "version", "endpoint"), "run", pk=run_id)
    access_dataset(user=user, dataset_id=run.dataset_id)
    return run


def access_endpoint(*, user: User, endpoint_id: int, study_id: int) -> ModelEndpoint:
    from accounts.access import access_study

    study = access_study(user=user, study_id=study_id)
    return get_or_404(ModelEndpoint.objects.all(), "endpoint", pk=endpoint_id, study=study)
