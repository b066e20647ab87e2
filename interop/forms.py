from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from interop.models import Tool
from interop.writers import WRITERS


class ImportForm(forms.Form):
    study: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, label=_("Study"))
    tool = forms.ChoiceField(choices=Tool.choices, label=_("Tool"))
    file = forms.FileField(
        label=_("Export file"),
        help_text=_(
            "The file the tool exported (JSON, JSON Lines, CSV or Parquet), or a zip of "
            "several (doccano's per-user files, POTATO's annotation_output folder)."
        ),
    )
    name = forms.CharField(
        max_length=200,
        label=_("Project name"),
        help_text=_("The labels become a new annotation project of the study with this name."),
    )
    field = forms.CharField(
        max_length=200,
        required=False,
        label=_("Question or control"),
        help_text=_(
            "Only when the export has several questions: the one whose labels to import "
            "(Label Studio's from_name, Argilla's question, POTATO's schema, Prodigy's label). "
            "Label Studio's JSON_MIN and CSV exports always need it."
        ),
    )

    def __init__(self, *args, studies, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = studies  # type: ignore[attr-defined]


class ExportForm(forms.Form):
    project = forms.ChoiceField(label=_("Annotation project"))
    tool = forms.ChoiceField(
        label=_("Format"), choices=[(t, dict(Tool.choices)[t]) for t in WRITERS]
    )

    def __init__(self, *args, projects: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = projects  # type: ignore[attr-defined]
