from __future__ import annotations

import pytest

from benchmarks.services import (
    dataset_create,
    source_survey_create,
    source_upload_create,
    version_build,
)
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def version(study, researcher):
    """30 items i00..i29 rated by 3 of 6 voters (joy / anger / sadness), one version."""
    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Emotions",
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
        split_group="speaker",
    )
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(vote_frame()))
    return version_build(dataset=dataset, user=researcher)


def text_items(n: int = 30):
    """Each item's passage and metadata: country (2), year (3) and speaker gender (2)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "item": [f"i{i:02d}" for i in range(n)],
            "text": [f"Passage number {i}: the speaker talks about the weather." for i in range(n)],
            "meta.country": ["KR" if i < n // 2 else "US" for i in range(n)],
            "meta.year": [str(2020 + i % 3) for i in range(n)],
            "meta.speaker_gender": ["female" if i % 2 else "male" for i in range(n)],
        }
    )


@pytest.fixture
def text_version(study, researcher):
    """The ``version`` votes with each item's passage, country, year and speaker gender."""
    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Emotions with texts",
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
        split_group="speaker",
    )
    source_upload_create(
        dataset=dataset,
        file_name="votes.csv",
        content=csv_bytes(vote_frame()),
        items_name="items.csv",
        items_content=csv_bytes(text_items()),
    )
    return version_build(dataset=dataset, user=researcher)


@pytest.fixture
def survey_version(study, researcher, colleague):
    from surveys.services import design_create, response_start, sample_draw
    from tests.surveys import factories

    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=10)
    design = design_create(study=study, population=population, panel=panel, name="Main", n=20)
    survey = factories.make_survey(study, design, reviewer=colleague)
    draw = sample_draw(survey=survey, seed=1)
    # Seoul agrees with family-first, Busan does not.
    for invitation in draw.invitations.order_by("id"):
        region = invitation.panelist.attributes["region"]
        family = "5" if region == "Seoul" else "1"
        response = response_start(survey=survey, invitation=invitation, language="en")
        factories.complete(response, {**factories.GOOD_ANSWERS, "family": family})
    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Values",
        categories=["1", "2", "3", "4", "5", "seoul", "busan"],
        rules=["plurality", "soft"],
        split_fractions={"train": 1.0},
        split_stratify="",
    )
    source_survey_create(dataset=dataset, survey_id=survey.pk, question_ids=["family", "capital"])
    return version_build(dataset=dataset, user=researcher), survey
