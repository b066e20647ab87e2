"""Invitation and reminder emails go out through Celery tasks that report on job rows."""

from __future__ import annotations

import time

import pytest

from jobs.models import Job, JobStatus
from surveys.models import Invitation, InvitationStatus, PanelistContact
from surveys.services import invitations_send, response_start, sample_draw


@pytest.mark.django_db
def test_invitations_then_reminders(
    survey, researcher, mailoutbox, django_capture_on_commit_callbacks
):
    draw = sample_draw(survey=survey, seed=11)
    no_email = draw.invitations.first()
    PanelistContact.objects.filter(panelist=no_email.panelist).update(email="")
    with django_capture_on_commit_callbacks(execute=True):
        job = invitations_send(survey=survey, user=researcher)
    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"sent": 19, "skipped": 1})
    assert len(mailoutbox) == 19
    invitation = Invitation.objects.exclude(pk=no_email.pk).order_by("id").first()
    message = next(m for m in mailoutbox if m.to == [invitation.panelist.contact.email])
    assert f"/surveys/r/{invitation.token}/" in message.body
    assert message.subject == "Values / 가치관 조사"
    assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 19
    # Sending again sends nothing new (idempotent).
    with django_capture_on_commit_callbacks(execute=True):
        again = invitations_send(survey=survey, user=researcher)
    again.refresh_from_db()
    assert again.result == {"sent": 0, "skipped": 1}
    # Reminders skip those who started.
    response_start(survey=survey, invitation=invitation)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reminder = invitations_send(survey=survey, user=researcher, reminder=True)
    reminder.refresh_from_db()
    assert reminder.result == {"sent": 18, "skipped": 0}
    assert all(m.subject.startswith("Reminder: Values") for m in mailoutbox)
    assert Invitation.objects.filter(reminders=1).count() == 18


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_invitations(celery_worker, survey, researcher):
    sample_draw(survey=survey, seed=11)
    job = invitations_send(survey=survey, user=researcher)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.2)
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"sent": 20, "skipped": 0})
    assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 20
    assert Job.objects.count() == 1
