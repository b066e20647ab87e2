"""Annotation pages read the same however many items, answers, raters and categories there
are; the project's dashboard reads each table once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Q

from annotation.models import Item, MemberRole
from annotation.services import (
    adjudication_record,
    annotation_submit,
    assignment_next,
    categories_update,
    items_import,
    member_add,
    member_invite,
)
from tests.accounts.factories import UserFactory
from tests.annotation.factories import EMOTIONS, emotion_project, raters, text_items
from tests.page_queries import HOME

pytestmark = pytest.mark.django_db


def _more_items(project, prefix: str, n: int) -> None:
    lines = ["external_id,text,speaker"] + [f"{prefix}{i},More {i},spk{i % 4}" for i in range(n)]
    report = items_import(project=project, data="\n".join(lines).encode(), filename="more.csv")
    assert report.ok, report.rows


def _answer(project, users, labels=EMOTIONS) -> None:
    """Each of ``users`` answers their next item (rater ``i`` picks ``labels[i]``, so the
    raters of an item disagree)."""
    for i, user in enumerate(users):
        lease = assignment_next(project=project, user=user)
        if lease is None:
            continue
        label = labels[i % len(labels)]
        chosen = [{"category": label}]
        if label != "fear":
            chosen.append({"category": "fear", "role": "secondary"})
        annotation_submit(
            project=project,
            user=user,
            item_id=lease.item_id,
            labels=chosen,
            ratings={"arousal": 1 + i % 7},
            time_ms=1500 + 100 * i,
        )


@pytest.fixture
def project(study, researcher):
    """A k=2 project with 4 items, two raters who disagree on each, one decision;
    ``grow()`` adds 20 items, 4 raters, their answers, a category and an invitation."""
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 4)
    first = raters(project, 2, prefix="first")
    for _ in range(4):
        _answer(project, first)
    disputed = (
        Item.objects.filter(project=project)
        .annotate(n=Count("assignments", filter=Q(assignments__status="done")))
        .filter(n=2)
        .order_by("id")
        .first()
    )
    adjudication_record(item=disputed, user=researcher, labels=[{"category": "joy"}], note="")

    def grow():
        _more_items(project, "n", 20)
        more = raters(project, 4, prefix="more")
        for _ in range(5):
            _answer(project, first + more)
        categories_update(
            project=project,
            categories=[
                *({"key": c.key, "name": c.name} for c in project.categories.all()),
                {"key": "surprise", "name": "Surprise"},
            ],
        )
        member_invite(
            project=project, user=UserFactory(username="invitee"), role=MemberRole.ANNOTATOR,
            group="", by=researcher,
        )  # fmt: skip

    project.grow = grow
    project.first_raters = first
    return project


# Labels, answers, leases and decisions carry no project id: counting a project's means
# joining its items (and a label's assignment) on the way, in each of those counts.
PATH_TO_PROJECT = {
    "annotation_item": "joined to reach the project by each count of labels, assignments, "
    "imported answers and decisions; read for the items' own counts; and the disputed items "
    "the queue shows, by id",
    "annotation_assignment": "joined by the label tallies to reach the project; counted per "
    "rater, status and pool",
}


def test_project_dashboard(client, researcher, project, flat_page):
    client.force_login(researcher)
    allowed = {
        **PATH_TO_PROJECT,
        "annotation_importedrating": "tallied per category and role (the distribution, the "
        "report's basis), and counted as answers, item and rater once whatever their labels, "
        "per rater (the progress, the annotator table)",
    }
    if connection.vendor == "sqlite":
        # The queue's vote rows are ORM SELECTs here; PostgreSQL reads them by COPY, which
        # Django's query log does not show, so only SQLite sees these second reads.
        allowed |= {
            "annotation_annotationlabel": "tallied per category and role; read row by row by "
            "the adjudication queue (counted live on small projects) to find disagreements",
            "annotation_annotation": "joined by the tallies and by the queue's vote rows",
            "annotation_exclusion": "listed for the annotator table and the report's basis; "
            "left out of the queue's vote rows by a subquery",
        }
    flat_page(client, f"/annotation/projects/{project.id}/", project.grow, pinned=21,
              read_once=allowed)  # fmt: skip


def test_project_items(client, researcher, project, flat_page):
    client.force_login(researcher)
    flat_page(client, f"/annotation/projects/{project.id}/items/", project.grow, pinned=8)


def test_project_settings(client, researcher, project, flat_page):
    client.force_login(researcher)
    flat_page(client, f"/annotation/projects/{project.id}/settings/", project.grow, pinned=10)


# PostgreSQL reads the queue's vote rows by COPY (which Django's query log does not show)
# inside a savepoint with a larger work_mem: three statements in the log where SQLite makes
# two SELECTs.
ADJUDICATION_QUEUE = {"postgresql": 14, "sqlite": 13}


def test_adjudication_queue(client, researcher, project, flat_page):
    client.force_login(researcher)
    flat_page(client, f"/annotation/projects/{project.id}/adjudication/", project.grow,
              pinned=ADJUDICATION_QUEUE)  # fmt: skip


def test_adjudicate_page(client, researcher, study, flat_page):
    project = emotion_project(study=study, user=researcher, k=8)
    text_items(project, 1)
    item = Item.objects.get(project=project)
    _answer(project, raters(project, 2, prefix="first"))
    adjudication_record(item=item, user=researcher, labels=[{"category": "joy"}], note="")
    client.force_login(researcher)

    def grow():
        _answer(project, raters(project, 6, prefix="more"))
        adjudication_record(item=item, user=researcher, labels=[{"category": "fear"}], note="")

    flat_page(client, f"/annotation/items/{item.id}/adjudicate/", grow, pinned=14)


def test_annotate_page(client, project, flat_page):
    _more_items(project, "m", 3)
    ana = UserFactory(username="ana")
    member_add(project=project, user=ana, role=MemberRole.ANNOTATOR)
    client.force_login(ana)

    def grow():
        project.grow()
        _answer(project, [ana, ana, ana])

    flat_page(client, f"/annotation/projects/{project.id}/annotate/", grow, pinned=14)


def test_annotator_home(client, study, researcher, project, flat_page):
    ana = UserFactory(username="ana")
    member_add(project=project, user=ana, role=MemberRole.ANNOTATOR)
    client.force_login(ana)

    def grow():
        project.grow()
        _answer(project, [ana, ana])
        for i in range(4):
            other = emotion_project(study=study, user=researcher, name=f"Other {i}")
            text_items(other, 3)
            member_add(project=other, user=ana, role=MemberRole.EXPERT if i % 2 else "annotator")
            invited = emotion_project(study=study, user=researcher, name=f"Invited {i}")
            member_invite(project=invited, user=ana, role=MemberRole.ANNOTATOR, group="",
                          by=researcher)  # fmt: skip

    flat_page(client, "/", grow, pinned=10, read_once=HOME)
