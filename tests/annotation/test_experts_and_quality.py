"""Expert overlap on a stratified sample, the annotator table and exclusions via the API."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from annotation.models import Item, MemberRole, Pool
from annotation.services import annotation_submit, assignment_next
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = pytest.mark.django_db


def test_experts_rate_a_stratified_sample_with_their_own_overlap(study, researcher):
    project = emotion_project(
        study=study, user=researcher, k=1, expert_raters_per_item=2, expert_sample_rate=0.5
    )
    text_items(project, 6)  # speakers spk0, spk1, spk2: two items each
    out = io.StringIO()
    call_command(
        "annotation_expert_sample", "--project", str(project.id), "--stratify-by", "speaker",
        "--seed", "3", stdout=out,
    )  # fmt: skip
    assert out.getvalue().strip() == "3 items in the expert sample"
    sample = list(Item.objects.filter(expert_slots_total=2).values_list("metadata", flat=True))
    assert sorted(m["speaker"] for m in sample) == ["spk0", "spk1", "spk2"]
    experts = raters(project, 3, prefix="expert", role=MemberRole.EXPERT)
    seen = []
    for user in experts:
        while (lease := assignment_next(project=project, user=user)) is not None:
            assert lease.pool == Pool.EXPERT
            seen.append(lease.item_id)
            annotation_submit(
                project=project, user=user, item_id=lease.item_id, labels=[{"category": "joy"}]
            )
    assert len(seen) == 6  # 3 items x 2 experts
    sampled = Item.objects.filter(expert_slots_total=2)
    assert set(sampled.values_list("expert_slots_taken", flat=True)) == {2}
    # Annotator slots are untouched by experts.
    assert set(Item.objects.values_list("slots_taken", flat=True)) == {0}


def test_annotator_table_gold_accuracy_and_exclusions(api_as, study, researcher):
    project = emotion_project(study=study, user=researcher, k=3, gold_rate=0.5)
    text_items(project, 4, gold={0: "joy", 1: "anger"})
    good, sloppy = raters(project, 2)
    for user, gold_answers in ((good, {"t00": "joy", "t01": "anger"}),
                               (sloppy, {"t00": "fear", "t01": "anger"})):  # fmt: skip
        while (lease := assignment_next(project=project, user=user)) is not None:
            label = gold_answers.get(lease.item.external_id, "sadness")
            annotation_submit(
                project=project, user=user, item_id=lease.item_id,
                labels=[{"category": label}], time_ms=1500,
            )  # fmt: skip
    client = api_as(researcher)
    rows = {r["username"]: r for r in client.get(
        f"/api/annotation/projects/{project.id}/annotators/").json()}  # fmt: skip
    assert (rows["rater0"]["done"], rows["rater0"]["gold_accuracy"]) == (4, 1.0)
    assert (rows["rater1"]["done"], rows["rater1"]["gold_accuracy"]) == (4, 0.5)
    assert rows["rater0"]["median_seconds"] == pytest.approx(1.5)

    response = client.post(
        f"/api/annotation/projects/{project.id}/exclusions/",
        {"username": "rater1", "reason": "Fails gold items"},
        format="json",
    )
    assert response.status_code == 201
    exclusion = response.json()
    votes = client.get(f"/api/annotation/projects/{project.id}/votes/").json()
    assert (votes["count"], len(votes["results"])) == (4, 4)
    assert client.post(f"/api/annotation/exclusions/{exclusion['id']}/lift/").status_code == 200
    votes = client.get(f"/api/annotation/projects/{project.id}/votes/?limit=3&offset=6").json()
    assert (votes["count"], len(votes["results"]), votes["next"]) == (8, 2, None)
    assert set(votes["results"][0]) >= {"item", "voter", "label", "role", "group", "created"}
    again = client.post(f"/api/annotation/exclusions/{exclusion['id']}/lift/")
    assert again.status_code == 400
    assert again.json() == {"errors": {"non_field_errors": ["This exclusion was already lifted."]}}
