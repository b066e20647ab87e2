"""Runs are seen by whoever may see their dataset (its study's members); anyone else gets a 404."""

from __future__ import annotations

from django.http import Http404

from accounts.models import User
from benchmarks.access import access_dataset
from evaluation.models import ModelEndpoint, Run


def access_run(*, user: User, run_id: int) -> Run:
    try:
        run = Run.objects.select_related("dataset", "version", "endpoint").get(pk=run_id)
    except (Run.DoesNotExist, ValueError, TypeError):
        raise Http404("No such run.") from None
    access_dataset(user=user, dataset_id=run.dataset_id)
    return run


def access_endpoint(*, user: User, endpoint_id: int, study_id: int) -> ModelEndpoint:
    from accounts.access import access_study

    study = access_study(user=user, study_id=study_id)
    try:
        return ModelEndpoint.objects.get(pk=endpoint_id, study=study)
    except (ModelEndpoint.DoesNotExist, ValueError, TypeError):
        raise Http404("No such endpoint.") from None
