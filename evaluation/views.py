"""Pages: a dataset's leaderboard (with the predictions upload and the pass mark) and a run."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from benchmarks.access import access_dataset
from config.forms import form_errors_from, form_for_page, form_refused
from evaluation.access import access_run
from evaluation.forms import EndpointForm, EndpointRunForm, PredictionsForm, ReferenceForm
from evaluation.models import ModelEndpoint
from evaluation.selectors import chosen_version, leaderboard
from evaluation.services import reference_from_held_out, reference_set, run_upload


def _page(request, dataset):
    """The leaderboard, with the form refused last shown again if the address names it."""
    board = leaderboard(dataset=dataset)
    best = max(
        (r["headline"]["high"] for r in board["rows"] if r["headline"] and r["headline"]["high"]),
        default=1.0,
    )
    scale = max(best, board["reference"].value if board["reference"] else 0.0) or 1.0
    for row in board["rows"]:
        h = row["headline"]
        if h and h.get("estimate") is not None:
            low, high = h.get("low") or h["estimate"], h.get("high") or h["estimate"]
            row["chart"] = {
                "bar": round(100 * h["estimate"] / scale, 2),
                "left": round(100 * low / scale, 2),
                "span": round(100 * (high - low) / scale, 2),
            }
    reference_pct = round(100 * board["reference"].value / scale, 2) if board["reference"] else None
    context = {
        "dataset": dataset,
        "board": board,
        "reference_pct": reference_pct,
        "form": form_for_page(request, "predictions", PredictionsForm),
        "reference_form": form_for_page(
            request,
            "reference",
            ReferenceForm,
            initial={"metric": board["reference"].metric} if board["reference"] else None,
            prefix="reference",
        ),
        "endpoint_form": form_for_page(request, "endpoint", EndpointForm, prefix="endpoint"),
        "run_form": form_for_page(
            request, "run", EndpointRunForm, endpoints=_endpoints(dataset), prefix="run"
        ),
    }
    return render(request, "evaluation/leaderboard.html", context)


def _refused(request, dataset, form, key: str, anchor: str):
    url = reverse("evaluation:leaderboard", args=[dataset.pk])
    return form_refused(request, form, key=key, to=f"{url}#{anchor}")


@login_required
def leaderboard_view(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    if request.method != "POST":
        return _page(request, dataset)
    form = PredictionsForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = chosen_version(dataset, data["version"])
            run = run_upload(
                dataset=dataset,
                version=version,
                user=request.user,
                name=data["name"],
                raw=data["file"].read(),
                file_name=data["file"].name,
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Predictions of %(name)s scored.") % {"name": run.name})
            return redirect("evaluation:leaderboard", dataset_id=dataset.pk)
    return _refused(request, dataset, form, "predictions", "predictions-form")


@login_required
@require_POST
def reference_view(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    form = ReferenceForm(request.POST, prefix="reference")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["source"] == "held_out_human":
                reference_from_held_out(dataset=dataset, version=chosen_version(dataset, None))
            else:
                reference_set(dataset=dataset, metric=data["metric"], value=data["value"])
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Pass mark saved."))
            return redirect("evaluation:leaderboard", dataset_id=dataset.pk)
    return _refused(request, dataset, form, "reference", "reference-form")


@login_required
def run_detail(request, run_id: int):
    run = access_run(user=request.user, run_id=run_id)
    scores = run.scores or {}
    rules = []
    for rule, part in (scores.get("rules") or {}).items():
        if not part.get("n"):
            continue
        if rule == "soft":
            rules.append({"rule": rule, "n": part["n"], "soft": part})
        elif rule == "all_inclusive":
            rules.append(
                {"rule": rule, "n": part["n"], "headline": part["macro"], "micro": part["micro"]}
            )
        else:
            rules.append(
                {
                    "rule": rule,
                    "n": part["n"],
                    "headline": part["macro_f1"],
                    "accuracy": part["accuracy"],
                    "micro": part["micro_f1"],
                }
            )
    groups = []
    survey = scores.get("survey") or {}
    for name, block in (survey.get("groups") or {}).items():
        groups.append({"name": name, "metric": "alignment", **block})
    for kind in ("rater_groups", "item_attributes"):
        for name, block in ((scores.get("groups") or {}).get(kind) or {}).items():
            groups.append({"name": name, "metric": "macro_f1", **block})
    return render(
        request,
        "evaluation/run_detail.html",
        {"run": run, "scores": scores, "rules": rules, "survey": survey, "groups": groups},
    )


def _endpoints(dataset):
    return list(ModelEndpoint.objects.filter(study_id=dataset.study_id).order_by("name", "id"))


@login_required
@require_POST
def endpoint_create_view(request, dataset_id: int):
    from evaluation.services.endpoints import endpoint_create

    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    form = EndpointForm(request.POST, prefix="endpoint")
    if form.is_valid():
        try:
            endpoint = endpoint_create(study=dataset.study, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Endpoint %(name)s added.") % {"name": endpoint.name})
            return redirect("evaluation:leaderboard", dataset_id=dataset.pk)
    return _refused(request, dataset, form, "endpoint", "endpoint-form")


@login_required
@require_POST
def endpoint_run_view(request, dataset_id: int):
    from evaluation.services.endpoints import endpoint_run_start

    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    endpoints = _endpoints(dataset)
    form = EndpointRunForm(request.POST, endpoints=endpoints, prefix="run")
    if form.is_valid():
        data = form.cleaned_data
        endpoint = next(e for e in endpoints if str(e.pk) == data["endpoint"])
        try:
            run = endpoint_run_start(
                dataset=dataset,
                version=chosen_version(dataset, data["version"]),
                endpoint=endpoint,
                user=request.user,
                name=data["name"],
                language=data["language"],
                prompt_template=data["prompt_template"],
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("evaluation:run_detail", run_id=run.pk)
    return _refused(request, dataset, form, "run", "endpoint-run-form")
