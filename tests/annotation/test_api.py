"""The annotation API: the work loop, bad input, blindness and permissions."""

from __future__ import annotations

import io
import zipfile

import pytest

from annotation.media import write_tone_wav
from annotation.models import Annotation, AnnotationLabel, Assignment, Item, Project
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 3)
    return project


@pytest.fixture
def other_project(researcher):
    from accounts.services import study_create

    study = study_create(user=researcher, name="Other study")
    project = emotion_project(study=study, user=researcher, name="Other")
    text_items(project, 2)
    return project


def test_project_create_through_the_api(api_as, researcher, study, outsider):
    body = {
        "study": study.id,
        "name": "Clips",
        "mode": "primary_secondary",
        "categories": [{"key": "joy", "name": "Joy"}, {"key": "anger", "name": "Anger"}],
        "scales": [{"key": "arousal", "min": 1, "max": 7}],
        "raters_per_item": 5,
    }
    response = api_as(researcher).post("/api/annotation/projects/", body, format="json")
    assert response.status_code == 201
    data = response.json()
    assert [c["key"] for c in data["categories"]] == ["joy", "anger"]
    assert data["scales"] == [
        {"key": "arousal", "name": "Arousal", "min": 1, "max": 7, "required": False}
    ]
    # Someone outside the study cannot create a project in it.
    response = api_as(outsider).post("/api/annotation/projects/", body, format="json")
    assert response.status_code == 404
    assert Project.objects.count() == 1


