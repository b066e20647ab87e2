"""Researcher pages: survey dashboard, review queue, buttons that start jobs, and the study's
setup page (populations, panels, sample designs and surveys; one form per step, each posting to
its own view, which validates, calls one service and redirects back; a refused form goes back
to its page too, which shows it again with the values and the errors: ``config.forms``)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_study, is_study_owner, may_edit_study
from accounts.models import Study
from config.forms import flash_errors, form_errors_from, form_for_page, form_kept, form_refused
from config.inputs import SEED_MAX
from jobs.models import Job
from sources.csv_escape import escape_cell
from surveys import selectors, services
from surveys.access import access_panel, access_population, access_question, access_survey
from surveys.forms import (
    DesignForm,
    DrawForm,
    PanelImportForm,
    PopulationImportForm,
    QuestionFields,
    QuestionForm,
    QuotaTargetsForm,
    ReviewForm,
    SurveyForm,
    SurveySettingsForm,
    WeightingForm,
    WeightingMergeForm,
)
from surveys.models import Block, ReviewState, SurveyStatus


def _own_question(request, survey_id: int, question_id: int, review: bool = False):
    """The question, if the user may see its survey and it belongs to ``survey_id``."""
    question = access_question(user=request.user, question_id=question_id, review=review)
    if question.survey_id != survey_id:
        raise Http404("No such question.")
    return question


# The dashboard's sections, each at its own address, in reading order.
SECTIONS = ("results", "overview", "fieldwork", "quotas", "representativeness")
SECTION_NAMES = {
    "results": gettext_lazy("Results"),
    "overview": gettext_lazy("Overview"),
    "fieldwork": gettext_lazy("Fieldwork"),
    "quotas": gettext_lazy("Quotas"),
    "representativeness": gettext_lazy("Representativeness"),
}
# How the computed weighting method reads on the page.
METHOD_NAMES = {
    "poststratify": gettext_lazy("post-stratification"),
    "rake": gettext_lazy("raking"),
    "none": gettext_lazy("none"),
}
# How long a finished job stays at the top of the dashboard.
RECENT_JOB_MINUTES = 15
# Rows per page of the long tables (quotas, response rates, cells).
PAGE_ROWS = 25


def dashboard_url(survey_id: int, section: str, anchor: str = "") -> str:
    url = reverse("surveys:dashboard_section", args=[survey_id, section])
    return f"{url}#{anchor}" if anchor else url


def _in_language(text_en: str, text_ko: str) -> str:
    return (text_ko if get_language() == "ko" else text_en) or text_en


def _page_of(request, rows, param: str = "page"):
    return Paginator(rows, PAGE_ROWS).get_page(request.GET.get(param))


def _overview(request, survey, counts) -> dict[str, Any]:
    over_time = counts["over_time"]
    top = max([row["n"] for row in over_time], default=0)
    for row in over_time:
        row["percent"] = round(100 * row["n"] / top) if top else 0
    jobs = Job.objects.filter(
        study=survey.study, params__survey_id=survey.pk, kind__startswith="surveys."
    ).order_by("-created_at")[:5]
    return {
        "over_time": over_time,
        "jobs": jobs,
    }


def _fieldwork(request, survey, counts) -> dict[str, Any]:
    return {
        "fieldwork": selectors.fieldwork(
            survey=survey, invitations_by_status=counts["invitations_by_status"]
        ),
        "rates": _page_of(request, selectors.response_rates(survey=survey)),
    }


def _quotas(request, survey, counts) -> dict[str, Any]:
    quotas = _page_of(request, selectors.quota_fill(survey=survey))
    # Targets refused last time come back as they were typed, each with its error.
    kept = form_kept(request, "quotas", QuotaTargetsForm, quotas=list(quotas))
    for q in quotas:
        q.percent = round(100 * q.filled / q.target) if q.target else 0
        q.reserved_percent = round(100 * q.reserved / q.target) if q.target else 0
        name = f"target-{q.pk}"
        q.typed = kept[name].value() if kept is not None and name in kept.fields else q.target
        q.errors = kept.errors.get(name, []) if kept is not None else []
    return {
        "quotas": quotas,
        "quotas_editable": selectors.quotas_editable(survey=survey),
        "quotas_refused": kept.non_field_errors() if kept is not None else [],
    }


def _representativeness(request, survey, counts) -> dict[str, Any]:
    return {"representativeness": selectors.survey_representativeness(survey=survey)}


def _results(request, survey, counts) -> dict[str, Any]:
    results = selectors.survey_results(survey=survey)
    for d in results["distributions"]:
        d["text"] = _in_language(d["question"], d["question_ko"])
        for o in d["options"]:
            o["label"] = _in_language(o["text"], o["text_ko"])
            o["pct"] = round(100 * o["estimate"], 1)
            if o["ci_low"] is not None and o["ci_high"] is not None:
                o["lo"] = round(100 * o["ci_low"], 1)
                o["hi"] = round(100 * o["ci_high"], 1)
                o["width"] = round(o["hi"] - o["lo"], 1)
    for row in results["numbers"]:
        row["text"] = _in_language(row["question"], row["question_ko"])
    est = results["estimation"]
    method_name = ""
    if est is not None:
        base, _sep, trimmed = est.method.partition("+")
        method_name = str(METHOD_NAMES.get(base, base))
        if trimmed:
            method_name = _("%(method)s, then trimming") % {"method": method_name}
    return {
        "results": results,
        "method_name": method_name,
        "weighting_form": form_for_page(
            request,
            "weighting",
            WeightingForm,
            initial={"method": survey.weighting_method, "trim": survey.weight_trim},
        ),
        "merges": sorted(
            (variable, category, into)
            for variable, merged in (survey.weighting_merges or {}).items()
            for category, into in merged.items()
        ),
    }


_SECTION_CONTEXT = {
    "overview": _overview,
    "fieldwork": _fieldwork,
    "quotas": _quotas,
    "representativeness": _representativeness,
    "results": _results,
}


@login_required
def survey_dashboard(request, survey_id: int, section: str | None = None):
    """The survey's dashboard, one section at a time: results first once fieldwork has
    begun, the overview while the survey is a draft."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    if section is None:
        section = "overview" if survey.status == SurveyStatus.DRAFT else "results"
    if section not in _SECTION_CONTEXT:
        raise Http404("No such section.")
    # Jobs still running or just finished, so their outcome shows where they were started.
    recent = timezone.now() - timedelta(minutes=RECENT_JOB_MINUTES)
    running = Job.objects.filter(
        Q(finished_at__isnull=True) | Q(finished_at__gte=recent),
        study=survey.study,
        params__survey_id=survey.pk,
        kind__startswith="surveys.",
    ).order_by("-created_at")[:3]
    # Read once: the header shows them, and the overview and fieldwork sections use them.
    counts = selectors.survey_counts(survey=survey)
    context = {
        "survey": survey,
        "title": _in_language(survey.title_en, survey.title_ko),
        "section": section,
        "sections": [
            (key, SECTION_NAMES[key], reverse("surveys:dashboard_section", args=[survey.pk, key]))
            for key in SECTIONS
        ],
        "counts": counts,
        "running": running if section != "overview" else [],
        **_SECTION_CONTEXT[section](request, survey, counts),
        "in_review": selectors.review_queue(survey=survey).count(),
        "open_link": _participant_url(request, survey.open_token)
        if survey.open_link_enabled
        else "",
        "read_only": not may_edit_study(user=request.user, study=survey.study),
    }
    return render(request, "surveys/dashboard.html", context)


