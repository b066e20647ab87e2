"""Researcher pages: datasets of a study, versions, items side by side, charts, exports."""

from __future__ import annotations

import pandas as pd
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_study
from benchmarks.access import access_dataset, access_export, access_version
from benchmarks.forms import DatasetForm, LinkSourceForm, UploadForm
from benchmarks.models import BUILD_JOB_KIND
from benchmarks.selectors import (
    dataset_list,
    export_jobs,
    items_slice,
    linkable_sources,
    version_items_table,
    version_list,
)
from benchmarks.services import (
    dataset_create,
    rule_labels,
    source_annotation_create,
    source_survey_create,
    source_upload_create,
    version_build_start,
    version_diff,
    version_export_start,
)
from config.forms import form_errors_from
from jobs.models import Job, JobStatus

ITEMS_PER_PAGE = 50


@login_required
def dataset_list_view(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    form = DatasetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                dataset = dataset_create(
                    study=study,
                    user=request.user,
                    name=data["name"],
                    description=data["description"],
                    categories=data["categories"],
                    rules=data["rules"],
                    parameters={"tie_policy": data["tie_policy"], "seed": 0},
                    split_seed=data["split_seed"],
                    split_stratify=data["split_stratify"] or "",
                    split_group=data["split_group"],
                )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Dataset created."))
            return redirect("benchmarks:dataset_detail", dataset_id=dataset.pk)
    return render(
        request,
        "benchmarks/dataset_list.html",
        {"study": study, "datasets": dataset_list(study=study), "form": form},
    )


def _detail_context(dataset, *, form=None, link_form=None) -> dict:
    builds = Job.objects.filter(kind=BUILD_JOB_KIND, params__dataset_id=dataset.pk).order_by(
        "-created_at"
    )[:1]
    choices = linkable_sources(study=dataset.study)
    return {
        "dataset": dataset,
        "sources": dataset.sources.all(),
        "versions": version_list(dataset=dataset),
        "builds": builds,
        "form": form or UploadForm(),
        "link_form": link_form or LinkSourceForm(choices=choices),
        "can_link": bool(choices),
    }


@login_required
def dataset_detail(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    return render(request, "benchmarks/dataset_detail.html", _detail_context(dataset))


@login_required
@require_POST
def source_upload(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            source_upload_create(
                dataset=dataset,
                file_name=upload.name,
                content=upload.read(),
                name=form.cleaned_data["name"],
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Vote table added."))
            return redirect("benchmarks:dataset_detail", dataset_id=dataset.pk)
    return render(
        request, "benchmarks/dataset_detail.html", _detail_context(dataset, form=form), status=400
    )


@login_required
@require_POST
def source_link(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    choices = linkable_sources(study=dataset.study)
    form = LinkSourceForm(request.POST, choices=choices)
    if form.is_valid():
        kind, _sep, pk = form.cleaned_data["target"].partition(":")
        name = dict(choices)[form.cleaned_data["target"]]
        try:
            with transaction.atomic():
                if kind == "survey":
                    source_survey_create(
                        dataset=dataset,
                        survey_id=int(pk),
                        question_ids=form.cleaned_data["questions"],
                        name=name,
                    )
                else:
                    source_annotation_create(
                        dataset=dataset,
                        project_id=int(pk),
                        roles=form.cleaned_data["roles"],
                        name=name,
                    )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Source added."))
            return redirect("benchmarks:dataset_detail", dataset_id=dataset.pk)
    return render(
        request,
        "benchmarks/dataset_detail.html",
        _detail_context(dataset, link_form=form),
        status=400,
    )


@login_required
@require_POST
def version_build_view(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    with transaction.atomic():
        version_build_start(dataset=dataset, user=request.user)
    messages.info(request, _("Building a new version."))
    return redirect("benchmarks:dataset_detail", dataset_id=dataset.pk)


def _bars(values: dict, total: float | None = None) -> list[dict]:
    top = max([float(v) for v in values.values()] or [0.0])
    scale = total if total else top
    return [
        {"label": k, "value": v, "width": round(100 * float(v) / scale, 1) if scale else 0}
        for k, v in values.items()
    ]


@login_required
def version_detail(request, dataset_id: int, number: int):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    stats = version.stats
    distributions = [
        {"rule": rule, "bars": _bars(dist)} for rule, dist in stats.get("distribution", {}).items()
    ]
    loss = [
        {
            "label": row["rule"],
            "value": f"{100 * row['data_loss']:.1f}%",
            "width": round(100 * row["data_loss"], 1),
            "dropped": row["dropped"],
        }
        for row in stats.get("summary", [])
    ]
    hist = stats.get("entropy_histogram", {"edges": [], "counts": []})
    edges = hist["edges"]
    entropy = _bars({f"{edges[i]:.2f}–{edges[i + 1]:.2f}": c for i, c in enumerate(hist["counts"])})
    others = version_list(dataset=version.dataset).exclude(pk=version.pk)
    splits = stats.get("splits", [])
    split_keys = [k for k in (splits[0] if splits else {}) if k.startswith("n.")]
    # Multi-hot strata are named after their columns ("all_inclusive.y.joy"): show the label.
    split_labels = [k.rsplit(".", 1)[-1] for k in split_keys]
    split_rows = [{**row, "counts": [row.get(k) for k in split_keys]} for row in splits]
    return render(
        request,
        "benchmarks/version_detail.html",
        {
            "version": version,
            "dataset": version.dataset,
            "stats": stats,
            "distributions": distributions,
            "loss": loss,
            "entropy": entropy,
            "exports": export_jobs(version=version)[:5],
            "others": others,
            "split_rows": split_rows,
            "split_labels": split_labels,
        },
    )


@login_required
def version_items_view(request, dataset_id: int, number: int):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    split = request.GET.get("split", "")
    table = version_items_table(version=version, split=split)
    paginator = Paginator(range(table.num_rows), ITEMS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    chunk = items_slice(
        table, offset=page.start_index() - 1 if table.num_rows else 0, limit=ITEMS_PER_PAGE
    )
    labels = rule_labels(chunk, version.rules, list(version.categories))
    rows = [
        {
            "item": item,
            "split": chunk.at[idx, "split"],
            "n_votes": int(chunk.at[idx, "stats.n_votes"]),
            "entropy": chunk.at[idx, "stats.entropy"],
            "labels": [
                None
                if pd.isna(v)
                else (f"{v} {chunk.at[idx, 'stats.top_share']:.2f}" if rule == "soft" else v)
                for rule, v in zip(version.rules, labels.loc[idx].tolist(), strict=True)
            ],
        }
        for idx, item in zip(chunk.index, chunk["item"], strict=True)
    ]
    return render(
        request,
        "benchmarks/version_items.html",
        {
            "version": version,
            "dataset": version.dataset,
            "rows": rows,
            "page": page,
            "split": split,
            "splits": list(version.split_config.get("fractions", {})),
        },
    )


@login_required
def version_diff_view(request, dataset_id: int, number: int, other: int):
    new = access_version(user=request.user, dataset_id=dataset_id, number=number)
    old = access_version(user=request.user, dataset_id=dataset_id, number=other)
    return render(
        request,
        "benchmarks/version_diff.html",
        {
            "version": new,
            "dataset": new.dataset,
            "old": old,
            "diff": version_diff(old=old, new=new),
        },
    )


@login_required
@require_POST
def version_export_view(request, dataset_id: int, number: int):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    with transaction.atomic():
        version_export_start(version=version, user=request.user)
    messages.info(request, _("Export started."))
    return redirect("benchmarks:version_detail", dataset_id=dataset_id, number=number)


def export_file_response(job) -> FileResponse:
    if job.status != JobStatus.SUCCEEDED or not job.result_file:
        raise Http404("The export is not ready.")
    name = job.result.get("file") or "export.zip"
    return FileResponse(
        job.result_file.open("rb"),
        as_attachment=True,
        filename=name,
        content_type="application/zip",
    )


@login_required
def export_download(request, dataset_id: int, number: int, job_id):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    job = access_export(user=request.user, version=version, job_id=job_id)
    return export_file_response(job)