def test_work_loop_next_submit_undo(api_as, project):
    (ana,) = raters(project, 1, prefix="ana")
    client = api_as(ana)
    lease = client.post(f"/api/annotation/projects/{project.id}/next/").json()
    assert lease["item"]["external_id"] == "t00"
    assert set(lease["item"]) == {"id", "external_id", "kind", "text", "media_url", "duration"}
    response = client.post(
        f"/api/annotation/projects/{project.id}/submit/",
        {
            "item": lease["item"]["id"],
            "labels": [{"category": "joy"}, {"category": "fear", "role": "secondary"}],
            "ratings": {"arousal": 5},
            "time_ms": 1800,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["labels"] == [
        {"category": "joy", "role": "primary"},
        {"category": "fear", "role": "secondary"},
    ]
    undo = client.post(f"/api/annotation/projects/{project.id}/undo/")
    assert undo.status_code == 200
    assert undo.json()["item"]["external_id"] == "t00"
    assert Annotation.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"labels": [{"category": "rage"}]},
            {"labels": ["Unknown category 'rage'."]},
        ),
        (
            {"labels": [{"category": "joy"}, {"category": "anger"}]},
            {"labels": ["Only one primary label is allowed."]},
        ),
        (
            {"labels": [{"category": "joy"}], "ratings": {"valence": 0}},
            {"ratings.valence": ["Must be between 1 and 7."]},
        ),
        (
            {"labels": [{"category": "joy"}], "mood": "x"},
            {"mood": ["Unknown field."]},
        ),
    ],
)
def test_bad_submissions_name_the_field_and_change_nothing(api_as, project, body, errors):
    (ana,) = raters(project, 1, prefix="ana")
    client = api_as(ana)
    lease = client.post(f"/api/annotation/projects/{project.id}/next/").json()
    response = client.post(
        f"/api/annotation/projects/{project.id}/submit/",
        {"item": lease["item"]["id"], **body},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert (Annotation.objects.count(), AnnotationLabel.objects.count()) == (0, 0)
    assert Assignment.objects.get().status == "leased"


def test_rating_an_unassigned_item_is_a_400(api_as, project):
    (ana,) = raters(project, 1, prefix="ana")
    item = Item.objects.get(external_id="t02")
    response = api_as(ana).post(
        f"/api/annotation/projects/{project.id}/submit/",
        {"item": item.id, "labels": [{"category": "joy"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"item": ["This item is not assigned to you."]}}
    assert Annotation.objects.count() == 0


def test_import_through_the_api_reports_rows(api_as, researcher, project):
    media = io.BytesIO()
    with zipfile.ZipFile(media, "w") as archive:
        archive.writestr("a.wav", write_tone_wav(frequency=300))
        archive.writestr("b.mp3", b"this is not audio at all")
    csv = io.BytesIO(b"external_id,media\nclip-a,a.wav\nclip-b,b.mp3\n")
    csv.name = "clips.csv"
    media.name = "media.zip"
    media.seek(0)
    response = api_as(researcher).post(
        f"/api/annotation/projects/{project.id}/items/",
        {"file": csv, "media_zip": media},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "rows.2": ["media: b.mp3: not an audio file (WAV, MP3, OGG or FLAC expected)"]
    }
    assert Item.objects.filter(project=project).count() == 3


def test_annotators_never_see_other_raters_labels(api_as, project, researcher):
    ana, ben = raters(project, 2, prefix="r")
    for user in (ana, ben):
        client = api_as(user)
        lease = client.post(f"/api/annotation/projects/{project.id}/next/").json()
        client.post(
            f"/api/annotation/projects/{project.id}/submit/",
            {"item": lease["item"]["id"], "labels": [{"category": "joy"}]},
            format="json",
        )
    ben_annotation = Annotation.objects.get(assignment__rater=ben)
    client = api_as(ana)
    # Another rater's answer: 404, as if it did not exist.
    assert client.get(f"/api/annotation/annotations/{ben_annotation.pk}/").status_code == 404
    own = client.get(f"/api/annotation/projects/{project.id}/annotations/").json()
    assert own["count"] == 1
    assert "rater" not in own["results"][0]
    # Researcher endpoints: 403 for a member, 404 for an outsider.
    for path in ("items/", "votes/", "agreement/", "annotators/", "members/", "adjudication/"):
        assert client.get(f"/api/annotation/projects/{project.id}/{path}").status_code == 403
    item = Item.objects.get(external_id="t00")
    assert client.get(f"/api/annotation/items/{item.id}/adjudication/").status_code == 403
    # The researcher sees both.
    everything = api_as(researcher).get(f"/api/annotation/projects/{project.id}/annotations/")
    assert {a["rater"] for a in everything.json()["results"]} == {"r0", "r1"}


def test_another_projects_items_are_404(api_as, project, other_project, outsider):
    (ana,) = raters(project, 1, prefix="ana")
    client = api_as(ana)
    other_item = Item.objects.filter(project=other_project).first()
    for path in ("", "items/", "agreement/", "annotations/"):
        response = client.get(f"/api/annotation/projects/{other_project.id}/{path}")
        assert response.status_code == 404, path
    assert client.post(f"/api/annotation/projects/{other_project.id}/next/").status_code == 404
    response = client.post(
        f"/api/annotation/projects/{project.id}/submit/",
        {"item": other_item.id, "labels": [{"category": "joy"}]},
        format="json",
    )
    assert response.status_code == 400
    assert client.get(f"/api/annotation/items/{other_item.id}/adjudication/").status_code == 404
    assert api_as(outsider).get(f"/api/annotation/projects/{project.id}/").status_code == 404
    assert Annotation.objects.count() == 0


def test_annotation_list_has_a_fixed_number_of_queries(
    api_as, project, researcher, django_assert_num_queries
):
    users = raters(project, 2, prefix="q")
    for user in users:
        client = api_as(user)
        for _ in range(3):
            lease = client.post(f"/api/annotation/projects/{project.id}/next/").json()
            client.post(
                f"/api/annotation/projects/{project.id}/submit/",
                {"item": lease["item"]["id"], "labels": [{"category": "joy"}]},
                format="json",
            )
    client = api_as(researcher)
    # project, researcher check, count, page, labels prefetch
    with django_assert_num_queries(6):
        response = client.get(f"/api/annotation/projects/{project.id}/annotations/")
    assert response.json()["count"] == 6
    with django_assert_num_queries(4):
        response = client.get(f"/api/annotation/projects/{project.id}/items/")
    assert response.json()["count"] == 3
