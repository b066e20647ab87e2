"""Shared by the apps' admin classes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
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


def stored_file(field: str, url_name: str | None = None, *, label: str = "") -> Any:
    """An admin read-only column (a method: assign it in the ModelAdmin's class body and list its
    name in ``readonly_fields``) for the file field ``field``: its file name, linked to the
    app's own view ``url_name`` (called with the row's key), which checks access at every
    request. Never the storage's own address: on an object store that would be a link around
    the permission checks (``config.storage``). Without ``url_name``, the name alone."""

    def show(_admin: Any, obj: Any) -> str:
        stored = getattr(obj, field)
        if not stored:
            return "-"
        name = stored.name.rsplit("/", 1)[-1]
        if url_name is None:
            return name
        return format_html('<a href="{}">{}</a>', reverse(url_name, args=[obj.pk]), name)

    show.short_description = label or field.replace("_", " ")  # type: ignore[attr-defined]
    return show


def file_field_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.fields if isinstance(f, models.FileField)]


def readonly_without_files(model: type[models.Model]) -> list[str]:
    """Every field of ``model`` but its file fields (shown through ``stored_file`` instead)."""
    files = set(file_field_names(model))
    return [f.name for f in model._meta.fields if f.name not in files]


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
