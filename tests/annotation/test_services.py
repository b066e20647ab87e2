"""Assignment, answers, undo, skip, leases, gold, exclusions and adjudication (services)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotation.models import (
    Adjudication,
    Annotation,
    AnnotationLabel,
    Assignment,
    Category,
    Item,
    LabelRole,
    Pool,
)
from annotation.selectors import adjudication_queue, project_vote_table, voter_key
from annotation.services import (
    adjudication_record,
    annotation_submit,
    annotation_undo,
    assignment_next,
    assignment_skip,
    exclusion_create,
    exclusion_lift,
    leases_expire,
)
from tests.annotation.factories import emotion_project, policy_project, raters, text_items

pytestmark = pytest.mark.django_db


def answer(project, user, primary, secondary=(), **extra):
    a = assignment_next(project=project, user=user)
    labels = [{"category": primary, "role": "primary"}]
    labels += [{"category": s, "role": "secondary"} for s in secondary]
    return a, annotation_submit(
        project=project, user=user, item_id=a.item_id, labels=labels, **extra
    )


def test_multi_label_projects_get_an_explicit_none(study, researcher):
    project = policy_project(study=study, user=researcher)
    cats = list(project.categories.values_list("key", "keyboard_key", "is_none"))
    assert cats == [
        ("net-zero", "1", False),
        ("reduction", "2", False),
        ("other", "3", False),
        ("none", "4", True),
    ]


def test_next_item_is_the_most_needed_one_not_yet_seen(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 3)
    a, b, c = raters(project, 3)
    first = assignment_next(project=project, user=a)
    assert first.item.external_id == "t00"
    # Asking again returns the same open lease.
    assert assignment_next(project=project, user=a).pk == first.pk
    # b gets the next least-taken item, not t00 (which has one slot taken).
    assert assignment_next(project=project, user=b).item.external_id == "t01"
    assert assignment_next(project=project, user=c).item.external_id == "t02"
    assert list(Item.objects.order_by("id").values_list("slots_taken", flat=True)) == [1, 1, 1]


def test_no_item_gets_more_than_k_and_nobody_rates_twice(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    users = raters(project, 5)
    done = []
    for user in users:
        while (a := assignment_next(project=project, user=user)) is not None:
            annotation_submit(
                project=project, user=user, item_id=a.item_id, labels=[{"category": "joy"}]
            )
            done.append((a.item.external_id, user.username))
    assert len(done) == 4
    assert len(set(done)) == 4
    assert list(Item.objects.order_by("id").values_list("slots_taken", flat=True)) == [2, 2]
    assert Annotation.objects.count() == 4


def test_expired_lease_returns_the_item(study, researcher):
    project = emotion_project(study=study, user=researcher, k=1)
    text_items(project, 1)
    a, b = raters(project, 2)
    lease = assignment_next(project=project, user=a)
    assert assignment_next(project=project, user=b) is None
    later = timezone.now() + timedelta(minutes=16)
    assert leases_expire(project=project, now=later) == 1
    lease.refresh_from_db()
    assert lease.status == "expired"
    got = assignment_next(project=project, user=b, now=later)
    assert got.item_id == lease.item_id
    # The expired rater cannot answer any more, and nothing is written.
    with pytest.raises(ValidationError) as err:
        annotation_submit(
            project=project, user=a, item_id=lease.item_id, labels=[{"category": "joy"}]
        )
    assert err.value.message_dict == {"item": ["Your lease on this item has expired."]}
    assert Annotation.objects.count() == 0


@pytest.mark.parametrize(
    ("labels", "ratings", "field", "message"),
    [
        ([{"category": "rage"}], {}, "labels", "Unknown category 'rage'."),
        (
            [{"category": "joy"}, {"category": "anger", "role": "primary"}],
            {},
            "labels",
            "Only one primary label is allowed.",
        ),
        ([{"category": "joy", "role": "secondary"}], {}, "labels", "Choose a primary label."),
        ([{"category": "joy"}], {"arousal": 9}, "ratings.arousal", "Must be between 1 and 7."),
        ([{"category": "joy"}], {"tempo": 3}, "ratings.tempo", "Unknown rating scale."),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(
    study, researcher, labels, ratings, field, message
):
    project = emotion_project(study=study, user=researcher)
    text_items(project, 1)
    (user,) = raters(project, 1)
    a = assignment_next(project=project, user=user)
    with pytest.raises(ValidationError) as err:
        annotation_submit(
            project=project, user=user, item_id=a.item_id, labels=labels, ratings=ratings
        )
    assert err.value.message_dict == {field: [message]}
    a.refresh_from_db()
    assert a.status == "leased"
    assert (Annotation.objects.count(), AnnotationLabel.objects.count()) == (0, 0)


def test_rating_an_unassigned_item_is_refused(study, researcher):
    project = emotion_project(study=study, user=researcher)
    text_items(project, 2)
    (user,) = raters(project, 1)
    assignment_next(project=project, user=user)
    other = Item.objects.get(external_id="t01")
    with pytest.raises(ValidationError) as err:
        annotation_submit(
            project=project, user=user, item_id=other.pk, labels=[{"category": "joy"}]
        )
    assert err.value.message_dict == {"item": ["This item is not assigned to you."]}
    assert Annotation.objects.count() == 0


def test_primary_secondary_answer_and_ratings_are_stored(study, researcher):
    project = emotion_project(study=study, user=researcher)
    text_items(project, 1)
    (user,) = raters(project, 1)
    _, annotation = answer(
        project, user, "joy", ["fear", "sadness"], ratings={"arousal": 6}, time_ms=2300
    )
    assert sorted(annotation.labels.values_list("category__key", "role")) == [
        ("fear", "secondary"),
        ("joy", "primary"),
        ("sadness", "secondary"),
    ]
    assert (annotation.ratings, annotation.time_ms) == ({"arousal": 6}, 2300)


def test_multi_label_none_must_be_alone(study, researcher):
    project = policy_project(study=study, user=researcher)
    text_items(project, 1)
    (user,) = raters(project, 1)
    a = assignment_next(project=project, user=user)
    with pytest.raises(ValidationError) as err:
        annotation_submit(
            project=project,
            user=user,
            item_id=a.item_id,
            labels=[{"category": "none"}, {"category": "other"}],
        )
    assert err.value.message_dict == {"labels": ["'None' cannot be combined with other labels."]}
    annotation_submit(
        project=project,
        user=user,
        item_id=a.item_id,
        labels=[{"category": "net-zero"}, {"category": "reduction"}],
    )
    votes = project_vote_table(project=project)
    assert sorted(votes[["label", "role"]].itertuples(index=False, name=None)) == [
        ("net-zero", "primary"),
        ("reduction", "primary"),
    ]


def test_skip_frees_the_slot_and_keeps_the_reason(study, researcher):
    project = emotion_project(study=study, user=researcher, k=1)
    text_items(project, 1)
    a, b = raters(project, 2)
    lease = assignment_next(project=project, user=a)
    with pytest.raises(ValidationError):
        assignment_skip(project=project, user=a, item_id=lease.item_id, reason="  ")
    assignment_skip(project=project, user=a, item_id=lease.item_id, reason="Audio is silent")
    lease.refresh_from_db()
    assert (lease.status, lease.skip_reason) == ("skipped", "Audio is silent")
    assert Item.objects.get().slots_taken == 0
    # The skipper does not get it again; someone else does.
    assert assignment_next(project=project, user=a) is None
    assert assignment_next(project=project, user=b).item_id == lease.item_id


def test_undo_reopens_only_the_raters_own_last_answer(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 3)
    a, b = raters(project, 2)
    first, _ = answer(project, a, "joy")
    second, _ = answer(project, a, "anger")
    answer(project, b, "fear")
    reopened = annotation_undo(project=project, user=a)
    assert reopened.pk == second.pk
    assert reopened.status == "leased"
    assert list(Annotation.objects.order_by("pk").values_list("pk", flat=True)) == sorted(
        [first.pk, Assignment.objects.get(rater=b).pk]
    )
    # The reopened item comes back first, and is answered again.
    assert assignment_next(project=project, user=a).pk == second.pk
    annotation_submit(
        project=project, user=a, item_id=second.item_id, labels=[{"category": "sadness"}]
    )
    second.refresh_from_db()
    assert second.status == "done"
    assert Item.objects.get(pk=second.item_id).slots_taken == 1


def test_undo_with_nothing_to_undo(study, researcher):
    project = emotion_project(study=study, user=researcher)
    (user,) = raters(project, 1)
    with pytest.raises(ValidationError) as err:
        annotation_undo(project=project, user=user)
    assert err.value.message_dict == {"non_field_errors": ["There is no answer to undo."]}


def test_gold_items_are_mixed_in_at_the_set_rate(study, researcher):
    project = emotion_project(study=study, user=researcher, k=1, gold_rate=0.25)
    text_items(project, 10, gold={0: "joy", 1: "anger"})
    (user,) = raters(project, 1)
    pools = []
    while (a := assignment_next(project=project, user=user)) is not None:
        pools.append(a.pool)
        annotation_submit(
            project=project, user=user, item_id=a.item_id, labels=[{"category": "joy"}]
        )
    # Every fourth answer is gold while gold items last; gold is outside the k slots.
    assert pools == [
        Pool.ANNOTATOR, Pool.ANNOTATOR, Pool.ANNOTATOR, Pool.GOLD,
        Pool.ANNOTATOR, Pool.ANNOTATOR, Pool.ANNOTATOR, Pool.GOLD,
        Pool.ANNOTATOR, Pool.ANNOTATOR,
    ]  # fmt: skip
    assert list(Item.objects.filter(is_gold=True).values_list("slots_total", flat=True)) == [0, 0]


def test_vote_table_rows_keys_metadata_and_exclusions(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 1)
    a, b = raters(project, 2)
    b_member = project.members.get(user=b)
    b_member.group = "native"
    b_member.save()
    answer(project, a, "joy", ["fear"], time_ms=1500)
    answer(project, b, "anger")
    votes = project_vote_table(project=project)
    assert list(votes.columns) == [
        "item", "voter", "label", "weight", "role", "group", "created", "speaker",
    ]  # fmt: skip
    rows = sorted(
        votes[["item", "voter", "label", "weight", "role", "group", "speaker"]].itertuples(
            index=False, name=None
        )
    )
    ka, kb = voter_key(a.pk), voter_key(b.pk)
    assert ka != str(a.pk) and len(ka) == 32
    assert rows == sorted(
        [
            ("t00", ka, "joy", 1.0, "primary", "annotator", "spk0"),
            ("t00", ka, "fear", 1.0, "secondary", "annotator", "spk0"),
            ("t00", kb, "anger", 1.0, "primary", "native", "spk0"),
        ]
    )
    exclusion = exclusion_create(project=project, rater=a, reason="Random clicking", by=researcher)
    assert set(project_vote_table(project=project)["voter"]) == {kb}
    with pytest.raises(ValidationError):
        exclusion_create(project=project, rater=a, reason="again", by=researcher)
    exclusion_lift(exclusion=exclusion, by=researcher)
    assert set(project_vote_table(project=project)["voter"]) == {ka, kb}
    exclusion.refresh_from_db()
    assert (exclusion.active, exclusion.reason) == (False, "Random clicking")


def test_adjudication_queue_and_decision_keep_provenance(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    a, b = raters(project, 2)
    answer(project, a, "joy")  # t00
    answer(project, a, "fear")  # t01
    answer(project, b, "anger")  # t00: disagreement
    answer(project, b, "fear")  # t01: agreement
    queue = adjudication_queue(project=project)
    assert [(e["item"].external_id, sorted(e["labels"])) for e in queue] == [
        ("t00", [("anger", 1), ("joy", 1)])
    ]
    item = queue[0]["item"]
    with pytest.raises(ValidationError):
        adjudication_record(item=item, user=researcher, labels=[{"category": "nope"}])
    decision = adjudication_record(
        item=item, user=researcher, labels=[{"category": "joy"}], note="Laughs at the end"
    )
    assert decision.labels == [{"category": "joy", "role": LabelRole.PRIMARY}]
    assert sorted(d["category"] for d in decision.basis) == ["anger", "joy"]
    assert adjudication_queue(project=project) == []
    assert Adjudication.objects.count() == 1
    assert Category.objects.filter(project=project).count() == 4


def test_changing_k_never_drops_below_the_ratings_taken(study, researcher):
    from annotation.services import project_update

    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    a, b = raters(project, 2)
    answer(project, a, "joy")  # t00
    answer(project, b, "joy")  # t01
    answer(project, a, "joy")  # t01
    project_update(project=project, raters_per_item=1)
    assert list(Item.objects.order_by("id").values_list("slots_taken", "slots_total")) == [
        (1, 1),
        (2, 2),
    ]
    project_update(project=project, raters_per_item=4)
    assert list(Item.objects.order_by("id").values_list("slots_total", flat=True)) == [4, 4]
