"""Owners rename a study and archive it (pages, API, services); an archived study leaves the
home page's list, says so on its pages and takes no new survey or annotation project."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Study, StudyRole
from accounts.services import (
    study_archive,
    study_create,
    study_member_add,
    study_unarchive,
    study_update,
)
from annotation.models import Project
from surveys import services as survey_services
from surveys.models import Survey
from tests.accounts.factories import UserFactory
from tests.annotation.test_setup_pages import SCHEMA

pytestmark = pytest.mark.django_db

PROJECT = {"name": "Tone", "categories": [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}]}


@pytest.fixture
def reviewer(study):
    user = UserFactory(username="rhee")
    study_member_add(study=study, user=user, role=StudyRole.REVIEWER)
    return user


@pytest.fixture
def viewer(study):
    user = UserFactory(username="vera")
    study_member_add(study=study, user=user, role=StudyRole.VIEWER)
    return user


def _fresh(study: Study) -> Study:
    return Study.objects.get(pk=study.pk)


# --- services -------------------------------------------------------------------------------


def test_study_update_renames_and_strips(study):
    study_update(study=study, name="  Values 2027  ", description=" Wave two ")
    assert (_fresh(study).name, _fresh(study).description) == ("Values 2027", "Wave two")
    # None leaves a value as it is.
    study_update(study=study, description="")
    assert (_fresh(study).name, _fresh(study).description) == ("Values 2027", "")


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_name_is_1_to_200_characters(study, name):
    with pytest.raises(ValidationError) as caught:
        study_update(study=study, name=name)
    assert caught.value.message_dict == {"name": ["A name of 1 to 200 characters."]}
    assert _fresh(study).name == "Values 2026"
    with pytest.raises(ValidationError):
        study_create(user=study.created_by, name=name)
    assert Study.objects.count() == 1


def test_a_name_of_200_characters_is_kept_whole(study):
    study_update(study=study, name="y" * 200)
    assert _fresh(study).name == "y" * 200


def test_archiving_is_idempotent_and_keeps_the_first_date(study):
    assert study.archived_at is None
    first = study_archive(study=study).archived_at
    assert first is not None and first <= timezone.now()
    assert study_archive(study=_fresh(study)).archived_at == first
    assert _fresh(study).archived_at == first
    assert study_unarchive(study=study).archived_at is None
    assert _fresh(study).archived_at is None
    assert study_unarchive(study=study).archived_at is None


def test_study_update_archives_with_the_rest_or_not_at_all(study):
    with pytest.raises(ValidationError):
        study_update(study=study, name="", archived=True)
    assert _fresh(study).archived_at is None
    study_update(study=study, name="Done", archived=True)
    assert _fresh(study).name == "Done"
    assert _fresh(study).archived_at is not None
    study_update(study=study, archived=False)
    assert _fresh(study).archived_at is None


def test_an_archived_study_takes_no_new_survey(study):
    study_archive(study=study)
    with pytest.raises(ValidationError) as caught:
        survey_services.survey_create(study=study, title_en="Late")
    assert list(caught.value.message_dict) == ["study"]
    assert "Values 2026 is archived" in caught.value.message_dict["study"][0]
    assert Survey.objects.count() == 0
    study_unarchive(study=study)
    survey_services.survey_create(study=study, title_en="Late")
    assert Survey.objects.count() == 1


# --- pages ----------------------------------------------------------------------------------


def test_the_owner_renames_the_study_on_its_page(client, researcher, study):
    client.force_login(researcher)
    page = client.get(f"/studies/{study.pk}/").content.decode()
    assert 'id="study-edit-form"' in page
    assert 'value="Values 2026"' in page
    response = client.post(
        f"/studies/{study.pk}/edit/",
        {"study-name": "Values 2027", "study-description": "Second wave"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/studies/{study.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "<h1>Values 2027</h1>" in page
    assert "The study&#x27;s name and description are saved." in page
    assert (_fresh(study).name, _fresh(study).description) == ("Values 2027", "Second wave")


def test_a_name_too_long_comes_back_with_the_error_and_the_typed_values(client, researcher, study):
    client.force_login(researcher)
    long_name = "n" * 201
    response = client.post(
        f"/studies/{study.pk}/edit/",
        {"study-name": long_name, "study-description": "Kept"},
    )
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(f"/studies/{study.pk}/?form=")
    assert location.endswith("#study-settings")
    page = client.get(location)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ensure this value has at most 200 characters (it has 201)." in text
    assert f'value="{long_name}"' in text
    assert "\nKept</textarea>" in text
    # The settings are shown open, and the page without the token shows the study as it is.
    assert 'id="study-settings" open' in text
    plain = client.get(f"/studies/{study.pk}/").content.decode()
    assert "Ensure this value" not in plain and 'value="Values 2026"' in plain
    assert _fresh(study).name == "Values 2026"


def test_a_blank_name_is_refused_by_the_page(client, researcher, study):
    """Spaces are no name: the form strips them and says "required" (the service's own
    refusal is tested above)."""
    client.force_login(researcher)
    response = client.post(f"/studies/{study.pk}/edit/", {"study-name": "   "}, follow=True)
    assert "This field is required." in response.content.decode()
    assert _fresh(study).name == "Values 2026"


def test_the_owner_archives_and_unarchives(client, researcher, study):
    other = study_create(user=researcher, name="Trust 2027")
    client.force_login(researcher)
    response = client.post(f"/studies/{study.pk}/archive/")
    assert response.status_code == 302
    assert response["Location"] == f"/studies/{study.pk}/"
    assert _fresh(study).archived_at is not None
    page = client.get(f"/studies/{study.pk}/").content.decode()
    assert 'id="archived-note"' in page
    assert "This study was archived on" in page
    assert f'action="/studies/{study.pk}/unarchive/"' in page
    # The home page leaves it out, says how many are archived, and shows them when asked.
    home = client.get("/").content.decode()
    assert "Trust 2027" in home and "Values 2026" not in home
    assert 'href="/?archived=1"' in home and "Show archived studies (1)" in home
    everything = client.get("/?archived=1").content.decode()
    assert "Trust 2027" in everything and "Values 2026" in everything
    assert everything.count('class="archived-badge"') == 1
    assert "Hide archived studies" in everything
    response = client.post(f"/studies/{study.pk}/unarchive/")
    assert response.status_code == 302
    assert _fresh(study).archived_at is None
    home = client.get("/").content.decode()
    assert "Values 2026" in home and "Show archived studies" not in home
    assert other.archived_at is None


def test_all_studies_archived_says_so(client, researcher, study):
    study_archive(study=study)
    client.force_login(researcher)
    home = client.get("/").content.decode()
    assert "All your studies are archived." in home
    assert "You are not a member of any study yet." not in home


def test_archived_pages_say_so_and_offer_no_new_survey_or_project(client, researcher, study):
    study_archive(study=study)
    client.force_login(researcher)
    for url in (
        f"/studies/{study.pk}/",
        f"/studies/{study.pk}/members/",
        f"/surveys/studies/{study.pk}/setup/",
        f"/annotation/studies/{study.pk}/new/",
        f"/benchmarks/studies/{study.pk}/datasets/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'id="archived-note"' in page.content.decode(), url
    detail = client.get(f"/studies/{study.pk}/").content.decode()
    assert f'href="/annotation/studies/{study.pk}/new/"' not in detail
    setup = client.get(f"/surveys/studies/{study.pk}/setup/").content.decode()
    assert "No new survey can be created: the study is archived." in setup
    assert 'name="survey-title_en"' not in setup
    new_project = client.get(f"/annotation/studies/{study.pk}/new/").content.decode()
    assert 'id="project-form"' not in new_project


def test_archived_studies_refuse_new_surveys_and_projects_in_pages(client, researcher, study):
    study_archive(study=study)
    client.force_login(researcher)
    response = client.post(
        f"/surveys/studies/{study.pk}/setup/survey/", {"survey-title_en": "Late"}, follow=True
    )
    assert "No new survey can be created: the study is archived." in response.content.decode()
    assert Survey.objects.count() == 0
    response = client.post(f"/annotation/studies/{study.pk}/new/", SCHEMA, follow=True)
    assert 'id="archived-note"' in response.content.decode()
    assert Project.objects.count() == 0
    study_unarchive(study=study)
    client.post(f"/annotation/studies/{study.pk}/new/", SCHEMA)
    assert Project.objects.count() == 1


def test_an_unarchived_study_has_its_forms_back(client, researcher, study):
    study_archive(study=study)
    study_unarchive(study=study)
    client.force_login(researcher)
    setup = client.get(f"/surveys/studies/{study.pk}/setup/").content.decode()
    assert 'name="survey-title_en"' in setup and 'id="archived-note"' not in setup
    detail = client.get(f"/studies/{study.pk}/").content.decode()
    assert f'href="/annotation/studies/{study.pk}/new/"' in detail


def test_what_the_study_has_goes_on_working(client, researcher, study):
    """Archiving changes no survey, and the existing survey's pages still open."""
    from tests.surveys.factories import make_survey

    survey = make_survey(study, approve=False)
    study_archive(study=study)
    client.force_login(researcher)
    assert client.get(f"/surveys/{survey.pk}/").status_code == 200
    assert client.get(f"/surveys/{survey.pk}/questions/").status_code == 200
    assert Survey.objects.get(pk=survey.pk).status == survey.status


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["colleague", "reviewer", "viewer"])
def test_only_owners_rename_or_archive(client, request, study, persona):
    """A researcher, a reviewer and a viewer of the study get a 403 and change nothing; they
    do not see the forms either."""
    member = request.getfixturevalue(persona)
    client.force_login(member)
    page = client.get(f"/studies/{study.pk}/").content.decode()
    assert 'id="study-edit-form"' not in page and 'id="study-archive-form"' not in page
    assert client.post(f"/studies/{study.pk}/edit/", {"study-name": "Mine"}).status_code == 403
    assert client.post(f"/studies/{study.pk}/archive/").status_code == 403
    study_archive(study=study)
    assert client.post(f"/studies/{study.pk}/unarchive/").status_code == 403
    fresh = _fresh(study)
    assert fresh.name == "Values 2026" and fresh.archived_at is not None


