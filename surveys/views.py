"""Researcher pages: survey dashboard, review queue, and buttons that start jobs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jobs.models import Job
from jobs.services import job_create
from surveys import selectors, services
from surveys.access import access_question, access_survey
from surveys.forms import ReviewForm
from surveys.tasks import compute_weights_task, export_responses_task


@login_required
def survey_dashboard(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    quotas = selectors.quota_fill(survey=survey)
    for q in quotas:
        q.percent = round(100 * q.filled / q.target) if q.target else 0
        q.reserved_percent = round(100 * q.reserved / q.target) if q.target else 0
    over_time = selectors.responses_over_time(survey=survey)
    top = max([row["n"] for row in over_time], default=0)
    for row in over_time:
        row["percent"] = round(100 * row["n"] / top) if top else 0
    try:
        distributions = selectors.survey_ground_truth(survey=survey)
    except ValueError as exc:
        distributions = []
        messages.error(request, str(exc))
    for d in distributions:
        for o in d["options"]:
            o["pct"] = round(100 * o["estimate"], 1)
            if o["ci_low"] is not None and o["ci_high"] is not None:
                o["lo"] = round(100 * o["ci_low"], 1)
                o["hi"] = round(100 * o["ci_high"], 1)
                o["width"] = round(o["hi"] - o["lo"], 1)
    jobs = Job.objects.filter(
        study=survey.study, params__survey_id=survey.pk, kind__startswith="surveys."
    ).order_by("-created_at")[:5]
    context = {
        "survey": survey,
        "counts": selectors.survey_counts(survey=survey),
        "quotas": quotas,
        "over_time": over_time,
        "rates": selectors.response_rates(survey=survey),
        "representativeness": selectors.survey_representativeness(survey=survey),
        "distributions": distributions,
        "jobs": jobs,
        "in_review": selectors.review_queue(survey=survey).count(),
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
    question = access_question(user=request.user, question_id=question_id)
    if question.survey_id != survey_id:
        raise Http404("No such question.")
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
            for msgs in exc.message_dict.values():
                for m in msgs:
                    messages.error(request, m)
    else:
        messages.error(request, _("Choose a decision."))
    return redirect("surveys:review_queue", survey_id=survey_id)


@login_required
@require_POST
def export_start(request, survey_id: int, fmt: str):
    survey = access_survey(user=request.user, survey_id=survey_id)
    if fmt not in services.EXPORT_FORMATS:
        raise Http404("Unknown format.")
    job = start_export(survey=survey, user=request.user, fmt=fmt)
    return redirect("jobs:detail", job_id=job.id)


@login_required
@require_POST
def weights_start(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    start_weights(survey=survey, user=request.user)
    return redirect("surveys:dashboard", survey_id=survey.pk)


def start_export(*, survey, user, fmt: str) -> Job:
    with transaction.atomic():
        job = job_create(
            kind="surveys.export",
            user=user,
            study=survey.study,
            params={"survey_id": survey.pk, "format": fmt},
        )
        transaction.on_commit(lambda: export_responses_task.delay(str(job.id)))
    return job


def start_weights(*, survey, user) -> Job:
    with transaction.atomic():
        job = job_create(
            kind="surveys.weights", user=user, study=survey.study, params={"survey_id": survey.pk}
        )
        transaction.on_commit(lambda: compute_weights_task.delay(str(job.id)))
    return job
