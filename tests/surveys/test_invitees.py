"""Fieldwork a researcher can act on: invitees with their stage, personal links (page and CSV
for a mail merge), the open link as a full address with its QR code, and refusals."""

from __future__ import annotations

import csv
import io

import pytest
import segno

from surveys import services
from surveys.models import Invitation, InvitationStatus, Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawn(survey):
    services.survey_open(survey=survey)
    services.sample_draw(survey=survey, seed=7)
    return survey


def _stages(survey):
    invitations = list(Invitation.objects.filter(survey=survey).order_by("id"))
    a, b, c, d, e = invitations[:5]
    Invitation.objects.filter(pk=a.pk).update(status=InvitationStatus.SENT)
    Invitation.objects.filter(pk=b.pk).update(status=InvitationStatus.SENT, reminders=2)
    Invitation.objects.filter(pk=c.pk).update(status=InvitationStatus.STARTED)
    Invitation.objects.filter(pk=d.pk).update(status=InvitationStatus.COMPLETED)
    Invitation.objects.filter(pk=e.pk).update(status=InvitationStatus.REFUSED)
    return invitations


def _csv(response):
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


def test_the_invitees_page_lists_stages_and_full_personal_links(client, researcher, drawn):
    invitations = _stages(drawn)
    client.force_login(researcher)
    page = client.get(f"/surveys/{drawn.pk}/invitees/").content.decode()
    total = len(invitations)
    assert total == 20
    assert f"drawn ({total - 5})" in page
    for stage in ("invited (1)", "reminded (1)", "started (1)", "finished (1)", "refused (1)"):
        assert stage in page
    first = invitations[0]
    assert f'value="http://testserver/surveys/r/{first.token}/"' in page
    assert f'data-copy="link-{first.pk}"' in page
    reminded = client.get(f"/surveys/{drawn.pk}/invitees/?stage=reminded").content.decode()
    assert invitations[1].token in reminded
    assert first.token not in reminded


def test_the_csv_has_one_row_per_invitee_with_contacts_for_owners(client, researcher, drawn):
    invitations = _stages(drawn)
    client.force_login(researcher)
    response = client.get(f"/surveys/{drawn.pk}/invitees.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(response)
    assert rows[0] == ["panelist", "stage", "link", "reminders", "sent_at", "email", "phone"]
    assert len(rows) == 1 + len(invitations)
    by_link = {row[2]: row for row in rows[1:]}
    second = invitations[1]
    row = by_link[f"http://testserver/surveys/r/{second.token}/"]
    assert row[:4] == [second.panelist.external_id, "reminded", row[2], "2"]
    assert row[5] == second.panelist.contact.email
    assert [r[1] for r in rows[1:6]] == ["invited", "reminded", "started", "finished", "refused"]
    # One stage only.
    refused = _csv(client.get(f"/surveys/{drawn.pk}/invitees.csv?stage=refused"))
    assert [r[1] for r in refused[1:]] == ["refused"]


def test_researchers_who_are_not_owners_get_no_contact_details(client, colleague, drawn):
    client.force_login(colleague)
    rows = _csv(client.get(f"/surveys/{drawn.pk}/invitees.csv"))
    assert rows[0] == ["panelist", "stage", "link", "reminders", "sent_at"]
    assert len(rows) == 21


def test_formula_like_panelist_ids_are_inert_in_the_csv(client, researcher, drawn):
    invitation = Invitation.objects.filter(survey=drawn).first()
    panelist = invitation.panelist
    panelist.external_id = "=HYPERLINK(1)"
    panelist.save(update_fields=["external_id"])
    client.force_login(researcher)
    rows = _csv(client.get(f"/surveys/{drawn.pk}/invitees.csv"))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_the_open_link_is_a_full_address_with_a_qr_code(client, researcher, open_survey):
    client.force_login(researcher)
    url = f"http://testserver/surveys/r/{open_survey.open_token}/"
    dashboard = client.get(f"/surveys/{open_survey.pk}/overview/").content.decode()
    assert f'value="{url}"' in dashboard
    page = client.get(f"/surveys/{open_survey.pk}/invitees/").content.decode()
    assert f'value="{url}"' in page
    assert f'src="/surveys/{open_survey.pk}/open-link-qr.svg"' in page
    qr = client.get(f"/surveys/{open_survey.pk}/open-link-qr.svg")
    assert qr["Content-Type"] == "image/svg+xml"
    svg = qr.content.decode()
    assert svg.startswith("<?xml") and "<svg" in svg
    # The same symbol segno makes for that address: the code holds the full URL.
    expected = io.BytesIO()
    segno.make(url, error="m").save(
        expected, kind="svg", scale=6, border=4, title=open_survey.title_en
    )
    assert qr.content == expected.getvalue()


def test_no_open_link_no_qr_on_the_page(client, researcher, survey):
    client.force_login(researcher)
    page = client.get(f"/surveys/{survey.pk}/invitees/").content.decode()
    assert "open-link-qr" not in page
    assert "Nobody is drawn yet." in page


def test_an_invitee_refuses_on_the_consent_page(client, drawn):
    invitation = Invitation.objects.filter(survey=drawn).first()
    Invitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.SENT)
    url = f"/surveys/r/{invitation.token}/"
    assert b'name="refuse"' in client.get(url).content
    page = client.post(url + "?lang=en", {"refuse": "yes"})
    assert "You will not be reminded about this survey again." in page.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REFUSED
    assert Response.objects.count() == 0
    # The link now says so, and starting is no longer offered.
    again = client.get(url).content.decode()
    assert 'name="consent"' not in again
    # Reminders skip them.
    from surveys.services.invitations import invitations_send_now

    invitations_send_now(survey=drawn, reminder=True)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.reminders) == (InvitationStatus.REFUSED, 0)


def test_the_open_link_offers_no_refusal(client, open_survey):
    services.survey_open(survey=open_survey)
    page = client.get(f"/surveys/r/{open_survey.open_token}/").content.decode()
    assert 'name="refuse"' not in page


def test_a_draft_survey_says_not_open_yet(client, study):
    survey = services.survey_create(study=study, title_en="Later", open_link_enabled=True)
    assert survey.status == "draft"
    page = client.get(f"/surveys/r/{survey.open_token}/?lang=en").content.decode()
    assert "This survey is not open yet" in page
    assert "closed" not in page.split("<main")[1]


def test_a_draft_survey_dashboard_says_what_to_do_next(client, researcher, study):
    survey = services.survey_create(study=study, title_en="Later")
    block = services.block_create(survey=survey, title_en="All")
    services.question_create(
        block=block,
        code="q1",
        kind="single",
        text_en="Yes?",
        options=[("y", "Yes", "예"), ("n", "No", "아니요")],
    )
    client.force_login(researcher)
    page = client.get(f"/surveys/{survey.pk}/").content.decode()
    assert 'id="draft-next-steps"' in page
    page = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    assert "No answers to this question yet." in page
    assert "n = 0" not in page
