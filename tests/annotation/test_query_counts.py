"""Pages that must not read more as a rater's memberships grow (N+1 queries)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from annotation.models import MemberRole
from annotation.selectors import memberships_for_user
from annotation.services import member_add
from tests.accounts.factories import UserFactory
from tests.annotation.factories import emotion_project, text_items

pytestmark = pytest.mark.django_db


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_annotate_and_home_pages_read_the_same_whatever_the_memberships(
    client, study, researcher
):
    ana = UserFactory(username="ana")
    projects = []
    for i in range(8):
        project = emotion_project(study=study, user=researcher, k=2, name=f"P{i}")
        text_items(project, 3)
        role = MemberRole.EXPERT if i % 2 else MemberRole.ANNOTATOR
        member_add(project=project, user=ana, role=role)
        projects.append(project)
    client.force_login(ana)
    first = f"/annotation/projects/{projects[0].id}/annotate/"
    client.get(first)  # ana's lease on the first item: the visits below only show it
    # One membership against eight: the same number of queries.
    from annotation.models import ProjectMember

    others = ProjectMember.objects.filter(user=ana).exclude(project=projects[0])
    saved = list(others.values_list("project_id", "role"))
    others.delete()
    one = (queries(client, first), queries(client, "/"))
    for project_id, role in saved:
        ProjectMember.objects.create(project_id=project_id, user=ana, role=role)
    eight = (queries(client, first), queries(client, "/"))
    assert eight == one
    # And the counts are right: each project offers its 3 items minus what ana holds.
    rows = {r["project"].name: (r["role"], r["remaining"]) for r in memberships_for_user(user=ana)}
    assert rows["P0"] == ("annotator", 3)  # one leased (counted) + two open
    assert rows["P1"] == ("expert", 0)  # emotion projects sample no expert items
    assert rows["P2"] == ("annotator", 3)


def test_the_home_counts_follow_the_raters_role_answers_leases_and_imported_ratings(
    study, researcher
):
    """Done and remaining per membership, against a count item by item: gold items, full items,
    the rater's answers, lease and imported rating are each left out as the rules say."""
    import io

    from accounts.models import User
    from annotation.models import Assignment, AssignmentStatus, ImportedRating, Item
    from annotation.services import (
        annotation_submit,
        assignment_next,
        expert_sample_set,
        ratings_import,
    )

    rated = emotion_project(study=study, user=researcher, k=2, name="Rated")
    text_items(rated, 8, gold={0: "joy"})
    # An imported rater (a new pseudonymous account) who then joins and rates here too.
    ratings_import(project=rated, source=io.BytesIO(b"item,rater,label\nt03,ana,joy\n"))
    ana = User.objects.get(username="ana")
    member_add(project=rated, user=ana)
    lease = assignment_next(project=rated, user=ana)
    annotation_submit(project=rated, user=ana, item_id=lease.item_id, labels=[{"category": "joy"}])
    leased = assignment_next(project=rated, user=ana)
    assert leased is not None
    free = Item.objects.filter(project=rated, is_gold=False, assignments__isnull=True)
    full = free.exclude(external_id="t03").order_by("id").first()
    Item.objects.filter(pk=full.pk).update(slots_taken=F("slots_total"))

    sampled = emotion_project(study=study, user=researcher, k=2, name="Sampled")
    text_items(sampled, 6)
    expert_sample_set(project=sampled, experts_per_item=1, sample_rate=0.5, seed=3)
    member_add(project=sampled, user=ana, role=MemberRole.EXPERT)

    def expected(project, expert: bool) -> tuple[int, int]:
        mine = dict(Assignment.objects.filter(rater=ana).values_list("item_id", "status"))
        from_file = set(ImportedRating.objects.filter(rater=ana).values_list("item_id", flat=True))
        done = remaining = 0
        for item in Item.objects.filter(project=project):
            status = mine.get(item.pk)
            done += status == AssignmentStatus.DONE
            has_slot = (
                item.expert_slots_taken < item.expert_slots_total
                if expert
                else item.slots_taken < item.slots_total
            )
            if status == AssignmentStatus.LEASED or (
                status is None and item.pk not in from_file and not item.is_gold and has_slot
            ):
                remaining += 1
        return done, remaining

    rows = {r["project"].name: (r["done"], r["remaining"]) for r in memberships_for_user(user=ana)}
    assert rows == {"Rated": expected(rated, False), "Sampled": expected(sampled, True)}
    # 8 items but the gold one, the answered, the imported and the full: the lease and 3 open.
    assert rows == {"Rated": (1, 4), "Sampled": (0, 3)}
