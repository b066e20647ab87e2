"""Demo datasets: the demo survey, both demo annotation projects and an uploaded vote table.

Each dataset is created and built once; running the demo again finds them and changes nothing.
A source whose app or demo data is missing is skipped with a note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction

from benchmarks.models import Dataset
from benchmarks.services import (
    BuildError,
    dataset_create,
    source_annotation_create,
    source_survey_create,
    source_upload_create,
    version_build,
)

UPLOAD_DATASET = "Demo: movie-review sentiment (uploaded votes)"
SURVEY_DATASET = "Demo: values survey (agreement scale)"
EMOTION_DATASET = "Demo: speech emotions"
POLICY_DATASET = "Demo: climate policy targets"
SENTIMENT = ["negative", "mixed", "neutral", "positive"]
SURVEY_QUESTIONS = ["family_first", "work_first", "democracy"]


def demo_votes(seed: int = 2026) -> pd.DataFrame:
    """60 reviews x 5 raters from a pool of 12, with a reviewer per item (the split group)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(60):
        truth = int(rng.integers(0, len(SENTIMENT)))
        for rater in rng.choice(12, size=5, replace=False):
            label = truth if rng.random() < 0.65 else int(rng.integers(0, len(SENTIMENT)))
            rows.append(
                {
                    "item": f"review-{i:03d}",
                    "voter": f"rater-{int(rater):02d}",
                    "label": SENTIMENT[label],
                    "weight": 1.0,
                    "role": "primary",
                    "critic": f"critic-{i % 12:02d}",
                }
            )
    return pd.DataFrame(rows)


def _build(dataset: Dataset, people, stdout) -> None:
    try:
        version = version_build(dataset=dataset, user=people.researcher)
    except BuildError as exc:
        stdout.write(f"  {dataset.name}: not built ({exc})")
        return
    stdout.write(
        f"  {dataset.name}: v{version.number}, {version.stats['n_items']} items, "
        f"{version.stats['n_votes']} votes"
    )


def _upload(people, stdout) -> None:
    with transaction.atomic():
        dataset = dataset_create(
            study=people.study,
            user=people.researcher,
            name=UPLOAD_DATASET,
            description="Sentiment votes collected outside Chorus and uploaded as a CSV file.",
            categories=SENTIMENT,
            parameters={"tie_policy": "drop", "seed": 0},
            split_group="critic",
        )
        source_upload_create(
            dataset=dataset,
            file_name="reviews.csv",
            content=demo_votes().to_csv(index=False).encode(),
            name="reviews.csv",
        )
    _build(dataset, people, stdout)


def _survey(people, stdout) -> None:
    try:
        from surveys.demo import TITLE
        from surveys.models import Survey
    except ImportError:
        stdout.write("  surveys: no demo survey; skipped")
        return
    survey = Survey.objects.filter(study=people.study, title_en=TITLE).first()
    if survey is None:
        stdout.write("  surveys: the demo survey is not there; skipped")
        return
    with transaction.atomic():
        dataset = dataset_create(
            study=people.study,
            user=people.researcher,
            name=SURVEY_DATASET,
            description="Weighted answers to three agreement questions of the demo survey.",
            categories=["1", "2", "3", "4", "5"],
            rules=["majority", "plurality", "all_inclusive", "soft"],
            parameters={"tie_policy": "drop", "seed": 0},
            split_fractions={"train": 1.0},
            split_stratify="",
        )
        source_survey_create(
            dataset=dataset,
            survey_id=survey.pk,
            question_ids=SURVEY_QUESTIONS,
            name=survey.title_en,
        )
    _build(dataset, people, stdout)


def _project(people, stdout, *, name: str, project_name: str, roles: list[str]) -> None:
    try:
        from annotation.models import Project
    except ImportError:
        stdout.write("  annotation: no annotation app; skipped")
        return
    project = Project.objects.filter(study=people.study, name=project_name).first()
    if project is None:
        stdout.write(f"  {project_name}: the demo project is not there; skipped")
        return
    categories = list(project.categories.order_by("order", "id").values_list("key", flat=True))
    with transaction.atomic():
        try:
            dataset = dataset_create(
                study=people.study,
                user=people.researcher,
                name=name,
                description=f"Votes of the annotation project {project_name!r}.",
                categories=categories,
                parameters={"tie_policy": "drop", "seed": 0, "secondary_weight": 0.5},
                split_stratify="all_inclusive",
            )
            source_annotation_create(
                dataset=dataset, project_id=project.pk, roles=roles, name=project_name
            )
        except ValidationError as exc:
            stdout.write(f"  {name}: not created ({exc.messages})")
            return
    _build(dataset, people, stdout)


def load(*, people, stdout) -> None:
    existing = set(Dataset.objects.filter(study=people.study).values_list("name", flat=True))
    if UPLOAD_DATASET not in existing:
        _upload(people, stdout)
    if SURVEY_DATASET not in existing:
        _survey(people, stdout)
    try:
        from annotation.demo import EMOTION_PROJECT, POLICY_PROJECT
    except ImportError:
        stdout.write("  annotation: no demo projects; skipped")
        return
    if EMOTION_DATASET not in existing:
        _project(people, stdout, name=EMOTION_DATASET, project_name=EMOTION_PROJECT, roles=[])
    if POLICY_DATASET not in existing:
        _project(people, stdout, name=POLICY_DATASET, project_name=POLICY_PROJECT, roles=[])
    stdout.write(f"  datasets: {Dataset.objects.filter(study=people.study).count()}")
