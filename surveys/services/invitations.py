"""Invitation and reminder emails, sent by a Celery task (a job row shows the progress)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from jobs.messages import JobMessage
from jobs.models import Job
from jobs.services import ProgressFn, job_start
from surveys.models import Invitation, InvitationStatus, Survey, SurveyStatus

MAX_REMINDERS = 3


def participant_link(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("surveys:participant", args=[token])


def _message(survey: Survey, invitation: Invitation, reminder: bool) -> tuple[str, str]:
    link = participant_link(invitation.token)
    if reminder:
        subject = f"Reminder: {survey.title_en} / 알림: {survey.title('ko')}"
        opening = "We have not heard from you yet. / 아직 응답하지 않으셨습니다."
    else:
        subject = f"{survey.title_en} / {survey.title('ko')}"
        opening = "You are invited to take part in a survey. / 설문조사에 초대합니다."
    body = f"{opening}\n\n{link}\n\nThis link is personal. / 이 링크는 본인 전용입니다.\n"
    return subject, body


def _check_open(survey: Survey) -> None:
    if survey.status != SurveyStatus.OPEN:
        raise ValidationError({"survey": [_("Open the survey before sending invitations.")]})


def invitations_send(*, survey: Survey, user, reminder: bool = False) -> Job:
    """Queue the sending of invitations (or reminders) for ``survey``; returns the job.

    Only an open survey sends: a link to a survey that is not open yet would show its
    participants a closed page. ``BackgroundUnavailable`` when the broker is down (see
    ``job_start``; no job remains)."""
    from surveys.tasks import send_invitations_task

    _check_open(survey)
    return job_start(
        kind="surveys.reminders" if reminder else "surveys.invitations",
        task=send_invitations_task,
        user=user,
        study=survey.study,
        params={"survey_id": survey.pk, "reminder": reminder},
    )


def invitations_send_now(
    *, survey: Survey, reminder: bool = False, progress: ProgressFn | None = None
) -> dict[str, int]:
    """Send the emails. Invitations go to those not yet sent; reminders to those invited who
    have not started (at most ``MAX_REMINDERS`` each). Each invitation is marked right after
    its email leaves, so a retried task does not send it twice."""
    survey.refresh_from_db(fields=["status"])
    _check_open(survey)  # closed since the job was queued, or sent from the command
    if reminder:
        qs = Invitation.objects.filter(
            survey=survey, status=InvitationStatus.SENT, reminders__lt=MAX_REMINDERS
        )
    else:
        qs = Invitation.objects.filter(survey=survey, status=InvitationStatus.PENDING)
    qs = qs.select_related("panelist__contact").order_by("id")
    todo = list(qs)
    sent = skipped = 0
    # One backend (one SMTP connection) for the whole batch.
    with mailers.default as backend:
        for i, invitation in enumerate(todo, start=1):
            contact = getattr(invitation.panelist, "contact", None)
            if contact is None or not contact.email:
                skipped += 1
                continue
            subject, body = _message(survey, invitation, reminder)
            message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [contact.email])
            backend.send_messages([message])
            now = timezone.now()
            if reminder:
                Invitation.objects.filter(pk=invitation.pk).update(
                    reminders=invitation.reminders + 1, reminded_at=now
                )
            else:
                Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.PENDING).update(
                    status=InvitationStatus.SENT, sent_at=now
                )
            sent += 1
            if progress and i % 50 == 0:
                progress(
                    round(99 * i / len(todo)),
                    JobMessage(
                        gettext_noop("%(done)s of %(total)s done"), {"done": i, "total": len(todo)}
                    ),
                )
    return {"sent": sent, "skipped": skipped}


@transaction.atomic
def invitation_refuse(*, invitation: Invitation) -> bool:
    """The invitee declines on the consent page: no reminder goes to them any more. Only an
    invitation nobody started moves (conditional update); True if it moved."""
    refused = Invitation.objects.filter(
        pk=invitation.pk, status__in=[InvitationStatus.PENDING, InvitationStatus.SENT]
    ).update(status=InvitationStatus.REFUSED)
    return refused == 1
