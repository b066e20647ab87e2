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

    def __str__(self) -> str:
        return self.display_name or self.username


class Study(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.name


class StudyRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    RESEARCHER = "researcher", _("Researcher")


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
