"""Changing a running project's settings: the settings page, PATCH on the project and the
command. A new k reaches every item at once (items already over it keep their ratings); bad
values are 400s naming the field and change nothing; only the project's researchers may."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from annotation.models import Assignment, AssignmentStatus, Item, Project
from annotation.services import annotation_submit, assignment_next, project_update
from tests.annotation.factories import emotion_project, raters, text_items
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Speech emotions, round 2",
    "description": "More raters",
    "raters_per_item": "3",
    "gold_rate": "0.2",
    "lease_minutes": "30",
    "disagreement_rule": "no_majority",
    "allow_comment": "on",
    "guidelines": "# Listen twice\n\nThen choose.",
}


@pytest.fixture
def project(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 3)
    return project


def rate_everything(project, users) -> None:
    for user in users:
        while (lease := assignment_next(project=project, user=user)) is not None:
            annotation_submit(
                project=project, user=user, item_id=lease.item_id, labels=[{"category": "joy"}]
            )


def totals(project) -> list[tuple[str, int, int]]:
    return list(
        Item.objects.filter(project=project)
        .order_by("external_id")
        .values_list("external_id", "slots_taken", "slots_total")
    )


def test_raising_k_on_the_settings_page_opens_full_items_again(client, project, researcher):
    first, second, third = raters(project, 3)
    rate_everything(project, [first, second])
    assert assignment_next(project=project, user=third) is None

    client.force_login(researcher)
    url = f"/annotation/projects/{project.pk}/settings/"
    shown = client.get(url)
    assert shown.status_code == 200
    assert shown.context["form"].initial["raters_per_item"] == 2
    saved = client.post(url, FORM)
    assert saved.status_code == 302 and saved["Location"] == f"/annotation/projects/{project.pk}/"
    project.refresh_from_db()
    assert (project.name, project.raters_per_item, project.gold_rate) == (
        "Speech emotions, round 2", 3, 0.2,
    )  # fmt: skip
    assert (project.lease_minutes, project.allow_evidence) == (30, False)
    assert project.guidelines.startswith("# Listen twice")
    assert totals(project) == [("t00", 2, 3), ("t01", 2, 3), ("t02", 2, 3)]
    assert assignment_next(project=project, user=third) is not None
    assert "Speech emotions, round 2" in client.get(f"/annotation/projects/{project.pk}/").text


def test_lowering_k_keeps_the_ratings_items_already_have(project, researcher):
    (first,) = raters(project, 1)
    lease = assignment_next(project=project, user=first)
    annotation_submit(
        project=project, user=first, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    second = raters(project, 1, prefix="late")[0]
    lease = assignment_next(project=project, user=second)
    annotation_submit(
        project=project, user=second, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    # Which items got the two ratings depends on "most needed first"; read the counters.
    before = {ext: taken for ext, taken, _ in totals(project)}
    project_update(project=project, raters_per_item=1)
    after = totals(project)
    assert [(ext, total) for ext, _, total in after] == [
        (ext, max(before[ext], 1)) for ext, _, _ in after
    ]
    # No item takes a new rater beyond the new k.
    third = raters(project, 1, prefix="third")[0]
    rate_everything(project, [third])
    assert all(taken <= max(1, before[ext]) for ext, taken, _ in totals(project))


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"gold_rate": "2"}, "gold_rate", "Ensure this value is less than or equal to 1."),
        ({"raters_per_item": "0"}, "raters_per_item",
         "Ensure this value is greater than or equal to 1."),
        ({"name": ""}, "name", "This field is required."),
        ({"lease_minutes": "abc"}, "lease_minutes", "Enter a whole number."),
        ({"disagreement_rule": "coin"}, "disagreement_rule",
         "Select a valid choice. coin is not one of the available choices."),
    ],
)  # fmt: skip
def test_bad_settings_change_nothing(client, project, researcher, change, field, message):
    client.force_login(researcher)
    response = post_refused(
        client, f"/annotation/projects/{project.pk}/settings/", {**FORM, **change}
    )
    assert response.context["form"].errors[field] == [message]
    project.refresh_from_db()
    assert (project.name, project.raters_per_item) == ("Speech emotions", 2)
    assert {total for *_, total in totals(project)} == {2}


def test_only_researchers_change_settings(client, api_client, project, annotator, outsider):
    from annotation.services import member_add

    member_add(project=project, user=annotator)
    for user in (annotator, outsider):
        client.force_login(user)
        page = client.get(f"/annotation/projects/{project.pk}/settings/")
        assert page.status_code in (403, 404)
        assert client.post(f"/annotation/projects/{project.pk}/settings/", FORM).status_code in (
            403, 404,
        )  # fmt: skip
        api_client.force_authenticate(user)
        patch = api_client.patch(
            f"/api/annotation/projects/{project.pk}/", {"raters_per_item": 9}, format="json"
        )
        assert patch.status_code in (403, 404)
    project.refresh_from_db()
    assert project.raters_per_item == 2


def test_settings_through_the_api_and_the_command(api_client, project, researcher, tmp_path):
    api_client.force_authenticate(researcher)
    url = f"/api/annotation/projects/{project.pk}/"
    changed = api_client.patch(url, {"raters_per_item": 4, "gold_rate": 0.1}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["raters_per_item"], changed.json()["gold_rate"]) == (4, 0.1)
    assert {total for *_, total in totals(project)} == {4}
    refused = api_client.patch(url, {"mode": "multi_label"}, format="json")
    assert refused.status_code == 400
    assert "mode" in refused.json()["errors"]
    bad = api_client.patch(url, {"lease_minutes": 0}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {
        "errors": {"lease_minutes": ["Ensure this value is greater than or equal to 1."]}
    }

    guide = tmp_path / "guide.md"
    guide.write_text("## Anger\nRaised voice.", encoding="utf-8")
    out = io.StringIO()
    call_command(
        "annotation_update_project", "--project", str(project.pk), "--guidelines", str(guide),
        "raters_per_item=5", "allow_evidence=true", stdout=out,
    )  # fmt: skip
    changed_names = ["allow_evidence", "guidelines", "raters_per_item"]
    assert json.loads(out.getvalue()) == {"project": project.pk, "k": 5, "changed": changed_names}
    project.refresh_from_db()
    assert (project.guidelines, project.allow_evidence) == ("## Anger\nRaised voice.", True)
    with pytest.raises(CommandError, match="gold_rate"):
        call_command("annotation_update_project", "--project", str(project.pk), "gold_rate=7")
    with pytest.raises(CommandError, match="NAME=VALUE"):
        call_command("annotation_update_project", "--project", str(project.pk), "k")


@pytest.mark.django_db(transaction=True)
def test_changing_k_while_annotators_claim_keeps_every_count_true(study, researcher):
    """Twenty annotators claim and answer while k goes 2 -> 4 -> 1 -> 3: every item's counter
    equals its open and finished assignments, and none exceeds its total."""
    if connection.vendor != "postgresql":
        pytest.skip("the race test needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 10)
    users = raters(project, 20)
    barrier = threading.Barrier(len(users) + 1)
    errors: list[BaseException] = []

    def annotate(user):
        try:
            barrier.wait()
            while (lease := assignment_next(project=project, user=user)) is not None:
                annotation_submit(
                    project=project, user=user, item_id=lease.item_id,
                    labels=[{"category": "joy"}],
                )  # fmt: skip
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def settle():
        try:
            barrier.wait()
            for k in (4, 1, 3):
                project_update(project=Project.objects.get(pk=project.pk), raters_per_item=k)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=annotate, args=(u,)) for u in users]
    threads.append(threading.Thread(target=settle))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    held = Counter(
        Assignment.objects.filter(
            status__in=[AssignmentStatus.LEASED, AssignmentStatus.DONE]
        ).values_list("item_id", flat=True)
    )
    for pk, taken, total in Item.objects.values_list("id", "slots_taken", "slots_total"):
        assert taken == held.get(pk, 0) <= total
        assert total == max(3, taken)
    pairs = list(Assignment.objects.values_list("item_id", "rater_id"))
    assert len(pairs) == len(set(pairs))


def test_the_expert_sample_is_drawn_on_the_settings_page_and_redrawn_keeping_ratings(
    client, study, researcher
):
    from annotation.models import MemberRole

    project = emotion_project(study=study, user=researcher, k=1)
    text_items(project, 12)  # speakers spk0, spk1, spk2: four items each
    client.force_login(researcher)
    url = f"/annotation/projects/{project.pk}/settings/"
    page = client.get(url)
    assert page.status_code == 200
    assert page.text.count('id="experts"') == 1
    assert [c[0] for c in page.context["sample_form"].fields["stratify_by"].choices] == [
        "", "speaker",
    ]  # fmt: skip
    drawn = client.post(
        f"/annotation/projects/{project.pk}/expert-sample/",
        {"sample-experts_per_item": "2", "sample-sample_rate": "0.5",
         "sample-stratify_by": "speaker", "sample-seed": "3"},
    )  # fmt: skip
    assert drawn.status_code == 302 and drawn["Location"].endswith("/settings/#experts")
    sample = Item.objects.filter(expert_slots_total=2)
    speakers = Counter(m["speaker"] for m in sample.values_list("metadata", flat=True))
    assert speakers == {"spk0": 2, "spk1": 2, "spk2": 2}
    project.refresh_from_db()
    assert (project.expert_raters_per_item, project.expert_sample_rate) == (2, 0.5)

    # An expert rates one sampled item; a redraw with another seed keeps that rating's slot.
    (expert,) = raters(project, 1, prefix="exp", role=MemberRole.EXPERT)
    lease = assignment_next(project=project, user=expert)
    annotation_submit(
        project=project, user=expert, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    out = io.StringIO()
    call_command(
        "annotation_expert_sample", "--project", str(project.pk), "--seed", "9", "--rate", "0.25",
        stdout=out,
    )  # fmt: skip
    assert out.getvalue().strip() == "3 items in the expert sample"
    dashboard = client.get(f"/annotation/projects/{project.pk}/")
    assert dashboard.context["progress"]["expert_done"] == 1
    assert '<strong id="expert-done">1 / ' in dashboard.text
    rated = Item.objects.get(pk=lease.item_id)
    assert rated.expert_slots_taken == 1 and rated.expert_slots_total >= 1
    assert all(
        taken <= total
        for taken, total in Item.objects.values_list("expert_slots_taken", "expert_slots_total")
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"experts_per_item": 2, "sample_rate": 1.5}, "sample_rate"),
        ({"experts_per_item": 30, "sample_rate": 0.5}, "experts_per_item"),
        ({"experts_per_item": 2, "sample_rate": 0.5, "stratify_by": "colour"}, "stratify_by"),
        ({"experts_per_item": 2}, "sample_rate"),
    ],
)
def test_a_bad_expert_sample_changes_nothing(api_client, project, researcher, body, field):
    api_client.force_authenticate(researcher)
    response = api_client.post(
        f"/api/annotation/projects/{project.pk}/expert-sample/", body, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    project.refresh_from_db()
    assert (project.expert_raters_per_item, project.expert_sample_rate) == (0, 0)
    assert set(Item.objects.values_list("expert_slots_total", flat=True)) == {0}


def test_the_expert_sample_through_the_api(api_client, project, researcher, annotator):
    from annotation.services import member_add

    api_client.force_authenticate(researcher)
    url = f"/api/annotation/projects/{project.pk}/expert-sample/"
    drawn = api_client.post(url, {"experts_per_item": 1, "sample_rate": 1}, format="json")
    assert drawn.json() == {"items": 3}
    assert set(Item.objects.values_list("expert_slots_total", flat=True)) == {1}
    member_add(project=project, user=annotator)
    api_client.force_authenticate(annotator)
    assert api_client.post(url, {"experts_per_item": 0, "sample_rate": 0}).status_code in (403, 404)


def _codebook_post(project, rows: list[dict], extra: int = 2) -> dict:
    """The codebook formset's POST data: ``rows`` then ``extra`` empty rows."""
    initial = project.categories.count()
    data = {
        "categories-TOTAL_FORMS": str(len(rows) + extra),
        "categories-INITIAL_FORMS": str(initial),
        "categories-MIN_NUM_FORMS": "0",
        "categories-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for name, value in row.items():
            data[f"categories-{i}-{name}"] = value
    return data


def codebook(project) -> list[tuple[str, str, str, str]]:
    return list(
        project.categories.order_by("order").values_list("key", "name", "keyboard_key", "examples")
    )


def test_the_codebook_is_refined_and_extended_on_the_settings_page(client, project, researcher):
    from annotation.forms import category_rows

    client.force_login(researcher)
    page = client.get(f"/annotation/projects/{project.pk}/settings/")
    # The editor starts from the schema as created: keys in order, names, keys 1-4.
    shown = [(r["key"], r["name"], r["keyboard_key"]) for r in page.context["categories"].initial]
    assert shown == [
        ("anger", "Anger", "1"), ("joy", "Joy", "2"), ("sadness", "Sadness", "3"),
        ("fear", "Fear", "4"),
    ]  # fmt: skip
    rows = category_rows(project)
    rows[0]["description"] = "A raised voice, or words of irritation."
    rows[0]["examples"] = "'Not again!' (anger, not sadness)"
    rows[0]["keyboard_key"], rows[1]["keyboard_key"] = (
        rows[1]["keyboard_key"],
        rows[0]["keyboard_key"],
    )
    rows.append({"key": "surprise", "name": "Surprise", "keyboard_key": "", "description": ""})
    url = f"/annotation/projects/{project.pk}/categories/"
    saved = client.post(url, _codebook_post(project, rows, extra=1))
    assert saved.status_code == 302 and saved["Location"].endswith("#categories")
    book = codebook(project)
    first, second = book[0], book[1]
    assert first[3] == "'Not again!' (anger, not sadness)"
    assert (first[2], second[2]) == (rows[0]["keyboard_key"], rows[1]["keyboard_key"])
    assert book[-1][:2] == ("surprise", "Surprise")
    used = [kb for _, _, kb, _ in book]
    assert book[-1][2] and len(set(used)) == len(used)
    # The new category is on the annotator's page with its key.
    (rater,) = raters(project, 1)
    client.force_login(rater)
    assert "Surprise" in client.get(f"/annotation/projects/{project.pk}/annotate/").text


@pytest.mark.parametrize(
    "change, where, message",
    [
        ("drop", "non_form", "Categories cannot be removed, since answers may use them: joy."),
        ("same_kb", "row", "The keyboard key '1' is given twice."),
        ("reserved", "row", "u, s and space are reserved."),
        ("same_key", "row", "The key 'fear' is given twice."),
    ],
)
def test_a_bad_codebook_changes_nothing(client, project, researcher, change, where, message):
    from annotation.forms import category_rows

    client.force_login(researcher)
    before = codebook(project)
    rows = category_rows(project)
    if change == "drop":
        rows = [r for r in rows if r["key"] != "joy"]
    elif change == "same_kb":
        rows[0]["keyboard_key"] = rows[1]["keyboard_key"] = "1"
    elif change == "reserved":
        rows[2]["keyboard_key"] = "u"
    else:
        rows.append({"key": "fear", "name": "Fear again"})
    response = post_refused(
        client, f"/annotation/projects/{project.pk}/categories/", _codebook_post(project, rows)
    )
    formset = response.context["categories"]
    if where == "non_form":
        assert list(formset.non_form_errors()) == [message]
    else:
        messages = [m for form in formset.forms for ms in form.errors.values() for m in ms]
        assert message in messages
    if change == "same_key":
        # The rows come back as they were sent, the new one included.
        assert 'value="Fear again"' in response.content.decode()
    assert codebook(project) == before


def test_the_codebook_through_the_api(api_client, project, researcher):
    api_client.force_authenticate(researcher)
    url = f"/api/annotation/projects/{project.pk}/categories/"
    current = [{"key": key, "name": name} for key, name, _, _ in codebook(project)]
    body = {"categories": [*reversed(current), {"key": "awe", "name": "Awe", "keyboard_key": "9"}]}
    done = api_client.put(url, body, format="json")
    assert done.status_code == 200
    keys = [c["key"] for c in done.json()]
    assert keys == [c["key"] for c in reversed(current)] + ["awe"]
    assert done.json()[-1]["keyboard_key"] == "9"
    refused = api_client.put(url, {"categories": current[1:]}, format="json")
    assert refused.status_code == 400
    assert "categories" in refused.json()["errors"]


def test_a_member_taken_off_the_project_frees_their_open_item_and_keeps_their_answers(
    client, api_client, project, researcher
):
    from annotation.models import Annotation, ProjectMember

    leaving, staying = raters(project, 2)
    lease = assignment_next(project=project, user=leaving)
    annotation_submit(
        project=project, user=leaving, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    open_lease = assignment_next(project=project, user=leaving)
    before = dict(Item.objects.values_list("id", "slots_taken"))
    client.force_login(researcher)
    removed = client.post(
        f"/annotation/projects/{project.pk}/members/remove/", {"username": leaving.username}
    )
    assert removed.status_code == 302
    assert not ProjectMember.objects.filter(project=project, user=leaving).exists()
    after = dict(Item.objects.values_list("id", "slots_taken"))
    assert after[open_lease.item_id] == before[open_lease.item_id] - 1
    assert Annotation.objects.filter(assignment__rater=leaving).count() == 1
    # The freed item goes to someone else; the one who left gets nothing more.
    assert assignment_next(project=project, user=staying).item_id == open_lease.item_id
    with pytest.raises(PermissionDenied):
        assignment_next(project=project, user=leaving)

    api_client.force_authenticate(researcher)
    gone = api_client.delete(f"/api/annotation/projects/{project.pk}/members/{leaving.username}/")
    assert gone.status_code == 400
    assert gone.json() == {
        "errors": {"username": [f"{leaving.username} is not a member of this project."]}
    }
    done = api_client.delete(f"/api/annotation/projects/{project.pk}/members/{staying.username}/")
    assert done.json() == {"leases_ended": 1}


def test_the_codebook_order_follows_the_numbers_given(client, project, researcher):
    from annotation.forms import category_rows

    client.force_login(researcher)
    rows = category_rows(project)
    keys = [r["key"] for r in rows]
    for i, row in enumerate(rows):
        row["ORDER"] = str(i + 1)
    rows[-1]["ORDER"] = "0"  # the last one first
    rows.append({"key": "awe", "name": "Awe", "ORDER": "2"})  # new, second after the move
    response = client.post(
        f"/annotation/projects/{project.pk}/categories/", _codebook_post(project, rows, extra=1)
    )
    assert response.status_code == 302
    order = list(project.categories.order_by("order").values_list("key", flat=True))
    # Ties (awe and the second row both 2) keep the rows' order.
    assert order == [keys[-1], keys[0], keys[1], "awe", *keys[2:-1]]
