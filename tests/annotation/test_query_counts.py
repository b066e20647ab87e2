"""Pages that must not read more as a rater's memberships grow (N+1 queries)."""

from __future__ import annotations

import pytest
from django.db import connection
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
