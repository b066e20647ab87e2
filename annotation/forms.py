from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from annotation.models import (
    DisagreementRule,
    LabelMode,
    LabelRole,
    MemberRole,
    Project,
    default_media_max_bytes,
    default_media_max_seconds,
)
from config.inputs import BIGINT_MAX, INT_MAX, SEED_MAX

SKIP_REASONS = [
    ("cannot-hear", _("I cannot hear or read it properly")),
    ("unsure", _("I am not sure")),
    ("unsuitable", _("Unsuitable or offensive content")),
    ("other", _("Another reason")),
]


class SkipForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=BIGINT_MAX)
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


# What the settings page and the new-project page show alike, in their order.
_WORK_FIELDS = ("lease_minutes", "disagreement_rule", "allow_comment", "allow_evidence")
_LAST_SECTIONS = (
    (_("Media limits"), ("media_max_bytes", "media_max_seconds")),
    (_("Guidelines"), ("guidelines",)),
)


class ProjectSettingsForm(forms.Form):
    """What can change on a running project (``services.PROJECT_SETTINGS``)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    raters_per_item = forms.IntegerField(
        label=_("Raters per item (k)"), min_value=1, max_value=100, initial=3
    )
    gold_rate = forms.FloatField(
        label=_("Share of gold items served"), min_value=0, max_value=1, initial=0
    )
    allow_comment = forms.BooleanField(label=_("Comments allowed"), required=False, initial=True)
    allow_evidence = forms.BooleanField(label=_("Evidence span allowed"), required=False)
    lease_minutes = forms.IntegerField(
        label=_("Lease in minutes"), min_value=1, max_value=1440, initial=15
    )
    disagreement_rule = forms.ChoiceField(
        label=_("Send to adjudication when"), choices=DisagreementRule.choices
    )
    guidelines = forms.CharField(
        label=_("Guidelines (Markdown)"), widget=forms.Textarea(attrs={"rows": 8}), required=False
    )
    media_max_bytes = forms.IntegerField(
        label=_("Largest media file (bytes)"),
        min_value=1,
        max_value=BIGINT_MAX,
        required=False,
        initial=default_media_max_bytes,
        help_text=_("An imported audio file that unpacks to more is refused, with its row."),
    )
    media_max_seconds = forms.IntegerField(
        label=_("Longest media file (seconds)"),
        min_value=1,
        max_value=INT_MAX,
        required=False,
        initial=default_media_max_seconds,
        help_text=_("An imported audio file that lasts longer is refused, with its row."),
    )

    SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
        (_("Project"), ("name", "description")),
        (_("Assignment and quality"), ("raters_per_item", "gold_rate", *_WORK_FIELDS)),
        *_LAST_SECTIONS,
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        # A media limit left empty stays as it is (or takes the site's default when new).
        for name in ("media_max_bytes", "media_max_seconds"):
            if data.get(name) is None:
                data.pop(name, None)
        return data

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields in titled groups, for a form page with one fieldset per group."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    @classmethod
    def initial_for(cls, project: Project) -> dict[str, Any]:
        return {name: getattr(project, name) for name in cls.base_fields}


class ExpertSampleForm(forms.Form):
    """The experts' overlap and the stratified sample of items they rate."""

    experts_per_item = forms.IntegerField(
        label=_("Experts per sampled item"), min_value=0, max_value=20
    )
    sample_rate = forms.FloatField(label=_("Share of items experts see"), min_value=0, max_value=1)
    stratify_by = forms.ChoiceField(label=_("Stratify by"), required=False)
    seed = forms.IntegerField(
        label=_("Seed"),
        initial=0,
        min_value=0,
        max_value=SEED_MAX,
        help_text=_("The same seed draws the same sample."),
    )

    def __init__(self, *args: Any, keys: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["stratify_by"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("No strata (one sample over all items)"))] + [
            (key, key) for key in keys
        ]


