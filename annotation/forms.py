from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from annotation.models import LabelMode, LabelRole, Project

SKIP_REASONS = [
    ("cannot-hear", _("I cannot hear or read it properly")),
    ("unsure", _("I am not sure")),
    ("unsuitable", _("Unsuitable or offensive content")),
    ("other", _("Another reason")),
]


class SkipForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=_("Reason"), choices=SKIP_REASONS)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Items (CSV or JSONL)"))
    media_zip = forms.FileField(label=_("Media (zip, optional)"), required=False)


class ExclusionForm(forms.Form):
    username = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=2000)


def labels_from_post(*, project: Project, data: Any) -> list[dict[str, str]]:
    """The label choices of the annotator form (also used by the adjudication form)."""
    if project.mode == LabelMode.MULTI_LABEL:
        return [{"category": key, "role": LabelRole.PRIMARY} for key in data.getlist("label")]
    labels = []
    primary = data.get("primary", "")
    if primary:
        labels.append({"category": primary, "role": LabelRole.PRIMARY})
    for key in data.getlist("secondary"):
        if key != primary:
            labels.append({"category": key, "role": LabelRole.SECONDARY})
    return labels


def ratings_from_post(*, project: Project, data: Any) -> dict[str, Any]:
    out = {}
    for scale in project.scales:
        value = data.get(f"rating_{scale['key']}", "")
        if value != "":
            out[scale["key"]] = value
    return out