@login_required
def review_queue(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    questions = list(selectors.review_queue(survey=survey))
    return render(
        request,
        "surveys/review_queue.html",
        {"survey": survey, "questions": questions, "form": ReviewForm()},
    )


@login_required
@require_POST
def review_question(request, survey_id: int, question_id: int):
    question = _own_question(request, survey_id, question_id, review=True)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.question_review(
                question=question,
                reviewer=request.user,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
            )
            messages.success(request, _("Review recorded for %(code)s.") % {"code": question.code})
        except ValidationError as exc:
            flash_errors(request, exc)
    else:
        messages.error(request, _("Choose a decision."))
    return redirect("surveys:review_queue", survey_id=survey_id)


@login_required
@require_POST
def sample_draw(request, survey_id: int, kind: str):
    """Draw the sample (``initial``) or replacements for those who have not answered."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    if kind not in ("initial", "replacement"):
        raise Http404("Unknown draw.")
    form = DrawForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Give a whole number from 0 to %(max)s as the seed.") % {"max": SEED_MAX}
        )
        return redirect(dashboard_url(survey.pk, "fieldwork", "fieldwork"))
    seed = form.cleaned_data["seed"]
    try:
        if kind == "initial":
            draw = services.sample_draw(survey=survey, seed=seed)
        else:
            draw = services.sample_replace(survey=survey, seed=seed)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request,
            _("%(n)d people drawn with seed %(seed)d; their invitations are ready to send.")
            % {"n": draw.size, "seed": seed},
        )
    return redirect(dashboard_url(survey.pk, "fieldwork", "fieldwork"))


@login_required
@require_POST
def invitations_send(request, survey_id: int, kind: str):
    """Send the invitations not sent yet, or reminders, as a job."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    if kind not in ("invitations", "reminders"):
        raise Http404("Unknown mailing.")
    try:
        services.invitations_send(survey=survey, user=request.user, reminder=kind == "reminders")
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect(dashboard_url(survey.pk, "fieldwork", "fieldwork"))


@login_required
@require_POST
def export_start(request, survey_id: int, fmt: str):
    survey = access_survey(user=request.user, survey_id=survey_id)
    if fmt not in services.EXPORT_FORMATS:
        raise Http404("Unknown format.")
    # "raw" (a checkbox by the CSV button): formulas are left unescaped, for programs.
    raw = request.POST.get("raw") in ("1", "on", "true")
    job = services.responses_export_start(survey=survey, user=request.user, fmt=fmt, raw=raw)
    return redirect("jobs:detail", job_id=job.id)


@login_required
@require_POST
def weights_start(request, survey_id: int):
    """Save the weighting settings (when the form carries them) and compute the weights."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    if "method" in request.POST:
        form = WeightingForm(request.POST)
        if form.is_valid():
            try:
                survey = services.weighting_update(
                    survey=survey,
                    method=form.cleaned_data["method"],
                    trim=form.cleaned_data["trim"],
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
        if form.errors:
            to = dashboard_url(survey.pk, "results", "weighting")
            return form_refused(request, form, key="weighting", to=to)
    services.weights_start(survey=survey, user=request.user)
    messages.success(request, _("Weighting settings saved; the weights are being computed."))
    return redirect(dashboard_url(survey.pk, "results"))


@login_required
@require_POST
def weights_merge(request, survey_id: int):
    """Merge a category with no respondent into another for weighting (``clear`` undoes every
    merge), then compute the weights again."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    if request.POST.get("action") == "clear":
        survey = services.weighting_merges_clear(survey=survey)
        messages.success(request, _("Merged categories are separate again."))
    else:
        form = WeightingMergeForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose the category to merge with."))
            return redirect(dashboard_url(survey.pk, "results", "weighting"))
        try:
            survey = services.weighting_merge(survey=survey, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
            return redirect(dashboard_url(survey.pk, "results", "weighting"))
        messages.success(
            request,
            _("%(category)s is merged into %(into)s for weighting.") % form.cleaned_data,
        )
    services.weights_start(survey=survey, user=request.user)
    return redirect(dashboard_url(survey.pk, "results"))


# --- the questionnaire editor --------------------------------------------------------------


def _questionnaire_page(request, survey):
    """The questionnaire, with the question or settings form refused last if the address
    names it."""
    blocks = selectors.questionnaire(survey=survey)
    questions = [q for _block, qs in blocks for q in qs]
    form = form_for_page(request, "question", QuestionForm, survey=survey)
    settings_form = form_for_page(
        request,
        "settings",
        SurveySettingsForm,
        initial=SurveySettingsForm.initial_for(survey),
        prefix="settings",
    )
    context = {
        "survey": survey,
        "blocks": blocks,
        "form": form,
        "settings_form": settings_form,
        "settings_open": settings_form.is_bound,
        # Reviewers and viewers see the questionnaire without the controls that change it.
        "read_only": not may_edit_study(user=request.user, study=survey.study),
        "editable": survey.status == SurveyStatus.DRAFT
        and may_edit_study(user=request.user, study=survey.study),
        "ready": bool(questions) and all(q.review_state == ReviewState.APPROVED for q in questions),
    }
    if form.is_bound or settings_form.is_bound:
        messages.error(request, _("Nothing was created: see the errors marked below."))
    return render(request, "surveys/questionnaire.html", context)


@login_required
def questionnaire(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    return _questionnaire_page(request, survey)


@login_required
@require_POST
def question_new(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    form = QuestionForm(request.POST, survey=survey)
    if form.is_valid():
        data = dict(form.cleaned_data)
        block = data.pop("block")
        try:
            question = services.question_add(
                survey=survey, block_id=int(block) if block else None, user=request.user, **data
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Question %(code)s added.") % {"code": question.code})
            return redirect(reverse("surveys:questionnaire", args=[survey.pk]) + "#add")
    return form_refused(
        request,
        form,
        key="question",
        to=reverse("surveys:questionnaire", args=[survey.pk]) + "#add",
    )


@login_required
def question_edit(request, survey_id: int, question_id: int):
    """Change a question's wording, options or settings; it goes back to draft."""
    question = _own_question(request, survey_id, question_id)
    if request.method == "POST":
        form = QuestionFields(request.POST)
        if form.is_valid():
            try:
                services.question_update(question=question, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(
                    request, _("%(code)s changed; it is a draft again.") % {"code": question.code}
                )
                return redirect(
                    reverse("surveys:questionnaire", args=[survey_id]) + f"#q-{question.code}"
                )
        return form_refused(request, form, key="question-edit", to=request.path)
    form = form_for_page(
        request, "question-edit", QuestionFields, initial=QuestionFields.initial_for(question)
    )
    if form.is_bound:
        messages.error(request, _("Nothing was changed: see the errors marked below."))
    context = {"survey": question.survey, "question": question, "form": form}
    return render(request, "surveys/question_edit.html", context)


@login_required
@require_POST
def question_submit(request, survey_id: int, question_id: int):
    question = _own_question(request, survey_id, question_id)
    try:
        services.question_submit(question=question, user=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("%(code)s is waiting for review.") % {"code": question.code})
    return redirect(reverse("surveys:questionnaire", args=[survey_id]) + f"#q-{question.code}")


@login_required
@require_POST
def question_delete(request, survey_id: int, question_id: int):
    question = _own_question(request, survey_id, question_id)
    try:
        services.question_delete(question=question)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("Question %(code)s deleted.") % {"code": question.code})
    return redirect("surveys:questionnaire", survey_id=survey_id)


@login_required
@require_POST
def question_move(request, survey_id: int, question_id: int, direction: str):
    question = _own_question(request, survey_id, question_id)
    if direction not in ("up", "down"):
        raise Http404("Unknown direction.")
    try:
        services.question_move(question=question, step=-1 if direction == "up" else 1)
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect(reverse("surveys:questionnaire", args=[survey_id]) + f"#q-{question.code}")


def _own_block(request, survey_id: int, block_id: int) -> Block:
    survey = access_survey(user=request.user, survey_id=survey_id)
    block = Block.objects.filter(pk=block_id, survey=survey).first()
    if block is None:
        raise Http404("No such block.")
    return block


@login_required
@require_POST
def block_edit(request, survey_id: int, block_id: int, action: str):
    """Rename, move (up/down) or delete (when empty) a block of a draft survey."""
    block = _own_block(request, survey_id, block_id)
    try:
        if action == "rename":
            title_en = request.POST.get("title_en", "")
            services.block_update(
                block=block, title_en=title_en, title_ko=request.POST.get("title_ko", "")
            )
            messages.success(request, _("Block renamed."))
        elif action in ("up", "down"):
            services.block_move(block=block, step=-1 if action == "up" else 1)
        elif action == "delete":
            services.block_delete(block=block)
            messages.success(request, _("Block deleted."))
        else:
            raise Http404("Unknown action.")
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect(reverse("surveys:questionnaire", args=[survey_id]) + f"#block-{block.pk}")


@login_required
@require_POST
def survey_settings(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    form = SurveySettingsForm(request.POST, prefix="settings")
    if form.is_valid():
        try:
            services.survey_update(survey=survey, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Survey settings saved."))
            return redirect(reverse("surveys:questionnaire", args=[survey.pk]) + "#settings")
    return form_refused(
        request,
        form,
        key="settings",
        to=reverse("surveys:questionnaire", args=[survey.pk]) + "#settings",
    )


@login_required
@require_POST
def survey_status(request, survey_id: int, action: str):
    """Open the survey for fieldwork, or close it."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    try:
        if action == "open":
            services.survey_open(survey=survey)
            messages.success(request, _("The survey is open."))
        elif action == "close":
            services.survey_close(survey=survey)
            messages.success(request, _("The survey is closed."))
        else:
            raise Http404("Unknown action.")
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect("surveys:questionnaire", survey_id=survey.pk)


# --- the study's setup page ------------------------------------------------------------------


def _page(request, study: Study, **context: Any):
    """The setup page: new forms, except the one refused last if the address names it and
    those given in ``context``."""
    forms = {
        "population_form": form_for_page(
            request, "population", PopulationImportForm, prefix="population"
        ),
        "panel_form": form_for_page(request, "panel", PanelImportForm, study=study, prefix="panel"),
        "design_form": form_for_page(request, "design", DesignForm, study=study, prefix="design"),
        "survey_form": form_for_page(request, "survey", SurveyForm, study=study, prefix="survey"),
    }
    if any(form.is_bound for form in forms.values()):
        messages.error(request, _("Nothing was created: see the errors marked below."))
    # A preview asked for last is shown again from what was typed: computed, never stored.
    previewed = form_kept(request, "design-preview", DesignForm, study=study, prefix="design")
    if previewed is not None:
        # Checked again from what was kept (a value too long to keep is really gone now).
        design_form = DesignForm(previewed.data, study=study, prefix="design")
        forms["design_form"] = design_form
        preview = _design_preview(design_form)
        if preview is not None:
            context["preview"] = preview
    page = {"study": study, **selectors.study_setup(study=study), **forms, **context}
    return render(request, "surveys/setup.html", page)


def _design_preview(form: DesignForm) -> dict[str, Any] | None:
    """The quota per cell that the design form's values would give (None, with the errors
    on the form, when they give none)."""
    if not form.is_valid():
        return None
    v = form.cleaned_data
    try:
        n = v["n"]
        if n is None:
            n = services.design_sample_size(population=v["population"], **v["size_parameters"])
        quotas = services.design_preview(
            population=v["population"],
            n=n,
            allocation=v["allocation"],
            parameters=v["parameters"],
            panel=v["panel"],
        )
    except ValidationError as exc:
        form_errors_from(form, exc, aliases={"parameters": "sd"})
        return None
    rows = selectors.design_preview_rows(
        population=v["population"], panel=v["panel"], quotas=quotas
    )
    return {"n": n, "rows": rows, "panel": v["panel"]}


def _back(study: Study, anchor: str):
    return redirect(reverse("surveys:setup", args=[study.pk]) + f"#{anchor}")


def _refused(request, study: Study, form, key: str):
    """Back to the setup page, which shows the refused form again at its place."""
    url = reverse("surveys:setup", args=[study.pk])
    return form_refused(request, form, key=key, to=f"{url}#{key}-form")


@login_required
def setup(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    return _page(request, study)


@login_required
@require_POST
def population_new(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    form = PopulationImportForm(request.POST, request.FILES, prefix="population")
    if form.is_valid():
        try:
            population = services.population_import(
                study=study,
                name=form.cleaned_data["name"],
                csv_text=form.cleaned_data["file"].read(),
            )
        except ValidationError as exc:
            form_errors_from(form, exc, aliases={"rows": "file"})
        else:
            messages.success(
                request,
                _("Population %(name)s imported: %(cells)d cells.")
                % {"name": population.name, "cells": population.cells.count()},
            )
            return _back(study, "populations")
    return _refused(request, study, form, "population")


@login_required
@require_POST
def panel_new(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    form = PanelImportForm(request.POST, request.FILES, study=study, prefix="panel")
    if form.is_valid():
        try:
            panel, report, _created = services.panel_import_named(
                population=form.cleaned_data["population"],
                name=form.cleaned_data["name"],
                csv_text=form.cleaned_data["file"].read(),
            )
        except ValidationError as exc:
            form_errors_from(form, exc, aliases={"rows": "file"})
        else:
            messages.success(
                request,
                _(
                    "Panel %(name)s: %(created)d created, %(updated)d updated, "
                    "%(unchanged)d unchanged."
                )
                % {"name": panel.name, **report.as_dict()},
            )
            return _back(study, "panels")
    return _refused(request, study, form, "panel")


@login_required
@require_POST
def design_new(request, study_id: int):
    """Create stores the design. Preview stores nothing: the setup page shows the quota per
    cell from what was typed, at an address of its own (a reload or a change of language
    keeps it)."""
    study = access_study(user=request.user, study_id=study_id)
    form = DesignForm(request.POST, study=study, prefix="design")
    if request.POST.get("action") == "preview":
        url = reverse("surveys:setup", args=[study.pk])
        anchor = "design-preview" if form.is_valid() else "design-form"
        # Kept as a refused form is, and computed again by the page.
        return form_refused(request, form, key="design-preview", to=f"{url}#{anchor}")
    if form.is_valid():
        v = form.cleaned_data
        try:
            design = services.design_create(
                study=study,
                population=v["population"],
                name=v["name"],
                n=v["n"],
                size_parameters=v["size_parameters"],
                allocation=v["allocation"],
                parameters=v["parameters"],
                panel=v["panel"],
            )
        except ValidationError as exc:
            form_errors_from(form, exc, aliases={"parameters": "sd"})
        else:
            messages.success(
                request,
                _("Sample design %(name)s created: n = %(n)d.")
                % {"name": design.name, "n": design.target_n},
            )
            return _back(study, "designs")
    return _refused(request, study, form, "design")


@login_required
@require_POST
def survey_new(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    form = SurveyForm(request.POST, study=study, prefix="survey")
    if form.is_valid():
        try:
            survey = services.survey_create(study=study, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request,
                _("Survey %(title)s created: now write its questions.")
                % {"title": survey.title_en},
            )
            return redirect("surveys:questionnaire", survey_id=survey.pk)
    return _refused(request, study, form, "survey")


# --- what exists: quotas, population cells, panel members ------------------------------------


@login_required
@require_POST
def quotas_update(request, survey_id: int):
    """Save the targets of the quota cells shown on one page of the quotas section."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    page = request.POST.get("page", "")
    back = dashboard_url(survey.pk, "quotas")
    if page.isdigit():
        back = f"{back}?page={page}"
    quotas = selectors.quota_fill(survey=survey)
    shown = [q for q in quotas if f"target-{q.pk}" in request.POST]
    form = QuotaTargetsForm(request.POST, quotas=shown)
    if not shown:
        messages.error(request, _("No quota target was sent."))
        return redirect(back + "#quotas")
    if form.is_valid():
        try:
            design = services.quota_targets_update(survey=survey, targets=form.targets())
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request, _("Quotas saved: the sample size is now %(n)d.") % {"n": design.target_n}
            )
            return redirect(back + "#quotas")
    return form_refused(request, form, key="quotas", to=back + "#quotas")


@login_required
def population_detail(request, population_id: int):
    population = access_population(user=request.user, population_id=population_id)
    cells = _page_of(request, selectors.population_cells(population=population))
    for cell in cells:
        cell.ordered_values = [cell.values.get(v, "") for v in population.variables]
    total = sum(c.count for c in population.cells.all())
    return render(
        request,
        "surveys/population_detail.html",
        {"population": population, "cells": cells, "total": total},
    )


@login_required
def panel_detail(request, panel_id: int):
    panel = access_panel(user=request.user, panel_id=panel_id)
    search = request.GET.get("q", "").strip()[:100]
    members = _page_of(request, selectors.panel_members(panel=panel, search=search))
    return render(
        request,
        "surveys/panel_detail.html",
        {
            "panel": panel,
            "members": members,
            "search": search,
            "extra": urlencode({"q": search}) if search else "",
        },
    )


# --- fieldwork: the invitees, their links, the open link ------------------------------------

INVITEES_PER_PAGE = 100


def _participant_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("surveys:participant", args=[token]))


@login_required
def survey_invitees(request, survey_id: int):
    """Who was drawn and where each of them stands, with their personal links to copy (paged,
    filtered by stage); the open link with its QR code."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    stage = request.GET.get("stage", "")
    if stage not in selectors.INVITEE_STAGES:
        stage = ""
    page = Paginator(selectors.invitees(survey=survey, stage=stage), INVITEES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "invitation": invitation,
            "stage": selectors.INVITEE_STAGES[selectors.invitee_stage(invitation)],
            "link": _participant_url(request, invitation.token),
        }
        for invitation in page.object_list
    ]
    context = {
        "survey": survey,
        "stage": stage,
        "stages": selectors.invitee_stage_counts(survey=survey),
        "page": page,
        "rows": rows,
        "open_link": _participant_url(request, survey.open_token)
        if survey.open_link_enabled
        else "",
        "is_owner": is_study_owner(user=request.user, study=survey.study),
    }
    return render(request, "surveys/invitees.html", context)


@login_required
def survey_invitees_csv(request, survey_id: int):
    """The invitees as CSV for a mail merge: panelist id, stage, personal link, and for the
    study's owners the email address and phone number. Cells that a spreadsheet would run as
    formulas are made inert."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    contacts = is_study_owner(user=request.user, study=survey.study)
    stage = request.GET.get("stage", "")
    if stage not in selectors.INVITEE_STAGES:
        stage = ""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-invitees.csv"'
    # A byte order mark, so that spreadsheet programs read the Korean text as UTF-8.
    response.write("\ufeff")
    writer = csv.writer(response)
    header = ["panelist", "stage", "link", "reminders", "sent_at"]
    if contacts:
        header += ["email", "phone"]
    writer.writerow(header)
    for invitation in selectors.invitees(survey=survey, stage=stage, contacts=contacts).iterator(
        chunk_size=2000
    ):
        row = [
            escape_cell(invitation.panelist.external_id),
            selectors.invitee_stage(invitation),
            _participant_url(request, invitation.token),
            invitation.reminders,
            invitation.sent_at.isoformat() if invitation.sent_at else "",
        ]
        if contacts:
            contact = getattr(invitation.panelist, "contact", None)
            row += [
                escape_cell(contact.email) if contact else "",
                escape_cell(contact.phone) if contact else "",
            ]
        writer.writerow(row)
    return response


@login_required
def survey_open_link_qr(request, survey_id: int):
    """The open link as a QR code (SVG), to print on a poster or show on a slide. Made
    whether the open link is on or not (a poster can be ready before it is); the page shows
    it only while the link is on."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    qr = segno.make(_participant_url(request, survey.open_token), error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=6, border=4, title=survey.title_en)
    response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="survey-{survey.pk}-qr.svg"'
    return response
