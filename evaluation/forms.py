from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from evaluation.services.references import METRICS


class PredictionsForm(forms.Form):
    name = forms.CharField(label=_("Model"), max_length=200)
    version = forms.IntegerField(
        label=_("Version"), min_value=1, max_value=2_147_483_647, required=False,
        help_text=_("Leave empty for the latest version."),
    )  # fmt: skip
    file = forms.FileField(
        label=_("Predictions file"),
        help_text=_(
            "CSV or JSONL: item, and label (or option), labels, probs or p.<category> columns."
        ),
    )


class ReferenceForm(forms.Form):
    source = forms.ChoiceField(
        label=_("Pass mark"),
        choices=[
            ("set", _("A set number")),
            ("held_out_human", _("What a held-out human rater reaches")),
        ],
    )
    metric = forms.ChoiceField(label=_("Metric"), choices=[(m, m) for m in METRICS])
    value = forms.FloatField(label=_("Value"), min_value=0.0, max_value=1.0, required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("source") == "set" and data.get("value") is None:
            self.add_error("value", _("Give the pass mark."))
        return data


class EndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        help_text=_("An OpenAI-compatible chat or completions URL, e.g. …/v1/chat/completions."),
    )
    model = forms.CharField(label=_("Model name"), max_length=200)
    api_style = forms.ChoiceField(
        label=_("Kind"),
        choices=[("chat", _("Chat completions")), ("completions", _("Completions"))],
    )
    api_key = forms.CharField(
        label=_("Key"), required=False, max_length=500, widget=forms.PasswordInput,
        help_text=_("Stored encrypted and never shown again."),
    )  # fmt: skip
    api_key_env = forms.CharField(
        label=_("Or read the key from this environment variable"), required=False, max_length=100
    )
    max_concurrency = forms.IntegerField(label=_("Requests at once"), min_value=1, max_value=64,
                                         initial=4)  # fmt: skip
    timeout_seconds = forms.FloatField(label=_("Timeout (seconds)"), min_value=0.1,
                                       max_value=600, initial=30)  # fmt: skip
    max_retries = forms.IntegerField(label=_("Retries"), min_value=0, max_value=10, initial=3)
    price_input = forms.FloatField(label=_("Price per 1,000 prompt tokens"), min_value=0,
                                   max_value=1e6, initial=0)  # fmt: skip
    price_output = forms.FloatField(label=_("Price per 1,000 answer tokens"), min_value=0,
                                    max_value=1e6, initial=0)  # fmt: skip


class EndpointRunForm(forms.Form):
    endpoint = forms.ChoiceField(label=_("Endpoint"))
    version = forms.IntegerField(
        label=_("Version"), min_value=1, max_value=2_147_483_647, required=False,
        help_text=_("Leave empty for the latest version."),
    )  # fmt: skip
    name = forms.CharField(
        label=_("Run name"), max_length=200, required=False,
        help_text=_("Leave empty for the endpoint's name and model."),
    )  # fmt: skip
    language = forms.ChoiceField(
        label=_("Prompt language"), choices=[("en", "English"), ("ko", "한국어")]
    )
    prompt_template = forms.CharField(
        label=_("Prompt template"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Leave empty for the default. Placeholders: {question}, {options}, {text}, "
            "{categories}, {item}."
        ),
    )  # fmt: skip

    def __init__(self, *args, endpoints=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["endpoint"])
        field.choices = [(str(e.pk), e.name) for e in endpoints]
