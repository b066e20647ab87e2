"""Fieldwork from the survey's dashboard: draw the sample with a seed, send the invitations
and reminders as jobs, draw replacements for those who have not answered. Each refusal is a
message naming the problem, with nothing drawn or sent."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from jobs.models import Job, JobStatus
from surveys.models import Draw, Invitation, InvitationStatus, Survey, SurveyStatus
from tests.surveys import factories

pytestmark = pytest.mark.django_db


def flash(response) -> str:
    """The newest message (earlier ones wait, unread, since redirects are not followed)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def url(survey, name: str, kind: str) -> str:
    return reverse(f"surveys:{name}", args=[survey.pk, kind])


@pytest.fixture
def draft(study, design, colleague):
    return factories.make_survey(study, design, approve=False)


def test_draw_send_remind_and_replace_from_the_dashboard(
    client, researcher, draft, colleague, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    dashboard = reverse("surveys:dashboard_section", args=[draft.pk, "fieldwork"])
    html = client.get(dashboard).text
    assert "Draw the sample" in html and "Send reminders" not in html

    drawn = client.post(url(draft, "sample_draw", "initial"), {"seed": "11"})
    assert drawn["Location"].endswith("#fieldwork")
    assert flash(drawn) == "20 people drawn with seed 11; their invitations are ready to send."
    assert Invitation.objects.filter(status=InvitationStatus.PENDING).count() == 20
    again = client.post(url(draft, "sample_draw", "initial"), {"seed": "12"})
    assert flash(again) == "This survey's sample is already drawn."
    bad_seed = client.post(url(draft, "sample_draw", "initial"), {"seed": "x"})
    assert flash(bad_seed) == "Give a whole number from 0 to 4294967295 as the seed."
    assert Draw.objects.count() == 1

    # A draft survey sends nothing.
    early = client.post(url(draft, "invitations_send", "invitations"))
    assert flash(early) == "Open the survey before sending invitations."
    assert (Job.objects.count(), len(mailoutbox)) == (0, 0)
    html = client.get(dashboard).text
    assert "Invitations go out once the survey is open." in html

    factories.approve_all(draft, colleague)
    from surveys.services import survey_open

    survey_open(survey=draft)
    assert "Send 20 invitations" in client.get(dashboard).text
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url(draft, "invitations_send", "invitations"))
    assert sent.status_code == 302
    job = Job.objects.get(kind="surveys.invitations")
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"sent": 20, "skipped": 0})
    assert len(mailoutbox) == 20
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(draft, "invitations_send", "reminders"))
    assert Job.objects.get(kind="surveys.reminders").result == {"sent": 20, "skipped": 0}

    replaced = client.post(url(draft, "sample_draw", "replacement"), {"seed": "2"})
    # One replacement per non-respondent, as far as each cell has panel people left.
    extra = Draw.objects.get(kind="replacement").size
    assert 0 < extra <= 20
    assert (
        flash(replaced) == f"{extra} people drawn with seed 2; their invitations are ready to send."
    )
    assert Invitation.objects.count() == 20 + extra
    html = client.get(dashboard).text
    assert "<td>Initial</td>" in html and "<td>Replacement</td>" in html
    assert client.post(url(draft, "sample_draw", "sideways"), {"seed": "1"}).status_code == 404


def test_fieldwork_needs_a_panel_and_a_member(client, researcher, outsider, study):
    from surveys.services import survey_create

    survey = survey_create(study=study, title_en="Open link only")
    client.force_login(researcher)
    html = client.get(reverse("surveys:dashboard_section", args=[survey.pk, "fieldwork"])).text
    assert 'id="fieldwork"' not in html
    refused = client.post(url(survey, "sample_draw", "initial"), {"seed": "1"})
    assert flash(refused) == "The survey needs a sample design with a panel."
    client.force_login(outsider)
    assert client.post(url(survey, "sample_draw", "initial"), {"seed": "1"}).status_code == 404
    assert client.post(url(survey, "invitations_send", "invitations")).status_code == 404
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.DRAFT


def test_the_command_and_a_queued_job_do_not_send_for_a_closed_survey(
    survey, researcher, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from surveys.services import invitations_send, sample_draw, survey_close

    sample_draw(survey=survey, seed=11)
    # Queued while open, run after the survey closed: the job fails and sends nothing.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = invitations_send(survey=survey, user=researcher)
    survey_close(survey=survey)
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "Open the survey before sending invitations."
    with pytest.raises(CommandError, match="Open the survey"):
        call_command("send_invitations", "--survey", str(survey.pk))
    assert len(mailoutbox) == 0
    assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 0
