"""Who may do what: the defects of "Reliability and security" items 2, 3, 9 and 10, each
reproduced and shown fixed, and the services behind the fix (study creation right,
invitations, study members).

The permission matrix over every URL is in ``test_permission_matrix.py``.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from accounts.models import Study, StudyInvitation, StudyMember, User
from accounts.services import study_member_add
from annotation.models import ImportedRating, Item, ProjectInvitation, ProjectMember
from annotation.services import assignment_next, member_add, member_remove
from jobs.models import Job
from surveys.models import PanelistContact, Survey
from tests.accounts.factories import UserFactory
from tests.annotation.factories import emotion_project, text_items
from tests.surveys.factories import make_panel, make_population, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_like_staff(db):
    """Like the demo researcher: staff with the view-only admin group, owner of a study of
    their own, may create studies."""
    from accounts.demo import ADMIN_GROUP, load_people

    people = load_people()
    assert people.researcher.is_staff
    assert people.researcher.groups.filter(name=ADMIN_GROUP).exists()
    return people.researcher


@pytest.fixture
def panel(study):
    population = make_population(study)
    return make_panel(study, population, per_cell=2)


# --- defect 2: staff see every study ---------------------------------------------------------


def test_staff_do_not_see_other_studies_panel_contacts_or_surveys(
    api_as, client, study, panel, researcher, demo_like_staff
):
    """The demo researcher (staff) read another study's panel contacts and changed its
    survey. Now staff status gives no study: 404 everywhere, nothing changed; the admin still
    lists the rows (that is where staff see studies)."""
    survey = make_survey(study, approve=False)
    api = api_as(demo_like_staff)
    contacts = api.get(f"/api/surveys/panels/{panel.pk}/contacts/")
    assert contacts.status_code == 404
    assert "example.org" not in contacts.content.decode()
    changed = api.patch(
        f"/api/surveys/surveys/{survey.pk}/", {"title_en": "Hijacked"}, format="json"
    )
    assert changed.status_code == 404
    assert Survey.objects.get(pk=survey.pk).title_en == "Values"
    assert study.pk not in [s["id"] for s in api.get("/api/studies/").json()]
    assert api.get(f"/api/studies/{study.pk}/").status_code == 404
    client.force_login(demo_like_staff)
    assert client.get(f"/studies/{study.pk}/").status_code == 404
    assert client.get(f"/surveys/{survey.pk}/").status_code == 404
    assert "Values 2026" not in client.get("/").content.decode()
    # The admin is the staff's window, read-only for this group.
    assert client.get("/admin/surveys/survey/").status_code == 200
    assert client.get(f"/admin/surveys/survey/{survey.pk}/change/").status_code == 200


def test_panel_contacts_are_for_the_owners_only_staff_included(api_as, study, panel, colleague):
    url = f"/api/surveys/panels/{panel.pk}/contacts/"
    owner = study.created_by
    rows = api_as(owner).get(url).json()
    assert len(rows) == PanelistContact.objects.filter(panelist__panel=panel).count() == 8
    colleague.is_staff = colleague.is_superuser = True
    colleague.save()
    assert api_as(colleague).get(url).status_code == 403


def test_the_demo_researcher_may_create_studies_and_stays_staff_for_the_admin(demo_like_staff):
    assert demo_like_staff.has_perm("accounts.can_create_studies")
    assert demo_like_staff.is_staff and not demo_like_staff.is_superuser
    assert (
        Group.objects.get(name="Researchers (demo)")
        .permissions.filter(codename="view_survey")
        .exists()
    )


# --- defect 3: anyone can become a researcher -------------------------------------------------


def test_creating_a_study_needs_the_permission(api_as, annotator):
    response = api_as(annotator).post("/api/studies/", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    assert "may not create studies" in response.json()["errors"]["non_field_errors"][0]
    assert Study.objects.count() == 0
    out = io.StringIO()
    call_command("createresearcher", "ana", stdout=out)
    assert out.getvalue().strip() == "ana may create studies."
    annotator = User.objects.get(pk=annotator.pk)
    response = api_as(annotator).post("/api/studies/", {"name": "Mine"}, format="json")
    assert response.status_code == 201
    assert StudyMember.objects.get(study__name="Mine").user == annotator


def test_createresearcher_creates_an_account_without_a_password(db):
    out = io.StringIO()
    call_command("createresearcher", "new.person", "--email", "np@example.org", stdout=out)
    user = User.objects.get(username="new.person")
    assert (user.email, user.is_active, user.has_usable_password()) == (
        "np@example.org", True, False,
    )  # fmt: skip
    assert user.has_perm("accounts.can_create_studies")
    assert "changepassword new.person" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("createresearcher", "bad name<>", stdout=out)
    inactive = UserFactory(username="imported", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        call_command("createresearcher", inactive.username, stdout=out)


def test_staff_grant_the_permission_in_the_admin(client, annotator):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "allow_study_creation", "_selected_action": [annotator.pk]},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=annotator.pk).has_perm("accounts.can_create_studies")


def test_adding_a_study_member_is_an_invitation_the_invitee_answers(
    api_as, study, researcher, annotator, outsider
):
    """Owners used to add any username; now the person is invited and joins by accepting
    (which also lets them create studies)."""
    url = f"/api/studies/{study.pk}/members/"
    response = api_as(researcher).post(url, {"username": "ana"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["username"], body["role"], body["status"]) == ("ana", "researcher", "pending")
    assert not StudyMember.objects.filter(study=study, user=annotator).exists()
    assert api_as(annotator).get(f"/api/studies/{study.pk}/").status_code == 404
    # Inviting again makes no second invitation.
    api_as(researcher).post(url, {"username": "ana", "role": "owner"}, format="json")
    assert StudyInvitation.objects.filter(study=study, status="pending").count() == 1
    # Only the invitee sees and answers it.
    assert api_as(outsider).get("/api/invitations/").json() == []
    accept = f"/api/invitations/{body['id']}/accept/"
    assert api_as(outsider).post(accept).status_code == 404
    mine = api_as(annotator).get("/api/invitations/").json()
    assert [(i["study_name"], i["role"], i["invited_by"]) for i in mine] == [
        ("Values 2026", "owner", "rosa")
    ]
    assert api_as(annotator).post(accept).json()["role"] == "owner"
    assert api_as(annotator).post(accept).status_code == 404
    annotator = User.objects.get(pk=annotator.pk)
    assert annotator.has_perm("accounts.can_create_studies")
    assert api_as(annotator).get(f"/api/studies/{study.pk}/").status_code == 200
    members = api_as(annotator).get(url).json()
    assert sorted((m["username"], m["role"]) for m in members["members"]) == [
        ("ana", "owner"),
        ("rosa", "owner"),
    ]
    # Non-owners may not invite.
    colin = UserFactory(username="colin")
    study_member_add(study=study, user=colin)
    assert api_as(colin).post(url, {"username": "otto"}, format="json").status_code == 403
    assert api_as(outsider).post(url, {"username": "otto"}, format="json").status_code == 404


def test_a_declined_invitation_changes_nothing(api_as, study, researcher, annotator):
    invitation = (
        api_as(researcher)
        .post(f"/api/studies/{study.pk}/members/", {"username": "ana"}, format="json")
        .json()
    )
    response = api_as(annotator).post(f"/api/invitations/{invitation['id']}/decline/")
    assert response.status_code == 204
    assert StudyInvitation.objects.get().status == "declined"
    assert not StudyMember.objects.filter(user=annotator).exists()
    assert not User.objects.get(pk=annotator.pk).has_perm("accounts.can_create_studies")


def test_inviting_nobody_or_an_inactive_account_is_refused(api_as, study, researcher):
    UserFactory(username="ghost", is_active=False)
    url = f"/api/studies/{study.pk}/members/"
    for name in ("nobody", "ghost"):
        response = api_as(researcher).post(url, {"username": name}, format="json")
        assert response.status_code == 400
        assert response.json() == {"errors": {"username": ["No such user."]}}
    response = api_as(researcher).post(url, {"username": "rosa"}, format="json")
    assert response.json() == {"errors": {"username": ["rosa is a member already."]}}
    assert StudyInvitation.objects.count() == 0


def test_adding_a_project_member_is_an_invitation(api_as, study, researcher, annotator, outsider):
    project = emotion_project(study=study, user=researcher)
    url = f"/api/annotation/projects/{project.pk}/members/"
    response = api_as(researcher).post(
        url, {"username": "ana", "role": "expert", "group": "native"}, format="json"
    )
    assert response.status_code == 201
    invitation = response.json()
    assert (invitation["status"], invitation["project_name"]) == ("pending", "Speech emotions")
    assert not ProjectMember.objects.filter(project=project).exists()
    assert api_as(annotator).post(f"/api/annotation/projects/{project.pk}/next/").status_code == 404
    pending = api_as(researcher).get(f"/api/annotation/projects/{project.pk}/invitations/")
    assert [i["username"] for i in pending.json()] == ["ana"]
    assert api_as(outsider).get("/api/annotation/invitations/").json() == []
    accept = f"/api/annotation/invitations/{invitation['id']}/accept/"
    assert api_as(outsider).post(accept).status_code == 404
    assert [i["id"] for i in api_as(annotator).get("/api/annotation/invitations/").json()] == [
        invitation["id"]
    ]
    member = api_as(annotator).post(accept).json()
    assert (member["username"], member["role"], member["group"]) == ("ana", "expert", "native")
    assert ProjectInvitation.objects.get().status == "accepted"
    # A member's role changes at once (200, no new invitation).
    again = api_as(researcher).post(url, {"username": "ana", "role": "annotator"}, format="json")
    assert (again.status_code, again.json()["role"]) == (200, "annotator")
    assert ProjectInvitation.objects.count() == 1


def test_a_ratings_import_naming_a_real_account_is_refused(api_as, study, researcher, annotator):
    """An import used to attach ratings to any account it named and make it a member."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 2)
    upload = SimpleUploadedFile("r.csv", b"item,rater,label\nt00,pilot-1,joy\nt01,ana,joy\n")
    response = api_as(researcher).post(
        f"/api/annotation/projects/{project.pk}/ratings/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["rater"][0].startswith(
        "Row 3: 'ana' is the username of an existing account."
    )
    assert ImportedRating.objects.count() == 0
    assert not ProjectMember.objects.filter(project=project).exists()


