"""Survey versions: the alignment score, representativeness and whose answers a model sides
with, group by group; the held-out human reference."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.selectors import version_contents
from evaluation import metrics
from evaluation.services import reference_from_held_out, run_upload

pytestmark = pytest.mark.django_db


def test_alignment_per_group_shows_whose_answers_the_model_sides_with(survey_version, researcher):
    version, survey = survey_version
    contents = version_contents(version=version).set_index("item")
    family, capital = f"{survey.pk}:family", f"{survey.pk}:capital"
    lines = [
        json.dumps({"item": family, "option": "5", "probs": [0, 0, 0, 0, 1]}),
        json.dumps({"item": capital, "option": "seoul"}),
    ]
    run = run_upload(
        dataset=version.dataset,
        version=version,
        user=researcher,
        name="agrees",
        raw="\n".join(lines).encode(),
        file_name="p.jsonl",
    )
    survey_part = run.scores["survey"]
    shares = {
        key: dict(zip(contents.at[key, "options"], contents.at[key, "distribution"], strict=True))
        for key in (family, capital)
    }
    expected = (shares[family]["5"] + shares[capital]["seoul"]) / 2
    assert survey_part["alignment"]["estimate"] == pytest.approx(expected)
    assert run.scores["headline"]["metric"] == "alignment"
    regions = survey_part["groups"]["region"]["values"]
    # Everyone in Seoul chose 5, nobody in Busan did; everyone answered Seoul to the capital.
    assert regions["Seoul"]["alignment"]["estimate"] == pytest.approx(1.0)
    assert regions["Busan"]["alignment"]["estimate"] == pytest.approx(0.5)
    assert survey_part["accuracy_by_subject"] == {"geography": {"accuracy": 1.0, "n": 1}}


def test_the_gap_between_regions_is_paired_over_the_questions(
    survey_version, researcher, monkeypatch
):
    """Both regions answered both questions, so the questions are resampled jointly: Seoul's
    per-question alignment is (1, 1), Busan's (0, 1), the gap 0.5; a resample of the two
    questions has a gap of 0, 0.5 or 1 (a quarter of the time each end), so the 95% interval
    is [0, 1]. (Gaps are ranked from 5 questions up; two are enough here.)"""
    from evaluation.services import scoring

    monkeypatch.setattr(scoring, "MIN_GROUP_ITEMS", 2)
    version, survey = survey_version
    lines = [
        json.dumps({"item": f"{survey.pk}:family", "option": "5"}),
        json.dumps({"item": f"{survey.pk}:capital", "option": "seoul"}),
    ]
    run = run_upload(
        dataset=version.dataset,
        version=version,
        user=researcher,
        name="agrees",
        raw="\n".join(lines).encode(),
        file_name="p.jsonl",
    )
    gap = run.scores["survey"]["groups"]["region"]["largest_gap"]
    assert (gap["highest"], gap["lowest"], gap["metric"]) == ("Seoul", "Busan", "alignment")
    assert (gap["gap"], gap["low"], gap["high"]) == pytest.approx((0.5, 0.0, 1.0))


def test_representativeness_needs_probabilities_for_every_question(survey_version, researcher):
    version, survey = survey_version
    contents = version_contents(version=version).set_index("item")
    family = f"{survey.pk}:family"
    model = [0.2, 0.2, 0.2, 0.2, 0.2]
    run = run_upload(
        dataset=version.dataset,
        version=version,
        user=researcher,
        name="uniform",
        raw=json.dumps({"item": family, "probs": model}).encode(),
        file_name="p.jsonl",
    )
    people = np.asarray(contents.at[family, "distribution"], dtype=float)
    expected = metrics.representativeness([model], [people / people.sum()])
    assert run.scores["survey"]["representativeness"]["estimate"] == pytest.approx(expected)


def test_held_out_reference_is_the_median_respondents_alignment(survey_version):
    version, _ = survey_version
    reference = reference_from_held_out(dataset=version.dataset, version=version)
    assert reference.metric == "alignment"
    assert 0 < reference.value <= 1
    assert reference.source == "held_out_human"