def test_outsiders_get_404_and_the_logged_out_the_login_page(client, study, outsider):
    for url in ("edit/", "archive/", "unarchive/"):
        response = client.post(f"/studies/{study.pk}/{url}", {"study-name": "Mine"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    client.force_login(outsider)
    for url in ("edit/", "archive/", "unarchive/"):
        assert client.post(f"/studies/{study.pk}/{url}", {"study-name": "Mine"}).status_code == 404
    assert client.get(f"/studies/{study.pk}/edit/").status_code == 405
    fresh = _fresh(study)
    assert (fresh.name, fresh.archived_at) == ("Values 2026", None)


# --- API --------------------------------------------------------------------------------------


def test_api_owner_renames_and_archives(api_as, researcher, study):
    api = api_as(researcher)
    response = api.patch(f"/api/studies/{study.pk}/", {"name": "Values 2027"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Values 2027"
    assert response.json()["archived_at"] is None
    response = api.patch(f"/api/studies/{study.pk}/", {"archived": True}, format="json")
    assert response.status_code == 200
    assert response.json()["archived_at"] is not None
    assert _fresh(study).archived_at is not None
    listed = api.get("/api/studies/").json()
    assert [s["name"] for s in listed] == ["Values 2027"]
    assert api.get("/api/studies/?archived=false").json() == []
    assert [s["id"] for s in api.get("/api/studies/?archived=true").json()] == [study.pk]
    response = api.patch(f"/api/studies/{study.pk}/", {"archived": False}, format="json")
    assert response.json()["archived_at"] is None
    assert [s["id"] for s in api.get("/api/studies/?archived=false").json()] == [study.pk]


def test_api_errors_name_the_field(api_as, researcher, study):
    api = api_as(researcher)
    response = api.patch(f"/api/studies/{study.pk}/", {"name": "x" * 201}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    response = api.patch(f"/api/studies/{study.pk}/", {"archived": "maybe"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["archived"]
    response = api.patch(f"/api/studies/{study.pk}/", {"colour": "red"}, format="json")
    assert list(response.json()["errors"]) == ["colour"]
    response = api.get("/api/studies/?archived=maybe")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["archived"]
    assert _fresh(study).name == "Values 2026"


@pytest.mark.parametrize(
    ("persona", "status"),
    [("colleague", 403), ("reviewer", 403), ("viewer", 403), ("outsider", 404)],
)
def test_api_only_owners_change_the_study(api_as, request, study, persona, status):
    api = api_as(request.getfixturevalue(persona))
    for body in ({"name": "Mine"}, {"archived": True}):
        assert api.patch(f"/api/studies/{study.pk}/", body, format="json").status_code == status
    fresh = _fresh(study)
    assert (fresh.name, fresh.archived_at) == ("Values 2026", None)


def test_api_refuses_new_surveys_and_projects_in_an_archived_study(api_as, researcher, study):
    study_archive(study=study)
    api = api_as(researcher)
    response = api.post(
        "/api/surveys/surveys/", {"study": study.pk, "title_en": "Late"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["study"]
    response = api.post("/api/annotation/projects/", {"study": study.pk, **PROJECT}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["study"]
    assert (Survey.objects.count(), Project.objects.count()) == (0, 0)


def test_an_archived_study_takes_no_import_nor_project_by_command(
    api_as, researcher, study, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import CommandError, call_command

    from interop.models import LabelImport

    study_archive(study=study)
    upload = SimpleUploadedFile("export.json", b"[]", content_type="application/json")
    response = api_as(researcher).post(
        "/api/interop/imports/",
        {"study": study.pk, "tool": "label-studio", "name": "Late", "file": upload},
        format="multipart",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["study"]
    assert LabelImport.objects.count() == 0
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(PROJECT))
    with pytest.raises(CommandError, match="is archived"):
        call_command(
            "annotation_create_project", "--study", str(study.pk), "--user", researcher.username,
            str(schema),
        )  # fmt: skip
    assert Project.objects.count() == 0


def test_the_import_page_offers_no_archived_study(client, researcher, study):
    other = study_create(user=researcher, name="Trust 2027")
    study_archive(study=study)
    client.force_login(researcher)
    page = client.get("/interop/").content.decode()
    assert f'<option value="{other.pk}">' in page
    assert f'<option value="{study.pk}">' not in page
