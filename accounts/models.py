"""People, and the studies they own.

A :class:`Study` is the research effort behind one benchmark. Surveys, annotation projects and
datasets belong to a study, so "may this researcher see it?" has one answer, given by
:func:`accounts.access.access_study`. Annotators, experts and adjudicators are members of an
annotation project, not of the study (see ``annotation.models``). Survey participants are not
users at all: they come in through tokens.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    # Set on the accounts a ratings import creates for the raters its file names: inactive,
    # without a usable password, nobody behind them. A later import into the same study may
    # add ratings to them; an import never touches an account without this mark (a person's).
    imported_for = models.ForeignKey(
        "accounts.Study",
        verbose_name=_("imported rater of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    def __str__(self) -> str:
        return self.display_name or self.username


class Study(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by an owner when the study's work is done (``study_archive``): the home page leaves
    # it out unless asked, its pages say so, and no survey or annotation project is created in
    # it (``accounts.access.refuse_if_archived``). What exists goes on working.
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at", "id"]
        # Granted by staff in the admin, by ``manage.py createresearcher`` or by accepting an
        # invitation to a study; checked by :func:`accounts.access.may_create_studies`.
        permissions = [("can_create_studies", "Can create studies")]

    def __str__(self) -> str:
        return self.name


class StudyRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    RESEARCHER = "researcher", _("Researcher")
    # Sees the whole study and reviews survey questions; changes nothing.
    REVIEWER = "reviewer", _("Reviewer")
    # Sees the whole study; changes nothing.
    VIEWER = "viewer", _("Viewer")


# The roles that may change a study's surveys, projects and datasets.
EDITOR_ROLES = (StudyRole.OWNER, StudyRole.RESEARCHER)


class StudyMember(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships"
    )
    role = models.CharField(max_length=20, choices=StudyRole.choices, default=StudyRole.RESEARCHER)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="study_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.study} ({self.role})"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class InvitationRecord(models.Model):
    """Who invited, when, and the answer: what every kind of invitation keeps as a record."""

    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class StudyInvitation(InvitationRecord):
    """An owner asked someone to join ``study``; nothing changes until they accept.

    Two kinds: addressed to an existing ``user`` (answered on their home page), or a link
    (``token`` set, ``user`` empty until accepted) that the owner passes on; whoever opens it
    first accepts it, with an account they have or one they sign up for on the spot. A link
    works once. Accepting makes the person a member with ``role`` (and lets them create
    studies of their own); declining leaves them out. Answered invitations stay as a record.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="study_invitations",
    )
    # Whom the owner meant the link for (a note for the owner; the link is not tied to it).
    email = models.EmailField(_("email"), blank=True)
    token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    role = models.CharField(max_length=20, choices=StudyRole.choices, default=StudyRole.RESEARCHER)

    class Meta(InvitationRecord.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["study", "user"],
                condition=models.Q(status="pending"),
                name="study_invitation_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.email or 'link'} to {self.study} ({self.role}, {self.status})"