class CategoryRowForm(forms.Form):
    """One category of the codebook editor; rows left empty are ignored."""

    key = forms.SlugField(label=_("Key"), max_length=64, required=False)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    keyboard_key = forms.CharField(label=_("Keyboard key"), max_length=1, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    examples = forms.CharField(
        label=_("Boundary examples"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


# can_order: each row gets an "Order" number; the codebook is saved in that order.
CategoryFormSet = forms.formset_factory(CategoryRowForm, extra=2, can_order=True)


def category_rows(project: Project) -> list[dict[str, Any]]:
    """The codebook editor's initial rows: the project's categories in order."""
    return [
        {
            "key": c.key,
            "name": c.name,
            "keyboard_key": c.keyboard_key,
            "description": c.description,
            "examples": c.examples,
        }
        for c in project.categories.order_by("order", "id")
    ]


class ProjectForm(ProjectSettingsForm):
    """A new project: settings plus the label schema written one category per line."""

    mode = forms.ChoiceField(label=_("Labels per answer"), choices=LabelMode.choices)
    categories = forms.CharField(
        label=_("Categories"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "One per line: key | name | keyboard key | description | examples. Only the key is "
            "needed; keys default to 1-9 and 0 in order. Multi-label schemas get a 'none of "
            "these' category."
        ),
    )
    not_secondary = forms.CharField(
        label=_("Categories that may not be secondary"),
        required=False,
        help_text=_("Keys, separated by commas (primary + secondary mode)."),
    )
    scales = forms.CharField(
        label=_("Rating scales"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("One per line: key | name | lowest | highest, e.g. arousal | Arousal | 1 | 7."),
    )
    expert_raters_per_item = forms.IntegerField(
        label=_("Experts per sampled item"), min_value=0, max_value=20, initial=0
    )
    expert_sample_rate = forms.FloatField(
        label=_("Share of items experts see"), min_value=0, max_value=1, initial=0
    )

    SECTIONS = (
        (_("Project"), ("name", "description", "mode")),
        (_("Label schema"), ("categories", "not_secondary", "scales")),
        (
            _("Assignment and quality"),
            (
                "raters_per_item",
                "gold_rate",
                "expert_raters_per_item",
                "expert_sample_rate",
                *_WORK_FIELDS,
            ),
        ),
        *_LAST_SECTIONS,
    )

    def clean_categories(self) -> list[dict[str, Any]]:
        specs = []
        for number, line in enumerate(self.cleaned_data["categories"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) > 5:
                raise forms.ValidationError(
                    _("Line %(n)d: at most five parts separated by |.") % {"n": number}
                )
            key, name, keyboard, description, examples = parts + [""] * (5 - len(parts))
            if not key:
                raise forms.ValidationError(_("Line %(n)d: the key is missing.") % {"n": number})
            if len(keyboard) > 1:
                raise forms.ValidationError(
                    _("Line %(n)d: a keyboard key is one character.") % {"n": number}
                )
            specs.append(
                {
                    "key": key,
                    "name": name or key.replace("-", " ").title(),
                    "keyboard_key": keyboard,
                    "description": description,
                    "examples": examples,
                }
            )
        if not specs:
            raise forms.ValidationError(_("At least one category is required."))
        return specs

    def clean_scales(self) -> list[dict[str, Any]]:
        scales = []
        for number, line in enumerate(self.cleaned_data["scales"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            try:
                key, name, low, high = parts
                scales.append({"key": key, "name": name, "min": int(low), "max": int(high)})
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(n)d: write key | name | lowest | highest, with whole numbers.")
                    % {"n": number}
                ) from None
        return scales

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        specs = data.get("categories")
        if isinstance(specs, list):
            keys = {s["key"] for s in specs}
            blocked = [k.strip() for k in data.get("not_secondary", "").split(",") if k.strip()]
            unknown = [k for k in blocked if k not in keys]
            if unknown:
                self.add_error(
                    "not_secondary", _("Unknown category key(s): %s.") % ", ".join(unknown)
                )
            for spec in specs:
                spec["is_secondary_allowed"] = spec["key"] not in blocked
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("not_secondary", None)
        return data


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices)
    group = forms.CharField(label=_("Group"), max_length=100, required=False)


class RatingsImportForm(forms.Form):
    file = forms.FileField(label=_("Ratings (CSV)"))


class VotesExportForm(forms.Form):
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("csv", _("CSV (spreadsheets)")), ("parquet", _("Parquet (pandas, Arrow, R)"))],
    )
    raw = forms.BooleanField(label=_("raw (formulas not escaped)"), required=False)
