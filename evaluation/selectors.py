"""Reads: a dataset's runs as a leaderboard."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from benchmarks.models import Dataset, Version
from evaluation.models import ReferenceScore, Run


def run_list(*, dataset: Dataset) -> QuerySet[Run]:
    return Run.objects.filter(dataset=dataset).select_related("version", "created_by")


def leaderboard(*, dataset: Dataset) -> dict[str, Any]:
    """Runs ranked by their headline estimate (best first), each with pass/fail against the
    dataset's reference score when it measures the same metric."""
    reference = ReferenceScore.objects.filter(dataset=dataset).first()
    rows: list[dict[str, Any]] = []
    for run in run_list(dataset=dataset):
        headline = (run.scores or {}).get("headline")
        passed = None
        if reference and headline and headline.get("metric") == reference.metric:
            passed = headline["estimate"] is not None and headline["estimate"] >= reference.value
        rows.append({"run": run, "headline": headline, "passed": passed})
    rows.sort(
        key=lambda r: (
            r["headline"] is None or r["headline"].get("estimate") is None,
            -(r["headline"] or {}).get("estimate", 0) if r["headline"] else 0,
            r["run"].name,
        )
    )
    return {"reference": reference, "rows": rows}


def chosen_version(dataset: Dataset, number: int | None) -> Version:
    """The version numbered ``number``, or the latest; a ValidationError names ``version``."""
    versions = Version.objects.filter(dataset=dataset)
    version = (
        versions.filter(number=number).first() if number else versions.order_by("-number").first()
    )
    if version is None:
        raise ValidationError(
            {"version": [_("Build a version of the dataset first.") if not number else
                         _("This dataset has no such version.")]}
        )  # fmt: skip
    return version
