"""An import of another tool's export: what was read, from which tool, and what it became."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Tool(models.TextChoices):
    LABEL_STUDIO = "label-studio", "Label Studio"
    DOCCANO = "doccano", "doccano"
    ARGILLA = "argilla", "Argilla"
    POTATO = "potato", "POTATO"
    PRODIGY = "prodigy", "Prodigy"


class LabelImport(models.Model):
    """One file (or zip of files) exported by another tool, kept as it came.

    The import becomes a new annotation project of the study (items, imported ratings and
    categories), so every page, rule, agreement report and export reads it like a project run
    here. The raw export stays in ``source_file``: every record the parsers left out or read
    lossily (regions, free text, drafts, model suggestions) can be read there again.
    """

    study = models.ForeignKey("accounts.Study", on_delete=models.CASCADE, related_name="+")
    tool = models.CharField(_("tool"), max_length=20, choices=Tool.choices)
    name = models.CharField(_("project name"), max_length=200)
    field = models.CharField(_("question or control"), max_length=200, blank=True)
    source_file = models.FileField(upload_to="interop/%Y/%m/")
    source_name = models.CharField(max_length=255)
    project = models.ForeignKey(
        "annotation.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The model suggestions (Label Studio predictions, Argilla and Prodigy suggestions) the
    # export carried: kept apart from the votes, as CSV (item, field, agent, label, score).
    suggestions_file = models.FileField(upload_to="interop/%Y/%m/", blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_tool_display()}: {self.source_name}"
