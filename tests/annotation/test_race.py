"""Acceptance: 50 annotators at once on 10 items with k = 3 give exactly 30 ratings.

Each thread has its own database connection (PostgreSQL), so the claims really race: the
conditional UPDATE on ``slots_taken``, ``SKIP LOCKED`` and the (item, rater) unique constraint
settle them.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from annotation.models import Annotation, Assignment, Item
from annotation.services import annotation_submit, assignment_next
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_annotators_never_overfill_an_item(study, researcher):
    if connection.vendor != "postgresql":
        pytest.skip("the race test needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 10)
    users = raters(project, 50)
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def work(user):
        try:
            barrier.wait()
            while (lease := assignment_next(project=project, user=user)) is not None:
                annotation_submit(
                    project=project,
                    user=user,
                    item_id=lease.item_id,
                    labels=[{"category": "joy"}],
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert Annotation.objects.count() == 30
    pairs = list(Assignment.objects.values_list("item_id", "rater_id"))
    assert len(pairs) == len(set(pairs)) == 30
    per_item = Counter(item for item, _ in pairs)
    assert sorted(per_item.values()) == [3] * 10
    assert set(Item.objects.values_list("slots_taken", flat=True)) == {3}
    assert Assignment.objects.exclude(status="done").count() == 0
