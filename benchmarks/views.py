"""Researcher pages: datasets of a study, versions, items side by side, charts, exports."""

from __future__ import annotations

import math
import mimetypes
import re
from typing import Any

import pandas as pd
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_study
from benchmarks.access import access_dataset, access_export, access_version
from benchmarks.downloads import export_file_response
from benchmarks.forms import DatasetForm, LinkSourceForm, UploadForm
from benchmarks.models import BUILD_JOB_KIND
from benchmarks.selectors import (
    dataset_list,
    export_jobs,
    linkable_sources,
    version_contents,
    version_items_browse,
    version_list,
    version_media_open,
    version_media_type,
    version_warnings,
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
from config.forms import flash_errors, form_errors_from, form_for_page, form_refused
from config.storage import StoredFileResponse
from jobs.models import Job
from sources import schema

ITEMS_PER_PAGE = 50


@login_required
def dataset_list_view(request, study_id: int):
    study = access_study(user=request.user, study_id=study_id)
    if request.method == "POST":
        return _dataset_new(request, study)
    return render(
        request,
        "benchmarks/dataset_list.html",
        {
            "study": study,
            "datasets": dataset_list(study=study),
            "form": form_for_page(request, "dataset", DatasetForm),
        },
    )


def _dataset_new(request, study):
    form = DatasetForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
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
    return form_refused(request, form, key="dataset", to=f"{request.path}#dataset-form")


def _detail_context(request, dataset) -> dict:
    """The dataset page, with the upload or link form refused last if the address names it."""
    builds = Job.objects.filter(kind=BUILD_JOB_KIND, params__dataset_id=dataset.pk).order_by(
        "-created_at"
    )[:1]
    choices = linkable_sources(study=dataset.study)
    return {
        "dataset": dataset,
        "sources": dataset.sources.all(),
        "versions": version_list(dataset=dataset),
        "builds": builds,
        "form": form_for_page(request, "upload", UploadForm),
        "link_form": form_for_page(request, "link", LinkSourceForm, choices=choices),
        "can_link": bool(choices),
    }


@login_required
def dataset_detail(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    return render(request, "benchmarks/dataset_detail.html", _detail_context(request, dataset))


@login_required
@require_POST
def source_upload(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        items = form.cleaned_data["items"]
        try:
            source_upload_create(
                dataset=dataset,
                file_name=upload.name,
                content=upload.read(),
                name=form.cleaned_data["name"],
                items_name=items.name if items else "",
                items_content=items.read() if items else None,
            )
        except ValidationError as exc:
            # The service names the vote table "upload"; it is the form's "file" field.
            form_errors_from(form, exc, aliases={"upload": "file"})
        else:
            messages.success(request, _("Vote table added."))
            return redirect("benchmarks:dataset_detail", dataset_id=dataset.pk)
    return _detail_refused(request, dataset, form, "upload")


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
    return _detail_refused(request, dataset, form, "link")


def _detail_refused(request, dataset, form, key: str):
    url = reverse("benchmarks:dataset_detail", args=[dataset.pk])
    return form_refused(request, form, key=key, to=f"{url}#{key}-form")


@login_required
@require_POST
def version_build_view(request, dataset_id: int):
    dataset = access_dataset(user=request.user, dataset_id=dataset_id)
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
    # The dataset's versions are read once: the other versions to compare with, and the one
    # before this for the warnings.
    versions = list(version_list(dataset=version.dataset))
    others = [v for v in versions if v.pk != version.pk]
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
            "warnings": version_warnings(version=version, versions=versions),
        },
    )


TEXT_CLIP = 240


def _cell(value: Any) -> Any:
    """A cell of the content table as plain Python; None when missing or empty."""
    if value is None:
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return value or None
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return value


def _question(row: dict[str, Any], lang: str, languages: list[str]) -> dict[str, Any]:
    """A question in the interface language when the source has it, else in its first one;
    its options with their wording in the same language and its answer shares as bars."""
    wording, used = row.get("question"), ""
    for code in dict.fromkeys([lang, lang.split("-")[0]]):
        if row.get(f"question_{code}"):
            wording, used = row[f"question_{code}"], code
            break
    if not used:
        # ``question`` is in the source's first language: find which, for the option texts.
        used = next((c for c in languages if row.get(f"question_{c}") == wording), "")
    texts = row.get(f"option_texts_{used}") if used else None
    if texts is None:
        texts = next((row[c] for c in row if c.startswith("option_texts_") and row[c]), None)
    options = row.get("options") or []
    shares = row.get("distribution") or []
    low = row.get("distribution_low") or []
    high = row.get("distribution_high") or []

    def at(values: list, i: int) -> Any:
        value = values[i] if i < len(values) else None
        return None if value is None or math.isnan(value) else value

    answer_key = row.get("answer_key")
    out = []
    for i, code in enumerate(options):
        share = at(shares, i) if isinstance(shares, list) else None
        out.append(
            {
                "code": code,
                "text": texts[i] if texts and i < len(texts) and texts[i] != code else "",
                "share": None if share is None else 100 * share,
                "width": 0 if share is None else round(min(max(100 * share, 0.0), 100.0), 1),
                "low": None if at(low, i) is None else 100 * at(low, i),
                "high": None if at(high, i) is None else 100 * at(high, i),
                "is_key": answer_key is not None and str(answer_key) == str(code),
            }
        )
    return {
        "wording": wording,
        "lang": used,
        "options": out,
        "has_shares": any(o["share"] is not None for o in out),
        "subject": row.get("subject"),
        "n": row.get("n"),
    }


def _item_content(
    row: dict[str, Any], *, version, lang: str, languages: list[str], metadata: list[str]
) -> dict[str, Any]:
    content: dict[str, Any] = {"kind": row.get("kind") or "text", "gold": row.get("gold")}
    text = row.get("text")
    if text:
        content["text"] = text
        content["clipped"] = text[:TEXT_CLIP].rstrip() + "…" if len(text) > TEXT_CLIP else ""
    audio = row.get("audio")
    if audio:
        content["audio_url"] = reverse(
            "benchmarks:version_media",
            args=[version.dataset_id, version.number, str(audio).removeprefix("media/")],
        )
        content["audio_type"] = row.get("audio_type") or ""
        content["duration"] = row.get("duration")
    if row.get("question") or any(row.get(f"question_{c}") for c in languages):
        content["question"] = _question(row, lang, languages)
    content["metadata"] = [(c, row[c]) for c in metadata if row.get(c) is not None]
    return content


def _shown(content: dict[str, Any]) -> bool:
    """Whether an item has anything to show: no source may have described it."""
    return any(content.get(k) for k in ("text", "audio_url", "question", "gold", "metadata"))


def _page_contents(version, items: list[str]) -> dict[str, dict[str, Any]]:
    """The content of the page's items (read with an Arrow filter), by item key."""
    table = version_contents(version=version, items=items) if items else None
    if table is None or not len(table):
        return {}
    columns = list(table.columns)
    languages = schema.languages(columns)
    metadata = schema.metadata_columns(columns)
    lang = get_language() or ""
    out = {}
    for record in table.to_dict(orient="records"):
        row = {str(k): _cell(v) for k, v in record.items()}
        content = _item_content(
            row, version=version, lang=lang, languages=languages, metadata=metadata
        )
        if _shown(content):
            out[str(row["item"])] = content
    return out


def _kind_choices(version) -> list[tuple[str, str]]:
    names = {"text": _("Text"), "audio": _("Audio"), "question": _("Question")}
    present = version.stats.get("item_kinds") or {}
    return [(k, str(names[k])) for k in schema.ITEM_KINDS if k in present]


@login_required
def version_items_view(request, dataset_id: int, number: int):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    split = request.GET.get("split", "")
    kinds = _kind_choices(version) if version.contents_file else []
    kind = request.GET.get("kind", "")
    kind = kind if kind in dict(kinds) else ""
    q = request.GET.get("q", "").strip()[:200]
    filters = {"split": split, "kind": kind, "q": q}
    try:
        offset = max(0, int(request.GET.get("page", 1)) - 1) * ITEMS_PER_PAGE
    except ValueError:
        offset = 0
    chunk, count = version_items_browse(
        version=version, offset=offset, limit=ITEMS_PER_PAGE, **filters
    )
    page = Paginator(range(count), ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    start = page.start_index() - 1 if count else 0
    if start != offset:
        # A page past the end shows the last one, as the paginator says.
        chunk, count = version_items_browse(
            version=version, offset=start, limit=ITEMS_PER_PAGE, **filters
        )
    labels = rule_labels(chunk, version.rules, list(version.categories))
    contents = _page_contents(version, [str(i) for i in chunk["item"]])
    rows = [
        {
            "item": item,
            "split": chunk.at[idx, "split"],
            "n_votes": int(n_votes),
            "entropy": chunk.at[idx, "stats.entropy"],
            "content": contents.get(str(item)),
            "labels": [
                None if pd.isna(v) else (f"{v} {top_share:.2f}" if rule == "soft" else v)
                for rule, v in zip(version.rules, labels.loc[idx].tolist(), strict=True)
            ],
        }
        for idx, item, n_votes, top_share in zip(
            chunk.index,
            chunk["item"],
            chunk["stats.n_votes"].to_numpy(),
            chunk["stats.top_share"].to_numpy(),
            strict=True,
        )
    ]
    return render(
        request,
        "benchmarks/version_items.html",
        {
            "version": version,
            "dataset": version.dataset,
            "rows": rows,
            "page": page,
            "count": count,
            "split": split,
            "splits": list(version.split_config.get("fractions", {})),
            "kind": kind,
            "kinds": kinds,
            "q": q,
            "has_contents": bool(version.contents_file),
            "n_columns": 4 + bool(version.contents_file) + len(version.rules),
        },
    )


# Frozen media are named by the SHA-256 of their bytes and a short extension (see the build).
MEDIA_NAME = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,10})?")


