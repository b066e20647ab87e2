"""Shared by the apps' admin classes."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html


class ShownOnlyAdmin(admin.ModelAdmin):
    """Rows that are shown here but written only by the services (records of decisions, or
    rows whose change must go through a review): every field read-only, none added by hand."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


def page_link(url_name: str, pk: int | None, text: str) -> str:
    """A link from an admin row to the page of the app that changes it."""
    if pk is None:
        return "-"
    return format_html('<a href="{}">{}</a>', reverse(url_name, args=[pk]), text)


def job_started_message(what: str, job) -> str:
    """The admin message for an export action: links to the job's page (its progress) and to
    the file it makes (served once the job is done)."""
    return format_html(
        '{} <a href="{}">job {}</a>: its file will be at <a href="{}">{}</a> once it is done.',
        what,
        reverse("jobs:detail", args=[job.pk]),
        job.pk,
        reverse("jobs:download", args=[job.pk]),
        reverse("jobs:download", args=[job.pk]),
    )
