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


EARLIER = "item,rater,label\n" + "".join(f"t{i:02d},earlier-1,joy\n" for i in range(10))


def _import_racing(project, users, annotate) -> tuple[list[BaseException], object]:
    """Run ``annotate(user)`` for every user and the import of EARLIER, all released at once,
    each thread on its own connection; return the errors and the import's report (or its
    validation errors)."""
    import io

    from django.core.exceptions import ValidationError

    from annotation.services import ratings_import

    barrier = threading.Barrier(len(users) + 1)
    errors: list[BaseException] = []
    outcome: list[object] = []

    def run(work):
        try:
            barrier.wait()
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def load():
        try:
            outcome.append(ratings_import(project=project, source=io.BytesIO(EARLIER.encode())))
        except ValidationError as exc:
            outcome.append(exc.message_dict)

    threads = [threading.Thread(target=run, args=(lambda u=u: annotate(u),)) for u in users]
    threads.append(threading.Thread(target=run, args=(load,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors, outcome[0] if outcome else None


def test_an_import_racing_live_annotators_never_overfills_an_item(study, researcher):
    """Thirty annotators claim and answer while a file brings one earlier rating per item."""
    from annotation.models import ImportedRating

    if connection.vendor != "postgresql":
        pytest.skip("the race test needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 10)

    def annotate(user):
        while (lease := assignment_next(project=project, user=user)) is not None:
            annotation_submit(
                project=project, user=user, item_id=lease.item_id, labels=[{"category": "joy"}]
            )

    errors, outcome = _import_racing(project, raters(project, 30), annotate)
    assert errors == []
    imported = list(ImportedRating.objects.values_list("item_id", "rater_id"))
    live = list(Assignment.objects.values_list("item_id", "rater_id"))
    # The import went in whole (one rating on every item) or not at all.
    assert len(imported) in (0, 10)
    if imported:
        assert outcome["answers"] == 10
    else:
        assert set(outcome) == {"item"}
    per_item = Counter(item for item, _ in imported + live)
    assert sorted(per_item.values()) == [3] * 10
    assert len(set(imported + live)) == 30
    assert set(Item.objects.values_list("slots_taken", flat=True)) == {3}
    assert Assignment.objects.exclude(status="done").count() == 0


def test_an_import_and_live_annotators_share_the_slots(study, researcher):
    """Twenty annotators take one item each while a file brings one rating per item (k = 4 on
    ten items). The import goes in whole, or is refused whole if live answers filled an item
    first; either way every answer is counted once in the slots and none is lost. An annotator
    who finds every free item locked by the import tries again."""
    import time

    from annotation.models import ImportedRating

    if connection.vendor != "postgresql":
        pytest.skip("the race test needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=4)
    text_items(project, 10)

    def annotate(user):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lease = assignment_next(project=project, user=user)
            if lease is not None:
                annotation_submit(
                    project=project, user=user, item_id=lease.item_id,
                    labels=[{"category": "joy"}],
                )  # fmt: skip
                return
            time.sleep(0.01)

    errors, outcome = _import_racing(project, raters(project, 20), annotate)
    assert errors == []
    imported = list(ImportedRating.objects.values_list("item_id", "rater_id"))
    live = list(Assignment.objects.filter(status="done").values_list("item_id", "rater_id"))
    assert len(live) == 20
    if imported:
        assert (len(imported), outcome["answers"]) == (10, 10)
    else:
        assert set(outcome) == {"item"}
    per_item = Counter(item for item, _ in imported + live)
    assert max(per_item.values()) <= 4
    assert len(set(imported + live)) == len(imported) + 20
    slots = dict(Item.objects.values_list("id", "slots_taken"))
    assert slots == {pk: per_item.get(pk, 0) for pk in slots}


def test_next_item_waits_for_locked_items_instead_of_answering_none(study, researcher):
    """While another transaction holds every free item (as an import does while it raises the
    slot counters), "next item" must wait and then lease, not report that nothing is left."""
    import time

    from annotation.services import IMPORT_LOCK

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=1)
    text_items(project, 3)
    (user,) = raters(project, 1)
    locked = threading.Event()
    letting_go: list[float] = []

    def hold():
        from django.db import transaction

        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
                cursor.execute(
                    "SELECT id FROM annotation_item WHERE project_id = %s FOR UPDATE",
                    [project.pk],
                )
                locked.set()
                time.sleep(0.8)
                letting_go.append(time.monotonic())
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    lease = assignment_next(project=project, user=user)
    answered = time.monotonic()
    holder.join()
    assert lease is not None
    assert lease.item.project_id == project.pk
    # It got its item only once the holder let go.
    assert answered > letting_go[0]


def test_erasing_a_rater_while_a_file_imports_their_ratings_keeps_the_slots_true(study, researcher):
    """``rater_erase`` and an import naming the same rater, released at once, in either order:
    no rating is left pointing at a deleted account and every slot counter matches the
    ratings that remain."""
    import io

    from django.core.exceptions import ValidationError

    from accounts.models import User
    from annotation.models import ImportedRating
    from annotation.services import rater_erase, ratings_import

    if connection.vendor != "postgresql":
        pytest.skip("the race test needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 10)
    # The rater is one an earlier import made (imports only ever add to such accounts).
    ratings_import(project=project, source=io.BytesIO(b"item,rater,label\nt00,earlier-0,joy\n"))
    rater = User.objects.get(username="earlier-0")
    text = "item,rater,label\n" + "".join(f"t{i:02d},earlier-0,fear\n" for i in range(1, 10))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(work):
        try:
            barrier.wait()
            work()
        except ValidationError:
            pass  # the import may be refused because the account went meanwhile
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(lambda: rater_erase(user=rater),)),
        threading.Thread(
            target=run,
            args=(lambda: ratings_import(project=project, source=io.BytesIO(text.encode())),),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert not User.objects.filter(pk=rater.pk).exists()
    users = set(User.objects.values_list("pk", flat=True))
    imported = list(ImportedRating.objects.values_list("item_id", "rater_id"))
    assert all(rater_id in users for _, rater_id in imported)
    live = list(Assignment.objects.values_list("item_id", flat=True))
    expected = Counter(item for item, _ in set(imported)) + Counter(live)
    slots = dict(Item.objects.values_list("id", "slots_taken"))
    assert slots == {pk: expected.get(pk, 0) for pk in slots}


def test_an_import_that_read_a_rater_just_erased_is_refused(study, researcher):
    """The import reads the rater's account, then waits for the lock on it while the erasure
    commits: it must be refused rather than store ratings for an id that no longer exists."""
    import io
    import time

    from django.core.exceptions import ValidationError
    from django.db import transaction

    from annotation.models import ImportedRating
    from annotation.services import rater_erase, ratings_import

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from accounts.models import User

    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 2)
    ratings_import(project=project, source=io.BytesIO(b"item,rater,label\nt01,gone-0,joy\n"))
    rater = User.objects.get(username="gone-0")
    erased = threading.Event()
    errors: list[BaseException] = []

    def erase():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                rater_erase(user=rater)
                erased.set()
                # Commit only once the import waits for a lock (on the erased account).
                for _ in range(600):
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.05)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    eraser = threading.Thread(target=erase)
    eraser.start()
    assert erased.wait(30)
    with pytest.raises(ValidationError) as refused:
        ratings_import(project=project, source=io.BytesIO(b"item,rater,label\nt00,gone-0,joy\n"))
    eraser.join()
    assert errors == []
    assert "rater" in refused.value.message_dict
    assert ImportedRating.objects.count() == 0
    assert set(Item.objects.values_list("slots_taken", flat=True)) == {0}
