"""Demo dataset: an uploaded vote table of movie-review sentiment.

The datasets of the demo survey and the demo annotation projects are made by those apps'
demos (``surveys.demo``, ``annotation.demo``), since this app does not know them. The dataset
is created and built once; running the demo again finds it and changes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db import transaction

from benchmarks.models import Dataset
from benchmarks.services import BuildError, dataset_create, source_upload_create, version_build

UPLOAD_DATASET = "Demo: movie-review sentiment (uploaded votes)"
SENTIMENT = ["negative", "mixed", "neutral", "positive"]


OPENINGS = {
    "negative": ["Two hours I will not get back.", "A tired script and a cast that knows it."],
    "mixed": ["Gorgeous to look at, hard to care about.", "The first half sings; the rest drags."],
    "neutral": ["A competent genre piece.", "It does what the trailer promised, no more."],
    "positive": ["A small film that stays with you.", "Sharp, funny and quietly moving."],
}
SUBJECTS = ["heist", "family drama", "space opera", "road movie", "courtroom thriller", "musical"]


def demo_data(seed: int = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 reviews x 5 raters from a pool of 12, with a critic per item (the split group), and
    each review's text (written to lean towards the sentiment most raters see in it)."""
    rng = np.random.default_rng(seed)
    words = np.random.default_rng(seed + 1)
    rows = []
    items = []
    for i in range(60):
        truth = int(rng.integers(0, len(SENTIMENT)))
        opening = OPENINGS[SENTIMENT[truth]][int(words.integers(0, 2))]
        subject = SUBJECTS[int(words.integers(0, len(SUBJECTS)))]
        items.append(
            {
                "item": f"review-{i:03d}",
                "text": f"{opening} This {subject} runs {int(words.integers(85, 160))} minutes.",
                "meta.year": str(2018 + i % 6),
            }
        )
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
    return pd.DataFrame(rows), pd.DataFrame(items)


def build_and_report(dataset: Dataset, people, stdout) -> None:
    """Build a demo dataset's first version and say what it holds (or why it was not built)."""
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
            description=(
                "Sentiment votes on short film reviews, collected outside Chorus and uploaded "
                "as a CSV file with the reviews' texts."
            ),
            categories=SENTIMENT,
            parameters={"tie_policy": "drop", "seed": 0},
            split_group="critic",
        )
        votes, items = demo_data()
        source_upload_create(
            dataset=dataset,
            file_name="reviews.csv",
            content=votes.to_csv(index=False).encode(),
            name="reviews.csv",
            items_name="review-texts.csv",
            items_content=items.to_csv(index=False).encode(),
        )
    build_and_report(dataset, people, stdout)


def load(*, people, stdout) -> None:
    if not Dataset.objects.filter(study=people.study, name=UPLOAD_DATASET).exists():
        _upload(people, stdout)
    stdout.write(f"  datasets: {Dataset.objects.filter(study=people.study).count()}")
