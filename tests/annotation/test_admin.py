"""The admin for annotation projects: k and the expert sample cannot be edited on the row
(the items' slot counters would disagree); the project's vote table exports as a job."""

from __future__ import annotations

import pytest

from annotation.models import Item
from annotation.services import annotation_submit, assignment_next
from jobs.models import Job, JobStatus
from tests.accounts.factories import UserFactory
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    return admin_user


@pytest.fixture
def project(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    return project


def test_k_is_read_only_in_the_admin_and_links_to_the_settings_page(client, staff, project):
    url = f"/admin/annotation/project/{project.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="raters_per_item"' not in page.text
    assert f'href="/annotation/projects/{project.pk}/settings/"' in page.text
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {name: "" if value is None else value for name, value in data.items()}
    data.update(
        {
            "name": "Renamed in the admin",
            "study": project.study_id,
            "created_by": project.created_by_id,
            "raters_per_item": 9,
        }
    )
    for prefix in ("categories", "members"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    project.refresh_from_db()
    # The row saved, k did not change.
    assert (project.name, project.raters_per_item) == ("Renamed in the admin", 2)
    assert set(Item.objects.values_list("slots_total", flat=True)) == {2}


def test_the_admin_exports_vote_tables(client, staff, project, django_capture_on_commit_callbacks):
    (rater,) = raters(project, 1)
    lease = assignment_next(project=project, user=rater)
    annotation_submit(
        project=project, user=rater, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/annotation/project/",
            {"action": "export_votes_csv", "_selected_action": [project.pk]},
        )
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.status, job.created_by) == (JobStatus.SUCCEEDED, staff)
    assert job.result["rows"] == 1
    # The message links to the job and to its file.
    page = client.get(response["Location"]).content.decode()
    assert f'<a href="/jobs/{job.pk}/">job {job.pk}</a>' in page
    assert f'<a href="/jobs/{job.pk}/download/">/jobs/{job.pk}/download/</a>' in page


def test_items_keep_their_slots_in_the_admin(client, staff, project):
    item = Item.objects.first()
    page = client.get(f"/admin/annotation/item/{item.pk}/change/")
    assert page.status_code == 200
    for name in ("slots_total", "is_gold", "expert_slots_total"):
        assert f'name="{name}"' not in page.text
    assert client.get("/admin/annotation/item/add/").status_code == 403


def test_exclusions_are_shown_not_edited_in_the_admin(client, staff, project, researcher):
    from annotation.services import exclusion_create

    (rater,) = raters(project, 1)
    exclusion = exclusion_create(project=project, rater=rater, reason="Fails gold", by=researcher)
    page = client.get(f"/admin/annotation/exclusion/{exclusion.pk}/change/")
    assert page.status_code == 200
    assert "Fails gold" in page.text and 'name="active"' not in page.text
    assert client.get("/admin/annotation/exclusion/add/").status_code == 403
    assert client.get("/admin/annotation/adjudication/add/").status_code == 403


def test_a_study_with_thousands_of_imported_ratings_is_deleted_in_the_admin(
    client, staff, study, researcher
):
    """Deleting a project's categories used to re-read every imported rating by its composite
    key (a RESTRICT check), one row comparison each: PostgreSQL refused the statement ("stack
    depth limit exceeded") from a few thousand ratings on, so no such study could be deleted."""
    import io

    from accounts.models import Study
    from annotation.models import Category, ImportedRating, Project
    from annotation.services import ratings_import

    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 4000)
    key = project.categories.first().key
    rows = [f"t{i:02d},r{j},{key}" for i in range(4000) for j in range(2)]
    ratings_import(
        project=project, source=io.BytesIO("\n".join(["item,rater,label", *rows]).encode())
    )
    assert ImportedRating.objects.count() == 8000
    page = client.get(f"/admin/accounts/study/{study.pk}/delete/")
    assert page.status_code == 200
    response = client.post(f"/admin/accounts/study/{study.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Study.objects.filter(pk=study.pk).exists()
    assert not Project.objects.exists() and not Item.objects.exists()
    assert not Category.objects.exists() and not ImportedRating.objects.exists()


def test_the_admin_keeps_every_category_of_a_codebook(client, staff, project):
    page = client.get(f"/admin/annotation/project/{project.pk}/change/")
    assert page.status_code == 200
    assert "categories-0-DELETE" not in page.content.decode()
    assert "categories-0-key" in page.content.decode()
