"""Survey and annotation sources: their vote and item tables become versions like uploads do."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from benchmarks.models import DatasetSource
from benchmarks.selectors import version_contents, version_items, version_votes
from benchmarks.services import (
    dataset_create,
    source_annotation_create,
    source_survey_create,
    version_build,
)

pytestmark = pytest.mark.django_db


def test_survey_source_gives_the_weighted_answers_of_chosen_questions(study, researcher, colleague):
    from surveys.services import design_create, response_start, sample_draw
    from tests.surveys import factories

    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=10)
    design = design_create(study=study, population=population, panel=panel, name="Main", n=20)
    survey = factories.make_survey(study, design, reviewer=colleague)
    draw = sample_draw(survey=survey, seed=1)
    answers = ["4", "4", "5", "2"]
    for invitation, family in zip(draw.invitations.order_by("id")[:4], answers, strict=True):
        response = response_start(survey=survey, invitation=invitation, language="en")
        factories.complete(response, {**factories.GOOD_ANSWERS, "family": family})

    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Family values",
        categories=["1", "2", "3", "4", "5"],
        rules=["majority", "plurality", "soft"],
        split_fractions={"train": 1.0},
        split_stratify="",
    )
    source_survey_create(dataset=dataset, survey_id=survey.pk, question_ids=["family"])
    version = version_build(dataset=dataset, user=researcher)
    items = version_items(version=version)
    assert list(items["item"]) == [f"{survey.pk}:family"]
    assert items.at[0, "stats.n_votes"] == 4
    content = version_contents(version=version)
    # ``question`` is in the survey's first language (Korean here), every language beside it.
    assert content.at[0, "question"] == content.at[0, "question_ko"] == "가족이 우선이다."
    assert content.at[0, "question_en"] == "Family comes first."
    assert content.at[0, "kind"] == "question"
    votes = version_votes(version=version).to_pandas()
    assert sorted(votes["label"]) == ["2", "4", "4", "5"]
    assert "stratum" in votes.columns
    # The soft label is the weighted answer distribution.
    weight = votes.groupby("label")["weight"].sum() / votes["weight"].sum()
    for code in ("2", "4", "5"):
        assert items.at[0, f"soft.p.{code}"] == pytest.approx(weight[code])
    assert items.at[0, "soft.p.1"] == 0.0
    assert items.at[0, "plurality.label"] == weight.idxmax()


def test_survey_and_project_must_belong_to_the_study(study, researcher, dataset):
    with pytest.raises(ValidationError) as info:
        source_survey_create(dataset=dataset, survey_id=999_999)
    assert info.value.message_dict == {"survey_id": ["No such survey in this study."]}
    with pytest.raises(ValidationError) as info:
        source_annotation_create(dataset=dataset, project_id=999_999)
    assert info.value.message_dict == {"project_id": ["No such annotation project in this study."]}
    assert DatasetSource.objects.count() == 0


def test_annotation_source_with_secondary_votes_and_a_role_filter(study, researcher):
    from annotation.services import annotation_submit, assignment_next
    from tests.annotation.factories import EMOTIONS, emotion_project, raters, text_items

    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 4)
    people = raters(project, 3)
    plan = {0: ("joy", ["fear"]), 1: ("joy", []), 2: ("anger", ["sadness"])}
    for i, user in enumerate(people):
        for _ in range(4):
            a = assignment_next(project=project, user=user)
            primary, secondary = plan[i]
            labels = [{"category": primary, "role": "primary"}]
            labels += [{"category": s, "role": "secondary"} for s in secondary]
            annotation_submit(project=project, user=user, item_id=a.item_id, labels=labels)

    both = dataset_create(
        study=study,
        user=researcher,
        name="All votes",
        categories=EMOTIONS,
        parameters={"tie_policy": "drop", "seed": 0, "secondary_weight": 0.5},
        split_group="speaker",
    )
    source_annotation_create(dataset=both, project_id=project.pk)
    version = version_build(dataset=both, user=researcher)
    items = version_items(version=version)
    assert len(items) == 4
    assert set(items["majority.label"]) == {"joy"}
    assert list(items["stats.n_secondary"]) == [2, 2, 2, 2]
    # all-inclusive pools the secondary votes at weight 0.5: joy 2, anger 1, fear .5, sadness .5
    assert items.at[0, "all_inclusive.p.joy"] == pytest.approx(0.5)
    assert items.at[0, "all_inclusive.p.fear"] == pytest.approx(0.125)
    assert (items.groupby("speaker")["split"].nunique() == 1).all()

    primary_only = dataset_create(
        study=study, user=researcher, name="Primary only", categories=EMOTIONS
    )
    source_annotation_create(
        dataset=primary_only, project_id=project.pk, roles=["primary"], item_filter={}
    )
    version = version_build(dataset=primary_only, user=researcher)
    assert version.stats["n_votes"] == 12
    assert version.stats["n_secondary"] == 0


def test_linking_a_project_through_the_api_and_the_page(api_as, client, study, researcher):
    from tests.annotation.factories import EMOTIONS, emotion_project

    project = emotion_project(study=study, user=researcher)
    dataset = dataset_create(study=study, user=researcher, name="Linked", categories=EMOTIONS)
    api = api_as(researcher)
    url = f"/api/benchmarks/datasets/{dataset.id}/sources/link/"
    response = api.post(url, {"kind": "annotation"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"project_id": ["This field is required."]}}
    response = api.post(
        url,
        {"kind": "annotation", "project_id": project.pk, "roles": ["primary"],
         "item_filter": {"speaker": ["spk0"]}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    source = DatasetSource.objects.get()
    assert (source.kind, source.roles, source.item_filter) == (
        "annotation",
        ["primary"],
        {"speaker": ["spk0"]},
    )

    client.force_login(researcher)
    page = client.get(f"/benchmarks/datasets/{dataset.id}/").content.decode()
    assert f'<option value="annotation:{project.pk}">Speech emotions</option>' in page
    response = client.post(
        f"/benchmarks/datasets/{dataset.id}/sources/link/",
        {"target": f"annotation:{project.pk}", "roles": ["secondary"]},
    )
    assert response.status_code == 302
    assert DatasetSource.objects.count() == 2
    assert DatasetSource.objects.last().roles == ["secondary"]


def test_outsider_cannot_link_sources(api_as, client, study, researcher, outsider, dataset):
    from tests.annotation.factories import emotion_project

    project = emotion_project(study=study, user=researcher)
    response = api_as(outsider).post(
        f"/api/benchmarks/datasets/{dataset.id}/sources/link/",
        {"kind": "annotation", "project_id": project.pk},
        format="json",
    )
    assert response.status_code == 404
    client.force_login(outsider)
    response = client.post(
        f"/benchmarks/datasets/{dataset.id}/sources/link/",
        {"target": f"annotation:{project.pk}"},
    )
    assert response.status_code == 404
    assert DatasetSource.objects.count() == 0


def test_a_keyed_survey_question_reaches_the_dataset_with_its_key(study, researcher, colleague):
    """Knowledge questions carry their reviewed answer key into the frozen items table."""
    from surveys.services import design_create, response_start, sample_draw
    from tests.surveys import factories

    population = factories.make_population(study)
    panel = factories.make_panel(study, population, per_cell=10)
    design = design_create(study=study, population=population, panel=panel, name="Main", n=20)
    survey = factories.make_survey(study, design, reviewer=colleague)
    draw = sample_draw(survey=survey, seed=1)
    invitations = draw.invitations.order_by("id")[:3]
    for invitation, answer in zip(invitations, ["seoul", "busan", "seoul"], strict=True):
        response = response_start(survey=survey, invitation=invitation, language="en")
        factories.complete(response, {**factories.GOOD_ANSWERS, "capital": answer})

    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Common knowledge",
        categories=["seoul", "busan"],
        rules=["plurality", "soft"],
        split_fractions={"train": 1.0},
        split_stratify="",
    )
    source_survey_create(dataset=dataset, survey_id=survey.pk, question_ids=["capital"])
    version = version_build(dataset=dataset, user=researcher)
    items = version_items(version=version)
    assert list(items["item"]) == [f"{survey.pk}:capital"]
    content = version_contents(version=version)
    assert (content.at[0, "answer_key"], content.at[0, "subject"]) == ("seoul", "geography")
    assert items.at[0, "plurality.label"] == "seoul"
    assert items.at[0, "stats.n_votes"] == 3
