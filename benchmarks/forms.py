from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from benchmarks import aggregation
from benchmarks.services import STRATIFY_CHOICES
from config.inputs import SEED_MAX

RULE_CHOICES = [
    ("majority", _("Majority")),
    ("plurality", _("Plurality")),
    ("all_inclusive", _("All-inclusive")),
    ("soft", _("Soft labels")),
    ("dawid_skene", _("Dawid-Skene")),
]


class DatasetForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    categories = forms.CharField(
        label=_("Categories"), help_text=_("In order, separated by commas."), max_length=2000
    )
    rules = forms.MultipleChoiceField(
        label=_("Rules"),
        choices=RULE_CHOICES,
        initial=list(aggregation.RULES),
        widget=forms.CheckboxSelectMultiple,
    )
    tie_policy = forms.ChoiceField(
        label=_("Plurality tie policy"),
        choices=[(p, p) for p in aggregation.TIE_POLICIES],
        initial="drop",
    )
    split_seed = forms.IntegerField(
        label=_("Split seed"), initial=0, min_value=0, max_value=SEED_MAX
    )
    split_stratify = forms.ChoiceField(
        label=_("Stratify splits by"),
        choices=[(c, c or _("nothing")) for c in STRATIFY_CHOICES],
        initial="plurality",
        required=False,
    )
    split_group = forms.CharField(
        label=_("Group column"),
        required=False,
        max_length=100,
        help_text=_("An item column (speaker, document...) that never straddles two splits."),
    )

    def clean_categories(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["categories"].split(",") if c.strip()]


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Vote table"), help_text=_("CSV, JSONL or Parquet with item, voter, label.")
    )
    items = forms.FileField(
        label=_("Items file"),
        required=False,
        help_text=_(
            "Optional: CSV, JSONL or Parquet with one row per item of the vote table: item, "
            "text or question, options...; metadata in columns such as meta.speaker."
        ),
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=200)


class LinkSourceForm(forms.Form):
    target = forms.ChoiceField(label=_("Survey or annotation project"))
    questions = forms.CharField(
        label=_("Questions"),
        required=False,
        max_length=2000,
        help_text=_("Survey question codes, separated by commas; empty for all."),
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        required=False,
        choices=[("primary", _("Primary")), ("secondary", _("Secondary"))],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Annotation roles to keep; none ticked keeps all."),
    )

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["target"]).choices = list(choices)

    def clean_questions(self) -> list[str]:
        return [q.strip() for q in self.cleaned_data["questions"].split(",") if q.strip()]
