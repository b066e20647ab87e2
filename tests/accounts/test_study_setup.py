"""Creating a study in pages, and invitation links (single use, new or existing accounts)."""

from __future__ import annotations

import pytest

from accounts.models import InvitationStatus, Study, StudyInvitation, StudyMember, User
from accounts.services import study_invitation_link_create
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_researcher_creates_a_study_from_the_home_page(client, researcher):
    client.force_login(researcher)
    page = client.get("/")
    assert b'id="study-create-form"' in page.content
    response = client.post("/studies/new/", {"study-name": "Trust 2027", "study-description": ""})
    study = Study.objects.get(name="Trust 2027")
    assert response.status_code == 302
    assert response["Location"] == f"/studies/{study.pk}/"
    assert StudyMember.objects.get(study=study).user == researcher
    assert StudyMember.objects.get(study=study).role == "owner"


def test_a_study_without_a_name_is_a_form_error(client, researcher):
    client.force_login(researcher)
    response = client.post("/studies/new/", {"study-name": "", "study-description": "x"})
    # Back to the home page (a GET), with the error and the description typed.
    assert response.status_code == 303
    assert response["Location"].startswith("/?form=")
    assert response["Location"].endswith("#study-create-form")
    page = client.get(response["Location"]).content.decode()
    assert "This field is required." in page
    assert "\nx</textarea>" in page
    assert Study.objects.count() == 0


def test_no_create_form_without_the_right(client, outsider):
    client.force_login(outsider)
    assert b'id="study-create-form"' not in client.get("/").content
    assert client.post("/studies/new/", {"study-name": "Mine"}).status_code == 403
    assert Study.objects.count() == 0


def test_the_owner_makes_a_link_and_sees_it_in_the_page(client, researcher, study):
    client.force_login(researcher)
    response = client.post(
        f"/studies/{study.pk}/members/",
        {"link-role": "reviewer", "link-email": "rev@example.org"},
    )
    invitation = StudyInvitation.objects.get(study=study)
    assert response.status_code == 302
    assert (invitation.role, invitation.email, invitation.user) == (
        "reviewer",
        "rev@example.org",
        None,
    )
    assert len(invitation.token) >= 40
    page = client.get(f"/studies/{study.pk}/members/").content.decode()
    assert f'value="http://testserver/join/{invitation.token}/"' in page
    assert 'data-copy="invitation-link-' in page
    # The address noted on it got the link by mail too.
    from django.core import mail

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["rev@example.org"]
    assert f"http://testserver/join/{invitation.token}/" in mail.outbox[0].body
    assert "The link was mailed to rev@example.org." in page


def test_other_members_do_not_see_the_link(client, study, researcher, colleague):
    invitation = study_invitation_link_create(study=study, role="reviewer", by=researcher)
    client.force_login(colleague)
    page = client.get(f"/studies/{study.pk}/members/").content.decode()
    assert invitation.token not in page
    assert client.post(f"/studies/{study.pk}/members/", {"link-role": "owner"}).status_code == 403
    assert StudyInvitation.objects.count() == 1


def test_signing_up_through_a_link_joins_the_study_once(client, researcher, study):
    invitation = study_invitation_link_create(study=study, role="reviewer", by=researcher)
    url = f"/join/{invitation.token}/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'id="signup-form"' in page.content
    response = client.post(
        url,
        {
            "username": "rhee",
            "email": "rhee@example.org",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/studies/{study.pk}/"
    user = User.objects.get(username="rhee")
    assert StudyMember.objects.get(study=study, user=user).role == "reviewer"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.user) == (InvitationStatus.ACCEPTED, user)
    # Logged in as the new account.
    assert client.get(f"/studies/{study.pk}/").status_code == 200
    # Used once: the link is gone for everyone.
    client.logout()
    assert client.get(url).status_code == 404
    assert client.post(url, {"username": "other"}).status_code == 404
    assert User.objects.filter(username="other").count() == 0


def test_a_weak_password_on_sign_up_is_a_form_error(client, researcher, study):
    invitation = study_invitation_link_create(study=study, by=researcher)
    response = client.post(
        f"/join/{invitation.token}/",
        {"username": "rhee", "email": "rhee@example.org", "password1": "123", "password2": "123"},
    )
    # Back to the link's page (a GET), with the error and the username, never the passwords.
    assert response.status_code == 303
    assert response["Location"].startswith(f"/join/{invitation.token}/?form=")
    page = client.get(response["Location"]).content.decode()
    assert "This password is too short" in page
    assert 'value="rhee"' in page and 'value="rhee@example.org"' in page
    assert 'value="123"' not in page
    (kept,) = client.session["refused_forms"].values()
    assert sorted(kept["data"]) == ["email", "username"]
    assert not User.objects.filter(username="rhee").exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING


def test_an_existing_account_joins_through_the_link(client, researcher, study):
    invitation = study_invitation_link_create(study=study, role="researcher", by=researcher)
    existing = UserFactory(username="kim")
    url = f"/join/{invitation.token}/"
    anonymous = client.get(url).content.decode()
    assert f'href="/accounts/login/?next={url}"' in anonymous
    client.force_login(existing)
    assert b'id="join-form"' in client.get(url).content
    response = client.post(url)
    assert response["Location"] == f"/studies/{study.pk}/"
    assert StudyMember.objects.get(study=study, user=existing).role == "researcher"
    # The new member may now create studies of their own.
    existing = User.objects.get(pk=existing.pk)
    assert existing.has_perm("accounts.can_create_studies")


def test_a_member_cannot_use_a_link_to_change_their_role(client, researcher, study, colleague):
    invitation = study_invitation_link_create(study=study, role="owner", by=researcher)
    client.force_login(colleague)
    response = client.post(f"/join/{invitation.token}/")
    assert response.status_code == 302
    assert StudyMember.objects.get(study=study, user=colleague).role == "researcher"
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING


def test_the_owner_withdraws_a_link(client, researcher, study, colleague):
    invitation = study_invitation_link_create(study=study, role="reviewer", by=researcher)
    url = f"/studies/{study.pk}/invitations/{invitation.pk}/cancel/"
    client.force_login(colleague)
    assert client.post(url).status_code == 403
    client.force_login(researcher)
    page = client.post(url, follow=True).content.decode()
    assert "The invitation is withdrawn; its link no longer works." in page
    assert not StudyInvitation.objects.filter(pk=invitation.pk).exists()
    client.logout()
    assert client.get(f"/join/{invitation.token}/").status_code == 404
    client.force_login(researcher)
    assert client.post(url).status_code == 404


def test_a_made_up_token_is_404(client):
    assert client.get("/join/" + "x" * 43 + "/").status_code == 404
    assert client.get("/join/" + "x" * 200 + "/").status_code == 404


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("chorus/favicon.svg")
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon"' in page