@login_required
def version_media(request, dataset_id: int, number: int, name: str):
    """A frozen audio file of a version, to those who may see the dataset, and only when it
    is the audio of one of the version's items (so a version never reveals another's)."""
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    if not MEDIA_NAME.fullmatch(name):
        raise Http404("No such media file.")
    media_type = version_media_type(version=version, name=name)
    if media_type is None:
        raise Http404("No such media file.")
    try:
        fh = version_media_open(name=name)
    except (FileNotFoundError, OSError):
        raise Http404("No such media file.") from None
    content_type = media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = StoredFileResponse(fh, content_type=content_type)
    # The browser asks again every time, so the permission check runs again: a member
    # removed from the study cannot replay the file from their cache.
    response["Cache-Control"] = "private, no-cache"
    return response


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
    # "raw" (a checkbox by the button): CSV cells that look like formulas are left as they are.
    raw = request.POST.get("raw") in ("1", "on", "true")
    fmt = request.POST.get("format") or "all"
    try:
        version_export_start(version=version, user=request.user, raw=raw, fmt=fmt)
    except ValidationError as exc:
        flash_errors(request, exc)
        return redirect("benchmarks:version_detail", dataset_id=dataset_id, number=number)
    messages.info(request, _("Export started."))
    return redirect("benchmarks:version_detail", dataset_id=dataset_id, number=number)


@login_required
def export_download(request, dataset_id: int, number: int, job_id):
    version = access_version(user=request.user, dataset_id=dataset_id, number=number)
    job = access_export(user=request.user, version=version, job_id=job_id)
    return export_file_response(job)