# --- defect 10: imported accounts with any name ----------------------------------------------


def test_a_ratings_import_with_a_bad_rater_name_is_a_400_naming_the_row(api_as, study, researcher):
    """Names with markup, formulas or spaces used to become accounts."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 2)
    url = f"/api/annotation/projects/{project.pk}/ratings/"
    for name in ("<script>x</script>", "=cmd|' /C calc'!A0", "Jane Doe"):
        csv = f'item,rater,label\nt00,ok-1,joy\nt01,"{name}",joy\n'.encode()
        upload = SimpleUploadedFile("r.csv", csv)
        response = api_as(researcher).post(url, {"file": upload}, format="multipart")
        assert response.status_code == 400
        assert response.json() == {
            "errors": {
                "rater": [
                    f"Row 3: {name!r} is not a valid rater name. Use letters, digits and "
                    ". _ @ + - (not as the first character), without spaces."
                ]
            }
        }
    assert User.objects.filter(is_active=False).count() == 0
    assert ImportedRating.objects.count() == 0


# --- defect 9: access survives removal --------------------------------------------------------


def _job_with_file(*, study, user) -> Job:
    return Job.objects.create(
        kind="surveys.export",
        status="succeeded",
        study=study,
        created_by=user,
        result_file=ContentFile(b"id,answer\n1,4\n", name="responses.csv"),
    )


def test_a_removed_researcher_loses_the_job_files_they_created(
    api_as, client, study, researcher, colleague
):
    job = _job_with_file(study=study, user=colleague)
    client.force_login(colleague)
    url = f"/jobs/{job.pk}/download/"
    response = client.get(url)
    assert (response.status_code, b"".join(response.streaming_content)) == (
        200, b"id,answer\n1,4\n",
    )  # fmt: skip
    removed = api_as(researcher).delete(f"/api/studies/{study.pk}/members/colin/")
    assert removed.status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert api_as(colleague).get(f"/api/jobs/{job.pk}/").status_code == 404


def test_a_removed_annotator_no_longer_streams_the_audio(client, study, researcher, annotator):
    project = emotion_project(study=study, user=researcher, k=1)
    item = Item.objects.create(
        project=project,
        external_id="clip-1",
        kind="audio",
        media=ContentFile(b"RIFF-not-really-audio", name="clip-1.wav"),
        media_type="audio/wav",
        slots_total=1,
    )
    member_add(project=project, user=annotator)
    assert assignment_next(project=project, user=annotator).item_id == item.pk
    client.force_login(annotator)
    url = f"/annotation/items/{item.pk}/media/"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    member_remove(project=project, user=annotator)
    assert client.get(url).status_code == 404


def test_a_removed_researcher_loses_exports_and_version_pages(client, study, researcher, colleague):
    from benchmarks.services import dataset_create, source_upload_create, version_build
    from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame

    dataset = dataset_create(
        study=study, user=researcher, name="D", categories=CATEGORIES, parameters={"seed": 1}
    )
    source_upload_create(dataset=dataset, file_name="v.csv", content=csv_bytes(vote_frame(6)))
    version_build(dataset=dataset, user=researcher)
    job = Job.objects.create(
        kind="benchmark_export",
        status="succeeded",
        study=study,
        created_by=colleague,
        params={"version_id": dataset.versions.get().pk},
        result_file=ContentFile(b"PK-zip", name="d.zip"),
    )
    url = f"/benchmarks/datasets/{dataset.pk}/versions/1/exports/{job.pk}/download/"
    client.force_login(colleague)
    assert client.get(url).status_code == 200
    StudyMember.objects.filter(user=colleague).delete()
    assert client.get(url).status_code == 404
    assert client.get(f"/benchmarks/datasets/{dataset.pk}/versions/1/").status_code == 404


# --- the study members page -----------------------------------------------------------------


def test_owners_invite_and_remove_members_on_the_members_page(client, study, researcher, colleague):
    UserFactory(username="ana")
    client.force_login(researcher)
    url = f"/studies/{study.pk}/members/"
    page = client.get(url).content.decode()
    assert "colin" in page and 'id="invite-form"' in page
    page = client.post(url, {"invite-username": "ana", "invite-role": "researcher"}, follow=True)
    assert "ana is invited; they become a member once they accept." in page.content.decode()
    assert StudyInvitation.objects.filter(user__username="ana", status="pending").count() == 1
    page = client.post(url, {"invite-username": "nobody", "invite-role": "researcher"})
    assert page.status_code == 303
    page = client.get(page["Location"])
    assert "No such user." in page.content.decode()
    assert 'value="nobody"' in page.content.decode()
    # Sent again, the form goes to the page's own address, not to the one with the token.
    assert f'<form method="post" action="{url}" class="card" id="invite-form">' in (
        page.content.decode()
    )
    removed = client.post(f"{url}remove/", {"username": "colin"}, follow=True)
    assert "colin is no longer a member." in removed.content.decode()
    assert not StudyMember.objects.filter(study=study, user=colleague).exists()
    last = client.post(f"{url}remove/", {"username": "rosa"}, follow=True)
    assert "The last owner of a study cannot be removed." in last.content.decode()
    assert StudyMember.objects.filter(study=study, user=researcher).exists()


def test_researchers_see_the_members_page_without_its_forms(client, study, colleague, outsider):
    client.force_login(colleague)
    url = f"/studies/{study.pk}/members/"
    page = client.get(url).content.decode()
    assert "rosa" in page and 'id="invite-form"' not in page
    assert client.post(url, {"invite-username": "otto"}).status_code == 403
    assert client.post(f"{url}remove/", {"username": "rosa"}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_pending_invitations_are_answered_from_the_home_page(client, study, researcher, annotator):
    project = emotion_project(study=study, user=researcher)
    study_invitation = StudyInvitation.objects.create(
        study=study, user=annotator, invited_by=researcher
    )
    project_invitation = ProjectInvitation.objects.create(
        project=project, user=annotator, invited_by=researcher
    )
    client.force_login(annotator)
    home = client.get("/").content.decode()
    assert f"/invitations/{study_invitation.pk}/accept/" in home
    assert f"/annotation/invitations/{project_invitation.pk}/decline/" in home
    assert (
        client.post(f"/annotation/invitations/{project_invitation.pk}/decline/").status_code == 302
    )
    response = client.post(f"/invitations/{study_invitation.pk}/accept/")
    assert response.url == f"/studies/{study.pk}/"
    assert client.get(response.url).status_code == 200
    assert not ProjectMember.objects.filter(user=annotator).exists()
    assert client.get(f"/invitations/{study_invitation.pk}/accept/").status_code == 405
    assert "/invitations/" not in client.get("/").content.decode()


def test_token_holders_use_the_invitation_api(api_client, study, researcher, annotator):
    StudyInvitation.objects.create(study=study, user=annotator, invited_by=researcher)
    token = Token.objects.create(user=annotator)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert len(api_client.get("/api/invitations/").json()) == 1


def test_invitations_are_shown_in_korean(client, study, researcher, annotator):
    project = emotion_project(study=study, user=researcher)
    StudyInvitation.objects.create(study=study, user=annotator, invited_by=researcher)
    ProjectInvitation.objects.create(project=project, user=annotator, invited_by=researcher)
    client.force_login(annotator)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "연구 초대" in home and "주석 프로젝트 초대" in home
    assert home.count(">수락</button>") == 2
    client.force_login(researcher)
    page = client.get(f"/studies/{study.pk}/members/", HTTP_ACCEPT_LANGUAGE="ko")
    assert "계정이 있는 사람 초대" in page.content.decode()
    assert "링크로 초대" in page.content.decode()
