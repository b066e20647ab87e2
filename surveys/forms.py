"""Forms of the researcher pages: question review, the questionnaire editor and the study's
setup page (populations, panels, sample designs and surveys)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Study
from config.inputs import NUMBER_LIMIT_MAX, SEED_MAX
from surveys.models import (
    Allocation,
    Block,
    Panel,
    Population,
    Question,
    QuestionKind,
    ReviewDecision,
    SampleDesign,
    Survey,
    WeightingMethod,
)
from surveys.services import N_MAX, SIZE_BOUNDS, SIZE_DEFAULTS, TRIM_MAX, TRIM_MIN

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=ReviewDecision.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def _choices(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


class PopulationImportForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    file = forms.FileField(
        label=_("Census counts (CSV)"),
        help_text=_(
            "One column per stratification variable and a 'count' column, one row per cell, "
            "e.g. region,gender,count."
        ),
    )


def _size_field(name: str, label: Any, help_text: Any = "") -> forms.FloatField:
    """A sample-size parameter, bounded and defaulted as the sample-size service has it."""
    return forms.FloatField(
        label=label,
        required=False,
        initial=SIZE_DEFAULTS.get(name),
        min_value=SIZE_BOUNDS[name][0],
        max_value=SIZE_BOUNDS[name][1],
        help_text=help_text,
    )


class PanelImportForm(forms.Form):
    population = forms.ModelChoiceField(label=_("Population"), queryset=Population.objects.none())
    name = forms.CharField(
        label=_("Panel name"),
        max_length=200,
        help_text=_(
            "A panel of this population with this name is updated (by external_id); "
            "otherwise a new panel is created."
        ),
    )
    file = forms.FileField(
        label=_("Panelists (CSV)"),
        help_text=_(
            "Columns external_id, one per stratification variable of the population, and "
            "optionally email and phone."
        ),
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "population").queryset = Population.objects.filter(study=study)


def parse_sd(text: str) -> dict[str, float]:
    """``Seoul|F = 0.4`` per line into ``{"Seoul|F": 0.4}``."""
    sd: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.rpartition("=")
        key = key.strip()
        try:
            number_value = float(value)
        except ValueError:
            number_value = -1.0
        if not sep or not key or not number_value >= 0 or not math.isfinite(number_value):
            raise forms.ValidationError(
                _("Line %(n)d: write a cell and its standard deviation, e.g. Seoul|F = 0.4.")
                % {"n": number}
            )
        if key in sd:
            raise forms.ValidationError(
                _("Line %(n)d: the cell %(cell)s is given twice.") % {"n": number, "cell": key}
            )
        sd[key] = number_value
    return sd


class DesignForm(forms.Form):
    """A sample design: ``n``, or a margin of error (and the rest of Cochran's inputs)."""

    population = forms.ModelChoiceField(label=_("Population"), queryset=Population.objects.none())
    panel = forms.ModelChoiceField(
        label=_("Panel (optional)"),
        queryset=Panel.objects.none(),
        required=False,
        empty_label=_("No panel (capped by census counts)"),
        help_text=_("Quotas never exceed the panel's people in a cell."),
    )
    name = forms.CharField(label=_("Name"), max_length=200, initial=_("Sample design"))
    n = forms.IntegerField(
        label=_("Sample size (n)"),
        min_value=1,
        max_value=N_MAX,
        required=False,
        help_text=_("Give n, or a margin of error to compute it."),
    )
    margin = _size_field(
        "margin", _("Margin of error"), help_text=_("A proportion, e.g. 0.03 for ±3 points.")
    )
    confidence = _size_field("confidence", _("Confidence level"))
    p = _size_field("p", _("Expected proportion (p)"))
    deff = _size_field("deff", _("Design effect"))
    response_rate = _size_field("response_rate", _("Expected response rate"))
    fpc = forms.BooleanField(label=_("Finite population correction"), required=False, initial=True)
    allocation = forms.ChoiceField(
        label=_("Allocation"), choices=Allocation.choices, initial=Allocation.PROPORTIONAL
    )
    minimum = forms.IntegerField(
        label=_("Minimum per cell"),
        min_value=0,
        max_value=N_MAX,
        required=False,
        initial=1,
        help_text=_("For the allocation 'minimum per cell, then proportional'."),
    )
    sd = forms.CharField(
        label=_("Standard deviation per cell"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For Neyman allocation: one cell per line, e.g. Seoul|F = 0.4."),
    )

    SECTIONS = (
        (_("Population and panel"), ("population", "panel", "name")),
        (_("Sample size"), ("n", "margin", "confidence", "p", "deff", "response_rate", "fpc")),
        (_("Allocation to cells"), ("allocation", "minimum", "sd")),
    )

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The fields in titled groups, for one fieldset per group."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "population").queryset = Population.objects.filter(study=study)
        _choices(self, "panel").queryset = Panel.objects.filter(study=study).select_related(
            "population"
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        population, panel = data.get("population"), data.get("panel")
        if population is not None and panel is not None and panel.population_id != population.pk:
            self.add_error("panel", _("The panel is drawn from another population."))
        n, margin = data.get("n"), data.get("margin")
        if n is None and margin is None and not {"n", "margin"} & set(self.errors):
            self.add_error("n", _("Give n, or a margin of error to compute it."))
        elif n is not None and margin is not None:
            self.add_error("n", _("Give n or a margin of error, not both."))
        size: dict[str, Any] = {}
        if margin is not None:
            size = {"margin": margin}
            for name, default in SIZE_DEFAULTS.items():
                size[name] = default if data.get(name) is None else data[name]
            size["fpc"] = bool(data.get("fpc"))
        data["size_parameters"] = size
        allocation = data.get("allocation")
        parameters: dict[str, Any] = {}
        if allocation == Allocation.MINIMUM:
            if data.get("minimum") is None:
                if "minimum" not in self.errors:
                    self.add_error("minimum", _("Give the minimum number of people per cell."))
            else:
                parameters = {"minimum": data["minimum"]}
        elif allocation == Allocation.NEYMAN and "sd" not in self.errors:
            try:
                sd = parse_sd(data.get("sd", ""))
            except forms.ValidationError as exc:
                self.add_error("sd", exc)
            else:
                if not sd:
                    self.add_error(
                        "sd", _("Neyman allocation needs a standard deviation per cell.")
                    )
                elif population is not None:
                    self._check_cells(sd, population)
                parameters = {"sd": sd}
        data["parameters"] = parameters
        return data

    def _check_cells(self, sd: dict[str, float], population: Population) -> None:
        keys = list(population.cells.values_list("key", flat=True))
        unknown = [k for k in sd if k not in keys]
        missing = [k for k in keys if k not in sd]
        if unknown:
            self.add_error(
                "sd", _("Not cells of the population: %(cells)s.") % {"cells": ", ".join(unknown)}
            )
        if missing:
            self.add_error(
                "sd", _("Cells without a value: %(cells)s.") % {"cells": ", ".join(missing)}
            )


class SurveyTextsForm(forms.Form):
    """What the new-survey form and the survey settings share: titles, consent, presentation."""

    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    title_ko = forms.CharField(label=_("Title (Korean)"), max_length=200, required=False)
    open_link_enabled = forms.BooleanField(label=_("Open link"), required=False)
    intro_en = forms.CharField(
        label=_("Consent text (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown before the first question; participants agree to it to start."),
    )
    intro_ko = forms.CharField(
        label=_("Consent text (Korean)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    randomize_questions = forms.BooleanField(
        label=_("Shuffle the questions within each block"), required=False
    )
    randomize_options = forms.BooleanField(
        label=_("Shuffle the options of choice questions"), required=False
    )


class SurveyForm(SurveyTextsForm):
    design = forms.ModelChoiceField(
        label=_("Sample design"),
        queryset=SampleDesign.objects.none(),
        required=False,
        empty_label=_("No sample design (open link only)"),
    )
    field_order = ["title_en", "title_ko", "design"]

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "design").queryset = SampleDesign.objects.filter(study=study)


def parse_options(text: str) -> list[tuple[str, str, str]]:
    """One option per line: ``code | English | Korean`` (the Korean text may be left out)."""
    options = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise forms.ValidationError(
                _("Line %(n)d: write code | English text | Korean text.") % {"n": n}
            )
        if not _SLUG.fullmatch(parts[0]):
            raise forms.ValidationError(
                _("Line %(n)d: the code %(code)r may use letters, digits, - and _ only.")
                % {"n": n, "code": parts[0]}
            )
        options.append((parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    return options


class QuestionFields(forms.Form):
    """What can change on a draft question (the editor's edit form)."""

    text_en = forms.CharField(
        label=_("Question (English)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    text_ko = forms.CharField(
        label=_("Question (Korean)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    options = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Choice and scale questions: one option per line, "
            "code | English | Korean (e.g. yes | Yes | 예)."
        ),
    )
    required = forms.BooleanField(label=_("Answer required"), required=False, initial=True)
    min_value = forms.FloatField(
        label=_("Lowest number allowed"),
        required=False,
        min_value=-NUMBER_LIMIT_MAX,
        max_value=NUMBER_LIMIT_MAX,
    )
    max_value = forms.FloatField(
        label=_("Highest number allowed"),
        required=False,
        min_value=-NUMBER_LIMIT_MAX,
        max_value=NUMBER_LIMIT_MAX,
    )
    is_attention_check = forms.BooleanField(label=_("Attention check"), required=False)
    expected_option = forms.CharField(
        label=_("Expected option (attention check)"), max_length=60, required=False
    )
    answer_key = forms.CharField(
        label=_("Correct option (knowledge question)"), max_length=60, required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=100, required=False)
    required_approvals = forms.IntegerField(
        label=_("Approvals needed"), min_value=1, max_value=10, initial=1, required=False
    )

    def clean_required_approvals(self) -> int:
        return self.cleaned_data["required_approvals"] or 1

    def clean_options(self) -> list[tuple[str, str, str]]:
        return parse_options(self.cleaned_data["options"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        low, high = data.get("min_value"), data.get("max_value")
        if low is not None and high is not None and low > high:
            self.add_error("max_value", _("The highest number is below the lowest."))
        return data

    @staticmethod
    def initial_for(question: Question) -> dict[str, Any]:
        names = [
            "text_en", "text_ko", "required", "min_value", "max_value", "is_attention_check",
            "expected_option", "answer_key", "subject", "required_approvals",
        ]  # fmt: skip
        initial = {name: getattr(question, name) for name in names}
        initial["options"] = "\n".join(
            " | ".join(filter(None, (o.code, o.text_en, o.text_ko))) for o in question.options.all()
        )
        return initial


class QuestionForm(QuestionFields):
    """A new question, in an existing block or a new one."""

    block = forms.ChoiceField(label=_("Block"), required=False)
    block_title_en = forms.CharField(
        label=_("New block title (English)"), max_length=200, required=False
    )
    block_title_ko = forms.CharField(
        label=_("New block title (Korean)"), max_length=200, required=False
    )
    code = forms.SlugField(
        label=_("Code"), max_length=60, help_text=_("Short and unique in the survey, e.g. q1.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices)
    field_order = ["block", "block_title_en", "block_title_ko", "code", "kind"]

    def __init__(self, *args: Any, survey: Survey, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        blocks = Block.objects.filter(survey=survey).order_by("order", "id")
        choices: list[tuple[str, StrOrPromise]] = [("", _("A new block"))]
        for block in blocks:
            title = block.title_en or _("Block %(n)d") % {"n": block.order + 1}
            choices.append((str(block.pk), title))
        field = cast(forms.ChoiceField, self.fields["block"])
        field.choices = choices
        if blocks:
            field.initial = str(blocks.last().pk)  # type: ignore[union-attr]


class SurveySettingsForm(SurveyTextsForm):
    """A survey's titles, consent text and presentation (``services.survey_update``)."""

    languages = forms.MultipleChoiceField(
        label=_("Languages offered"),
        choices=[("ko", _("Korean")), ("en", _("English"))],
        widget=forms.CheckboxSelectMultiple,
    )
    reservation_minutes = forms.IntegerField(
        label=_("Minutes a started participant holds a quota place"),
        min_value=1,
        max_value=7 * 24 * 60,
    )

    @classmethod
    def initial_for(cls, survey: Survey) -> dict[str, Any]:
        return {name: getattr(survey, name) for name in cls.base_fields}


class DrawForm(forms.Form):
    seed = forms.IntegerField(
        label=_("Seed"),
        initial=1,
        min_value=0,
        max_value=SEED_MAX,
        help_text=_("The same seed draws the same people."),
    )


class WeightingForm(forms.Form):
    """The weighting method and the cap on weights."""

    method = forms.ChoiceField(label=_("Method"), choices=WeightingMethod.choices)
    trim = forms.FloatField(
        label=_("Largest weight (times the mean)"),
        required=False,
        min_value=TRIM_MIN,
        max_value=TRIM_MAX,
        help_text=_("Leave empty to keep every weight as computed; 5 is a common cap."),
        widget=forms.NumberInput(attrs={"step": "0.5"}),
    )


class WeightingMergeForm(forms.Form):
    """Merge a category with no respondent into another of the same variable."""

    variable = forms.CharField(max_length=200)
    category = forms.CharField(max_length=300)
    into = forms.CharField(label=_("Merge with"), max_length=300)


class QuotaTargetsForm(forms.Form):
    """One number field per quota cell shown (``target-<quota id>``)."""

    def __init__(self, *args: Any, quotas: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for quota in quotas:
            self.fields[f"target-{quota.pk}"] = forms.IntegerField(
                label=quota.cell.key, min_value=0, max_value=N_MAX, initial=quota.target
            )

    def targets(self) -> dict[int, int]:
        return {int(name.split("-", 1)[1]): value for name, value in self.cleaned_data.items()}
