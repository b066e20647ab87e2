"""Researchers set a project up in the browser's forms: schema, members, existing ratings."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from annotation.models import Category, ImportedRating, LabelMode, Project, ProjectMember
from tests.accounts.factories import UserFactory
from tests.annotation.factories import emotion_project, raters, text_items
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

SCHEMA = {
    "name": "Call centre emotions",
    "description": "Short calls",
    "mode": LabelMode.PRIMARY_SECONDARY,
    "categories": "anger | Anger | a | Raised voice | 'I want a refund now'\n"
    "joy\n\ncalm | Calm\nneutral | | n",
    "not_secondary": "neutral",
    "scales": "arousal | Arousal | 1 | 7",
    "raters_per_item": "5",
    "gold_rate": "0.1",
    "expert_raters_per_item": "0",
    "expert_sample_rate": "0",
    "allow_comment": "on",
    "lease_minutes": "20",
    "disagreement_rule": "no_majority",
    "guidelines": "# Listen twice",
}


def test_a_researcher_creates_a_project_with_its_schema(client, study, researcher):
    client.force_login(researcher)
    url = f"/annotation/studies/{study.pk}/new/"
    assert client.get(url).status_code == 200
    response = client.post(url, SCHEMA)
    project = Project.objects.get(name="Call centre emotions")
    assert response.status_code == 302
    assert response["Location"] == f"/annotation/projects/{project.pk}/"
    assert (project.raters_per_item, project.gold_rate, project.lease_minutes) == (5, 0.1, 20)
    assert (project.allow_comment, project.allow_evidence) == (True, False)
    assert project.scales == [
        {"key": "arousal", "name": "Arousal", "min": 1, "max": 7, "required": False}
    ]
    rows = list(
        Category.objects.filter(project=project).values_list(
            "key", "name", "keyboard_key", "description", "examples", "is_secondary_allowed"
        )
    )
    assert rows == [
        ("anger", "Anger", "a", "Raised voice", "'I want a refund now'", True),
        ("joy", "Joy", "1", "", "", True),
        ("calm", "Calm", "2", "", "", True),
        ("neutral", "Neutral", "n", "", "", False),
    ]
    assert "New annotation project" in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"categories": ""}, "categories", "This field is required."),
        ({"categories": "a | b | cc"}, "categories", "Line 1: a keyboard key is one character."),
        ({"categories": "joy\njoy"}, "categories", "Line 2: A unique key is required."),
        ({"categories": "joy | Joy | u"}, "categories", "Line 1: u, s and space are reserved."),
        ({"not_secondary": "rage"}, "not_secondary", "Unknown category key(s): rage."),
        ({"scales": "arousal | Arousal | 7"}, "scales",
         "Line 1: write key | name | lowest | highest, with whole numbers."),
        ({"scales": "arousal | Arousal | 7 | 1"}, "scales",
         "Line 1: min and max must be integers, min < max."),
        ({"raters_per_item": "0"}, "raters_per_item",
         "Ensure this value is greater than or equal to 1."),
    ],
)  # fmt: skip
def test_a_bad_schema_names_the_field_and_creates_nothing(
    client, study, researcher, change, field, message
):
    client.force_login(researcher)
    body = {**SCHEMA, "not_secondary": "", **change}
    response = post_refused(client, f"/annotation/studies/{study.pk}/new/", body)
    assert message in response.context["form"].errors[field]
    assert not Project.objects.exists()


def test_only_study_members_create_projects(client, study, annotator, outsider):
    for user, status in ((annotator, 404), (outsider, 404)):
        client.force_login(user)
        assert client.post(f"/annotation/studies/{study.pk}/new/", SCHEMA).status_code == status
    assert not Project.objects.exists()


def test_members_are_invited_from_the_dashboard_and_join_by_accepting(client, study, researcher):
    from annotation.models import ProjectInvitation

    project = emotion_project(study=study, user=researcher)
    ana = UserFactory(username="ana")
    client.force_login(researcher)
    url = f"/annotation/projects/{project.pk}/members/"
    body = {"member-username": "ana", "member-role": "expert", "member-group": "native"}
    page = client.post(url, body, follow=True).content.decode()
    assert "ana is invited; they become a member once they accept." in page
    assert not ProjectMember.objects.filter(project=project).exists()
    invitation = ProjectInvitation.objects.get(project=project, user=ana)
    assert (invitation.role, invitation.group, invitation.status) == ("expert", "native", "pending")
    page = client.post(url, {**body, "member-username": "nobody"}, follow=True)
    assert "username: No such user." in page.content.decode()
    assert ProjectInvitation.objects.filter(project=project).count() == 1
    client.force_login(ana)
    assert client.post(url, {**body, "member-username": "ana"}).status_code == 404
    assert client.post(f"/annotation/invitations/{invitation.pk}/accept/").status_code == 302
    member = ProjectMember.objects.get(project=project, user=ana)
    assert (member.role, member.group) == ("expert", "native")
    # Now a member, Ana gets a 403 on the researchers' form.
    assert client.post(url, {**body, "member-username": "ana"}).status_code == 403
    # A member's role changes without a new invitation, once the researcher confirms: the
    # page says what changes (here the group is dropped too) and changes nothing yet.
    client.force_login(researcher)
    change = {**body, "member-role": "adjudicator", "member-group": ""}
    ask = client.post(url, change)
    assert ask.status_code == 200
    text = ask.content.decode()
    assert "ana is a member of this project already, as Expert." in text
    assert "Their group native will be removed." in text
    assert (ProjectMember.objects.get(project=project, user=ana).role, "native") == (
        "expert",
        ProjectMember.objects.get(project=project, user=ana).group,
    )
    confirmed = client.post(url, {**change, "confirm": "yes"}, follow=True)
    assert "ana&#x27;s role and group are changed." in confirmed.content.decode()
    member = ProjectMember.objects.get(project=project, user=ana)
    assert (member.role, member.group) == ("adjudicator", "")
    assert ProjectInvitation.objects.filter(project=project, status="pending").count() == 0
    # The same role and group again: nothing to confirm, nothing changes.
    same = client.post(url, {**change}, follow=True)
    assert "ana is a member with this role and group already; nothing changed." in (
        same.content.decode()
    )


def test_existing_ratings_are_imported_from_the_dashboard(client, study, researcher):
    if connection.vendor != "postgresql":
        pytest.skip("COPY import needs PostgreSQL")
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    client.force_login(researcher)
    url = f"/annotation/projects/{project.pk}/ratings/"

    def post(text):
        upload = SimpleUploadedFile("r.csv", text.encode(), content_type="text/csv")
        return client.post(url, {"ratings-file": upload}, follow=True).content.decode()

    page = post("item,rater,label\nt00,x,rage\n")
    assert "label: Unknown category(ies): rage." in page
    assert "Nothing was imported." in page
    page = post("item,rater,label,role\nt00,x,joy,primary\nt00,x,fear,secondary\nt01,y,joy,\n")
    assert "Imported 3 labels in 2 answers; 0 rows were there already; 2 new raters." in page
    assert ImportedRating.objects.count() == 3
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    upload = SimpleUploadedFile("r.csv", b"item,rater,label\nt01,z,joy\n", content_type="text/csv")
    assert client.post(url, {"ratings-file": upload}).status_code == 403
    assert ImportedRating.objects.count() == 3


def test_the_annotator_table_is_shown_a_page_at_a_time(client, study, researcher):
    from annotation.views import ANNOTATORS_PER_PAGE

    project = emotion_project(study=study, user=researcher)
    raters(project, ANNOTATORS_PER_PAGE + 3, prefix="many")
    client.force_login(researcher)
    url = f"/annotation/projects/{project.pk}/"
    first = client.get(url).content.decode()
    # Two forms a row (exclude, and remove from the project), each naming the person.
    assert first.count('name="username" value="many') == 2 * ANNOTATORS_PER_PAGE
    assert f"Page 1 of 2 ({ANNOTATORS_PER_PAGE + 3} people)" in first
    second = client.get(url, {"annotators": 2}).content.decode()
    assert second.count('name="username" value="many') == 2 * 3
    assert 'value="many102"' in second and 'value="many102"' not in first
