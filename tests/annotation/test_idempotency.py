"""Idempotent rating submits (API and annotate page): a retry with the first request's key
gets the first answer back, never "already answered" and never a second rating."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from annotation.models import Annotation, AnnotationLabel, Item
from annotation.services import assignment_next
from idempotency.models import IdempotencyKey
from tests.annotation.factories import emotion_project, raters, text_items

KEY = "4f7e0c9a-2b1d-4c55-9a61-0d1f3e5b7a22"


@pytest.fixture
def project(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 3)
    return project


def submit_body(item_id: int, label: str = "joy") -> dict:
    return {"item": item_id, "labels": [{"category": label}], "time_ms": 1500}


@pytest.mark.django_db
def test_a_retried_api_submit_gets_the_first_answer_and_stores_one_rating(api_as, project):
    (ana,) = raters(project, 1, prefix="ana")
    lease = assignment_next(project=project, user=ana)
    client = api_as(ana)
    url = f"/api/annotation/projects/{project.id}/submit/"
    # The defect: without a key, the retry of a stored submit is refused.
    plain = submit_body(lease.item_id)
    assert client.post(url, plain, format="json").status_code == 201
    refused = client.post(url, plain, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"errors": {"item": ["You have already answered this item."]}}
    # With a key, the retry gets the first answer back.
    lease = assignment_next(project=project, user=ana)
    body = submit_body(lease.item_id)
    first = client.post(url, body, format="json", headers={"Idempotency-Key": KEY})
    retry = client.post(url, body, format="json", headers={"Idempotency-Key": KEY})
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Annotation.objects.filter(assignment__item_id=lease.item_id).count() == 1
    assert (
        AnnotationLabel.objects.filter(annotation__assignment__item_id=lease.item_id).count() == 1
    )
    assert Annotation.objects.count() == 2


@pytest.mark.django_db
def test_a_key_reused_with_another_body_is_refused_and_changes_nothing(api_as, project):
    (ana,) = raters(project, 1, prefix="ana")
    lease = assignment_next(project=project, user=ana)
    client = api_as(ana)
    url = f"/api/annotation/projects/{project.id}/submit/"
    headers = {"Idempotency-Key": KEY}
    client.post(url, submit_body(lease.item_id), format="json", headers=headers)
    other = client.post(url, submit_body(lease.item_id, "anger"), format="json", headers=headers)
    assert other.status_code == 422
    assert list(other.json()) == ["errors"]
    assert "already used for a different request" in other.json()["errors"]["non_field_errors"][0]
    labels = AnnotationLabel.objects.values_list("category__key", flat=True)
    assert list(labels) == ["joy"]


@pytest.mark.django_db
def test_keys_belong_to_their_user(api_as, project):
    ana, ben = raters(project, 2)
    url = f"/api/annotation/projects/{project.id}/submit/"
    headers = {"Idempotency-Key": KEY}
    for user in (ana, ben):
        lease = assignment_next(project=project, user=user)
        response = api_as(user).post(
            url, submit_body(lease.item_id), format="json", headers=headers
        )
        assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Annotation.objects.count() == 2
    assert IdempotencyKey.objects.filter(key=KEY).count() == 2


@pytest.mark.django_db
def test_a_malformed_key_is_a_400(api_as, project):
    (ana,) = raters(project, 1, prefix="ana")
    lease = assignment_next(project=project, user=ana)
    response = api_as(ana).post(
        f"/api/annotation/projects/{project.id}/submit/",
        submit_body(lease.item_id),
        format="json",
        headers={"Idempotency-Key": "x" * 101},
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "non_field_errors": ["Idempotency-Key must be 1 to 100 printable ASCII characters."]
        }
    }
    assert Annotation.objects.count() == 0


def _key_on(page) -> str:
    html = page.content.decode()
    start = html.index('name="idempotency_key" value="') + len('name="idempotency_key" value="')
    return html[start : html.index('"', start)]


@pytest.mark.django_db
def test_the_annotate_form_sent_twice_stores_one_rating(client, project):
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    annotate = f"/annotation/projects/{project.id}/annotate/"
    page = client.get(annotate)
    item = Item.objects.get(external_id="t00")
    form = {"item": item.id, "primary": "joy", "idempotency_key": _key_on(page)}
    first = client.post(f"{annotate}submit/", {**form, "time_ms": "1200"})
    # Pressing Enter again re-measures the time: still the same form.
    retry = client.post(f"{annotate}submit/", {**form, "time_ms": "1350"}, follow=True)
    assert first.status_code == 302 and first["Location"] == annotate
    assert retry.redirect_chain == [(annotate, 302)]
    body = retry.content.decode()
    assert "Saved. Press U to undo." in body
    assert "already answered" not in body
    annotation = Annotation.objects.get()
    assert annotation.time_ms == 1200
    assert list(annotation.labels.values_list("category__key", flat=True)) == ["joy"]
    # The same form with another label is a new submit: refused as answered, nothing changes.
    changed = client.post(
        f"{annotate}submit/", {**form, "primary": "anger", "time_ms": "9"}, follow=True
    )
    assert "You have already answered this item." in changed.content.decode()
    assert list(annotation.labels.values_list("category__key", flat=True)) == ["joy"]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submits_with_one_key_store_once(study, researcher):
    """Ten copies of one submit, released together, each on its own connection: one rating,
    and all ten get the same 201 body."""
    if connection.vendor != "postgresql":
        pytest.skip("the race test needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    (ana,) = raters(project, 1, prefix="ana")
    lease = assignment_next(project=project, user=ana)
    copies = 10
    barrier = threading.Barrier(copies)
    results: list[tuple[int, bytes]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            client = APIClient()
            client.force_authenticate(user=ana)
            barrier.wait(timeout=30)
            response = client.post(
                f"/api/annotation/projects/{project.id}/submit/",
                submit_body(lease.item_id),
                format="json",
                headers={"Idempotency-Key": KEY},
            )
            with lock:
                results.append((response.status_code, response.content))
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert [status for status, _ in results] == [201] * copies
    assert len({body for _, body in results}) == 1  # byte for byte
    assert Annotation.objects.count() == 1
    assert AnnotationLabel.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


# --- skip and undo ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retried_api_undo_takes_back_one_answer(api_as, project):
    (ana,) = raters(project, 1, prefix="ana")
    client = api_as(ana)
    base = f"/api/annotation/projects/{project.id}/"
    for label in ("joy", "anger"):
        lease = assignment_next(project=project, user=ana)
        body = submit_body(lease.item_id, label)
        assert client.post(f"{base}submit/", body, format="json").status_code == 201
    headers = {"Idempotency-Key": KEY}
    first = client.post(f"{base}undo/", headers=headers)
    retry = client.post(f"{base}undo/", headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"
    # Only the last answer (anger) was taken back; the first one stays.
    assert list(AnnotationLabel.objects.values_list("category__key", flat=True)) == ["joy"]
    # Without a key, a second undo takes back the next answer, as asked.
    assert client.post(f"{base}undo/").status_code == 200
    assert Annotation.objects.count() == 0


@pytest.mark.django_db
def test_a_retried_api_skip_gets_the_first_answer(api_as, project):
    (ana,) = raters(project, 1, prefix="ana")
    client = api_as(ana)
    lease = assignment_next(project=project, user=ana)
    url = f"/api/annotation/projects/{project.id}/skip/"
    body = {"item": lease.item_id, "reason": "Unclear"}
    headers = {"Idempotency-Key": KEY}
    first = client.post(url, body, format="json", headers=headers)
    retry = client.post(url, body, format="json", headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"
    # The defect: without a key, the retry is refused, the item no longer being leased.
    lease = assignment_next(project=project, user=ana)
    plain = {"item": lease.item_id, "reason": "Unclear"}
    assert client.post(url, plain, format="json").status_code == 200
    assert client.post(url, plain, format="json").status_code == 400


@pytest.mark.django_db
def test_undo_pressed_twice_on_the_page_takes_back_one_answer(client, project):
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    annotate = f"/annotation/projects/{project.id}/annotate/"
    for label in ("joy", "anger"):
        page = client.get(annotate)
        item = Item.objects.get(pk=page.context["item"].pk)
        form = {"item": item.id, "primary": label, "idempotency_key": _key_on(page)}
        assert client.post(f"{annotate}submit/", form).status_code == 302
    page = client.get(annotate)
    form = {"idempotency_key": _key_on(page)}
    first = client.post(f"{annotate}undo/", form)
    retry = client.post(f"{annotate}undo/", form, follow=True)
    assert first.status_code == 302 and first["Location"] == annotate
    assert "Your last answer was taken back." in retry.content.decode()
    assert list(AnnotationLabel.objects.values_list("category__key", flat=True)) == ["joy"]


@pytest.mark.django_db
def test_skip_sent_twice_on_the_page_skips_one_item(client, project):
    from annotation.models import Assignment, AssignmentStatus

    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    annotate = f"/annotation/projects/{project.id}/annotate/"
    page = client.get(annotate)
    item = page.context["item"]
    form = {"item": item.id, "reason": "unsure", "idempotency_key": _key_on(page)}
    first = client.post(f"{annotate}skip/", form)
    retry = client.post(f"{annotate}skip/", form, follow=True)
    assert first.status_code == 302
    body = retry.content.decode()
    assert "Skipped." in body and "not leased" not in body
    assert Assignment.objects.filter(rater=ana, status=AssignmentStatus.SKIPPED).count() == 1


@pytest.mark.django_db
def test_an_idempotent_api_submit_takes_eleven_queries(api_as, project, django_assert_num_queries):
    """The hottest write path, pinned at 11 statements in a request: project and membership,
    the key inserted with ON CONFLICT (no savepoint, no per-request purge of old keys), the
    service's savepoint, the locked assignment with its item, the categories, the answer, its
    labels, the assignment, the release, the stored outcome; the answer is shown from what was
    written (it used to take 19). Inside the test's own transaction the request's transaction
    is a savepoint too: two more."""
    (ana,) = raters(project, 1, prefix="ana")
    lease = assignment_next(project=project, user=ana)
    client = api_as(ana)
    url = f"/api/annotation/projects/{project.id}/submit/"
    with django_assert_num_queries(11 + 2):
        answer = client.post(
            url, submit_body(lease.item_id), format="json", headers={"Idempotency-Key": KEY}
        )
    assert answer.status_code == 201
    assert answer.json()["labels"] == [{"category": "joy", "role": "primary"}]
    assert answer.json()["item"] == Item.objects.get(pk=lease.item_id).external_id
